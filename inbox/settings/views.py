"""The channels page: what is connected, its health and webhook address, and connecting more."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import func, select

import workers
from flask_login import current_user

from inbox import crypto, fields, visibility
from inbox.auth.permissions import permission_required
from inbox.db import get_session
from models import Channel, OutboundAction, RawEvent, Ticket

from inbox.connectors import available_providers, connector_class

from . import rotation
from .channels import Connection, ConnectError, connect_or_reconnect
from .health import channels_health

bp = Blueprint("settings", __name__, url_prefix="/settings")


def _channels_context() -> dict:
    """The channels the user may see (``inbox.visibility``) and, per channel, the tickets they may see."""
    session = get_session()
    channels = session.scalars(visibility.restrict(select(Channel), visibility.visible_channels(current_user))
                               .order_by(Channel.id)).all()
    counts = dict(session.execute(visibility.restrict(select(Ticket.channel_id, func.count()),
                                                      visibility.visible_tickets(current_user))
                                  .group_by(Ticket.channel_id)).all())
    rejected = dict(session.execute(select(RawEvent.channel_id, func.count())
                                    .where(RawEvent.status.in_(("rejected", "failed")))
                                    .group_by(RawEvent.channel_id)).all())
    recent = session.scalars(select(OutboundAction).where(OutboundAction.ticket_id.is_(None))
                             .order_by(OutboundAction.id.desc()).limit(20)).all()
    channel_log: dict[int, list] = {}
    for action in recent:
        channel_log.setdefault(action.channel_id, []).append(action)
    return {"channels": channels, "counts": counts, "rejected": rejected, "channel_log": channel_log, "health": channels_health(session, channels),
            "providers": available_providers(), "demo": current_app.config["INBOX_DEMO"],
            "channel_actions": {c.id: connector_class(c.provider).CHANNEL_ACTIONS for c in channels},
            "rotatable": {c.id: rotation.secrets_of(c) for c in channels},
            "form_fields": {p: f for p, f in FORM_FIELDS.items() if f[0]}}   # providers with credentials to replace


@bp.get("/channels")
@permission_required("ViewChannels")
def channels():
    return render_template("settings/channels.html", form={}, error=None, error_provider=None, **_channels_context())


# Which form fields are credentials and which are settings, per provider (Resont has its own flow).
FORM_FIELDS = {
    "getloo": (("token",), ()),
    "socialwall": (("api_key",), ("wall_id",)),
    "socialposts": (("token",), ("brand",)),
    "custom": ((), ("webhook_url",)),
}


@bp.post("/channels")
@permission_required("EditChannels")
def connect():
    session = get_session()
    form = request.form
    provider = form.get("provider", "")
    credential_keys, setting_keys = FORM_FIELDS.get(provider, ((), ()))
    try:
        _check_lengths(form)
        connection = connect_or_reconnect(
            session, provider=provider, name=form.get("name") or None, base_url=form.get("base_url") or None,
            credentials={k: form.get(k, "") for k in credential_keys},
            settings={k: form.get(k, "").strip() for k in setting_keys if form.get(k, "").strip()},
            public_url=current_app.config["PUBLIC_URL"])
    except ConnectError as exc:
        session.rollback()
        return render_template("settings/channels.html", form=form, error=exc.message, error_provider=provider,
                               **_channels_context()), 422 if exc.status < 500 else 502
    session.commit()
    queued = workers.setup_soon([channel.id for channel in connection.channels])
    flash_connection(connection, queued=queued)
    if provider == "custom":
        created = connection.channels[0]
        token = crypto.decrypt_json(created.credentials_encrypted).get("access_token")
        flash(f"Access token for {created.name} (shown once, keep it safe): {token}", "token")
    return redirect(url_for("settings.channels"))


def _check_lengths(form) -> None:
    """The API's limits (inbox.fields) on the connect form: a name, a URL, credentials of sane size."""
    try:
        fields.text(form.get("name", ""), "name", fields.NAME_MAX)
        fields.text(form.get("base_url", ""), "base_url", fields.URL_MAX)
        fields.params({k: v for k, v in form.items() if k not in ("csrf_token", "name", "base_url")})
    except fields.Rejected as exc:
        raise ConnectError(exc.code, exc.message, 422) from None


@bp.post("/channels/<int:channel_id>/rotate")
@permission_required("EditChannels")
def rotate(channel_id: int):
    """The "Rotate secrets" button: every secret the channel has; a new access token is shown once."""
    session = get_session()
    channel = session.get(Channel, channel_id)
    if channel is None:
        abort(404)
    try:
        done = rotation.rotate(session, channel, None, current_app.config["PUBLIC_URL"])
    except rotation.RotationError as exc:
        session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("settings.channels"))
    session.commit()
    rotation.after_commit(done)
    flash(f"New secrets for {channel.name}: {', '.join(n.replace('_', ' ') for n in done.rotated)}. "
          f"The old ones no longer work.")
    if done.access_token:
        flash(f"Access token for {channel.name} (shown once, keep it safe): {done.access_token}", "token")
    return redirect(url_for("settings.channels") + f"#channel-{channel.id}")


@bp.post("/channels/<int:channel_id>/require-approval")
@permission_required("EditChannels")
def require_approval(channel_id: int):
    """The channel's "Replies need approval" switch (``settings.require_approval``, the same key
    ``PATCH /api/v1/channels/{id}`` sets): on, agents' replies on it are suggested, not sent."""
    session = get_session()
    channel = session.get(Channel, channel_id)
    if channel is None:
        abort(404)
    on = request.form.get("on") == "1"
    channel.settings = {**(channel.settings or {}), "require_approval": on}
    session.commit()
    flash(f"Replies on {channel.name} {'now go through approval' if on else 'no longer need approval'}.")
    return redirect(url_for("settings.channels") + f"#channel-{channel.id}")


def flash_connection(connection: Connection, suffix: str = "", queued: bool = True) -> None:
    """Say what connecting did: channels added, and channels reconnected with new credentials;
    and, when the setup could not be queued, that it waits for the queue (the sweep queues it)."""
    if connection.reconnected:
        flash(f"Reconnected {', '.join(c.name for c in connection.reconnected)}: new credentials saved, "
              f"webhooks and history are being set up again.")
    if connection.added:
        flash(f"Connected {', '.join(c.name for c in connection.added)}.{suffix}")
    if not queued:
        flash("Saved; webhooks and history will be set up when the queue is back.", "warning")

