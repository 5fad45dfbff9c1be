"""Forwarding a ticket by email (the rules' ``forward_by_mail``): the interface the rules runner
calls. Being written: see the module that replaces this one."""
from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session


def forward(session: Session, ticket: Any, config: dict[str, Any], *, rule_name: str) -> Any:
    """Record a mail followup on ``ticket`` (in the caller's transaction) from a
    ``forward_by_mail`` config ``{recipients, cc, subject, message, replyTo, context}``; returns it.
    Raises ``inbox.connectors.base.Rejected`` when it cannot be recorded."""
    raise NotImplementedError


def send_soon(followup_id: int) -> bool:
    """After the commit: queue the send (False when Redis is down; the sweep sends it later)."""
    raise NotImplementedError
