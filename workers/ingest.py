"""Ingestion jobs: turn stored webhook bodies into tickets and messages, exactly once.

The intake queues one *drain* per channel (workers.request_drain), not one job per event:
``flask worker`` forks a work horse for every job, and a fork per event capped a real worker at
about 18 events/s. A drain takes the channel's pending rows in id order, in batches; each event
runs in its own savepoint, so a bad one is rejected (or held back with ``retry_at``) while the
others in its batch are stored. A batch commits as one transaction: a worker killed mid-batch
leaves its rows ``received`` for the next drain (the sweep queues one), and nothing half-applied.
Replays and concurrent runs are harmless (see inbox.ingest.store).
"""
from __future__ import annotations

import logging
import time
from collections import Counter
from datetime import timedelta

from rq import get_current_job
from sqlalchemy import Row, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import workers
from inbox import jsonbody
from inbox.connectors import connector_class
from inbox.connectors.base import Rejected
from inbox.db import session_scope
from inbox.ingest import store
from models import Channel, RawEvent, RawEventStatus, utcnow

log = logging.getLogger(__name__)
DONE = (RawEventStatus.PROCESSED, RawEventStatus.IGNORED, RawEventStatus.REJECTED)

BATCH = 100              # events per transaction ...
BATCH_SECONDS = 0.25     # ... or less: on SQLite a batch holds the write lock that the intake waits for
DRAIN_SECONDS = 60       # then hand over to a new drain job: other channels' drains get their turn
RETRY_AFTER = (1, 5, 30, 120, 600)   # seconds before each further attempt; then give up


def drain_channel(channel_id: int) -> dict[str, int]:
    """Process every pending raw event of a channel; returns how many ended in each state.

    Each batch is tried first in one plain transaction (no savepoint per event, one flush for
    the batch); if anything in it raises, that transaction is rolled back and the batch is done
    again carefully, each event in its own savepoint, so that only the bad ones are held back.
    """
    job = get_current_job()
    if job is not None:
        # Before the first read (see workers.request_drain): later events queue a new drain.
        workers.clear_drain_flag(channel_id, job.id)
    counts: Counter[str] = Counter()
    after, started = 0, time.monotonic()
    while True:
        if time.monotonic() - started > DRAIN_SECONDS:
            workers.request_drain(channel_id)   # the rest, after what is queued already
            break
        try:
            with session_scope() as session:
                outcomes = _drain_batch(session, channel_id, after, careful=False)
        except Exception as exc:   # noqa: BLE001 - the careful pass finds out which event it was
            log.info("channel %s: a batch after event %s failed (%s), applying it event by event",
                     channel_id, after, exc)
            with session_scope() as session:
                outcomes = _drain_batch(session, channel_id, after, careful=True)
        if not outcomes:
            break
        if any(o["status"] == RawEventStatus.PROCESSED for o in outcomes):
            workers.request_rules()   # committed: the batch's new messages have rule runs to do
        counts.update(o["status"] for o in outcomes)
        after = outcomes[-1]["id"]
    _schedule_retries(channel_id)
    return dict(counts)


def _drain_batch(session: Session, channel_id: int, after: int, careful: bool) -> list[dict[str, object]]:
    """One transaction: up to BATCH pending events after id ``after``; what became of each."""
    now = utcnow()
    # SKIP LOCKED (PostgreSQL): two drains of one channel take different rows, neither waits.
    rows = session.execute(select(RawEvent.id, RawEvent.body, RawEvent.attempts).where(
        RawEvent.channel_id == channel_id, RawEvent.status == RawEventStatus.RECEIVED, RawEvent.id > after,
        or_(RawEvent.retry_at.is_(None), RawEvent.retry_at <= now),
    ).order_by(RawEvent.id).limit(BATCH).with_for_update(skip_locked=True)).all()
    if not rows:
        return []
    channel = session.get(Channel, channel_id)
    parsed = [(row, _parse(channel, row.body)) for row in rows]
    memo = store.Memo()
    if channel is not None:
        memo.prefetch(session, channel_id, (i for _, items in parsed if isinstance(items, list) for i in items))
    outcomes, started = [], time.monotonic()
    for row, items in parsed:
        if not isinstance(items, list):
            outcome = _done(row, *items)
        elif not careful:
            store.apply(session, channel, items, memo)   # raises: the whole batch is redone carefully
            outcome = _done(row, RawEventStatus.PROCESSED if items else RawEventStatus.IGNORED, None)
        else:
            failure = _apply(session, channel, items, memo)
            outcome = _defer(row, failure) if failure else _done(row, RawEventStatus.PROCESSED if items else
                                                                  RawEventStatus.IGNORED, None)
        outcomes.append(outcome)
        if time.monotonic() - started > BATCH_SECONDS:
            break
    if channel is not None and any(o["status"] == RawEventStatus.PROCESSED for o in outcomes):
        store.note_activity(channel, memo.newest)
    session.execute(update(RawEvent), outcomes)   # one executemany for the batch's rows
    return outcomes


