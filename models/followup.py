"""What our side adds to a ticket, and the requests we make to providers on its behalf."""
from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Index, String, Table, Text
from sqlalchemy import and_, literal_column
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, TimestampMixin, utcnow


class FollowupType(enum.StrEnum):
    NOTE = "note"
    SUGGESTION = "suggestion"   # a reply awaiting approval
    REPLY = "reply"
    MAIL = "mail"


class FollowupStatus(enum.StrEnum):
    SAVED = "saved"             # notes
    SUGGESTED = "suggested"
    APPROVED = "approved"
    REJECTED = "rejected"
    QUEUED = "queued"           # committed, a worker will send it
    SENDING = "sending"
    SENT = "sent"               # the provider accepted it
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"
    UNKNOWN = "unknown"         # the worker died mid-call: it may or may not have gone out
    WITHDRAWN = "withdrawn"     # a suggestion its author took back before it was decided


# Delivery reports may arrive late, twice or out of order; a status only ever moves forward.
DELIVERY_RANK = {FollowupStatus.QUEUED: 0, FollowupStatus.SENDING: 1, FollowupStatus.UNKNOWN: 2,
                 FollowupStatus.SENT: 3, FollowupStatus.DELIVERED: 4, FollowupStatus.READ: 5}
FINAL_STATUSES = {FollowupStatus.DELIVERED, FollowupStatus.READ, FollowupStatus.FAILED,
                  FollowupStatus.UNKNOWN, FollowupStatus.SAVED, FollowupStatus.REJECTED,
                  FollowupStatus.WITHDRAWN}


