"""The channels page: what is connected, its health and webhook address, and connecting more."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import func, select

import workers
from inbox import crypto
from inbox.auth.permissions import permission_required
from inbox.db import get_session
from models import Channel, RawEvent, Ticket

from .channels import ConnectError, connect_channel

bp = Blueprint("settings", __name__, url_prefix="/settings")


def _channels_context() -> dict:
    session = get_session()
    channels = session.scalars(select(Channel).order_by(Channel.id)).all()
    counts = dict(session.execute(select(Ticket.channel_id, func.count()).group_by(Ticket.channel_id)).all())
    rejected = dict(session.execute(select(RawEvent.channel_id, func.count())
                                    .where(RawEvent.status.in_(("rejected", "failed")))
                                    .group_by(RawEvent.channel_id)).all())
    return {"channels": channels, "counts": counts, "rejected": rejected,
            "demo": current_app.config["INBOX_DEMO"]}


@bp.get("/channels")
@permission_required("ViewChannels")
def channels():
    return render_template("settings/channels.html", form={}, error=None, **_channels_context())


@bp.post("/channels")
@permission_required("EditChannels")
def connect():
    session = get_session()
    form = request.form
    try:
        created = connect_channel(session, provider=form.get("provider", ""), name=form.get("name") or None,
                                  base_url=form.get("base_url") or None,
                                  credentials={"token": form.get("token", "")}, settings={},
                                  public_url=current_app.config["PUBLIC_URL"])
    except ConnectError as exc:
        session.rollback()
        return render_template("settings/channels.html", form=form, error=exc.message,
                               **_channels_context()), 422 if exc.status < 500 else 502
    session.commit()
    for channel in created:
        workers.enqueue_channel_setup(channel.id)
    flash(f"Connected {', '.join(c.name for c in created)}. Registering the webhook…")
    return redirect(url_for("settings.channels"))


@bp.post("/channels/<int:channel_id>/simulate")
@permission_required("EditChannels")
def simulate(channel_id: int):
    """Demo only: ask the built-in Getloo sandbox to send us a message or comment by webhook."""
    from inbox.simulators.demo import simulate_incoming

    channel = get_session().get(Channel, channel_id)
    if channel is None or not current_app.config["INBOX_DEMO"]:
        abort(404)
    try:
        simulate_incoming(channel.provider, crypto.decrypt_json(channel.credentials_encrypted),
                          request.form.get("kind", "message"), request.form.get("text", ""))
        flash("The sandbox sent a webhook; the worker will put it in the queue in a moment.")
    except (LookupError, ValueError) as exc:
        flash(f"Could not simulate: {exc}", "error")
    return redirect(url_for("settings.channels"))
