"""The ticket pane's action bar (like, hide, delete, close, reschedule, archive) and wall injection."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

import workers
from inbox import visibility
from inbox.auth.permissions import permission_required
from inbox.connectors.base import Rejected
from inbox.db import get_session
from models import Channel

from . import bp, triage
from .actions import NotPermitted, queue_channel_action, queue_ticket_action
from .pane import action_bar, load_ticket, render_pane


def render_actions(ticket, error: str | None = None, status: int = 200):
    """The action bar alone (htmx swaps it); the pane includes the same template with the same context."""
    return render_template("queue/_actions.html", bar=action_bar(get_session(), ticket, error)), status


@bp.get("/tickets/<int:ticket_id>/actions")
@permission_required("ViewTickets")
def actions(ticket_id: int):
    """The action bar; it polls itself while an action is on its way."""
    return render_actions(load_ticket(ticket_id))


@bp.post("/tickets/<int:ticket_id>/actions/<kind>")
@permission_required("ViewTickets")
def act(ticket_id: int, kind: str):
    session, ticket = get_session(), load_ticket(ticket_id)
    params = {k: v for k, v in request.form.items() if k != "csrf_token"}
    try:
        action = queue_ticket_action(session, ticket, current_user, kind, params)
    except Rejected as exc:
        session.rollback()
        return render_actions(ticket, exc.message, 422)
    except triage.Stale:
        session.rollback()
        return render_pane(ticket_id, message=triage.STALE_MESSAGE, status=409, retarget=True)
    except NotPermitted:
        session.rollback()
        abort(403)
    session.commit()
    if action is not None and not workers.send_soon(action.id):   # saved: the sweep queues it
        action.error = workers.QUEUE_DOWN_NOTICE                   # shown in the action log meanwhile
        session.commit()
    # The whole pane: the action raised the ticket's version, which every form in it carries.
    return render_pane(ticket_id, retarget=True)


@bp.post("/tickets/<int:ticket_id>/triage/<kind>")
@permission_required("ViewTickets")
def triage_action(ticket_id: int, kind: str):
    """The sidebar's controls (assign, priority, sentiment, status, snooze): each answers the whole
    pane, so the sidebar, the header and the history all show the change."""
    if kind not in triage.TRIAGE_ACTIONS:
        abort(404)
    session, ticket = get_session(), load_ticket(ticket_id)
    params = {k: v for k, v in request.form.items() if k != "csrf_token"}
    try:
        queue_ticket_action(session, ticket, current_user, kind, params)
    except Rejected as exc:
        session.rollback()
        return render_pane(ticket_id, error=exc.message, status=422)
    except triage.Stale:
        session.rollback()
        return render_pane(ticket_id, message=triage.STALE_MESSAGE, status=409)
    except NotPermitted:
        session.rollback()
        abort(403)
    session.commit()
    if kind == "assign" and not visibility.can_see_ticket(session, current_user, ticket):
        return handed_away()
    if kind == "snooze":
        from workers.triage import wake_soon

        if not wake_soon(ticket.id, ticket.snoozed_until):
            return render_pane(ticket_id, message="Snoozed. The queue is unreachable: the ticket wakes up "
                                                  "within a minute of its time once it is back.")
    return render_pane(ticket_id)


def handed_away():
    """The user handed the ticket to a team (or a person) that leaves it out of their sight: the
    pane says so instead of answering 404 to what they just did."""
    from inbox import hx

    message = "Handed over: this ticket is no longer in your teams' queue."
    if hx.is_htmx():
        return render_template("queue/_handed_away.html", message=message)
    flash(message)
    return redirect(url_for("queue.index"))


@bp.post("/channels/<int:channel_id>/inject")
@permission_required("ReplyTicket")
def inject(channel_id: int):
    """Post a web message into a wall (SocialWall Pro), from the channel page or a wall post."""
    session = get_session()
    channel = session.get(Channel, channel_id)
    if channel is None or not visibility.can_see_channel(session, current_user, channel):   # no existence leak
        abort(404)
    params = {k: v.strip() for k, v in request.form.items() if k in ("text", "media_url", "avatar_name", "real_name")
              and v.strip()}
    try:
        action = queue_channel_action(session, channel, current_user, "inject", params)
    except Rejected as exc:
        session.rollback()
        flash(f"Not sent: {exc.message}", "error")
        return redirect(request.referrer or url_for("settings.channels"))
    except NotPermitted:
        abort(403)
    session.commit()
    if workers.send_soon(action.id):
        flash(f"Sending to the wall (action {action.id}); its result shows on the channels page.")
    else:
        flash(f"Saved the message for the wall (action {action.id}), but the queue is unreachable: "
              f"it will be sent when the queue is back.", "warning")
    return redirect(request.referrer or url_for("settings.channels"))
