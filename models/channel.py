"""A connected account on a provider: credentials (encrypted), settings and health."""
from __future__ import annotations

import enum
import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, TimestampMixin


class ChannelStatus(enum.StrEnum):
    ACTIVE = "active"
    NEEDS_ATTENTION = "needs_attention"   # credentials refused, webhook registration failed ...
    DISABLED = "disabled"                 # removed by an admin; rows kept for history


def new_webhook_token() -> str:
    """The secret part of a channel's webhook URL: 256 bits, so the URL cannot be guessed."""
    return secrets.token_urlsafe(32)


class Channel(TimestampMixin, Base):
    __tablename__ = "channel"
    __table_args__ = (UniqueConstraint("provider", "account_ref"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(20), index=True)
    network: Mapped[str] = mapped_column(String(30))
    name: Mapped[str] = mapped_column(String(200))
    base_url: Mapped[str] = mapped_column(String(500))
    # Fernet ciphertext of a JSON object; see inbox.crypto. Never logged, never in API output.
    credentials_encrypted: Mapped[str] = mapped_column(Text, default="")
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The provider's stable id of the connected account (Getloo: channel.user_id). Unique per
    # provider so the same account cannot be connected twice; NULL where a provider has none.
    account_ref: Mapped[str | None] = mapped_column(String(200))
    info: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Shared by the channels one connection yields (Resont: one per account), so a provider
    # posts every account's webhooks to one URL; the connector routes them by account.
    webhook_token: Mapped[str] = mapped_column(String(64), index=True, default=new_webhook_token)
    webhook_url: Mapped[str] = mapped_column(String(800), default="")
    status: Mapped[ChannelStatus] = mapped_column(String(20), default=ChannelStatus.ACTIVE)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_event_at: Mapped[datetime | None]
    webhook_registered_at: Mapped[datetime | None]
    # Polling: the connector's resume point, and health for the channels page and the API.
    sync_state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    last_sync_at: Mapped[datetime | None]          # last successful poll
    last_sync_error: Mapped[str | None] = mapped_column(Text)
    newest_item_at: Mapped[datetime | None]        # the newest item's own time: ingestion lag = received - this
    token_expires_at: Mapped[datetime | None]
    # Opening hours for the rules' ``business_hours`` condition, in the shape of
    # ``inbox.rules.engine.BusinessHours.from_dict``: {"zone", "week": {"0": [["09:00","17:00"]]},
    # "holidays": ["2026-03-21"]}; None: the channel has none (the condition never matches).
    business_hours: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    @property
    def needs_attention(self) -> bool:
        return self.status == ChannelStatus.NEEDS_ATTENTION
