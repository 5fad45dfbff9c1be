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
from sqlalchemy.orm import Mapped, mapped_column

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
