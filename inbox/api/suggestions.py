"""Suggested replies in the JSON API: suggest, revise, withdraw, approve, reject, and the list.

- ``POST /api/v1/tickets/{id}/actions/suggest {text, attachment_url?, action_id?, option?, template?}``
  → 201 the suggestion (``views.ticket_action`` dispatches here);
- ``POST /api/v1/tickets/{id}/followups/{fid}/approve {text?}`` → 202 the reply it became (queued);
- ``.../reject {reason}`` → 200; ``.../withdraw`` → 200; ``.../revise {text}`` → 200 (still pending)
  or 201 (a new suggestion answering a rejected one);
- ``GET /api/v1/suggestions?status=pending|approved|rejected|withdrawn&author_id=`` → ``{"data": [...]}``,
  oldest first, with the ticket's summary and how long each has waited.

A decision on a suggestion that is no longer pending answers 409 ``already_decided`` with the
suggestion as it is now. Rules live in ``inbox.approval.service``.
"""
from __future__ import annotations

from flask import g, jsonify, request
import workers
from inbox.approval import policy, service
from inbox.auth.permissions import api_permission
from inbox.db import get_session
from inbox.errors import ApiError
from models import Followup, FollowupStatus, FollowupType, utcnow

from . import serialize
from .views import _ticket_or_404, bp, json_body_or_empty, queued_answer

def suggest(ticket, body: dict):
    """``suggest`` from the actions route: the same fields as ``reply`` (less ``archive``)."""
    text = body.get("text")
    if text is None and (body.get("attachment_url") or isinstance(body.get("template"), dict)):
        text = ""
    if not isinstance(text, str):
        raise ApiError(422, "missing_field", "text is required")
    choice = _choice(body)
    session = get_session()
    followup = _run(lambda: service.suggest(session, ticket, g.api_user, text, **choice))
    session.commit()
    return jsonify(serialize.followup(followup)), 201


def approval_required(ticket, body: dict):
    """The 409 ``reply`` answers when the policy holds this user's reply for approval, or None."""
    found = policy.approval_reasons(get_session(), g.api_user, ticket, body.get("action_id")
                                    if isinstance(body.get("action_id"), str) else None)
    if not found:
        return None
    return jsonify(error={"code": "approval_required",
                          "message": " ".join(found) + " Send it with the suggest action instead.",
                          "reasons": found}), 409


def _choice(body: dict) -> dict:
    choice = {k: body[k] for k in service.CHOICE_KEYS if body.get(k) is not None}
    for key in ("attachment_url", "action_id", "option"):
        if key in choice and not isinstance(choice[key], str):
            raise ApiError(422, "invalid_field", f"{key} must be a string")
    if "template" in choice and not isinstance(choice["template"], dict):
        raise ApiError(422, "invalid_field", "template must be an object")
    return choice


def _suggestion(ticket_id: int, followup_id: int) -> Followup:
    ticket = _ticket_or_404(ticket_id)       # 404 when the ticket is not visible
    followup = get_session().get(Followup, followup_id)
    if followup is None or followup.ticket_id != ticket.id or followup.type == FollowupType.NOTE:
        raise ApiError(404, "not_found", f"No suggestion {followup_id} on ticket {ticket_id}")
    return followup


def _run(step):
    """A service call with its refusals mapped to API answers (the session is rolled back)."""
    session = get_session()
    try:
        return step()
    except service.Decided as exc:
        session.rollback()
        current = session.get(Followup, exc.followup.id)
        raise _Conflict(exc.message, serialize.followup(current)) from exc
    except service.Refused as exc:
        session.rollback()
        raise ApiError(exc.status, exc.code, exc.message) from exc
    except Exception:
        session.rollback()
        raise


class _Conflict(ApiError):
    def __init__(self, message: str, current: dict):
        super().__init__(409, "already_decided", message)
        self.current = current


@bp.errorhandler(_Conflict)
def _conflict(exc: _Conflict):
    return jsonify(error={"code": exc.code, "message": exc.message}, followup=exc.current), 409


@bp.post("/tickets/<int:ticket_id>/followups/<int:followup_id>/approve")
@api_permission("ApproveSuggestion")
def approve(ticket_id: int, followup_id: int):
    body, session = json_body_or_empty(), get_session()
    followup = _suggestion(ticket_id, followup_id)
    text = body.get("text")
    if text is not None and not isinstance(text, str):
        raise ApiError(422, "invalid_field", "text must be a string")
    followup, action = _run(lambda: service.approve(session, followup, g.api_user, text))
    session.commit()
    return queued_answer(serialize.followup(followup), workers.send_soon(action.id), 202)


@bp.post("/tickets/<int:ticket_id>/followups/<int:followup_id>/reject")
@api_permission("ApproveSuggestion")
def reject(ticket_id: int, followup_id: int):
    body, session = json_body_or_empty(), get_session()
    followup = _suggestion(ticket_id, followup_id)
    followup = _run(lambda: service.reject(session, followup, g.api_user, body.get("reason")))
    session.commit()
    return jsonify(serialize.followup(followup)), 200


@bp.post("/tickets/<int:ticket_id>/followups/<int:followup_id>/withdraw")
@api_permission("ReplyTicket")
def withdraw(ticket_id: int, followup_id: int):
    session = get_session()
    followup = _suggestion(ticket_id, followup_id)
    followup = _run(lambda: service.withdraw(session, followup, g.api_user))
    session.commit()
    return jsonify(serialize.followup(followup)), 200


@bp.post("/tickets/<int:ticket_id>/followups/<int:followup_id>/revise")
@api_permission("ReplyTicket")
def revise(ticket_id: int, followup_id: int):
    body, session = json_body_or_empty(), get_session()
    followup = _suggestion(ticket_id, followup_id)
    if not isinstance(body.get("text"), str):
        raise ApiError(422, "missing_field", "text is required")
    revised = _run(lambda: service.revise(session, followup, g.api_user, body["text"]))
    session.commit()
    return jsonify(serialize.followup(revised)), 201 if revised.id != followup_id else 200


@bp.get("/suggestions")
@api_permission("ViewTickets")
def list_suggestions():
    state = request.args.get("status", "pending")
    if state not in service.SUGGESTION_STATES:
        raise ApiError(400, "invalid_status", "status must be pending, approved, rejected or withdrawn")
    query = service.suggestions_query(g.api_user, state)
    author = request.args.get("author_id")
    if author is not None:
        if not author.isdigit() or len(author) > 10:
            raise ApiError(400, "invalid_author_id", "author_id must be a user id")
        query = query.where(Followup.author_id == int(author))
    rows = get_session().scalars(query.limit(500)).all()
    now, overdue = utcnow(), policy.load(get_session()).overdue_minutes * 60
    return jsonify(data=[{**serialize.followup(f), "ticket": serialize.ticket(f.ticket),
                          "waited_seconds": int(((f.decided_at or now) - f.created_at).total_seconds()),
                          "overdue": f.status == FollowupStatus.SUGGESTED
                          and (now - f.created_at).total_seconds() > overdue} for f in rows])
