"""Smart rules as admins write them, and every version of each.

A rule is kept in SocialHub's shape (``conditions`` and ``actions`` as JSON arrays of
``{condition|action, config}``) so that what the API accepts is what is stored and answered;
``inbox.rules.engine`` parses it into typed objects when it runs. Every change writes a
``RuleVersion`` (who, when, the whole rule as it became), so a change can be read back and an
earlier version restored.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, TimestampMixin, utcnow


class Rule(TimestampMixin, Base):
    __tablename__ = "rule"
    __table_args__ = (Index("ix_rule_active_weight", "active", "weight", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    description: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(default=True)
    weight: Mapped[int] = mapped_column(default=0)          # lower runs first (then by id)
    trigger: Mapped[str] = mapped_column(String(40), default="ticket_creation")
    entity: Mapped[str] = mapped_column(String(20), default="ticket")
    match: Mapped[str] = mapped_column(String(3), default="all")      # all | any
    stop: Mapped[bool] = mapped_column(default=False)                 # a match ends the rules after it
    conditions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    actions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    version: Mapped[int] = mapped_column(default=1)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    # The rules page's counters, raised in the transaction of each run (inbox.rules.runner):
    # items this rule matched, runs where one of its actions failed, and the last match.
    matched_count: Mapped[int] = mapped_column(default=0, server_default="0")
    failed_count: Mapped[int] = mapped_column(default=0, server_default="0")
    last_matched_at: Mapped[datetime | None]


class RuleVersion(Base):
    """The rule as one change left it (``data`` is its API shape), and who made the change."""

    __tablename__ = "rule_version"
    __table_args__ = (UniqueConstraint("rule_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("rule.id", ondelete="CASCADE"))
    version: Mapped[int]
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    change: Mapped[str] = mapped_column(String(20), default="update")   # create | update | restore | reorder
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RuleRunStatus:
    PENDING = "pending"   # written with the message, in the ingest transaction
    DONE = "done"         # evaluated; every action's effect committed in the same transaction
    FAILED = "failed"     # the run itself kept raising (an action's failure is only in the trace)


class RuleRun(Base):
    """One trigger event of one item — a new item, or a new inbound message in an existing one —
    and what the rules did about it.

    The row is written by ingestion in the same transaction as the message (``status=pending``),
    so no event is lost between the commit and the job; the unique ``(message_id, event)`` makes a
    redelivered event the same row. The runner claims it with a conditional UPDATE and commits
    every action's effect together with ``status=done`` and the ``trace`` (rules evaluated, the
    condition that failed, each action and its result): a retried job finds it done and does
    nothing, so an action runs at most once per (rule, item, trigger event). Rule actions never
    write messages, so they never create runs: rules cannot trigger rules.
    """

    __tablename__ = "rule_run"
    __table_args__ = (UniqueConstraint("message_id", "event"),
                      Index("ix_rule_run_status_id", "status", "id"),
                      Index("ix_rule_run_ticket_id", "ticket_id", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE"))
    message_id: Mapped[int] = mapped_column(ForeignKey("message.id", ondelete="CASCADE"))
    event: Mapped[str] = mapped_column(String(20))              # "created" | "message" (engine.Item.event)
    status: Mapped[str] = mapped_column(String(20), default=RuleRunStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)
    trace: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    ran_at: Mapped[datetime | None]

    # Set by ingestion before the message has its id: the unit of work inserts the message first.
    message = relationship("Message")
