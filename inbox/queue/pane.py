"""The ticket pane's data, shared by the pages and the JSON API: the ticket with its thread, the
post it is on, its parent comment, and the action bar's context.

Not a view module: ``inbox.api`` imports it, and the action bar is rendered by the template that
includes ``queue/_actions.html`` with ``action_bar()``'s context (no HTML built in Python).
"""
from __future__ import annotations

from typing import Any

from flask import abort
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from models import ActionState, Followup, History, OutboundAction, Post, Ticket, User

from . import triage
from .actions import LABELS, available_actions, custom_actions

PENDING = (ActionState.QUEUED, ActionState.SENDING)


def find_ticket(session: Session, ticket_id: int) -> Ticket | None:
    """The ticket with everything its pane and its API detail show, loaded in a fixed number of queries."""
    return session.scalars(
        select(Ticket).where(Ticket.id == ticket_id).options(
            selectinload(Ticket.messages), selectinload(Ticket.interactor), selectinload(Ticket.channel),
            selectinload(Ticket.tags), selectinload(Ticket.categories), selectinload(Ticket.assignee),
            selectinload(Ticket.followups).selectinload(Followup.author),
            selectinload(Ticket.followups).selectinload(Followup.actions),
            selectinload(Ticket.followups).selectinload(Followup.mentioned))).first()


def load_ticket(ticket_id: int) -> Ticket:
    """``find_ticket`` in the request's session, or a 404 (pages; the API answers its own JSON 404)."""
    from inbox.db import get_session

    ticket = find_ticket(get_session(), ticket_id)
    if ticket is None:
        abort(404)
    return ticket


def action_bar(session: Session, ticket: Ticket, error: str | None = None) -> dict[str, Any]:
    """What ``queue/_actions.html`` needs: the buttons on offer and the last few actions' states."""
    recent = session.scalars(select(OutboundAction).where(
        OutboundAction.ticket_id == ticket.id, OutboundAction.kind != "reply")
        .order_by(OutboundAction.id.desc()).limit(5)).all()
    return {"ticket": ticket, "available": available_actions(ticket), "custom": custom_actions(ticket),
            "labels": LABELS, "recent": recent, "pending": any(a.state in PENDING for a in recent),
            "error": error}


def pane_context(session: Session, ticket: Ticket) -> dict[str, Any]:
    """The ticket, its thread, the post it is on, its parent comment, and the action bar's context."""
    post = None
    if ticket.post_external_id:
        post = session.scalars(select(Post).filter_by(channel_id=ticket.channel_id,
                                                      external_id=ticket.post_external_id)).first()
    if ticket.kind == "post_failure" and post is None and ticket.data.get("post_id"):
        post = session.scalars(select(Post).filter_by(channel_id=ticket.channel_id,
                                                      external_id=str(ticket.data["post_id"]))).first()
    parent = session.get(Ticket, ticket.parent_id) if ticket.parent_id else None
    return {"ticket": ticket, "thread": thread_of(ticket), "post": post, "parent": parent,
            "bar": action_bar(session, ticket), "side": sidebar(session, ticket)}


def sidebar(session: Session, ticket: Ticket, message: str | None = None, error: str | None = None) -> dict[str, Any]:
    """What ``queue/_triage.html`` needs: the triage controls' choices and the history, newest first.

    ``message`` explains a refused stale action; ``error`` a refused value (both shown inline).
    """
    users = session.scalars(select(User).order_by(User.name, User.email)).all()
    entries = session.scalars(select(History).filter_by(ticket_id=ticket.id)
                              .order_by(History.created_at.desc(), History.id.desc()).limit(100)).all()
    return {"ticket": ticket, "assignable": [u for u in users if u.active],
            "names": {u.id: u.display_name for u in users}, "history": entries, "sentiments": triage.SENTIMENTS,
            "statuses": [s.value for s in triage.SETTABLE_STATUSES],
            "presets": triage.SNOOZE_PRESETS, "message": message, "error": error}


def thread_of(ticket: Ticket) -> list[tuple[str, object]]:
    """Inbound messages and our followups in one timeline.

    Our replies seen again on the network (polled, or confirmed by an integration) are shown once,
    as the reply card that carries their delivery status.
    """
    ours = {a.external_id for f in ticket.followups for a in f.actions if a.external_id}
    ours |= {a.idempotency_key for f in ticket.followups for a in f.actions}
    entries = [("message", m.created_at, m) for m in ticket.messages
               if not (m.direction == "out" and (m.external_id in ours or (m.data or {}).get("replyId") in ours))]
    entries += [("followup", f.created_at, f) for f in ticket.followups]
    return [(kind, obj) for kind, _, obj in sorted(entries, key=lambda e: (e[1], e[0] == "followup"))]
