"""Helpers for the rules runner's tests: rules made through the API (so the stored shape is the
real one), inbound messages stored through ingestion (so each comes with its rule run), and the
rules job run by RQ."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import select

import workers
from helpers import run_jobs
from inbox import db
from inbox.connectors.base import Author, InboundItem
from inbox.ingest import store
from models import Channel, History, RuleRun, Ticket, TicketKind


def local_channel(**settings) -> int:
    """A channel with no provider behind it (nothing here calls a network)."""
    with db.session_scope() as s:
        channel = Channel(provider="getloo", network="instagram", name="Shop", base_url="http://getloo.test",
                          settings=settings)
        s.add(channel)
        s.flush()
        return channel.id


def inbound(channel_id: int, text: str, *, ticket: str = "t1", message: str | None = None, author: str = "u1",
            kind: TicketKind = TicketKind.CONVERSATION) -> int:
    """Store one inbound message the way ingestion does (with its rule run); the ticket's id."""
    with db.session_scope() as s:
        channel = s.get(Channel, channel_id)
        store.apply(s, channel, [InboundItem(
            ticket_kind=kind, ticket_external_id=ticket, message_external_id=message or f"{ticket}-{text[:20]}",
            author=Author(external_id=author, username=author, name=author.title()), text=text,
            created_at=datetime.now(timezone.utc).replace(tzinfo=None))])
        return s.scalars(select(Ticket.id).where(Ticket.channel_id == channel_id,
                                                 Ticket.external_id == ticket)).one()


def make_rule(api, actions: list[dict], conditions: list[dict] | None = None, **fields) -> dict:
    body = {"name": "Rule", "active": True, "weight": 10, "trigger": "ticket_creation", "entity": "ticket",
            "conditions": conditions or [], "actions": actions, **fields}
    answer = api("admin").post("/api/v1/rules", json=body)
    assert answer.status_code == 201, answer.get_data(as_text=True)
    return answer.get_json()


def run_rules() -> None:
    """What ingestion does after its commit, then every queue drained by an RQ worker."""
    workers.request_rules()
    run_jobs()


def runs(ticket_id: int) -> list[RuleRun]:
    with db.session_scope() as s:
        found = list(s.scalars(select(RuleRun).where(RuleRun.ticket_id == ticket_id).order_by(RuleRun.id)))
        s.expunge_all()
        return found


def history(ticket_id: int, action: str | None = None) -> list[History]:
    with db.session_scope() as s:
        query = select(History).where(History.ticket_id == ticket_id).order_by(History.id)
        if action:
            query = query.where(History.action == action)
        found = list(s.scalars(query))
        s.expunge_all()
        return found


def rule_trace(run: RuleRun, name: str) -> dict:
    return next(r for r in run.trace["rules"] if r["name"] == name)
