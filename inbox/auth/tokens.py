"""Personal API tokens: issue (shown once), list (never the token), revoke; for pages and the CLI."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from models import ApiToken, User, utcnow

from .accounts import AccountError

MAX_NAME_LENGTH = 120
MAX_EXPIRY_DAYS = 3650


def issue(session: Session, user: User, name: str = "", expires_days: int | None = None) -> tuple[ApiToken, str]:
    """A new token for ``user``; the plain token is returned here and never stored or shown again."""
    name = name.strip()
    if len(name) > MAX_NAME_LENGTH:
        raise AccountError(f"Use a name of at most {MAX_NAME_LENGTH} characters.")
    if expires_days is not None and not 1 <= expires_days <= MAX_EXPIRY_DAYS:
        raise AccountError(f"Expiry must be between 1 and {MAX_EXPIRY_DAYS} days (or empty for none).")
    expires_at = utcnow() + timedelta(days=expires_days) if expires_days else None
    row, token = ApiToken.issue(user, name, expires_at)
    session.add(row)
    session.flush()
    return row, token


def parse_days(text: str) -> int | None:
    """The form's "expires in days" field: empty means never."""
    text = text.strip()
    if not text:
        return None
    if not text.isascii() or not text.isdigit() or len(text) > 5:
        raise AccountError("Expiry must be a whole number of days.")
    return int(text)


def listed(session: Session, user: User | None = None) -> list[ApiToken]:
    """Tokens of ``user`` (everyone's when None), newest first, with their users loaded."""
    query = select(ApiToken).options(joinedload(ApiToken.user)).order_by(ApiToken.id.desc())
    if user is not None:
        query = query.where(ApiToken.user_id == user.id)
    return list(session.scalars(query).unique())


def revoke(session: Session, token_id: int, by: User | None = None) -> ApiToken | None:
    """Delete the token so it answers 401 from now on. ``by``: the user asking (their own tokens,
    or anyone's with EditUsers); None for the CLI. None when there is no such token for them."""
    row = session.get(ApiToken, token_id)
    if row is None or (by is not None and row.user_id != by.id and not by.can("EditUsers")):
        return None
    session.delete(row)
    return row
