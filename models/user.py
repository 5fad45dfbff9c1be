"""Users, their roles and personal API tokens.

Roles map to SocialHub's permission names so that a later CUSTOM role (a hand-picked set of
permissions) fits without changing any check: views only ever ask ``user.can("ReplyTicket")``.
"""
from __future__ import annotations

import enum
import hashlib
import secrets
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from .base import Base, TimestampMixin, utcnow


class Role(enum.StrEnum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


AGENT_PERMISSIONS = frozenset({
    "ViewTickets", "ReplyTicket", "NoteTicket", "AssignTicket", "ArchiveTicket",
    "LikeTicket", "HideTicket", "DeleteTicket", "ViewChannels", "ViewCategories", "ViewTemplates", "EditPosts",
})
SUPERVISOR_PERMISSIONS = AGENT_PERMISSIONS | {
    "ApproveSuggestion", "ApproveOwnSuggestion", "ViewAnalytics", "ViewUsers", "ViewHistory",
    # Every team's tickets and channels, not only their own teams' (inbox/visibility.py).
    "ViewAllTickets",
}
ADMIN_PERMISSIONS = SUPERVISOR_PERMISSIONS | {
    "EditRules", "EditChannels", "EditUsers", "EditTemplates", "EditCategories",
    "EditCustomFolders", "ViewAccountSettings",
}
# What an admin may grant or withdraw per user, beside the role (``User.permission_overrides``).
OVERRIDABLE_PERMISSIONS = frozenset({"ApproveSuggestion", "ApproveOwnSuggestion"})
ROLE_PERMISSIONS: dict[Role, frozenset[str]] = {
    Role.AGENT: AGENT_PERMISSIONS,
    Role.SUPERVISOR: frozenset(SUPERVISOR_PERMISSIONS),
    Role.ADMIN: frozenset(ADMIN_PERMISSIONS),
}


class User(UserMixin, TimestampMixin, Base):
    __tablename__ = "user"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120), default="")
    role: Mapped[Role] = mapped_column(String(20), default=Role.AGENT)
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    # Part of the login cookie's id: raising it (logout, password change, deactivation) makes every
    # session and "remember me" cookie issued before refuse to load, on every device.
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")
    # An IANA name (checked with zoneinfo): snooze presets and times on pages are in this zone.
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    # "Suggest only": this user's replies go through approval (a new team member, say).
    reply_requires_approval: Mapped[bool] = mapped_column(default=False, server_default="0")
    # Per-user exceptions to the role: {"ApproveSuggestion": false, "ApproveOwnSuggestion": true}.
    # Only names in OVERRIDABLE_PERMISSIONS count; a later custom role fits beside this.
    permission_overrides: Mapped[dict[str, bool]] = mapped_column(JSON, default=dict, server_default="{}")

    tokens: Mapped[list["ApiToken"]] = relationship(back_populates="user", cascade="all, delete-orphan")

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    def get_id(self) -> str:
        """Flask-Login keeps this in the session and the remember cookie: "id:session_version"."""
        return f"{self.id}:{self.session_version}"

    def end_sessions(self) -> None:
        """Make every session and remember-me cookie of this user stale (see ``session_version``)."""
        self.session_version = (self.session_version or 0) + 1

    @property
    def permissions(self) -> frozenset[str]:
        granted = ROLE_PERMISSIONS[Role(self.role)]
        overrides = {k: v for k, v in (self.permission_overrides or {}).items() if k in OVERRIDABLE_PERMISSIONS}
        if not overrides:
            return granted
        return frozenset((granted | {k for k, v in overrides.items() if v}) - {k for k, v in overrides.items() if not v})

    def can(self, permission: str) -> bool:
        return permission in self.permissions

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def display_name(self) -> str:
        return self.name or self.email


def valid_time_zone(name: object) -> bool:
    """An IANA time zone name zoneinfo knows ("Europe/Berlin", "UTC"): what ``User.time_zone`` takes.
    Check it before storing; a stored name that stops being known reads as UTC (``triage.user_zone``)."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if not isinstance(name, str) or not name or len(name) > 64 or name.startswith(("/", ".")) or ".." in name:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def hash_token(token: str) -> str:
    """Tokens are long random strings, so a plain SHA-256 is enough (no salt or slow hash needed)."""
    return hashlib.sha256(token.encode()).hexdigest()


class ApiToken(Base):
    """A personal token for the JSON API. Only its hash is stored; the token is shown once."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]     # None: until revoked (revoking deletes the row)

    user: Mapped[User] = relationship(back_populates="tokens")

    @classmethod
    def issue(cls, user: User, name: str = "", expires_at: datetime | None = None) -> tuple["ApiToken", str]:
        token = "inbx_" + secrets.token_urlsafe(32)
        return cls(user=user, token_hash=hash_token(token), name=name, expires_at=expires_at), token

    def expired(self, now: datetime | None = None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or utcnow())
