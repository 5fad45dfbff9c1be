"""The users page (EditUsers): who has an account and their role; creating users, renaming them,
changing their role and their approval switches (replies need approval; may approve suggestions,
may approve their own: the role's default or an override), setting a new password (which ends
their sessions), deactivating and reactivating them. The rules live in
``inbox.settings.user_accounts`` (shared with the API)."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from inbox import fields
from inbox.auth.accounts import MIN_PASSWORD_LENGTH, AccountError, activate, deactivate
from inbox.auth.permissions import permission_required
from inbox.db import get_session
from models import Role, User
from models.user import OVERRIDABLE_PERMISSIONS, ROLE_PERMISSIONS

from . import teams, user_accounts

bp = Blueprint("users", __name__, url_prefix="/settings")
OVERRIDE_CHOICES = ("", "yes", "no")
# The approval overrides an admin sets per user, with the words the page uses.
OVERRIDE_LABELS = {"ApproveSuggestion": "May approve suggestions", "ApproveOwnSuggestion": "May approve own suggestions"}


def _page(status: int = 200, error: str | None = None, error_for: int | str | None = None,
          draft: Any = None):
    session = get_session()
    users = session.scalars(select(User).order_by(User.email)).all()
    return render_template("settings/users.html", users=users, roles=list(Role), error=error,
                           user_teams=teams.teams_by_user(session), override_labels=OVERRIDE_LABELS,
                           role_permissions={r.value: p for r, p in ROLE_PERMISSIONS.items()},
                           error_for=error_for, draft=draft or {}, min_length=MIN_PASSWORD_LENGTH), status


@bp.get("/users")
@permission_required("EditUsers")
def users():
    return _page()


def _user(user_id: int) -> User:
    user = get_session().get(User, user_id)
    if user is None:
        abort(404)
    return user


@bp.post("/users")
@permission_required("EditUsers")
def create_user():
    session, form = get_session(), request.form
    data = {key: form.get(key, "") for key in ("email", "name", "role", "password")}
    try:
        user = user_accounts.create_user(session, data)
    except fields.Rejected as exc:
        session.rollback()
        return _page(422, error=exc.message, error_for="new", draft={k: v for k, v in data.items() if k != "password"})
    session.commit()
    flash(f"Created {user.email} ({user.role}).")
    return redirect(url_for("users.users"))


@bp.post("/users/<int:user_id>")
@permission_required("EditUsers")
def update_user(user_id: int):
    """Name, role and the approval switches (the row's edit form)."""
    session, user = get_session(), _user(user_id)
    data: dict[str, Any] = {key: request.form.get(key, "") for key in ("name", "role")}
    try:
        if request.form.get("approval_fields") == "1":    # the form that carries the approval switches
            data.update(_approval_switches(request.form))
        user_accounts.update_user(session, user, data, by=current_user._get_current_object())
    except fields.Rejected as exc:
        session.rollback()
        return _page(422, error=exc.message, error_for=user_id)
    session.commit()
    flash(f"Saved {user.email}.")
    return redirect(url_for("users.users"))


def _approval_switches(form) -> dict[str, Any]:
    """The edit form's "Replies need approval" checkbox and the per-user overrides, each a select of
    role default ("") / yes / no, as ``update_user`` takes them (``{}`` overrides: the role decides)."""
    overrides = {}
    for permission in sorted(OVERRIDABLE_PERMISSIONS):
        value = form.get(f"override:{permission}", "")
        if value not in OVERRIDE_CHOICES:
            raise fields.Rejected("invalid_value", f"{permission} must be the role's default, yes or no")
        if value:
            overrides[permission] = value == "yes"
    return {"reply_requires_approval": form.get("reply_requires_approval") == "1", "permission_overrides": overrides}


@bp.post("/users/<int:user_id>/password")
@permission_required("EditUsers")
def set_user_password(user_id: int):
    session, user = get_session(), _user(user_id)
    try:
        user_accounts.update_user(session, user, {"password": request.form.get("password", "")},
                                  by=current_user._get_current_object())
    except fields.Rejected as exc:
        session.rollback()
        return _page(422, error=exc.message, error_for=user_id)
    session.commit()
    flash(f"New password set for {user.email}: they were logged out everywhere.")
    return redirect(url_for("users.users"))


@bp.post("/users/<int:user_id>/deactivate")
@permission_required("EditUsers")
def deactivate_user(user_id: int):
    session, user = get_session(), _user(user_id)
    try:
        deactivate(user, by=current_user._get_current_object())
    except AccountError as exc:
        session.rollback()
        return _page(422, error=exc.message, error_for=user_id)
    session.commit()
    flash(f"Deactivated {user.email}: logged out everywhere, and their API tokens stopped working.")
    return redirect(url_for("users.users"))


@bp.post("/users/<int:user_id>/activate")
@permission_required("EditUsers")
def activate_user(user_id: int):
    session, user = get_session(), _user(user_id)
    activate(user)
    session.commit()
    flash(f"Reactivated {user.email}.")
    return redirect(url_for("users.users"))
