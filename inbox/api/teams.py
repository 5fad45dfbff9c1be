"""``/api/v1/teams``: list, create, read, update, delete. Shape: ``{id, name, member_ids[],
channel_ids[]}``.

Reading needs ``ViewUsers`` (supervisors and admins, who also read the users); changing needs
``EditUsers`` (admins). Agents get 403, as for ``/api/v1/users``: one rule for the resource, and
who belongs to which team is the people directory's business, not an agent's.
The rules live in ``inbox.settings.teams``; its ``Rejected`` answers 422 through the blueprint's
error handlers (``missing_field``, ``invalid_value``, ``too_long``, ``too_many``, ``unknown_field``,
``name_taken``, ``unknown_user``, ``unknown_channel``).
"""
from __future__ import annotations

from flask import jsonify

from inbox.auth.permissions import api_permission
from inbox.db import get_session
from inbox.errors import ApiError
from inbox.settings import teams
from models import Team

from .views import bp, json_body


def _team(team_id: int) -> Team:
    team = teams.get(get_session(), team_id)
    if team is None:
        raise ApiError(404, "not_found", f"No team {team_id}")
    return team


@bp.get("/teams")
@api_permission("ViewUsers")
def list_teams():
    return jsonify(data=[teams.as_json(t) for t in teams.all_teams(get_session())])


@bp.post("/teams")
@api_permission("EditUsers")
def create_team():
    session = get_session()
    team = teams.create_team(session, teams.values(json_body(), partial=False))
    session.commit()
    return jsonify(teams.as_json(team)), 201


@bp.get("/teams/<int:team_id>")
@api_permission("ViewUsers")
def show_team(team_id: int):
    return jsonify(teams.as_json(_team(team_id)))


@bp.patch("/teams/<int:team_id>")
@api_permission("EditUsers")
def update_team(team_id: int):
    session, team = get_session(), _team(team_id)
    teams.update_team(session, team, teams.values(json_body(), partial=True))
    session.commit()
    return jsonify(teams.as_json(team))


@bp.delete("/teams/<int:team_id>")
@api_permission("EditUsers")
def delete_team(team_id: int):
    session = get_session()
    teams.delete_team(session, _team(team_id))
    session.commit()
    return "", 204