# Who a note @mentions: one row per (note, user), indexed by user for the "mentions me" filter.
note_mentions = Table(
    "note_mention", Base.metadata,
    Column("followup_id", ForeignKey("followup.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("user.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_note_mention_user", "user_id"),
)


class Followup(TimestampMixin, Base):
    """A note, a reply or a suggestion on a ticket.

    A suggestion is a reply that waits for a person with ``ApproveSuggestion``: it is created with
    ``type=SUGGESTION, status=SUGGESTED``. Approving turns *the same row* into a reply
    (``type=REPLY, status=QUEUED``) with its outbound action, so one card follows it from
    "awaiting approval" to "delivered"; ``original_text`` keeps what was suggested when the approver
    edited it ("edited & approved"). Rejecting keeps it as a suggestion with ``status=REJECTED`` and
    the required ``decision_reason``; a revision is a new suggestion whose ``revision_of_id`` names
    the rejected one.
    """

    __tablename__ = "followup"
    # The approvals view and its counter: pending suggestions, oldest first. "My suggestions" (the
    # folder and its number): one author's pending ones, a range of a partial index.
    __table_args__ = (Index("ix_followup_status_created", "status", "created_at"),
                      Index("ix_followup_suggested_author", "author_id", "ticket_id",
                            sqlite_where=sql_text("status = 'suggested' AND type = 'suggestion'"),
                            postgresql_where=sql_text("status = 'suggested' AND type = 'suggestion'")))

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE"), index=True)
    type: Mapped[FollowupType] = mapped_column(String(20))
    status: Mapped[FollowupStatus] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    error: Mapped[str | None] = mapped_column(Text)
    status_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Suggestions: who decided (approved or rejected) and when, why it was rejected, the text as
    # suggested when the approver changed it, and the rejected suggestion this one revises.
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    decided_at: Mapped[datetime | None]
    decision_reason: Mapped[str | None] = mapped_column(Text)
    original_text: Mapped[str | None] = mapped_column(Text)
    revision_of_id: Mapped[int | None] = mapped_column(ForeignKey("followup.id", ondelete="SET NULL"))
    # When the approvers were told that this suggestion has waited too long (once per suggestion).
    overdue_notified_at: Mapped[datetime | None]
    # What the reply will be sent with once approved: attachment_url, a custom channel's action_id,
    # option and template (the same keys ``queue_reply`` takes).
    request: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, server_default="{}")

    ticket = relationship("Ticket", back_populates="followups")
    author = relationship("User", foreign_keys=[author_id])
    approved_by = relationship("User", foreign_keys=[approved_by_id])
    decided_by = relationship("User", foreign_keys=[decided_by_id])
    actions: Mapped[list["OutboundAction"]] = relationship(back_populates="followup")
    mentioned = relationship("User", secondary=note_mentions, order_by="User.id")   # notes only

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def poll_seconds(self) -> int | None:
        """How often the reply card re-checks its status: often at first, then rarely, then not."""
        if self.is_final:
            return None
        age = (utcnow() - self.status_at).total_seconds()
        if age < 120:
            return 1
        if age < 3600:
            return 10
        return 60 if age < 86400 else None

    def advance(self, status: FollowupStatus, error: str | None = None) -> bool:
        """Move a reply's delivery status forward; returns False for a stale or repeated report."""
        if self.status in (FollowupStatus.FAILED, FollowupStatus.READ):
            return False
        if status is not FollowupStatus.FAILED and DELIVERY_RANK.get(status, -1) <= DELIVERY_RANK.get(self.status, -1):
            return False
        self.status, self.status_at = status, utcnow()
        if error:
            self.error = error
        return True


class ActionState(enum.StrEnum):
    QUEUED = "queued"
    SENDING = "sending"     # claimed by a worker; the provider call is in flight
    SENT = "sent"
    FAILED = "failed"
    UNKNOWN = "unknown"     # claimed but never finished: never retried automatically


# "A pending suggestion", written as ix_followup_suggested_author's condition is (constants, not
# bound parameters): a query that says it this way can use that partial index on both databases.
PENDING_SUGGESTION = and_(Followup.status == literal_column("'suggested'"),
                          Followup.type == literal_column("'suggestion'"))


class OutboundAction(TimestampMixin, Base):
    """One request to a provider (reply, like, hide, ...), committed before its job is queued.

    The row, not the RQ job, is the source of truth: a job only sends an action it can move
    from QUEUED to SENDING in one UPDATE, so a retried, duplicated or restarted job never sends
    twice.
    """

    __tablename__ = "outbound_action"
    # Not unique: several actions can act on one network object (reschedule then delete a post).
    __table_args__ = (Index("ix_outbound_action_external", "channel_id", "external_id"),
                      Index("ix_outbound_action_state", "state", "updated_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channel.id", ondelete="CASCADE"))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE"), index=True)
    followup_id: Mapped[int | None] = mapped_column(ForeignKey("followup.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(30))             # reply, like, hide, delete, tag, inject ...
    state: Mapped[ActionState] = mapped_column(String(20), default=ActionState.QUEUED)
    # A uuid: sent to providers that dedupe (custom channels' event uuid and followupId).
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True, default=lambda: str(uuid.uuid4()))
    request: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    response: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)   # what the provider answered
    external_id: Mapped[str | None] = mapped_column(String(200))   # e.g. Getloo's queue_id
    attempts: Mapped[int] = mapped_column(default=0)
    error_code: Mapped[str | None] = mapped_column(String(60))
    error: Mapped[str | None] = mapped_column(Text)
    trace_id: Mapped[str | None] = mapped_column(String(200))
    sent_at: Mapped[datetime | None]

    followup: Mapped[Followup | None] = relationship(back_populates="actions")
    attempt_log: Mapped[list["ActionAttempt"]] = relationship(
        back_populates="action", order_by="ActionAttempt.number", cascade="all, delete-orphan")


class ActionAttempt(Base):
    """One try of an outbound action: what the provider answered, for an admin asking "why"."""

    __tablename__ = "action_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("outbound_action.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(default=1)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    # sent | retry | failed | unknown | reconciled_sent | reconciled_missing | manual_sent | resend
    outcome: Mapped[str | None] = mapped_column(String(30))
    http_status: Mapped[int | None]
    error_code: Mapped[str | None] = mapped_column(String(60))
    error: Mapped[str | None] = mapped_column(Text)
    retry_after: Mapped[float | None]     # seconds the provider asked us to wait (429 Retry-After)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))  # manual outcomes

    action: Mapped[OutboundAction] = relationship(back_populates="attempt_log")
