"""The channel drain (workers.ingest.drain_channel) run by real ``flask worker`` processes: one job
takes many events, and each event is still applied once, a bad one held back alone, nothing lost."""
from __future__ import annotations

import json
import os
import signal
import time
from datetime import timedelta

from rq import Queue
from sqlalchemy import create_engine, func, insert, select

import workers
from helpers import count, load, post, run_jobs
from inbox import db
from models import (Followup, FollowupStatus, History, Message, OutboundAction, RawEvent, RawEventStatus, Ticket,
                    utcnow)
from worker_process import kill_hard, run_burst, start_worker
from workers.sweep import requeue_stranded


def _text(i: int, user: str | None = None) -> dict:
    body = load("incoming_text")
    body["event"]["properties"]["queueId"] = f"drain-{i}"
    body["event"]["properties"]["content"]["body"] = f"message {i}"
    body["device"]["user_id"] = user or f"user-{i}"
    return body


def _store_raw(channel_id: int, bodies: list[str]) -> None:
    """Rows as the intake commits them (some bodies here would not pass its quick check)."""
    with db.engine().begin() as conn:
        conn.execute(insert(RawEvent), [{"channel_id": channel_id, "provider": "getloo", "body": b,
                                         "content_type": "application/json"} for b in bodies])


def _kill_with_work_horse(worker) -> None:
    """SIGKILL the worker and its work horse (RQ puts the horse in a process group of its own)."""
    for pid in (int(p) for p in os.listdir("/proc") if p.isdigit()):
        try:
            with open(f"/proc/{pid}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            if ppid == worker.pid:
                os.kill(pid, signal.SIGKILL)
        except (OSError, ValueError, IndexError):
            pass   # gone meanwhile
    kill_hard(worker)


def _states() -> list[tuple[str, str | None]]:
    with db.session_scope() as s:
        return [(e.status, e.error) for e in s.scalars(select(RawEvent).order_by(RawEvent.id))]


def test_many_webhooks_make_one_drain_job_and_a_later_one_its_own(client, channel):
    ingest = Queue(workers.INGEST, connection=workers.connection())
    for i in range(3):
        assert post(client, channel, _text(i)).status_code == 200
    assert ingest.count == 1                      # one drain for the three, not a job each
    run_jobs()
    assert count(Message) == 3 and count(RawEvent, status=RawEventStatus.PROCESSED) == 3
    assert post(client, channel, _text(3)).status_code == 200
    assert ingest.count == 1                      # the drain that ran cleared its flag: a new one
    run_jobs()
    assert count(Message) == 4


def test_a_bad_event_is_rejected_and_the_good_ones_around_it_are_stored(app, channel):
    missing_field = load("incoming_comment")
    del missing_field["device"]["comment_id"]
    early_report = load("status_delivered")       # for a reply we have no record of (yet)
    early_report["event"]["properties"]["queueId"] = "not-sent-by-us-yet"
    bodies = [json.dumps(_text(0)), "{not json", json.dumps(_text(1)), json.dumps(missing_field),
              json.dumps(early_report), json.dumps(_text(2))]
    _store_raw(channel["id"], bodies)
    workers.request_drain(channel["id"])
    run_burst(app)
    with db.session_scope() as s:
        assert sorted(m.text for m in s.scalars(select(Message))) == ["message 0", "message 1", "message 2"]
    states = _states()
    assert [status for status, _ in states] == ["processed", "rejected", "processed", "rejected", "received",
                                                "processed"]
    assert "JSON" in states[1][1] or "Expecting" in states[1][1]
    assert "comment_id" in states[3][1]
    assert "not-sent-by-us-yet" in states[4][1]   # held back for a later try, not lost
    with db.session_scope() as s:
        held = s.scalars(select(RawEvent).where(RawEvent.status == RawEventStatus.RECEIVED)).one()
        assert held.retry_at is not None and held.retry_at > held.received_at and held.attempts == 1


def test_the_same_event_twice_in_one_batch_stores_one_message(app, client, channel):
    for body in (_text(0), _text(1, user="user-0"), _text(0)):
        assert post(client, channel, body).status_code == 200
    run_burst(app)
    assert count(RawEvent, status=RawEventStatus.PROCESSED) == 3
    assert count(Message) == 2 and count(Ticket) == 1
    assert count(History, action="created") == 1


def test_a_worker_killed_mid_drain_loses_nothing_and_applies_nothing_twice(app, channel):
    n, people = 4000, 40
    _store_raw(channel["id"], [json.dumps(_text(i, user=f"user-{i % people}")) for i in range(n)])
    workers.request_drain(channel["id"])
    # A plain reader: the app's SQLite sessions begin IMMEDIATE and would queue behind the worker.
    watcher = create_engine(app.config["DATABASE_URL"])
    processed = select(func.count()).select_from(RawEvent).where(RawEvent.status == RawEventStatus.PROCESSED)
    worker = start_worker(app, "--no-cron")
    try:
        deadline = time.monotonic() + 120
        with watcher.connect() as conn:
            while conn.execute(processed).scalar() == 0:
                assert time.monotonic() < deadline and worker.poll() is None, "the worker did not start draining"
                conn.rollback()
                time.sleep(0.01)
    finally:
        _kill_with_work_horse(worker)
        watcher.dispose()
    done = count(RawEvent, status=RawEventStatus.PROCESSED)
    assert 0 < done < n and count(Message) == done   # stopped mid-way; whole batches only
    # No new webhook arrives for this channel: the sweep must notice the stranded events.
    assert requeue_stranded(stale_after=timedelta(0))["events"] == 1
    run_burst(app, timeout=300)
    assert count(RawEvent, status=RawEventStatus.PROCESSED) == n
    assert count(Message) == n and count(Ticket) == people and count(History, action="created") == people
    assert requeue_stranded(stale_after=timedelta(0))["events"] == 0


def test_a_delivery_report_that_beats_our_commit_is_applied_later(app, client, channel, sandbox, token_for):
    assert post(client, channel, _text(0)).status_code == 200
    run_jobs()
    ticket_id = client.get("/api/v1/tickets", headers={"Authorization": f"Bearer {token_for('agent')}"}
                           ).get_json()["data"][0]["id"]
    reply = client.post(f"/api/v1/tickets/{ticket_id}/actions/reply", json={"text": "Добрый день!"},
                        headers={"Authorization": f"Bearer {token_for('agent')}"})
    assert reply.status_code == 202
    run_jobs()
    [sent] = sandbox.state.sent
    # Getloo's report arrives while the send job has not committed the provider's id yet.
    with db.session_scope() as s:
        action = s.scalars(select(OutboundAction).where(OutboundAction.external_id == sent["queue_id"])).one()
        action_id, action.external_id = action.id, None
    report = load("status_delivered")
    report["event"]["properties"]["queueId"] = sent["queue_id"]
    assert post(client, channel, report).status_code == 200
    assert post(client, channel, _text(1)).status_code == 200      # behind it: not held back
    run_burst(app)
    assert count(Message) == 2
    with db.session_scope() as s:
        followup_id = s.get(OutboundAction, action_id).followup_id
        assert s.get(Followup, followup_id).status == FollowupStatus.SENT
        held = s.scalars(select(RawEvent).where(RawEvent.status == RawEventStatus.RECEIVED)).one()
        due = held.retry_at
        s.get(OutboundAction, action_id).external_id = sent["queue_id"]   # ... and now it has
    time.sleep(max(0.0, (due - utcnow()).total_seconds()) + 0.2)
    run_burst(app)          # its scheduler queues the drain that was scheduled for the retry
    with db.session_scope() as s:
        assert s.get(Followup, followup_id).status == FollowupStatus.DELIVERED
    assert count(RawEvent, status=RawEventStatus.RECEIVED) == 0
