"""Permission checks for pages and for the JSON API: every route names the permission it needs."""
from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import wraps

from flask import abort, g, request
from flask_login import current_user, login_required
from sqlalchemy import or_, select, update
from sqlalchemy.orm.attributes import set_committed_value

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
    if row is None or not row.user.active:     # unknown, revoked (deleted), or its user deactivated
        raise ApiAuthError(401, "invalid_token", "This API token is not valid")
    if row.expired():
        raise ApiAuthError(401, "token_expired", "This API token has expired; create a new one")
    _record_use(session, row)
    return row.user


LAST_USED_PRECISION = timedelta(seconds=60)


def _record_use(session, row: ApiToken) -> None:
    """Note when a token was last used, at most once a minute.

    Writing it on every request made every API read a write (an UPDATE and a COMMIT, and on SQLite
    the write lock), so reads queued behind webhooks and each other. A minute is precise enough to
    tell a live token from a forgotten one. The UPDATE is conditional so that concurrent requests
    with the same token record it once.
    """
    now = utcnow()
    if row.last_used_at is not None and now - row.last_used_at < LAST_USED_PRECISION:
        return
    session.execute(update(ApiToken).where(
        ApiToken.id == row.id,
        or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at < now - LAST_USED_PRECISION))
        .values(last_used_at=now).execution_options(synchronize_session=False))
    session.commit()
    set_committed_value(row, "last_used_at", now)   # known, not a change to flush again


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
