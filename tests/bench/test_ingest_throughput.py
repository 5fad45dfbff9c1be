"""Benchmark (``make bench``): webhook intake, and ingest processing per real worker process.

Not part of ``make test``. Processing is measured as production runs it: a real
``flask --app app worker --burst`` child process (which forks a work horse per job) on a real
Redis and the test database (temporary SQLite, or ``DATABASE_URL``), side by side:

- the drain (what the intake queues): one job per channel takes its pending events in batches;
- the one-job-per-event path it replaced (``workers.enqueue_event``), on fewer events, as it is slow.

The floor is a plain INSERT of the same rows in one transaction per row, as the intake commits per
request. The drain must process ``FLOOR_PER_SECOND`` events per second in one worker process
(first to last ``processed_at``: the process's own pace; the figure with the interpreter's
start-up is printed beside it, and on this 2-core machine that start-up alone varies from 1 to 7 s
with the load).
"""
from __future__ import annotations

import json
import time

from rq import Queue
from sqlalchemy import func, insert, select

import workers
from helpers import count, hook_path, load
from inbox import db
from models import Message, RawEvent, RawEventStatus
from worker_process import run_burst

N = 2000            # events drained by one worker
N_PER_EVENT = 200   # events for the old path (a fork each: ~18/s)
N_INTAKE = 500
FLOOR_PER_SECOND = 300


def _bodies(n: int, tag: str) -> list[str]:
    out = []
    for i in range(n):
        body = load("incoming_text")
        body["event"]["properties"]["queueId"] = f"bench-{tag}-{i}"
        body["device"]["user_id"] = f"user-{i % 50}"
        out.append(json.dumps(body, ensure_ascii=False))
    return out


def _deliver(client, channel, bodies) -> float:
    start = time.perf_counter()
    for body in bodies:
        assert client.post(hook_path(channel), data=body, content_type="application/json").status_code == 200
    return time.perf_counter() - start


def _timed_burst(app) -> float:
    start = time.perf_counter()
    run_burst(app, timeout=900)
    return time.perf_counter() - start


def _processing_span(first_id: int) -> float:
    """First to last ``processed_at`` of the events after ``first_id``: the worker's own pace."""
    with db.session_scope() as s:
        low, high = s.execute(select(func.min(RawEvent.processed_at), func.max(RawEvent.processed_at))
                              .where(RawEvent.id > first_id)).one()
    return max((high - low).total_seconds(), 1e-6)


def _last_id() -> int:
    with db.session_scope() as s:
        return s.scalar(select(func.coalesce(func.max(RawEvent.id), 0)))


def test_ingest_processing_per_worker_process(app, client, channel):
    name = db.engine().dialect.name
    startup = _timed_burst(app)            # an empty burst: interpreter, app and worker start-up

    intake = _deliver(client, channel, _bodies(N_INTAKE, "intake"))
    _timed_burst(app)
    assert count(RawEvent, status=RawEventStatus.PROCESSED) == N_INTAKE

    # The drain: the intake has queued it while the bodies arrived.
    before = _last_id()
    _deliver(client, channel, _bodies(N, "drain"))
    drain = _timed_burst(app)
    assert count(RawEvent, status=RawEventStatus.PROCESSED) == N_INTAKE + N
    drain_span = _processing_span(before)

    # The old path: the same kind of rows, one job each.
    before = _last_id()
    _deliver(client, channel, _bodies(N_PER_EVENT, "per-event"))
    Queue(workers.INGEST, connection=workers.connection()).empty()   # drop the drain the intake queued
    workers.connection().delete(workers.drain_flag(channel["id"]))
    with db.session_scope() as s:
        for event_id in s.scalars(select(RawEvent.id).where(RawEvent.id > before).order_by(RawEvent.id)):
            workers.enqueue_event(event_id)
    per_event = _timed_burst(app)
    assert count(RawEvent, status=RawEventStatus.PROCESSED) == N_INTAKE + N + N_PER_EVENT
    per_event_span = _processing_span(before)
    assert count(Message) == N_INTAKE + N + N_PER_EVENT

    start = time.perf_counter()
    for body in _bodies(N_INTAKE, "floor"):
        with db.engine().begin() as conn:
            conn.execute(insert(RawEvent).values(provider="getloo", body=body, channel_id=channel["id"],
                                                 status=RawEventStatus.IGNORED))
    floor = time.perf_counter() - start

    rate = N / drain_span
    print(f"\nIngest on {name}, one `flask worker --burst` process (start-up alone: {startup:.2f} s):"
          f"\n  intake (HTTP view, row committed, drain queued): {N_INTAKE / intake:7.0f}/s  ({intake * 1000 / N_INTAKE:.2f} ms each)"
          f"\n  floor  (bare INSERT + COMMIT per row):           {N_INTAKE / floor:7.0f}/s  ({floor * 1000 / N_INTAKE:.2f} ms each)"
          f"\n  drain, {N} events:              {N / drain:7.0f}/s with start-up ({drain:.2f} s);"
          f" {rate:7.0f}/s processing alone ({drain_span:.2f} s)"
          f"\n  one job per event, {N_PER_EVENT} events: {N_PER_EVENT / per_event:7.0f}/s with start-up ({per_event:.2f} s);"
          f" {N_PER_EVENT / per_event_span:7.0f}/s processing alone ({per_event_span:.2f} s)")
    assert rate >= FLOOR_PER_SECOND, f"{rate:.0f} events/s per worker process"
