"""Webhook intake: find the channel by its unguessable token, store the body, queue its drain, answer.

The body is committed as a RawEvent before the 2xx, so a Redis outage or a crashed worker loses
nothing. Obviously malformed bodies are answered 400 here (and kept, marked rejected) so the
sender learns at once; everything else is parsed in the worker.
"""
from __future__ import annotations

import json
import logging

from flask import Blueprint, jsonify, request
from sqlalchemy import select

import workers
from inbox.connectors import CONNECTORS
from inbox.connectors.base import Rejected
from inbox.db import get_session
from inbox.errors import ApiError, register_json_errors
from models import Channel, ChannelStatus, RawEvent, RawEventStatus, utcnow

bp = Blueprint("ingest", __name__, url_prefix="/webhooks")
register_json_errors(bp)
log = logging.getLogger(__name__)


def _no_channel() -> ApiError:
    return ApiError(404, "unknown_webhook", "No channel listens at this address")


@bp.post("/<provider>/<token>")
def receive(provider: str, token: str):
    cls = CONNECTORS.get(provider)
    if cls is None:   # an unknown provider is just an address nobody listens at
        raise _no_channel()
    session = get_session()
    channels = session.scalars(select(Channel).where(
        Channel.webhook_token == token, Channel.provider == provider,
        Channel.status != ChannelStatus.DISABLED).order_by(Channel.id)).all()
    if not channels:
        raise _no_channel()
    body = request.get_data(as_text=True)
    payload, rejection = _check(cls, body)
    channel = channels[0]
    if rejection is None and len(channels) > 1:
        # One connection, several accounts (Resont): the body says which account it is for.
        ref = cls.route(payload)
        channel = next((c for c in channels if c.account_ref == ref), None)
        if channel is None:
            channel, rejection = channels[0], ("unknown_account", f"No connected account {ref!r} at this address")
    event = RawEvent(channel_id=channel.id, provider=provider, body=body, content_type=request.content_type or "")
    if rejection:
        event.status, event.error, event.processed_at = RawEventStatus.REJECTED, rejection[1], utcnow()
    session.add(event)
    session.commit()
    if rejection:
        raise ApiError(422 if rejection[0] == "unknown_account" else 400, *rejection)
    try:
        workers.request_drain(channel.id)
    except Exception:   # the row is safe; `flask sweep` / the worker's start-up sweep queues it
        log.exception("could not queue the drain of channel %s for raw event %s", channel.id, event.id)
    return jsonify(ok=True, id=event.id), 200


def _check(cls, body: str) -> tuple[object, tuple[str, str] | None]:
    """A quick structural check so the sender hears about a bad body now."""
    try:
        payload = json.loads(body)
        cls.parse(payload)
    except Rejected as exc:
        return None, (exc.code, exc.message)
    except ValueError as exc:
        return None, ("malformed", f"Body is not valid JSON: {exc}")
    return payload, None
