"""A dry run: what one rule — saved or still in the editor — would do to the last N items.

The same path as the worker (``inbox.rules.items`` builds each item, ``engine.evaluate`` decides),
so a dry run answers what would really happen, but nothing is written: no history, no rule run, no
counter, no ticket change. The tickets are the last N by activity, loaded with their channel, their
author and their latest inbound message in a few queries, so that 500 items take about a second.

The rule is tried as if it were active (an admin trying a disabled draft wants to see what it
would catch); its trigger decides the event each ticket is taken as: a new item ("created") for
``ticket_creation``, a new message in it ("message") for ``message_received``.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload, selectinload

from inbox.rules import engine, items
from models import Direction, Message, Ticket

N_DEFAULT, N_MAX = 50, 500


@dataclass(frozen=True)
class Row:
    """One ticket's answer, as plain values (no rows: the caller rolls the session back)."""

    ticket_id: int
    channel_name: str
    text: str
    matched: bool
    failed: engine.ConditionTrace | None      # the condition that decided "no"
    conditions: tuple[engine.ConditionTrace, ...]
    actions: tuple[engine.PlannedAction, ...]


@dataclass(frozen=True)
class Result:
    tried: int
    matched: int
    rows: tuple[Row, ...]


def parse_n(raw: Any) -> int:
    """The N the admin asked for, clamped to 1–500 (the default when it is not a number)."""
    try:
        n = int(str(raw).strip())
    except (TypeError, ValueError):
        return N_DEFAULT
    return max(1, min(N_MAX, n))


def dry_run(session: Session, data: Mapping[str, Any], n: int = N_DEFAULT) -> Result:
    """Try the rule ``data`` (SocialHub's shape) on the last ``n`` tickets; raises
    ``engine.RuleError`` when the rule cannot be parsed (the editor shows it inline)."""
    found = items.lookups(session)
    rule = engine.parse_rule({"weight": 0, **data, "entity": "ticket"}, found)
    rule = dataclasses.replace(rule, active=True)
    event = engine.TRIGGERS[rule.trigger]
    tickets = list(session.scalars(
        select(Ticket).options(joinedload(Ticket.channel), joinedload(Ticket.interactor))
        .order_by(Ticket.last_activity_at.desc(), Ticket.id.desc()).limit(parse_n(n))).unique())
    latest = _latest_inbound(session, [t.id for t in tickets])
    rows = []
    for ticket in tickets:
        message = latest.get(ticket.id)
        item = items.item_for(session, ticket, message, event)
        evaluation = engine.evaluate([rule], item, found)
        trace = evaluation.traces[0]
        failed = None if trace.matched else next(
            (c for c in trace.conditions if c.passed is False), None)
        rows.append(Row(ticket.id, ticket.channel.name if ticket.channel else "", item.text, trace.matched,
                        failed, trace.conditions, evaluation.actions))
    return Result(len(rows), sum(r.matched for r in rows), tuple(rows))


def _latest_inbound(session: Session, ticket_ids: list[int]) -> dict[int, Message]:
    """Each ticket's latest inbound message (what ``items.item_for`` would look up one by one)."""
    if not ticket_ids:
        return {}
    ranked = (select(Message.id, func.row_number().over(
        partition_by=Message.ticket_id, order_by=(Message.created_at.desc(), Message.id.desc())).label("n"))
        .where(Message.ticket_id.in_(ticket_ids), Message.direction == Direction.IN).subquery())
    rows = session.scalars(select(Message).options(selectinload(Message.interactor))
                           .join(ranked, ranked.c.id == Message.id).where(ranked.c.n == 1))
    return {m.ticket_id: m for m in rows}
