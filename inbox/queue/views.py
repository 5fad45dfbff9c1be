"""The queue page and the ticket pane. htmx requests get only the fragment they swap."""
from __future__ import annotations

from flask import abort, make_response, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from inbox import hx
from inbox.auth.permissions import permission_required
from inbox.db import get_session
from models import Channel, ChannelStatus

from . import bp
from .pane import load_ticket, pane_context
from .queries import FilterError, Filters, ticket_page


def page_context() -> dict:
    """The queue beside a pane rendered by another view (the triage answers without htmx)."""
    return _page_context(_filters_or_400())


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
        return Filters.from_args(request.args, me=current_user.id)
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


@bp.get("/tickets/<int:ticket_id>")
@permission_required("ViewTickets")
def ticket(ticket_id: int):
    pane = pane_context(get_session(), load_ticket(ticket_id))
    if hx.is_htmx():
        return hx.fragment("queue/index.html", "pane", **pane)
    return render_template("queue/index.html", **pane, **_page_context(_filters_or_400()))
