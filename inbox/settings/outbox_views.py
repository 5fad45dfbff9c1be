"""``/settings/outbox``: every mail a rule forwarded, newest first, and "Send again".

Admins (``EditRules``: whoever writes the rules that forward) see where each mail went and why one
is waiting: a mail held because no SMTP server is configured stays here, visibly, until one is and
someone presses "Send again". The button is a conditional UPDATE (``inbox.mail.send_again``), so a
double click queues one send.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from inbox import mail
from inbox.auth.permissions import permission_required
from inbox.db import get_session
from models import Followup, FollowupType

bp = Blueprint("outbox", __name__, url_prefix="/settings")

SHOWN = 200


def _smtp_line() -> tuple[bool, str]:
    try:
        server = mail.smtp_server()
    except ValueError as exc:
        return False, str(exc)
    if server is None:
        return False, f"{mail.NO_SMTP}: forwarded mail waits here until one is set."
    return True, f"Mail is sent through {server.describe()} from {mail.mail_from()}."


@bp.get("/outbox")
@permission_required("EditRules")
def outbox():
    mails = get_session().scalars(select(Followup).where(Followup.type == FollowupType.MAIL)
                                  .options(joinedload(Followup.ticket))
                                  .order_by(Followup.id.desc()).limit(SHOWN)).all()
    configured, smtp = _smtp_line()
    return render_template("settings/outbox.html", mails=mails, configured=configured, smtp=smtp,
                           is_held=mail.is_held)


@bp.post("/outbox/<int:followup_id>/send")
@permission_required("EditRules")
def send_again(followup_id: int):
    session = get_session()
    followup = session.get(Followup, followup_id)
    if followup is None or followup.type != FollowupType.MAIL:
        abort(404)
    if not mail.send_again(session, followup_id):
        session.rollback()
        flash("That mail is already on its way (or sent); nothing was queued again.", "error")
        return redirect(url_for("outbox.outbox") + f"#mail-{followup_id}")
    session.commit()
    if mail.send_soon(followup_id):
        flash("Queued to be sent again.")
    else:
        flash("Saved; it will be sent when the queue is back (press Send again if it stays).", "error")
    return redirect(url_for("outbox.outbox") + f"#mail-{followup_id}")
