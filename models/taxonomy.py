"""Tags and the category tree: the labels and the reporting taxonomy a ticket is filed under.

Kept apart from ``models/ticket.py`` so the ticket's own columns and its taxonomy can change
independently. The association tables carry an index on their second column too: the queue's
``tag=`` and ``category=`` filters look tickets up by tag or category, never the other way round
alone.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Index, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base

ticket_tags = Table(
    "ticket_tag", Base.metadata,
    Column("ticket_id", ForeignKey("ticket.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("tag.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_ticket_tag_tag_id", "tag_id"),
)
ticket_categories = Table(
    "ticket_category", Base.metadata,
    Column("ticket_id", ForeignKey("ticket.id", ondelete="CASCADE"), primary_key=True),
    Column("category_id", ForeignKey("category.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_ticket_category_category_id", "category_id"),
)


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
