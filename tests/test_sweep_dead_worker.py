"""A worker killed mid-send: the sweep notices from RQ's heartbeats, not ten minutes later."""
from __future__ import annotations

import time
from datetime import timedelta

import psutil
from sqlalchemy import select

import workers
from helpers import load, post, run_jobs
from inbox import db
from models import ActionState, Followup, FollowupStatus, OutboundAction, Ticket
from worker_process import kill_hard, start_worker
from workers.sweep import requeue_stranded


def _action() -> tuple[int, str, str | None]:
    with db.session_scope() as s:
        action = s.scalars(select(OutboundAction)).one()
        return action.id, action.state, s.scalars(select(Followup.status)).one()


def test_a_worker_killed_mid_send_is_noticed_by_the_sweep(client, channel, sandbox, token_for):
    post(client, channel, load("incoming_text"))
    run_jobs()
    with db.session_scope() as s:
        ticket_id = s.scalars(select(Ticket.id)).one()
    assert client.post(f"/api/v1/tickets/{ticket_id}/actions/reply", json={"text": "Held up"},
                       headers={"Authorization": f"Bearer {token_for('agent')}"}).status_code == 202
    sandbox.state.delay_next("sendMsg", 30)            # accepted, but the answer never comes back
    worker = start_worker(client.application, "--no-cron", "--heartbeat", "1")
    try:
        deadline = time.monotonic() + 30
        while not sandbox.state.sent:
            assert time.monotonic() < deadline, "the worker never called sendMsg"
            time.sleep(0.1)
        action_id = _action()[0]
        assert workers.job_is_live(f"send-{action_id}")      # beating: alive, the sweep leaves it
        assert requeue_stranded(stale_after=timedelta(0))["unknown"] == 0
        tree = psutil.Process(worker.pid).children(recursive=True)
    finally:
        kill_hard(worker)
    assert tree and not any(p.is_running() for p in tree)  # the work horse too, not only the worker
    assert _action()[1:] == (ActionState.SENDING, FollowupStatus.SENDING)

    # RQ still says "started"; the worker's heartbeats stop. Wait for that, not for a clock.
    deadline = time.monotonic() + 60
    while workers.job_is_live(f"send-{action_id}"):
        assert time.monotonic() < deadline, "the dead worker still counts as alive"
        time.sleep(0.5)
    assert workers.job_state(f"send-{action_id}") == "started"
    assert requeue_stranded(stale_after=timedelta(0))["unknown"] == 1
    assert _action()[1:] == (ActionState.UNKNOWN, FollowupStatus.UNKNOWN)
    assert len(sandbox.state.sent) == 1

