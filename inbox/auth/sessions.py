"""Which user a session or "remember me" cookie stands for, and ending them all.

Flask-Login stores ``User.get_id()`` ("id:session_version") in the session and in the remember
cookie. Both are signed but live on the client, so logging out cannot delete the copies someone
kept; instead, a stale version is refused here, and logout, a password change and deactivation
raise the version (``User.end_sessions``).
"""
from __future__ import annotations

from flask import session as flask_session
from flask_login import login_user

from inbox.db import get_session
from inbox.extensions import login_manager
from models import User


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    user_part, _, version = user_id.partition(":")
    if not (user_part.isascii() and user_part.isdigit() and version.isascii() and version.isdigit()):
        return None     # malformed, or a cookie from before sessions were versioned
    if int(user_part) > 2**31 - 1:
        return None
    user = get_session().get(User, int(user_part))
    if user is None or user.session_version != int(version):
        return None
    return user


def start(user: User, remember: bool = False) -> None:
    """Log ``user`` in on a fresh session: nothing of the anonymous session (its CSRF token, an id
    someone planted) carries over."""
    flask_session.clear()
    login_user(user, remember=remember)
