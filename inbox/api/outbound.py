"""``/api/v1/actions/{id}/retry | mark-sent | send-again``: a person's word on an outbound action.

``retry`` takes a FAILED action back to QUEUED and queues it; ``mark-sent`` settles an UNKNOWN
one as SENT without sending; ``send-again`` queues an UNKNOWN one (the caller accepts that it may
reach the network twice). Each needs the permission the action itself needed (``ReplyTicket`` for
a reply) and answers the action (202 when queued, 200 when marked); an action in any other state
answers 409 ``invalid_state`` with its current ``state``. Rules: ``inbox.replies.outcomes``.
"""
from __future__ import annotations

from flask import g, jsonify

import workers
from inbox.auth.permissions import api_permission
from inbox.db import get_session
from inbox.errors import ApiError
from inbox.queue.actions import NotPermitted
from inbox.replies import outcomes
from models import OutboundAction

from . import serialize
from .views import bp, queued_answer


def action_or_404(action_id: int) -> OutboundAction:
    session = get_session()
    row = session.get(OutboundAction, action_id)
    if row is None or not outcomes.visible(session, g.api_user, row):   # another team's: the same 404
        raise ApiError(404, "not_found", f"No action {action_id}")
    return row


def _decide(action_id: int, decision: str):
    session, row = get_session(), action_or_404(action_id)
    try:
        decided = outcomes.decide(session, row, g.api_user, decision)
    except NotPermitted as exc:
        session.rollback()
        raise ApiError(403, "insufficient_permissions", f"This needs the {exc.permission} permission") from exc
    except outcomes.WrongState as exc:
        session.rollback()
        return jsonify(error={"code": "invalid_state", "message": f"{exc.message}: it is {exc.state}."},
                       state=exc.state, action=serialize.action(action_or_404(action_id))), 409
    session.commit()
    if decided.queue:
        return queued_answer(serialize.action(row), workers.send_soon(row.id), 202)
    return jsonify(serialize.action(row)), 200


@bp.post("/actions/<int:action_id>/retry")
@api_permission("ViewTickets")
def retry_action(action_id: int):
    return _decide(action_id, "retry")


@bp.post("/actions/<int:action_id>/mark-sent")
@api_permission("ViewTickets")
def mark_action_sent(action_id: int):
    return _decide(action_id, "mark-sent")


@bp.post("/actions/<int:action_id>/send-again")
@api_permission("ViewTickets")
def send_action_again(action_id: int):
    return _decide(action_id, "send-again")