def _parse(channel: Channel | None, body: str) -> list | tuple[RawEventStatus, str]:
    """The items of a body, or the final state and reason when there is nothing to apply."""
    if channel is None:
        return RawEventStatus.IGNORED, "the channel no longer exists"
    return parse_body(channel, body)


def parse_body(channel: Channel, body: str) -> list | tuple[RawEventStatus, str]:
    """The items of a stored body, or (REJECTED, why). Parsing is pure: whatever it raises
    (Rejected, a body we refuse, an OverflowError from a date of 1e308, a TypeError ...) would
    raise again on every retry, so the event is rejected at once with the reason, not retried."""
    try:
        return connector_class(channel.provider).parse(jsonbody.loads(body), channel.settings)
    except (Rejected, jsonbody.BadBody) as exc:
        return RawEventStatus.REJECTED, str(exc)
    except Exception as exc:   # noqa: BLE001 - see above
        log.warning("raw event body of channel %s could not be parsed: %s: %s", channel.id, type(exc).__name__, exc)
        return RawEventStatus.REJECTED, f"The body could not be parsed ({type(exc).__name__}: {exc})"[:2000]


def _apply(session: Session, channel: Channel, items: list, memo: store.Memo) -> Exception | None:
    """Apply one event's items in a savepoint; the exception when they could not be (nothing kept)."""
    for last_try in (False, True):
        try:
            with session.begin_nested():
                store.apply(session, channel, items, memo)
            return None
        except IntegrityError as exc:
            # Another writer inserted a row the memo thought absent: once more, reading everything.
            memo.clear()
            if last_try:
                return exc
        except Exception as exc:
            memo.clear()   # what it held may have been rolled back with the savepoint
            return exc
    return None


def _done(row: Row, status: RawEventStatus, error: str | None) -> dict[str, object]:
    return {"id": row.id, "status": status, "error": error, "processed_at": utcnow(), "retry_at": None,
            "attempts": row.attempts + 1}


def _defer(row: Row, exc: Exception) -> dict[str, object]:
    """Try again later, with backoff; after the last attempt, give up and keep the error.

    The usual case is a delivery report that beat the commit of our own send (NotYetKnown).
    """
    attempts, error = row.attempts + 1, f"{type(exc).__name__}: {exc}"
    if attempts <= len(RETRY_AFTER):
        log.info("raw event %s deferred: %s", row.id, exc)
        return {"id": row.id, "status": RawEventStatus.RECEIVED, "error": error, "processed_at": None,
                "retry_at": utcnow() + timedelta(seconds=RETRY_AFTER[attempts - 1]), "attempts": attempts}
    log.warning("raw event %s given up: %s", row.id, exc)
    # A report about a message we never sent (e.g. sent from Getloo's own cabinet) is nothing for us.
    status = RawEventStatus.IGNORED if isinstance(exc, store.NotYetKnown) else RawEventStatus.FAILED
    return {**_done(row, status, error), "attempts": attempts}


def _schedule_retries(channel_id: int) -> None:
    """Queue a drain for when the earliest held-back event of the channel is due."""
    with session_scope() as session:
        due = session.scalar(select(func.min(RawEvent.retry_at)).where(
            RawEvent.channel_id == channel_id, RawEvent.status == RawEventStatus.RECEIVED,
            RawEvent.retry_at.is_not(None)))
    if due is not None:
        workers.schedule_drain(channel_id, max(due, utcnow()))


def process_event(raw_event_id: int) -> str:
    """The one-job-per-event path (``make bench`` compares it with the drain; see enqueue_event).

    Retried by RQ: a delivery report may precede our own commit.
    """
    try:
        with session_scope() as session:
            event = session.get(RawEvent, raw_event_id)
            if event is None or event.status in DONE:
                return "skipped"
            channel = session.get(Channel, event.channel_id) if event.channel_id else None
            if channel is None:
                return _finish(event, RawEventStatus.IGNORED, "the channel no longer exists")
            items = parse_body(channel, event.body)
            if not isinstance(items, list):
                return _finish(event, *items)
            store.apply(session, channel, items)
            status = _finish(event, RawEventStatus.PROCESSED if items else RawEventStatus.IGNORED, None)
    except Exception as exc:
        _record_failure(raw_event_id, exc)
        raise
    if status == RawEventStatus.PROCESSED:
        workers.request_rules()   # after the commit: its new messages' rule runs
    return status


def _finish(event: RawEvent, status: RawEventStatus, error: str | None) -> RawEventStatus:
    event.status, event.error, event.processed_at, event.retry_at = status, error, utcnow(), None
    event.attempts += 1
    return status


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
            event.status, event.processed_at = RawEventStatus.IGNORED, utcnow()
        else:
            event.status = RawEventStatus.FAILED if last_try else RawEventStatus.RECEIVED
    log.warning("raw event %s failed: %s", raw_event_id, exc)
