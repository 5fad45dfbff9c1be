"""Webhook intake: find the channel by its unguessable token, store the body, enqueue, answer.

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
from inbox.connectors.base import WebhookError
from inbox.db import get_session
from models import Channel, ChannelStatus, RawEvent, RawEventStatus, utcnow

bp = Blueprint("ingest", __name__, url_prefix="/webhooks")
log = logging.getLogger(__name__)


def _error(status: int, code: str, message: str):
    return jsonify(error={"code": code, "message": message}), status


@bp.post("/<provider>/<token>")
def receive(provider: str, token: str):
    session = get_session()
    channel = session.scalars(select(Channel).filter_by(webhook_token=token, provider=provider)).first()
    if channel is None or channel.status == ChannelStatus.DISABLED or provider not in CONNECTORS:
        return _error(404, "unknown_webhook", "No channel listens at this address")
    body = request.get_data(as_text=True)
    event = RawEvent(channel_id=channel.id, provider=provider, body=body,
                     content_type=request.content_type or "")
    rejection = _check(provider, body)
    if rejection:
        event.status, event.error, event.processed_at = RawEventStatus.REJECTED, rejection[1], utcnow()
    session.add(event)
    session.commit()
    if rejection:
        return _error(400, *rejection)
    try:
        workers.enqueue_event(event.id)
    except Exception:   # the row is safe; the sweeper picks up RECEIVED events (see README)
        log.exception("could not enqueue raw event %s", event.id)
    return jsonify(ok=True, id=event.id), 200


def _check(provider: str, body: str) -> tuple[str, str] | None:
    """A quick structural check so the sender hears about a bad body now; None when it looks fine."""
    try:
        CONNECTORS[provider].parse(json.loads(body))
    except WebhookError as exc:
        return exc.code, exc.message
    except ValueError as exc:
        return "malformed", f"Body is not valid JSON: {exc}"
    return None
