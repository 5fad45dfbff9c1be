"""In-app notifications: something a person should look at (a suggestion waiting too long, ...).

One row per recipient, so reading one's own does not clear anyone else's. ``kind`` says what it
is about; ``ticket_id`` / ``followup_id`` say where to go. Later alerts (backlog, SLA) add kinds.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow


class Notification(Base):
    __tablename__ = "notification"
    # The navigation's unread count and the list: one user's, newest first.
    __table_args__ = (Index("ix_notification_user_read", "user_id", "read_at", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))          # suggestion_overdue, suggestion_rejected, ...
    text: Mapped[str] = mapped_column(Text, default="")
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE"))
    followup_id: Mapped[int | None] = mapped_column(ForeignKey("followup.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]

    user = relationship("User")
