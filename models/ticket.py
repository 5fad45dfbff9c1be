"""The queue's items, the people who wrote them, and the messages inside them."""
from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, TimestampMixin, utcnow
from .taxonomy import Category, Tag, ticket_categories, ticket_tags  # noqa: F401  (moved; old imports keep working)


class TicketKind(enum.StrEnum):
    COMMENT = "comment"
    CONVERSATION = "conversation"   # one DM thread per interactor per channel
    TICKET = "ticket"               # a provider's support ticket
    WALL_POST = "wall_post"
    POST_FAILURE = "post_failure"


class TicketStatus(enum.StrEnum):
    OPEN = "open"
    PENDING = "pending"
    SNOOZED = "snoozed"
    ARCHIVED = "archived"


class Direction(enum.StrEnum):
    IN = "in"
    OUT = "out"


class Interactor(TimestampMixin, Base):
    """A person on a network. Keyed by the network's stable user id; usernames can change."""

    __tablename__ = "interactor"
    __table_args__ = (
        UniqueConstraint("channel_id", "external_id"),
        # The pane's "other tickets of this person": the same network user on every channel, by
        # network user id or by username (inbox/queue/pane.py, interactor_card).
        Index("ix_interactor_external_id", "external_id"),
        Index("ix_interactor_username", "username"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channel.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(200))
    username: Mapped[str] = mapped_column(String(200), default="")
    name: Mapped[str] = mapped_column(String(200), default="")


class Ticket(TimestampMixin, Base):
    __tablename__ = "ticket"
    __table_args__ = (
        UniqueConstraint("channel_id", "external_id"),
        # The queue's default order (newest activity first) and its keyset cursor.
        Index("ix_ticket_activity", "last_activity_at", "id"),
        Index("ix_ticket_status_activity", "status", "last_activity_at", "id"),
        # The triage filters (assignee, priority, sentiment), each in the queue's order.
        Index("ix_ticket_assignee_activity", "assignee_id", "last_activity_at", "id"),
        # The folders: each reads one index range in the queue's order and stops after a page (Mine,
        # Unassigned: assignee + open; Priority: priority + open; a channel, and a channel's kind).
        Index("ix_ticket_assignee_status_activity", "assignee_id", "status", "last_activity_at", "id"),
        Index("ix_ticket_priority_status_activity", "priority", "status", "last_activity_at", "id"),
        Index("ix_ticket_channel_activity", "channel_id", "last_activity_at", "id"),
        Index("ix_ticket_channel_kind_activity", "channel_id", "kind", "last_activity_at", "id"),
        # Awaiting approval: few tickets at a time, so a partial index holds just them.
        Index("ix_ticket_awaiting_activity", "last_activity_at", "id",
              sqlite_where=text("has_pending_suggestion = 1"), postgresql_where=text("has_pending_suggestion")),
        # Failed sends: the same, over the flag kept by outbound_action's triggers (models/failed_send.py).
        Index("ix_ticket_failed_activity", "last_activity_at", "id",
              sqlite_where=text("has_failed_send = 1"), postgresql_where=text("has_failed_send")),
        Index("ix_ticket_team_activity", "team_id", "last_activity_at", "id"),
        Index("ix_ticket_priority_activity", "priority", "last_activity_at", "id"),
        Index("ix_ticket_sentiment_activity", "sentiment", "last_activity_at", "id"),
        # The wake-up sweep: snoozed tickets whose time has come.
        Index("ix_ticket_status_snoozed_until", "status", "snoozed_until"),
        # The live poll's change marker, max(updated_at): one index lookup (inbox/live/changes.py).
        Index("ix_ticket_updated", "updated_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channel.id", ondelete="CASCADE"))
    kind: Mapped[TicketKind] = mapped_column(String(20))
    status: Mapped[TicketStatus] = mapped_column(String(20), default=TicketStatus.OPEN)
    network: Mapped[str] = mapped_column(String(30))
    external_id: Mapped[str] = mapped_column(String(200))
    # Indexed: from the interactors found above to their tickets, without scanning every ticket.
    interactor_id: Mapped[int | None] = mapped_column(ForeignKey("interactor.id"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id"))   # comment threads
    post_external_id: Mapped[str | None] = mapped_column(String(200))       # the post a comment is on
    text: Mapped[str] = mapped_column(Text, default="")      # the latest inbound text, for the list
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    # The team the ticket is handed to (``assign {team_id}``), independent of the assignee.
    team_id: Mapped[int | None] = mapped_column(ForeignKey("team.id", ondelete="SET NULL"))
    priority: Mapped[bool] = mapped_column(default=False)
    sentiment: Mapped[str | None] = mapped_column(String(20))
    snoozed_until: Mapped[datetime | None]
    last_activity_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Raised by every change a user makes and by every new inbound message: a mutation that carries
    # the version its author saw is refused (409) when it is no longer the current one.
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)   # provider extras (comment id ...)
    # A suggestion on this ticket awaits a decision: the list's marker, kept by inbox.approval.
    has_pending_suggestion: Mapped[bool] = mapped_column(default=False, server_default="0")
    # An outbound action of this ticket failed or its outcome is unknown ("Failed sends"): derived
    # from outbound_action and written only by its triggers (models/failed_send.py).
    has_failed_send: Mapped[bool] = mapped_column(default=False, server_default="0")
    # Replies on this ticket go through approval whoever writes them (set by a person or a rule).
    approval_required: Mapped[bool] = mapped_column(default=False, server_default="0")

    channel = relationship("Channel")
    assignee = relationship("User", foreign_keys=[assignee_id])
    team = relationship("Team")
    interactor: Mapped[Interactor | None] = relationship()
    messages: Mapped[list["Message"]] = relationship(
        back_populates="ticket", order_by="Message.created_at, Message.id")
    followups: Mapped[list["Followup"]] = relationship(  # noqa: F821
        back_populates="ticket", order_by="Followup.created_at, Followup.id")
    tags: Mapped[list[Tag]] = relationship(secondary=ticket_tags)
    categories: Mapped[list[Category]] = relationship(secondary=ticket_categories)

    def touch(self, at: datetime) -> None:
        """New activity: bump the queue position and the version, and reopen an archived, pending or
        snoozed item (they are waiting for exactly this: the other side wrote again)."""
        self.last_activity_at = max(self.last_activity_at or at, at)
        self.version = (self.version or 1) + 1
        if self.status in (TicketStatus.ARCHIVED, TicketStatus.PENDING, TicketStatus.SNOOZED):
            self.status = TicketStatus.OPEN
        self.snoozed_until = None


class Message(Base):
    """One entry of a ticket's thread as the network has it (inbound DMs and comments)."""

    __tablename__ = "message"
    __table_args__ = (UniqueConstraint("channel_id", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE"), index=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channel.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(200))
    direction: Mapped[Direction] = mapped_column(String(3), default=Direction.IN)
    kind: Mapped[str] = mapped_column(String(20), default="text")   # text, image, video, comment
    text: Mapped[str] = mapped_column(Text, default="")
    media_url: Mapped[str | None] = mapped_column(String(1000))
    media_type: Mapped[str | None] = mapped_column(String(100))
    interactor_id: Mapped[int | None] = mapped_column(ForeignKey("interactor.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)     # when the network says it was written
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    ticket: Mapped[Ticket] = relationship(back_populates="messages")
    interactor: Mapped[Interactor | None] = relationship()


class Post(TimestampMixin, Base):
    """A brand's post on a network (published, scheduled, draft or failed): the context of comments."""

    __tablename__ = "post"
    __table_args__ = (UniqueConstraint("channel_id", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channel.id", ondelete="CASCADE"), index=True)
    external_id: Mapped[str] = mapped_column(String(200))
    network: Mapped[str | None] = mapped_column(String(30))
    text: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(30), default="")
    url: Mapped[str | None] = mapped_column(String(1000))
    due_at: Mapped[datetime | None]
    executed_at: Mapped[datetime | None]
    failed_at: Mapped[datetime | None]
    failure: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
