"""The ticket pane's suggestion forms: suggest from the composer, and approve, edit & approve,
reject, withdraw or revise from the suggestion's card in the thread.

Thin views over ``inbox.approval.service`` (which holds the rules and the permission checks
beyond the route's own). Each answers the whole pane: a decision changes the card, the list's
marker, the history and the ticket's version every form carries. A decision that someone else
took first answers 409 with the pane and, on the card, who decided.
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template, request
from flask_login import current_user

import workers
from inbox.auth.permissions import permission_required
from inbox.connectors.base import Rejected
from inbox.db import get_session
from inbox.live import guard
from inbox.queue import triage
from inbox.queue.pane import load_ticket, render_pane
from inbox.replies.choice import custom_choice
from models import Followup, FollowupType

from . import policy, service

bp = Blueprint("approval", __name__)


@bp.app_template_global()
def reply_approval_reasons(ticket) -> list[str]:
    """For the composer: why the current user's reply on ``ticket`` must be suggested (empty: they
    may send). A custom channel with several reply actions is judged by the one the composer
    preselects; the reply route checks the chosen one again on submit."""
    return policy.approval_reasons(get_session(), current_user, ticket, default_action_id(ticket))


def default_action_id(ticket) -> str | None:
    """The custom reply action the composer preselects: the first that has not expired."""
    if ticket.channel.provider != "custom":
        return None
    from inbox.connectors.custom import reply_actions

    return next((a.id for a in reply_actions(ticket.channel.settings, ticket.data) if not a.expired()), None)


@bp.post("/tickets/<int:ticket_id>/suggest")
@permission_required("ReplyTicket")
def suggest(ticket_id: int):
    """The composer's "Suggest": the reply is recorded for approval, nothing is sent."""
    session, ticket = get_session(), load_ticket(ticket_id)
    text, attachment_url = request.form.get("text", ""), request.form.get("attachment_url") or None
    arrived = guard.arrived_since(session, ticket, current_user, request.form.get("seen"))
    if arrived:   # the send-time guard: something new since the composer opened (inbox/live/guard.py)
        return guard.ask(ticket, text, attachment_url, arrived, action="suggest")
    try:
        triage.check_version(ticket, triage.parse_version(request.form.get("version")))
        service.suggest(session, ticket, current_user, service.suggestion_text(text),
                        attachment_url=attachment_url, **custom_choice(request.form))
    except service.Refused as exc:
        session.rollback()
        abort(exc.status)
    except Rejected as exc:
        session.rollback()
        return render_template("replies/_composer.html", ticket=ticket, text=text, error=exc.message,
                               attachment_url=attachment_url or ""), 422
    except triage.Stale:
        session.rollback()
        return render_pane(ticket_id, message=triage.STALE_MESSAGE, status=409, retarget=True)
    session.commit()
    return render_pane(ticket_id, retarget=True)


@bp.post("/tickets/<int:ticket_id>/suggestions/<int:followup_id>/approve")
@permission_required("ApproveSuggestion")
def approve(ticket_id: int, followup_id: int):
    """As is, or with the card's edited text ("Edit & approve")."""
    session, followup = get_session(), _suggestion(ticket_id, followup_id)
    text = request.form.get("text")
    done, refused = _decide(ticket_id, followup_id, "edit" if text is not None else None, text,
                            lambda: service.approve(session, followup, current_user, text))
    if refused is not None:
        return refused
    approved, action = done
    if not workers.send_soon(action.id):      # saved: the sweep queues it; the card says so meanwhile
        approved.error = workers.QUEUE_DOWN_NOTICE
        session.commit()
    return render_pane(ticket_id, retarget=True)


@bp.post("/tickets/<int:ticket_id>/suggestions/<int:followup_id>/reject")
@permission_required("ApproveSuggestion")
def reject(ticket_id: int, followup_id: int):
    session, followup = get_session(), _suggestion(ticket_id, followup_id)
    reason = request.form.get("reason", "")
    _done, refused = _decide(ticket_id, followup_id, "reject", reason,
                             lambda: service.reject(session, followup, current_user, reason))
    return refused if refused is not None else render_pane(ticket_id, retarget=True)


@bp.post("/tickets/<int:ticket_id>/suggestions/<int:followup_id>/withdraw")
@permission_required("ReplyTicket")
def withdraw(ticket_id: int, followup_id: int):
    session, followup = get_session(), _suggestion(ticket_id, followup_id)
    _done, refused = _decide(ticket_id, followup_id, None, None,
                             lambda: service.withdraw(session, followup, current_user))
    return refused if refused is not None else render_pane(ticket_id, retarget=True)


@bp.post("/tickets/<int:ticket_id>/suggestions/<int:followup_id>/revise")
@permission_required("ReplyTicket")
def revise(ticket_id: int, followup_id: int):
    """A pending suggestion is edited in place; a rejected one is answered by a new suggestion."""
    session, followup = get_session(), _suggestion(ticket_id, followup_id)
    text = request.form.get("text", "")
    _done, refused = _decide(ticket_id, followup_id, "revise", text,
                             lambda: service.revise(session, followup, current_user, service.suggestion_text(text)))
    return refused if refused is not None else render_pane(ticket_id, retarget=True)


@bp.app_template_global("can_approve")
def can_approve(followup) -> bool:
    """For the suggestion card: whether the current user's Approve / Reject would be accepted."""
    return service.can_approve(current_user, followup)


def _suggestion(ticket_id: int, followup_id: int) -> Followup:
    """The followup on a ticket the user may see (else 404, like a missing one). Notes are not
    suggestions; a reply is passed on, since it may be a suggestion approved meanwhile (409)."""
    ticket = load_ticket(ticket_id)
    followup = get_session().get(Followup, followup_id)
    if followup is None or followup.ticket_id != ticket.id or followup.type == FollowupType.NOTE:
        abort(404)
    return followup


def _decide(ticket_id: int, followup_id: int, form: str | None, typed: str | None, step) -> tuple[Any, Any]:
    """Run a service call and commit: ``(result, None)``. On a refusal, roll back and return
    ``(None, the answer)``: the pane with the reason on the card (``suggestion_card`` tells
    ``replies/_suggestion.html`` which form to reopen, with what was typed)."""
    session = get_session()
    try:
        result = step()
    except service.Decided as exc:
        session.rollback()
        return None, render_pane(ticket_id, status=409, retarget=True,
                                 suggestion_card={"id": followup_id, "notice": exc.message})
    except service.Refused as exc:
        session.rollback()
        abort(exc.status)
    except Rejected as exc:        # a missing reason, a text the provider would refuse
        session.rollback()
        return None, render_pane(ticket_id, status=422, retarget=True,
                                 suggestion_card={"id": followup_id, "error": exc.message, "form": form, "text": typed})
    except triage.Stale:
        session.rollback()
        return None, render_pane(ticket_id, message=triage.STALE_MESSAGE, status=409, retarget=True)
    session.commit()
    return result, None
