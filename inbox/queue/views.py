"""The queue page and the ticket pane. htmx requests get only the fragment they swap."""
from __future__ import annotations

from flask import abort, make_response, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from inbox import hx, visibility
from inbox.auth.permissions import permission_required
from inbox.db import get_session
from inbox.settings import taxonomy
from models import Channel, ChannelStatus, Team

from . import bp, folder_views
from .pane import load_ticket, pane_context
from .queries import FilterError, Filters, ticket_page


def page_context() -> dict:
    """The queue beside a pane rendered by another view (the triage answers without htmx)."""
    return _page_context(_filters_or_400(), full=True)


def _page_context(filters: Filters, full: bool = False) -> dict:
    """The rows, the channels (those the user sees) and, for a whole page (``full``), the filter
    bar's choices of tag, category and team: a fixed number of queries whatever the data."""
    session = get_session()
    tickets, next_cursor = ticket_page(session, filters, viewer=current_user, categories=False)
    channels = session.scalars(visibility.restrict(select(Channel), visibility.visible_channels(current_user))
                               .order_by(Channel.name)).all()
    attention = [c for c in channels if c.status == ChannelStatus.NEEDS_ATTENTION]
    return {"tickets": tickets, "next_cursor": next_cursor, "filters": filters, "channels": channels,
            "attention": attention, "filters_args": filters.as_args(),
            # The pane opened from a search result highlights the same words (inbox.search.highlight).
            "row_link_args": {"q": filters.q} if filters.q else {},
            **(filter_choices(session) if full else {}),
            **(folder_views.sidebar(session, current_user, filters.folder) if full else {})}


def filter_choices(session) -> dict:
    """The filter bar's tags, categories (tree order, indented; hidden nodes left out) and teams."""
    return {"filter_tags": taxonomy.all_tags(session),
            "filter_categories": [n for n in taxonomy.tree(session) if not n.hidden],
            "filter_teams": session.scalars(select(Team).order_by(Team.name)).all()}


def _filters_or_400() -> Filters:
    folder, folder_args = folder_views.resolve_or_404(get_session(), current_user, request.args)
    try:
        return Filters.from_args(request.args, me=current_user.id, folder=folder, folder_args=folder_args)
    except FilterError as exc:
        abort(400, exc.message)


@bp.get("/")
@permission_required("ViewTickets")
def index():
    """The unified queue, newest activity first."""
    return render_template("queue/index.html", ticket=None, **_page_context(_filters_or_400(), full=True))


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
    pane = pane_context(get_session(), load_ticket(ticket_id), current_user)
    if hx.is_htmx():
        return hx.fragment("queue/index.html", "pane", **pane)
    return render_template("queue/index.html", **pane, **_page_context(_filters_or_400(), full=True))
