"""In-app notifications: each user's own, newest first (a suggestion waiting too long, a decision on
one's suggestion, ...).

- ``GET /notifications``: the list, unread ones marked; every logged-in user has one.
- ``POST /notifications/read``: marks all of them read; with ``id``, marks that one read and opens
  its ticket ("opening one marks it read" — a POST, because reading the list must not write).

A user only ever reaches their own rows (``user_id`` in every statement): another's id is a 404.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select, update

from inbox.db import get_session
from models import Notification, utcnow

bp = Blueprint("notifications", __name__)

SHOWN = 100


@bp.get("/notifications")
@login_required
def notifications():
    rows = get_session().scalars(select(Notification).where(Notification.user_id == current_user.id)
                                 .order_by(Notification.created_at.desc(), Notification.id.desc()).limit(SHOWN)).all()
    return render_template("notifications.html", notifications=rows)


@bp.post("/notifications/read")
@login_required
def mark_read():
    session, raw = get_session(), request.form.get("id", "")
    mine = (Notification.user_id == current_user.id, Notification.read_at.is_(None))
    if raw:
        if not raw.isdigit() or len(raw) > 10:
            abort(404)
        row = session.scalar(select(Notification).where(Notification.id == int(raw),
                                                        Notification.user_id == current_user.id))
        if row is None:
            abort(404)
        if row.read_at is None:
            row.read_at = utcnow()
        ticket_id = row.ticket_id
        session.commit()
        if ticket_id is not None:
            return redirect(url_for("queue.ticket", ticket_id=ticket_id), 303)
        return redirect(url_for("notifications.notifications"), 303)
    done = session.execute(update(Notification).where(*mine).values(read_at=utcnow())
                           .execution_options(synchronize_session=False)).rowcount
    session.commit()
    flash(f"Marked {done} notification{'s' if done != 1 else ''} read." if done else "Nothing unread.")
    return redirect(url_for("notifications.notifications"), 303)
