"""``/api/v1/users``: read with ViewUsers, create and change with EditUsers. Shape:
``{id, email, name, role, active, time_zone, team_ids[], reply_requires_approval}``; create takes
``password``; ``team_ids`` (create and PATCH) replaces the user's teams (422 ``unknown_team``).
Deactivating (``active: false``) or a new ``password`` ends the user's sessions."""
from __future__ import annotations

from flask import g, jsonify
from sqlalchemy import select

from inbox import fields
from inbox.auth.permissions import api_permission
from inbox.db import get_session
from inbox.errors import ApiError
from inbox.settings import teams, user_accounts
from models import User

from .views import bp, json_body


def _user(user_id: int) -> User:
    user = get_session().get(User, user_id) if 1 <= user_id <= fields.MAX_ID else None
    if user is None:
        raise ApiError(404, "not_found", f"No user {user_id}")
    return user


@bp.get("/users")
@api_permission("ViewUsers")
def list_users():
    session = get_session()
    users = session.scalars(select(User).order_by(User.id)).all()
    team_ids = teams.team_ids_by_user(session)
    return jsonify(data=[user_accounts.as_json(u, team_ids.get(u.id, [])) for u in users])


@bp.get("/users/<int:user_id>")
@api_permission("ViewUsers")
def show_user(user_id: int):
    return jsonify(user_accounts.as_json(_user(user_id)))


@bp.post("/users")
@api_permission("EditUsers")
def create_user():
    session = get_session()
    user = user_accounts.create_user(session, json_body())
    session.commit()
    return jsonify(user_accounts.as_json(user)), 201


@bp.patch("/users/<int:user_id>")
@api_permission("EditUsers")
def update_user(user_id: int):
    session, body, user = get_session(), json_body(), _user(user_id)
    user_accounts.update_user(session, user, body, by=g.api_user)
    session.commit()
    return jsonify(user_accounts.as_json(user))
