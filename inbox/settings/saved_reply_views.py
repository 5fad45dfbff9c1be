"""Saved replies in the browser: the settings page (list, create, edit, delete) and the composer's
``/`` picker (the replies usable on a ticket, and one reply's text filled in for it)."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from inbox import fields, visibility
from inbox.auth.permissions import permission_required
from inbox.db import get_session
from inbox.queue.pane import load_ticket
from models import Channel, SavedReply

from . import saved_replies as service

bp = Blueprint("saved_replies", __name__)

PICKER_MAX = 20     # the picker narrows as one types; more would only scroll


def _page(status: int = 200, error: str | None = None, error_for: int | str | None = None,
          draft: dict[str, Any] | None = None):
    session, user = get_session(), current_user._get_current_object()
    replies = service.visible(session, user)
    # The channel picker offers the channels the user sees (another team's are not theirs to name).
    channels = session.scalars(visibility.restrict(select(Channel), visibility.visible_channels(user))
                               .order_by(Channel.name, Channel.id)).all()
    return render_template("settings/saved_replies.html", replies=replies, channels=channels,
                           editable={r.id for r in replies if service.may_edit(user, r)},
                           can_share=user.can("EditTemplates"), error=error, error_for=error_for,
                           draft=draft or {}), status


def _form_values() -> dict[str, Any]:
    """The form as the service's input: checkboxes to a bool and a list of channel ids."""
    form = request.form
    ids = []
    for raw in form.getlist("channel_ids"):
        if not raw.isdigit():
            raise fields.Rejected("invalid_value", "channel_ids must be channel ids")
        ids.append(int(raw))
    return {"name": form.get("name"), "text": form.get("text"), "shared": form.get("shared") == "on",
            "channel_ids": ids}


def _reply(reply_id: int) -> SavedReply:
    reply = service.find_visible(get_session(), current_user, reply_id)
    if reply is None:
        abort(404)
    return reply


@bp.get("/settings/saved-replies")
@permission_required("ViewTemplates")
def saved_replies():
    return _page()


@bp.post("/settings/saved-replies")
@permission_required("ViewTemplates")
def create_saved_reply():
    session = get_session()
    try:
        data = _form_values()
        reply = service.create(session, current_user, service.values(data, partial=False))
    except (fields.Rejected, service.NotAllowed) as exc:
        session.rollback()
        status = 403 if isinstance(exc, service.NotAllowed) else 422
        return _page(status, error=getattr(exc, "message", str(exc)), error_for="new", draft=request.form)
    session.commit()
    flash(f"Saved reply “{reply.name}” created.")
    return redirect(url_for("saved_replies.saved_replies"))


@bp.post("/settings/saved-replies/<int:reply_id>")
@permission_required("ViewTemplates")
def update_saved_reply(reply_id: int):
    session, reply = get_session(), _reply(reply_id)
    try:
        service.check_may_edit(current_user, reply)
        service.update(session, current_user, reply, service.values(_form_values(), partial=False))
    except (fields.Rejected, service.NotAllowed) as exc:
        session.rollback()
        status = 403 if isinstance(exc, service.NotAllowed) else 422
        return _page(status, error=getattr(exc, "message", str(exc)), error_for=reply_id)
    session.commit()
    flash(f"Saved reply “{reply.name}” updated.")
    return redirect(url_for("saved_replies.saved_replies"))


@bp.post("/settings/saved-replies/<int:reply_id>/delete")
@permission_required("ViewTemplates")
def delete_saved_reply(reply_id: int):
    session, reply = get_session(), _reply(reply_id)
    try:
        service.delete(session, current_user, reply)
    except service.NotAllowed as exc:
        session.rollback()
        return _page(403, error=str(exc), error_for=reply_id)
    session.commit()
    flash("Saved reply deleted.")
    return redirect(url_for("saved_replies.saved_replies"))


@bp.get("/tickets/<int:ticket_id>/saved-replies")
@permission_required("ViewTemplates")
def picker(ticket_id: int):
    """The ``/`` picker's list (an htmx partial): replies usable on this ticket's channel whose
    name or text contains ``q``."""
    ticket = load_ticket(ticket_id)
    query = request.args.get("q", "")[:fields.NAME_MAX]
    replies = service.visible(get_session(), current_user, channel_id=ticket.channel_id, query=query)
    return render_template("replies/_saved_replies.html", ticket=ticket, replies=replies[:PICKER_MAX],
                           query=query)


@bp.get("/tickets/<int:ticket_id>/saved-replies/<int:reply_id>")
@permission_required("ViewTemplates")
def filled(ticket_id: int, reply_id: int):
    """One reply's text with the variables filled in for this ticket and this agent (JSON)."""
    ticket = load_ticket(ticket_id)
    reply = _reply(reply_id)
    if not service.usable_on(reply, ticket):
        abort(404)
    return jsonify(id=reply.id, name=reply.name, text=service.fill(reply.text, ticket, current_user))
