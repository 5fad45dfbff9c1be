"""Tags and the category tree: the labels and the reporting taxonomy a ticket is filed under.

Kept apart from ``models/ticket.py`` so the ticket's own columns and its taxonomy can change
independently. The association tables carry an index on their second column too: the queue's
``tag=`` and ``category=`` filters look tickets up by tag or category, never the other way round
alone.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Column, DateTime, ForeignKey, Index, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base

# ``last_activity_at`` is the ticket's, copied by triggers (``ACTIVITY_TRIGGERS``): the queue's
# ``tag=`` and ``category=`` pages then read one index range in the queue's order (tag, newest
# first) and stop after a page, instead of collecting every ticket of a tag and sorting them.
ticket_tags = Table(
    "ticket_tag", Base.metadata,
    Column("ticket_id", ForeignKey("ticket.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("tag.id", ondelete="CASCADE"), primary_key=True),
    Column("last_activity_at", DateTime, nullable=True),
    Index("ix_ticket_tag_order", "tag_id", "last_activity_at", "ticket_id"),
)
ticket_categories = Table(
    "ticket_category", Base.metadata,
    Column("ticket_id", ForeignKey("ticket.id", ondelete="CASCADE"), primary_key=True),
    Column("category_id", ForeignKey("category.id", ondelete="CASCADE"), primary_key=True),
    Column("last_activity_at", DateTime, nullable=True),
    Index("ix_ticket_category_order", "category_id", "last_activity_at", "ticket_id"),
)

_COPIES = (("ticket_tag", "tag_id"), ("ticket_category", "category_id"))
SQLITE_ACTIVITY_TRIGGERS = [
    *(f"CREATE TRIGGER IF NOT EXISTS {table}_activity_insert AFTER INSERT ON {table} "
      f"WHEN NEW.last_activity_at IS NULL BEGIN UPDATE {table} SET last_activity_at = "
      f"(SELECT last_activity_at FROM ticket WHERE id = NEW.ticket_id) "
      f"WHERE ticket_id = NEW.ticket_id AND {key} = NEW.{key}; END" for table, key in _COPIES),
    "CREATE TRIGGER IF NOT EXISTS ticket_activity_copy AFTER UPDATE OF last_activity_at ON ticket "
    "WHEN OLD.last_activity_at IS NOT NEW.last_activity_at BEGIN "
    + " ".join(f"UPDATE {table} SET last_activity_at = NEW.last_activity_at WHERE ticket_id = NEW.id;"
               for table, _ in _COPIES) + " END",
]
POSTGRES_ACTIVITY_TRIGGERS = [
    """CREATE OR REPLACE FUNCTION ticket_activity_fill() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.last_activity_at IS NULL THEN
    NEW.last_activity_at := (SELECT last_activity_at FROM ticket WHERE id = NEW.ticket_id);
  END IF;
  RETURN NEW;
END $$""",
    """CREATE OR REPLACE FUNCTION ticket_activity_copy() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.last_activity_at IS DISTINCT FROM OLD.last_activity_at THEN
    UPDATE ticket_tag SET last_activity_at = NEW.last_activity_at WHERE ticket_id = NEW.id;
    UPDATE ticket_category SET last_activity_at = NEW.last_activity_at WHERE ticket_id = NEW.id;
  END IF;
  RETURN NULL;
END $$""",
    *(f"DROP TRIGGER IF EXISTS {table}_activity_fill ON {table}" for table, _ in _COPIES),
    *(f"CREATE TRIGGER {table}_activity_fill BEFORE INSERT ON {table} FOR EACH ROW "
      f"EXECUTE FUNCTION ticket_activity_fill()" for table, _ in _COPIES),
    "DROP TRIGGER IF EXISTS ticket_activity_copy ON ticket",
    "CREATE TRIGGER ticket_activity_copy AFTER UPDATE OF last_activity_at ON ticket FOR EACH ROW "
    "EXECUTE FUNCTION ticket_activity_copy()",
]
DROP_SQLITE_ACTIVITY = [*(f"DROP TRIGGER IF EXISTS {t}_activity_insert" for t, _ in _COPIES),
                        "DROP TRIGGER IF EXISTS ticket_activity_copy"]
DROP_POSTGRES_ACTIVITY = [*(f"DROP TRIGGER IF EXISTS {t}_activity_fill ON {t}" for t, _ in _COPIES),
                          "DROP TRIGGER IF EXISTS ticket_activity_copy ON ticket",
                          "DROP FUNCTION IF EXISTS ticket_activity_fill()", "DROP FUNCTION IF EXISTS ticket_activity_copy()"]
# The copies for rows written before the triggers (the migration) or around them (a bulk load).
REFILL_ACTIVITY = [f"UPDATE {table} SET last_activity_at = (SELECT last_activity_at FROM ticket "
                   f"WHERE ticket.id = {table}.ticket_id)" for table, _ in _COPIES]


class Tag(Base):
    """A flat coloured label, synced to providers that have tags."""

    __tablename__ = "tag"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    color: Mapped[str] = mapped_column(String(20), default="#888888")
    # The provider's ids for this tag, per channel ({"<channel_id>": "<provider tag id>"}), for sync.
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Category(Base):
    """A node of the reporting taxonomy (SocialHub's category tree).

    ``hidden`` takes a node (and so its subtree) out of the pickers without touching the tickets
    already filed under it; ``position`` orders siblings.
    """

    __tablename__ = "category"
    __table_args__ = (UniqueConstraint("parent_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("category.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    position: Mapped[int] = mapped_column(default=0)
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    hidden: Mapped[bool] = mapped_column(default=False, server_default="0")

    parent: Mapped["Category | None"] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list["Category"]] = relationship(back_populates="parent")
