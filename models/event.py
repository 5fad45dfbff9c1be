"""Raw webhook bodies and the audit trail."""
from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


class RawEventStatus(enum.StrEnum):
    RECEIVED = "received"     # stored, not yet processed (or waiting for ``retry_at``)
    PROCESSED = "processed"
    IGNORED = "ignored"       # well-formed, but nothing for us (an event type we don't use)
    REJECTED = "rejected"     # malformed: answered 4xx, kept for inspection
    FAILED = "failed"         # processing kept raising; given up after the last retry, kept with the error


class RawEvent(Base):
    """A webhook body exactly as received, committed before we answer 2xx: nothing is lost.

    The row is the work item: a channel's drain (workers.ingest) takes its ``received`` rows in id
    order, and ``retry_at`` holds back one that must wait (a delivery report that beat our own
    commit) without holding back the rows behind it.
    """

    __tablename__ = "raw_event"
    __table_args__ = (Index("ix_raw_event_status_received", "status", "received_at"),
                      # The drain's read: this channel's pending rows in id order.
                      Index("ix_raw_event_channel_status_id", "channel_id", "status", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("channel.id", ondelete="SET NULL"), index=True)
    provider: Mapped[str] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(Text)
    content_type: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[RawEventStatus] = mapped_column(String(20), default=RawEventStatus.RECEIVED)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=0)
    retry_at: Mapped[datetime | None]   # not before this time (set after a failed attempt)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[datetime | None]


class History(Base):
    """Who did what to a ticket, and when (the ticket pane's audit trail)."""

    __tablename__ = "history"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    action: Mapped[str] = mapped_column(String(40))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
