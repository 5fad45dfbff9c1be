"""The live poll and presence heartbeats."""
from __future__ import annotations

from types import SimpleNamespace

from flask import abort, current_app, g, render_template, request
from flask_login import current_user
from markupsafe import Markup
from werkzeug.datastructures import MultiDict

from inbox import hx

from inbox.auth.permissions import permission_required
from inbox.db import get_session
from inbox.queue import folder_views
from inbox.queue.pane import load_ticket
from inbox.queue.queries import FilterError, Filters

from . import bp, changes, presence

# The poll's own arguments: what the browser shows, not what the view is.
_SCREEN_ARGS = {"top", "rows", "open"}


def _view_filters() -> Filters:
    args = MultiDict([(k, v) for k, v in request.args.items(multi=True) if k not in _SCREEN_ARGS | {"cursor"}])
    folder, folder_args = folder_views.resolve_or_404(get_session(), current_user, args)
    try:
        return Filters.from_args(args, me=current_user.id, folder=folder, folder_args=folder_args)
    except FilterError as exc:
        abort(400, exc.message)


@bp.get("/queue/changes")
@permission_required("ViewTickets")
def changes_since():
    """What changed on this page since the browser's last poll: 304 (no body) when nothing did,
    else the "N new" banner, the changed rows, presence and the folder sidebar (static/live.js
    swaps each into place)."""
    session = get_session()
    filters = _view_filters()
    try:
        screen = changes.Screen.from_args(request.args)
    except changes.BadPoll as exc:
        abort(400, str(exc))
    here = changes.presence_for(session, current_user, screen)
    tag = changes.etag(session, current_user, request.query_string.decode(), here)
    if tag in request.if_none_match:
        response = current_app.response_class(status=304)
    else:
        rows = changes.changed_rows(session, current_user, screen)
        new = changes.new_count(session, filters, current_user, screen)
        # The presence just read serves the re-rendered rows too (no second round trip).
        g.live_presence, g.live_presence_loaded = dict(here), set(screen.rows) | {screen.open_ticket}
        folders = hx.fragment("queue/_folders.html", "folders",
                              **folder_views.sidebar(session, current_user, filters.folder))
        body = render_template(
            "live/changes.html", new=new, new_label="99+" if new > changes.NEW_CAP else str(new),
            tickets=rows, ticket=SimpleNamespace(id=screen.open_ticket) if screen.open_ticket else None,
            shown=screen, presence_map=here, folders_html=Markup(folders))
        response = current_app.response_class(body)
    response.set_etag(tag)
    response.headers["Cache-Control"] = "no-cache, private"
    return response


@bp.post("/tickets/<int:ticket_id>/presence")
@permission_required("ViewTickets")
def heartbeat(ticket_id: int):
    """The pane says the user is viewing or replying to this ticket (every few seconds), or has
    left it (``state=leave``, sent with navigator.sendBeacon when the page goes away). 204."""
    state = request.form.get("state", "viewing")
    if state not in (*presence.STATES, "leave"):
        abort(400, "state must be viewing, replying or leave")
    load_ticket(ticket_id)      # a ticket the user may not see: 404, and nothing is recorded
    if state == "leave":
        presence.leave(ticket_id, current_user.id)
    else:
        presence.heartbeat(ticket_id, current_user.id, state)
    return current_app.response_class(status=204)
