"""Sending a reply from the ticket pane, and the reply card that follows its delivery."""
from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_login import current_user

import workers
from inbox.auth.permissions import permission_required
from inbox.connectors.base import Rejected
from inbox.db import get_session
from inbox.queue.views import load_ticket
from models import Followup

from .service import attachments_allowed, queue_reply

bp = Blueprint("replies", __name__)


@bp.app_template_global()
def reply_attachments(ticket) -> bool:
    """For the composer wherever it is included: offer the attachment field only where it can go."""
    return attachments_allowed(ticket.channel.provider, ticket.kind)


@bp.post("/tickets/<int:ticket_id>/reply")
@permission_required("ReplyTicket")
def reply(ticket_id: int):
    session = get_session()
    ticket = load_ticket(ticket_id)
    text, attachment_url = request.form.get("text", ""), request.form.get("attachment_url") or None
    try:
        followup, action = queue_reply(session, ticket, current_user, text, attachment_url)
    except Rejected as exc:
        session.rollback()
        return render_template("replies/_composer.html", ticket=ticket, text=text, error=exc.message,
                               attachment_url=attachment_url or ""), 422
    session.commit()
    workers.send_soon(action.id)
    return (render_template("replies/_composer.html", ticket=ticket, text="", error=None, attachment_url="")
            + render_template("replies/_followup.html", followup=followup, oob=True))


@bp.get("/followups/<int:followup_id>")
@permission_required("ViewTickets")
def followup(followup_id: int):
    """The card polls this while the reply is on its way; a final status stops the polling."""
    item = get_session().get(Followup, followup_id)
    if item is None:
        abort(404)
    return render_template("replies/_followup.html", followup=item)
