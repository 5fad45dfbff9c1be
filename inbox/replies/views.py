"""Sending a reply from the ticket pane, and the reply card that follows its delivery."""
from __future__ import annotations

from datetime import timezone

from flask import Blueprint, abort, render_template, request
from flask_login import current_user

import workers
from inbox import visibility
from inbox.approval.policy import approval_reasons
from inbox.auth.permissions import permission_required
from inbox.connectors.base import Rejected
from inbox.db import get_session
from inbox.live import guard
from inbox.queue import triage
from inbox.queue.actions import NotPermitted, queue_ticket_action
from inbox.queue.pane import load_ticket, render_pane
from models import Followup

from .choice import custom_choice
from .service import attachments_allowed, queue_reply, reply_limits as limits_of

bp = Blueprint("replies", __name__)


@bp.app_template_global()
def reply_attachments(ticket) -> bool:
    """For the composer wherever it is included: offer the attachment field only where it can go."""
    return attachments_allowed(ticket.channel.provider, ticket.kind)


@bp.app_template_global()
def reply_limits(ticket):
    """For the composer: the provider's window and limits on a reply to this ticket now."""
    return limits_of(get_session(), ticket)


@bp.app_template_filter("local_time")
def local_time(moment) -> str:
    """A naive UTC time as the signed-in user reads it: in their time zone, named."""
    zone = triage.user_zone(current_user)
    return moment.replace(tzinfo=timezone.utc).astimezone(zone).strftime("%d %b %H:%M ") + zone.key


@bp.post("/tickets/<int:ticket_id>/reply")
@permission_required("ReplyTicket")
def reply(ticket_id: int):
    session = get_session()
    ticket = load_ticket(ticket_id)
    text, attachment_url = request.form.get("text", ""), request.form.get("attachment_url") or None
    choice = custom_choice(request.form)
    arrived = guard.arrived_since(session, ticket, current_user, request.form.get("seen"))
    if arrived:   # something new since the composer opened: show it and ask (the text is kept)
        return guard.ask(ticket, text, attachment_url, arrived, archive=request.form.get("archive") == "1")
    try:
        # The version the agent saw: a reply written to a ticket that changed meanwhile (a new
        # message, someone else's reply or triage) is refused like the triage controls are.
        triage.check_version(ticket, triage.parse_version(request.form.get("version")))
        # Held for approval (the composer offers "Suggest" then, but a stale form or another reply
        # action can still post here): refused, never sent.
        held = approval_reasons(session, current_user, ticket, choice.get("action_id"))
        if held:
            session.rollback()
            return render_template("replies/_composer.html", ticket=ticket, text=text, held_reasons=held,
                                   error="Not sent: this reply needs approval. Suggest it instead.",
                                   attachment_url=attachment_url or ""), 409
        followup, action = queue_reply(session, ticket, current_user, text, attachment_url=attachment_url,
                                       **choice)
        if request.form.get("archive") == "1":   # "Send and archive": both or neither (one commit)
            queue_ticket_action(session, ticket, current_user, "archive", {})
        else:
            triage.bump_version(session, ticket)
    except NotPermitted:
        session.rollback()
        abort(403)
    except Rejected as exc:
        session.rollback()
        return render_template("replies/_composer.html", ticket=ticket, text=text, error=exc.message,
                               attachment_url=attachment_url or ""), 422
    except triage.Stale:
        session.rollback()
        return render_pane(ticket_id, message=triage.STALE_MESSAGE, status=409, retarget=True)
    session.commit()
    if not workers.send_soon(action.id):   # saved: the sweep queues it; the card says so meanwhile
        followup.error = workers.QUEUE_DOWN_NOTICE
        session.commit()
    # The whole pane: the reply raised the ticket's version, which every form in it carries (the new
    # card is in the thread and polls its delivery from there).
    return render_pane(ticket_id, retarget=True)


@bp.get("/followups/<int:followup_id>")
@permission_required("ViewTickets")
def followup(followup_id: int):
    """The card polls this while the reply is on its way; a final status stops the polling."""
    session = get_session()
    item = session.get(Followup, followup_id)
    # A followup of a ticket the user may not see: the same 404 as a missing one.
    if item is None or not visibility.can_see_ticket(session, current_user, item.ticket):
        abort(404)
    return render_template("replies/_followup.html", followup=item)


