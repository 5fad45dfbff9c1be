"""Admins managing users: create, rename, change role, set a password, (de)activate; and each
user's own time zone. Shared by ``/settings/users``, ``/settings/account`` and ``/api/v1/users``.

Refusals are ``Rejected`` (422 in the API, inline on pages): ``email_taken``, ``invalid_role``,
``invalid_time_zone``, ``own_account`` (an admin demoting or deactivating themselves would lock
the last admin out as easily as any other). A new password or a deactivation ends the user's
sessions (``inbox.auth.accounts``).
"""
from __future__ import annotations

import re
import zoneinfo
from functools import cache
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, object_session

from inbox import fields
from inbox.settings import teams
from inbox.auth.accounts import AccountError, activate, deactivate, set_password, validate_password
from models import Role, User

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
EMAIL_MAX = 254
USER_NAME_MAX = 120


@cache
def time_zones() -> frozenset[str]:
    """IANA names zoneinfo knows (from the system or the tzdata package)."""
    return frozenset(zoneinfo.available_timezones())


def check_time_zone(value: Any) -> str:
    name = fields.text(value, "time_zone", 64).strip()
    if name not in time_zones():
        raise fields.Rejected("invalid_time_zone", f"{name or 'An empty name'} is not an IANA time zone "
                              "(such as Europe/Berlin or America/New_York)")
    return name


def _role(value: Any) -> Role:
    name = fields.text(value, "role", 20)
    try:
        return Role(name)
    except ValueError:
        raise fields.Rejected("invalid_role", f"role must be one of {', '.join(r.value for r in Role)}") from None


def _email(session: Session, value: Any, user: User | None = None) -> str:
    email = fields.text(value, "email", EMAIL_MAX).strip()
    if not EMAIL.match(email):
        raise fields.Rejected("invalid_email", "email must be an e-mail address")
    taken = session.scalars(select(User.id).where(func.lower(User.email) == email.lower())).first()
    if taken is not None and (user is None or taken != user.id):
        raise fields.Rejected("email_taken", f"There is already a user with the e-mail {email}")
    return email


def _name(value: Any) -> str:
    return fields.text(value, "name", USER_NAME_MAX).strip()


def _password(value: Any) -> str:
    password = fields.text(value, "password", 1024)
    try:
        validate_password(password)
    except AccountError as exc:
        raise fields.Rejected("invalid_password", f"password: {exc.message}") from None
    return password


def create_user(session: Session, data: dict[str, Any]) -> User:
    """A new active user; ``email``, ``role`` and ``password`` are required, ``name``,
    ``time_zone`` and ``team_ids`` optional."""
    for key in ("email", "role", "password"):
        if data.get(key) in (None, ""):
            raise fields.Rejected("missing_field", f"{key} is required")
    team_ids = teams.check_team_ids(session, data["team_ids"]) if data.get("team_ids") is not None else []
    user = User(email=_email(session, data["email"]), role=_role(data["role"]),
                name=_name(data.get("name") or ""),
                reply_requires_approval=fields.flag(data.get("reply_requires_approval", False), "reply_requires_approval"),
                permission_overrides=_overrides(data.get("permission_overrides") or {}),
                time_zone=check_time_zone(data["time_zone"]) if data.get("time_zone") else "UTC")
    user.set_password(_password(data["password"]))
    session.add(user)
    session.flush()
    if team_ids:
        teams.set_user_teams(session, user, team_ids)
    return user


def update_user(session: Session, user: User, data: dict[str, Any], by: User) -> User:
    """Change what ``data`` names (email, name, role, active, password, time_zone, team_ids: the
    user's teams, replaced); all checked before anything changes, so a refusal leaves the user as
    they were."""
    changes: dict[str, Any] = {}
    if "email" in data:
        changes["email"] = _email(session, data["email"], user)
    if "name" in data:
        changes["name"] = _name(data["name"])
    if "role" in data:
        changes["role"] = _role(data["role"])
        if by.id == user.id and changes["role"] != Role(user.role) and not _still_edits_users(changes["role"]):
            raise fields.Rejected("own_account", "You cannot take away your own admin role")
    if "active" in data:
        changes["active"] = fields.flag(data["active"], "active")
        if by.id == user.id and not changes["active"]:
            raise fields.Rejected("own_account", "You cannot deactivate your own account")
    if "password" in data:
        changes["password"] = _password(data["password"])
    if "time_zone" in data:
        changes["time_zone"] = check_time_zone(data["time_zone"])
    if "team_ids" in data:
        changes["team_ids"] = teams.check_team_ids(session, data["team_ids"])
    if "reply_requires_approval" in data:
        changes["reply_requires_approval"] = fields.flag(data["reply_requires_approval"], "reply_requires_approval")
    if "permission_overrides" in data:
        changes["permission_overrides"] = _overrides(data["permission_overrides"])
    for key in ("email", "name", "role", "time_zone", "reply_requires_approval", "permission_overrides"):
        if key in changes:
            setattr(user, key, changes[key])
    if "password" in changes:
        set_password(user, changes["password"])
    if changes.get("active") is False and user.active:
        deactivate(user, by=by)
    elif changes.get("active") is True and not user.active:
        activate(user)
    session.flush()
    if "team_ids" in changes:
        teams.set_user_teams(session, user, changes["team_ids"])
    return user


def _still_edits_users(role: Role) -> bool:
    from models.user import ROLE_PERMISSIONS

    return "EditUsers" in ROLE_PERMISSIONS[role]


def as_json(user: User, team_ids: list[int] | None = None) -> dict[str, Any]:
    """``team_ids``: pass them when listing many users (``teams.team_ids_by_user``, one query);
    otherwise they are read for this user."""
    if team_ids is None:
        team_ids = teams.team_ids_by_user(object_session(user), [user.id]).get(user.id, [])
    return {"id": user.id, "email": user.email, "name": user.name, "role": str(Role(user.role)),
            "active": user.active, "time_zone": user.time_zone or "UTC",
            "team_ids": team_ids,
            "reply_requires_approval": bool(user.reply_requires_approval),
            "permission_overrides": dict(user.permission_overrides or {})}


def _overrides(value: Any) -> dict[str, bool]:
    """Per-user exceptions to the role: ``{"ApproveSuggestion": false}``; ``{}`` clears them."""
    from models.user import OVERRIDABLE_PERMISSIONS

    if not isinstance(value, dict):
        raise fields.Rejected("invalid_value", "permission_overrides must be an object")
    unknown = sorted(set(value) - OVERRIDABLE_PERMISSIONS)
    if unknown:
        raise fields.Rejected("unknown_permission", f"These permissions cannot be set per user: {', '.join(unknown)} "
                              f"(only {', '.join(sorted(OVERRIDABLE_PERMISSIONS))})")
    return {k: fields.flag(v, k) for k, v in value.items()}
