"""Ingestion jobs: turn a stored webhook body into tickets and messages, exactly once."""
from __future__ import annotations

import json
import logging

from rq import get_current_job

from inbox.connectors import connector_class
from inbox.connectors.base import Rejected
from inbox.db import session_scope
from inbox.ingest import store
from models import Channel, RawEvent, RawEventStatus, utcnow

log = logging.getLogger(__name__)
DONE = (RawEventStatus.PROCESSED, RawEventStatus.IGNORED, RawEventStatus.REJECTED)


def process_event(raw_event_id: int) -> str:
    """Process one raw event. Replays and concurrent runs are harmless (see inbox.ingest.store)."""
    try:
        with session_scope() as session:
            event = session.get(RawEvent, raw_event_id)
            if event is None or event.status in DONE:
                return "skipped"
            channel = session.get(Channel, event.channel_id) if event.channel_id else None
            if channel is None:
                _finish(event, RawEventStatus.IGNORED, "the channel no longer exists")
                return event.status
            try:
                items = connector_class(channel.provider).parse(json.loads(event.body), channel.settings)
            except (ValueError, Rejected) as exc:
                _finish(event, RawEventStatus.REJECTED, str(exc))
                return event.status
            store.apply(session, channel, items)
            _finish(event, RawEventStatus.PROCESSED if items else RawEventStatus.IGNORED, None)
            return event.status
    except Exception as exc:
        _record_failure(raw_event_id, exc)
        raise


def _finish(event: RawEvent, status: RawEventStatus, error: str | None) -> None:
    event.status, event.error, event.processed_at = status, error, utcnow()
    event.attempts += 1


def _record_failure(raw_event_id: int, exc: Exception) -> None:
    """Keep the error on the row (in its own transaction: the job's was rolled back)."""
    job = get_current_job()
    last_try = job is None or not job.retries_left
    with session_scope() as session:
        event = session.get(RawEvent, raw_event_id)
        if event is None:
            return
        event.attempts += 1
        event.error = f"{type(exc).__name__}: {exc}"
        if isinstance(exc, store.NotYetKnown) and last_try:
            # A report about a message we never sent (e.g. sent from Getloo's own cabinet).
            event.status, event.processed_at = RawEventStatus.IGNORED, utcnow()
        else:
            event.status = RawEventStatus.FAILED if last_try else RawEventStatus.RECEIVED
    log.warning("raw event %s failed: %s", raw_event_id, exc)
