"""The teams page: who is in which team and which channels each team owns, with the number of open
tickets handed to each team. Admins (``EditUsers``) create, rename, edit and delete teams;
supervisors (``ViewUsers``) see the page without its forms.

Ordinary forms with a CSRF token that redirect when done; a refused form is re-rendered (422) with
its message next to it and what was typed kept. The rules live in ``inbox.settings.teams``
(shared with ``/api/v1/teams``).
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import or_, select

from inbox import fields
from inbox.auth.permissions import permission_required
from inbox.db import get_session
from models import Channel, Team, User

from . import teams

bp = Blueprint("teams", __name__, url_prefix="/settings")


def _page(status: int = 200, error: str | None = None, error_for: int | str | None = None,
          draft: dict[str, Any] | None = None):
    session = get_session()
    listed = teams.all_teams(session)
    members = {u.id for t in listed for u in t.members}
    # Active users, plus deactivated ones still in a team (so saving a team does not drop them unseen).
    people = session.scalars(select(User).where(or_(User.active, User.id.in_(members)))
                             .order_by(User.name, User.email)).all()
    channels = session.scalars(select(Channel).order_by(Channel.name, Channel.id)).all()
    return render_template("settings/teams.html", teams=listed, people=people, channels=channels,
                           counts=teams.open_counts(session), can_edit=current_user.can("EditUsers"),
                           error=error, error_for=error_for, draft=draft), status


def _form_values() -> dict[str, Any]:
    """The form as the service's input: the ticked boxes as lists of ids (none ticked: empty)."""
    found: dict[str, Any] = {"name": request.form.get("name", "")}
    for key in ("member_ids", "channel_ids"):
        raw = request.form.getlist(key)
        if any(not value.isdigit() for value in raw):
            raise fields.Rejected("invalid_value", f"{key} must be ids")
        found[key] = [int(value) for value in raw]
    return found


def _draft() -> dict[str, Any]:
    """What was sent, to show again next to the error."""
    return {"name": request.form.get("name", ""),
            "member_ids": {int(v) for v in request.form.getlist("member_ids") if v.isdigit()},
            "channel_ids": {int(v) for v in request.form.getlist("channel_ids") if v.isdigit()}}


def _team(team_id: int) -> Team:
    team = teams.get(get_session(), team_id)
    if team is None:
        abort(404)
    return team


@bp.get("/teams")
@permission_required("ViewUsers")
def teams_page():
    return _page()


@bp.post("/teams")
@permission_required("EditUsers")
def create_team():
    session = get_session()
    try:
        team = teams.create_team(session, teams.values(_form_values(), partial=False))
    except fields.Rejected as exc:
        session.rollback()
        return _page(422, error=exc.message, error_for="new", draft=_draft())
    session.commit()
    flash(f"Created the team {team.name}.")
    return redirect(url_for("teams.teams_page") + f"#team-{team.id}")


@bp.post("/teams/<int:team_id>")
@permission_required("EditUsers")
def update_team(team_id: int):
    session, team = get_session(), _team(team_id)
    try:
        teams.update_team(session, team, teams.values(_form_values(), partial=True))
    except fields.Rejected as exc:
        session.rollback()
        return _page(422, error=exc.message, error_for=team_id, draft=_draft())
    session.commit()
    flash(f"Saved the team {team.name}.")
    return redirect(url_for("teams.teams_page") + f"#team-{team.id}")


@bp.post("/teams/<int:team_id>/delete")
@permission_required("EditUsers")
def delete_team(team_id: int):
    session, team = get_session(), _team(team_id)
    name = team.name
    teams.delete_team(session, team)
    session.commit()
    flash(f"Deleted the team {name}; its tickets are no longer handed to a team.")
    return redirect(url_for("teams.teams_page"))
