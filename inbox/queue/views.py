"""The queue page and the ticket pane. htmx requests get only the fragment they swap."""
from __future__ import annotations

from flask import Blueprint, abort, make_response, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from inbox import hx
from inbox.auth.permissions import permission_required
from inbox.db import get_session
from models import Channel, ChannelStatus, Followup, Post, Ticket

from .queries import FilterError, Filters, ticket_page

bp = Blueprint("queue", __name__)


def _page_context(filters: Filters) -> dict:
    session = get_session()
    tickets, next_cursor = ticket_page(session, filters)
    channels = session.scalars(select(Channel).order_by(Channel.name)).all()
    attention = [c for c in channels if c.status == ChannelStatus.NEEDS_ATTENTION]
    return {"tickets": tickets, "next_cursor": next_cursor, "filters": filters, "channels": channels,
            "attention": attention,
            "filters_args": filters.as_args()}


def _filters_or_400() -> Filters:
    try:
        return Filters.from_args(request.args)
    except FilterError as exc:
        abort(400, exc.message)


@bp.get("/")
@permission_required("ViewTickets")
def index():
    """The unified queue, newest activity first."""
    return render_template("queue/index.html", ticket=None, **_page_context(_filters_or_400()))


@bp.get("/queue/rows")
@permission_required("ViewTickets")
def rows():
    """Just the rows, for filter changes and infinite scroll; the address bar follows the filters."""
    filters = _filters_or_400()
    response = make_response(hx.fragment("queue/index.html", "ticket_rows", ticket=None, **_page_context(filters)))
    if not filters.cursor:
        response.headers["HX-Push-Url"] = url_for("queue.index", **filters.as_args())
    return response


def load_ticket(ticket_id: int) -> Ticket:
    ticket = get_session().scalars(
        select(Ticket).where(Ticket.id == ticket_id).options(
            selectinload(Ticket.messages), selectinload(Ticket.interactor), selectinload(Ticket.channel),
            selectinload(Ticket.followups).selectinload(Followup.author),
            selectinload(Ticket.followups).selectinload(Followup.actions))).first()
    if ticket is None:
        abort(404)
    return ticket


@bp.get("/tickets/<int:ticket_id>")
@permission_required("ViewTickets")
def ticket(ticket_id: int):
    ticket = load_ticket(ticket_id)
    pane = pane_context(ticket)
    if hx.is_htmx():
        return hx.fragment("queue/index.html", "pane", **pane)
    return render_template("queue/index.html", **pane, **_page_context(_filters_or_400()))


def pane_context(ticket: Ticket) -> dict:
    """The ticket, its thread, the post it is on, its parent comment, and the action bar."""
    from .action_views import render_actions

    session = get_session()
    post = None
    if ticket.post_external_id:
        post = session.scalars(select(Post).filter_by(channel_id=ticket.channel_id,
                                                      external_id=ticket.post_external_id)).first()
    if ticket.kind == "post_failure" and post is None and ticket.data.get("post_id"):
        post = session.scalars(select(Post).filter_by(channel_id=ticket.channel_id,
                                                      external_id=str(ticket.data["post_id"]))).first()
    parent = session.get(Ticket, ticket.parent_id) if ticket.parent_id else None
    return {"ticket": ticket, "thread": thread_of(ticket), "post": post, "parent": parent,
            "actions_html": render_actions(ticket)[0]}


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