@bp.app_template_global()
def custom_reply_actions(ticket) -> list:
    """A custom ticket's manifest reply actions for the composer (empty for other providers)."""
    if ticket.channel.provider != "custom":
        return []
    from inbox.connectors.custom import reply_actions

    return reply_actions(ticket.channel.settings, ticket.data)


@bp.get("/tickets/<int:ticket_id>/reply-templates/<action_id>")
@permission_required("ReplyTicket")
def reply_templates(ticket_id: int, action_id: str):
    """A ``template_reply`` action's templates, fetched from the integration when the composer shows
    them (signed like a webhook request). A network call, so the transaction is released first."""
    from inbox import crypto, db
    from inbox.connectors.base import ProviderError
    from inbox.connectors.custom import fetch_templates

    ticket = load_ticket(ticket_id)
    action = next((a for a in custom_reply_actions(ticket) if a.id == action_id and a.templates_url), None)
    if action is None:
        abort(404)
    channel = ticket.channel
    secret = crypto.decrypt_json(channel.credentials_encrypted).get("webhook_secret") or ""
    channel_id = channel.id
    db.release(get_session())
    try:
        templates, error = fetch_templates(action.templates_url, secret, channel_id), None
    except ProviderError as exc:
        templates, error = [], exc.message
    return render_template("replies/_templates.html", action=action, templates=templates, error=error)



@bp.app_template_global()
def action_permission(action) -> str:
    """For the Retry / Mark as sent / Send again buttons: the permission the action needed."""
    from .outcomes import permission_for

    return permission_for(action)


@bp.app_template_global()
def attempt_user(user_id: int) -> str:
    """Who decided an attempt (the attempts' details show it to admins and supervisors)."""
    from models import User

    user = get_session().get(User, user_id)
    return user.display_name if user is not None else f"user {user_id}"


@bp.post("/actions/<int:action_id>/retry", defaults={"decision": "retry"})
@bp.post("/actions/<int:action_id>/mark-sent", defaults={"decision": "mark-sent"})
@bp.post("/actions/<int:action_id>/send-again", defaults={"decision": "send-again"})
@permission_required("ViewTickets")
def decide_action(action_id: int, decision: str):
    """Retry a failed action; mark an unknown one as sent, or send it again (the buttons ask to
    confirm). Answers the reply card, or the action bar for other actions on a ticket; a decision
    the action's state no longer allows answers 409 with the card as it is now."""
    from models import OutboundAction

    from . import outcomes

    session = get_session()
    action = session.get(OutboundAction, action_id)
    if action is None or not outcomes.visible(session, current_user, action):   # no existence leak
        abort(404)
    error, status = None, 200
    try:
        decided = outcomes.decide(session, action, current_user, decision)
    except NotPermitted:
        session.rollback()
        abort(403)
    except outcomes.WrongState as exc:
        session.rollback()
        error, status = f"{exc.message}: it is {exc.state} now.", 409
    except Rejected as exc:
        session.rollback()
        error, status = exc.message, 422
    else:
        session.commit()
        if decided.queue and not workers.send_soon(action.id):   # saved: the sweep queues it
            if action.followup is not None:
                action.followup.error = workers.QUEUE_DOWN_NOTICE
            action.error = workers.QUEUE_DOWN_NOTICE
            session.commit()
    session.expire_all()
    action = session.get(OutboundAction, action_id)
    if action.followup is not None:
        return render_template("replies/_followup.html", followup=action.followup, decide_error=error), status
    if action.ticket_id is not None:     # the action bar, as the queue's own routes answer it
        from inbox.queue.pane import action_bar

        return render_template("queue/_actions.html",
                               bar=action_bar(session, load_ticket(action.ticket_id), error)), status
    from flask import flash, redirect, url_for

    flash(error or f"Action {action.id}: {decision.replace('-', ' ')} done.", "error" if error else "info")
    return redirect(request.referrer or url_for("settings.channels"))
