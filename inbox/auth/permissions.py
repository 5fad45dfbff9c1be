"""Permission checks for pages and for the JSON API: every route names the permission it needs."""
from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import abort, g, request
from flask_login import current_user, login_required
from sqlalchemy import select

from inbox.db import get_session
from inbox.errors import ApiError
from models import ApiToken, hash_token, utcnow


def permission_required(permission: str) -> Callable:
    """For pages: log in first, then 403 without the permission."""
    def decorator(view: Callable) -> Callable:
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if not current_user.can(permission):
                abort(403)
            return view(*args, **kwargs)
        return wrapped
    return decorator


class ApiAuthError(ApiError):
    """No valid token, or a token without the permission: 401 / 403 in the JSON error body."""


def api_user():
    """The user behind ``Authorization: Bearer TOKEN``; the API takes no cookies (so no CSRF)."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiAuthError(401, "unauthenticated", "Send a personal API token as 'Authorization: Bearer TOKEN'")
    session = get_session()
    row = session.scalars(select(ApiToken).filter_by(token_hash=hash_token(token.strip()))).first()
    if row is None or not row.user.active:
        raise ApiAuthError(401, "invalid_token", "This API token is not valid")
    row.last_used_at = utcnow()
    session.commit()
    return row.user


def api_permission(permission: str) -> Callable:
    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args, **kwargs):
            user = api_user()
            if not user.can(permission):
                raise ApiAuthError(403, "insufficient_permissions", f"This needs the {permission} permission")
            g.api_user = user
            return view(*args, **kwargs)
        return wrapped
    return decorator
