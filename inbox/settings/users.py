"""The users page (EditUsers): who has an account, their role, and deactivating or reactivating them."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select

from inbox.auth.accounts import AccountError, activate, deactivate
from inbox.auth.permissions import permission_required
from inbox.db import get_session
from models import User

bp = Blueprint("users", __name__, url_prefix="/settings")


def _page(status: int = 200, error: str | None = None):
    users = get_session().scalars(select(User).order_by(User.email)).all()
    return render_template("settings/users.html", users=users, error=error), status


@bp.get("/users")
@permission_required("EditUsers")
def users():
    return _page()


def _user(user_id: int) -> User:
    user = get_session().get(User, user_id)
    if user is None:
        abort(404)
    return user


@bp.post("/users/<int:user_id>/deactivate")
@permission_required("EditUsers")
def deactivate_user(user_id: int):
    session, user = get_session(), _user(user_id)
    try:
        deactivate(user, by=current_user._get_current_object())
    except AccountError as exc:
        session.rollback()
        return _page(422, error=exc.message)
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
