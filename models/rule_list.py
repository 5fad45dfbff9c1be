"""The lists smart rules refer to: keyword lists and interactor lists.

Each list carries a ``version`` raised by every change, so that what is built from it (a keyword
automaton, a set of authors) is cached per (id, version) and rebuilt only when the list changed.
Entries are JSON arrays: a list is read whole by the rules engine, never queried entry by entry.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, TimestampMixin


class KeywordList(TimestampMixin, Base):
    __tablename__ = "keyword_list"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    version: Mapped[int] = mapped_column(default=1)


class InteractorList(TimestampMixin, Base):
    """Authors, each ``{"channel_id": int | None, "external_id": str | None, "username": str | None}``:
    an entry without a channel matches that id or handle on every channel."""

    __tablename__ = "interactor_list"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    members: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    version: Mapped[int] = mapped_column(default=1)
