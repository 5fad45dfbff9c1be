"""Bulk jobs: one person's change to many tickets, done by a worker in batches.

Why a row: the work outlives the request that started it. The row is what the progress bar reads,
what the summary is built from, and how a retried job knows where it stopped (``cursor``, advanced
in the same transaction as the batch it covers, so no ticket is changed twice).
"""
from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


class BulkStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"       # the job itself gave up (not: some tickets failed)


class BulkJob(Base):
    """``selection`` is either ``{"tickets": [[id, version|None], ...]}`` (the rows the user ticked,
    with the version each showed) or ``{"filter": {args}, "max_id": N, "at": iso}``: the filter's
    arguments and a snapshot bound, so tickets arriving (or active) after the start are left out.
    ``cursor``: explicit selections, how many entries are behind us; filters, the last ticket id
    handled (filters are walked in id order)."""

    __tablename__ = "bulk_job"
    __table_args__ = (Index("ix_bulk_job_user", "user_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(20))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    selection: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    cursor: Mapped[int] = mapped_column(default=0, server_default="0")
    total: Mapped[int] = mapped_column(default=0, server_default="0")
    done: Mapped[int] = mapped_column(default=0, server_default="0")
    skipped: Mapped[int] = mapped_column(default=0, server_default="0")
    failed: Mapped[int] = mapped_column(default=0, server_default="0")
    failures: Mapped[list[Any]] = mapped_column(JSON, default=list)   # [{ticket_id, reason}], capped
    status: Mapped[BulkStatus] = mapped_column(String(20), default=BulkStatus.QUEUED)
    error: Mapped[str | None] = mapped_column(String(500))            # why the job itself failed
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]

    @property
    def handled(self) -> int:
        return self.done + self.skipped + self.failed

    @property
    def over(self) -> bool:
        return self.status in (BulkStatus.FINISHED, BulkStatus.FAILED)
