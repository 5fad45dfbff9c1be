"""Sending a reply from the ticket pane, and the reply card that follows its delivery."""
from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_login import current_user

import workers
from inbox.auth.permissions import permission_required
from inbox.connectors.base import ReplyRejected
from inbox.db import get_session
from inbox.queue.pane import load_ticket
from models import Followup

from .service import queue_reply

bp = Blueprint("replies", __name__)


@bp.post("/tickets/<int:ticket_id>/reply")
@permission_required("ReplyTicket")
def reply(ticket_id: int):
    session = get_session()
    ticket = load_ticket(ticket_id)
    text = request.form.get("text", "")
    try:
        followup, action = queue_reply(session, ticket, current_user, text)
    except ReplyRejected as exc:
        session.rollback()
        return render_template("replies/_composer.html", ticket=ticket, text=text, error=exc.message), 422
    session.commit()
    workers.send_soon(action.id)
    return (render_template("replies/_composer.html", ticket=ticket, text="", error=None)
            + render_template("replies/_followup.html", followup=followup, oob=True))


@bp.get("/followups/<int:followup_id>")
@permission_required("ViewTickets")
def followup(followup_id: int):
    """The card polls this while the reply is on its way; a final status stops the polling."""
    item = get_session().get(Followup, followup_id)
    if item is None:
        abort(404)
    return render_template("replies/_followup.html", followup=item)
