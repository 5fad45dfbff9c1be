"""Outbound faults, each with a real ``flask worker`` process over real HTTP to the sandboxes: a
provider that fails and recovers, asks us to wait, refuses; a worker killed mid-send (Resont is
asked what happened, Getloo cannot be, so a person decides); Redis lost while replies wait."""
from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import select

import workers
from helpers import csrf_of, load, login, post, run_jobs
from inbox import db
from models import (ActionAttempt, ActionState, Followup, FollowupStatus, History, OutboundAction, Ticket)
from sandbox import resont as resont_sandbox
from worker_process import kill_hard, run_burst, start_worker
from workers.sweep import requeue_stranded


@pytest.fixture
def worker(app):
    """A long-running worker (with RQ's scheduler, which brings retries back), killed afterwards."""
    started = []

    def start():
        proc = start_worker(app, "--no-cron", "--heartbeat", "1")
        started.append(proc)
        return proc
    yield start
    for proc in started:
        if proc.poll() is None:
            kill_hard(proc)


def until(check, timeout: float = 30, what: str = "the outcome"):
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def getloo_reply(client, channel, agent: dict, text: str = "Спасибо, отвечаем!") -> int:
    """A DM on the Getloo channel answered through the API; returns the action id."""
    with db.session_scope() as s:
        ticket_id = s.scalars(select(Ticket.id)).first()
    if ticket_id is None:
        post(client, channel, load("incoming_text"))
        run_jobs()
        with db.session_scope() as s:
            ticket_id = s.scalars(select(Ticket.id)).one()
    answer = client.post(f"/api/v1/tickets/{ticket_id}/actions/reply", json={"text": text}, headers=agent)
    assert answer.status_code == 202, answer.get_data(as_text=True)
    with db.session_scope() as s:
        return s.scalars(select(OutboundAction.id).where(OutboundAction.followup_id == answer.get_json()["id"])).one()


def state(action_id: int) -> tuple[str, str, str | None]:
    with db.session_scope() as s:
        action = s.get(OutboundAction, action_id)
        return action.state, action.followup.status, action.followup.error


def attempts(action_id: int) -> list[ActionAttempt]:
    with db.session_scope() as s:
        rows = s.scalars(select(ActionAttempt).where(ActionAttempt.action_id == action_id)
                         .order_by(ActionAttempt.number)).all()
        s.expunge_all()
        return rows


@pytest.fixture
def agent(token_for) -> dict:
    return {"Authorization": f"Bearer {token_for('agent')}"}


def test_500_twice_then_200_sends_one_reply_after_three_attempts(app, client, channel, sandbox, agent, worker,
                                                                 token_for):
    action_id = getloo_reply(client, channel, agent)
    sandbox.state.fail_next("sendMsg", 500, times=2)
    worker()
    until(lambda: state(action_id)[0] == ActionState.SENT, what="the third attempt")
    assert len(sandbox.state.sent) == 1
    assert [r["status"] for r in sandbox.state.requests if r["method"] == "sendMsg"] == [500, 500, 200]
    tries = attempts(action_id)
    assert [(a.outcome, a.http_status) for a in tries] == [("retry", 500), ("retry", 500), ("sent", None)]
    assert tries[1].started_at - tries[0].finished_at >= timedelta(seconds=1)    # backed off, not hammered
    # An admin reads them in the API; an agent sees the action without them.
    admin = {"Authorization": f"Bearer {token_for('admin')}"}
    shown = client.get(f"/api/v1/actions/{action_id}", headers=admin).get_json()
    assert [a["outcome"] for a in shown["attempts"]] == ["retry", "retry", "sent"]
    assert "Getloo answered 500" in shown["attempts"][0]["error"]
    assert "attempts" not in client.get(f"/api/v1/actions/{action_id}", headers=agent).get_json()


def test_429_with_retry_after_waits_that_long_then_sends(app, client, channel, sandbox, agent, worker):
    action_id = getloo_reply(client, channel, agent)
    sandbox.state.fail_next("sendMsg", 429, retry_after=2)
    worker()
    until(lambda: state(action_id)[0] == ActionState.SENT, what="the retry after Retry-After")
    assert len(sandbox.state.sent) == 1
    first, second = attempts(action_id)
    assert (first.outcome, first.http_status, first.retry_after) == ("retry", 429, 2.0)
    assert second.started_at - first.finished_at >= timedelta(seconds=2)       # no sooner than asked


def test_a_400_fails_with_the_message_on_the_card_and_retry_sends_once(app, client, channel, sandbox, agent, users):
    action_id = getloo_reply(client, channel, agent)
    sandbox.state.fail_next("sendMsg", 400, error="user_id not found")
    run_burst(app)
    status, reply_status, error = state(action_id)
    assert (status, reply_status) == (ActionState.FAILED, FollowupStatus.FAILED) and "user_id not found" in error
    assert sandbox.state.sent == []
    # The failed reply is listed under Failed sends, in the queue and in the API.
    assert len(client.get("/api/v1/tickets?failed=1", headers=agent).get_json()["data"]) == 1

    login(client, "agent")
    csrf = csrf_of(client)
    with db.session_scope() as s:
        followup_id = s.get(OutboundAction, action_id).followup_id
    card = client.get(f"/followups/{followup_id}").get_data(as_text=True)
    assert "user_id not found" in card and 'data-decision="retry"' in card
    assert "Details:" not in card                                   # attempts: admins and supervisors only
    page = client.get("/?failed=1").get_data(as_text=True)
    assert 'name="failed" value="1" checked' in page

    # The cause is fixed (nothing to do in the sandbox: its failure was used up); Retry.
    retried = client.post(f"/actions/{action_id}/retry", headers={"HX-Request": "true", "X-CSRFToken": csrf})
    assert retried.status_code == 200 and 'data-status="queued"' in retried.get_data(as_text=True)
    again = client.post(f"/actions/{action_id}/retry", headers={"HX-Request": "true", "X-CSRFToken": csrf})
    assert again.status_code == 409 and "it is queued now" in again.get_data(as_text=True)
    run_burst(app)
    assert state(action_id)[:2] == (ActionState.SENT, FollowupStatus.SENT)
    assert len(sandbox.state.sent) == 1
    assert client.get("/api/v1/tickets?failed=1", headers=agent).get_json()["data"] == []
    refused = client.post(f"/api/v1/actions/{action_id}/retry", headers=agent)
    assert refused.status_code == 409 and refused.get_json()["state"] == "sent"
    assert [a.outcome for a in attempts(action_id)] == ["failed", "resend", "sent"]
    with db.session_scope() as s:
        assert s.scalars(select(History.action).where(History.action == "send_retried")).all()


def _kill_mid_send(worker, sent) -> None:
    """Start a worker, wait until the provider has the request, then SIGKILL it."""
    proc = worker()
    until(sent, what="the provider to receive the request")
    kill_hard(proc)


def _resont_comment_reply(client, agent, text: str) -> int:
    with db.session_scope() as s:
        ticket_id = s.scalars(select(Ticket.id).filter_by(external_id="comment:1001")).one()
    answer = client.post(f"/api/v1/tickets/{ticket_id}/actions/reply", json={"text": text}, headers=agent)
    assert answer.status_code == 202, answer.get_data(as_text=True)
    with db.session_scope() as s:
        return s.scalars(select(OutboundAction.id).where(OutboundAction.followup_id == answer.get_json()["id"])).one()


def _replies(text: str) -> list[dict]:
    return [w for w in resont_sandbox.SANDBOX.writes if w["kind"] == "comment.reply" and w["comment"] == text]


def test_resont_reply_accepted_before_the_worker_died_is_found_not_resent(app, client, resont, agent, worker):
    text = "Да, доставка есть 🚚"
    action_id = _resont_comment_reply(client, agent, text)
    resont_sandbox.SANDBOX.delay_next("comment.reply", 20)     # accepted; the answer never arrives
    _kill_mid_send(worker, lambda: _replies(text))
    assert state(action_id)[0] == ActionState.SENDING
    workers.enqueue_send(action_id)                             # RQ runs the abandoned job again
    run_burst(app)
    assert len(_replies(text)) == 1
    assert state(action_id)[:2] == (ActionState.SENT, FollowupStatus.SENT)
    with db.session_scope() as s:
        external_id = s.get(OutboundAction, action_id).external_id
    assert external_id == f"comment:{_replies(text)[0]['reply_id']}"
    assert [a.outcome for a in attempts(action_id)] == ["reconciled_sent"]


def test_resont_reply_not_accepted_when_the_worker_died_is_sent_once(app, client, resont, agent, worker,
                                                                      monkeypatch):
    # Nothing can still be on its way once the provider has refused it: no need to wait the grace.
    monkeypatch.setenv("INBOX_RECONCILE_GRACE_SECONDS", "0")
    text = "Ваш заказ уже в пути"
    action_id = _resont_comment_reply(client, agent, text)
    resont_sandbox.SANDBOX.fail_next("comment.reply", 500, delay=20)    # refused, and answered late
    calls = lambda: [r for r in resont_sandbox.SANDBOX.requests if r.get("name") == "comment.reply"]  # noqa: E731
    _kill_mid_send(worker, calls)
    assert _replies(text) == [] and state(action_id)[0] == ActionState.SENDING
    # The sweep notices the dead worker from its silence, asks Resont, and queues it again.
    until(lambda: not workers.job_is_live(workers.send_job_id(action_id)), timeout=60, what="the worker's silence")
    counts = requeue_stranded(stale_after=timedelta(0))
    assert (counts["actions"], counts["unknown"], counts["reconciled"]) == (1, 0, 0)
    run_burst(app)
    assert len(_replies(text)) == 1
    assert state(action_id)[:2] == (ActionState.SENT, FollowupStatus.SENT)
    assert [a.outcome for a in attempts(action_id)] == ["reconciled_missing", "sent"]


def test_getloo_unknown_is_never_resent_by_itself_and_a_person_decides(app, client, channel, sandbox, agent,
                                                                       worker, token_for):
    first = getloo_reply(client, channel, agent, "Первый ответ")
    sandbox.state.delay_next("sendMsg", 20)
    _kill_mid_send(worker, lambda: sandbox.state.sent)
    workers.enqueue_send(first)
    run_burst(app)
    status, reply_status, error = state(first)
    assert (status, reply_status) == (ActionState.UNKNOWN, FollowupStatus.UNKNOWN) and "may or may not" in error
    assert len(sandbox.state.sent) == 1
    assert requeue_stranded(stale_after=timedelta(0))["actions"] == 0      # the sweep leaves it alone too
    run_burst(app)
    assert len(sandbox.state.sent) == 1
    assert client.get("/api/v1/tickets?failed=1", headers=agent).get_json()["data"]   # waiting for a person

    # Send again: exactly one more.
    again = client.post(f"/api/v1/actions/{first}/send-again", headers=agent)
    assert again.status_code == 202 and again.get_json()["state"] == "queued"
    assert client.post(f"/api/v1/actions/{first}/mark-sent", headers=agent).status_code == 409
    run_burst(app)
    assert len(sandbox.state.sent) == 2 and state(first)[0] == ActionState.SENT

    # Mark as sent (the person saw it on Instagram): nothing more is sent.
    second = getloo_reply(client, channel, agent, "Второй ответ")
    sandbox.state.delay_next("sendMsg", 20)
    _kill_mid_send(worker, lambda: len(sandbox.state.sent) == 3)
    workers.enqueue_send(second)
    run_burst(app)
    assert state(second)[0] == ActionState.UNKNOWN
    login(client, "agent")
    csrf = csrf_of(client)
    with db.session_scope() as s:
        followup_id = s.get(OutboundAction, second).followup_id
    card = client.get(f"/followups/{followup_id}").get_data(as_text=True)
    assert 'data-decision="mark-sent"' in card and 'data-decision="send-again"' in card and "hx-confirm" in card
    marked = client.post(f"/actions/{second}/mark-sent", headers={"HX-Request": "true", "X-CSRFToken": csrf})
    assert marked.status_code == 200 and 'data-status="sent"' in marked.get_data(as_text=True)
    run_burst(app)
    assert len(sandbox.state.sent) == 3
    assert state(second)[:2] == (ActionState.SENT, FollowupStatus.SENT)

    # Who decided what: in the attempts (admins read them) and in the ticket's history.
    admin = {"Authorization": f"Bearer {token_for('admin')}"}
    log = client.get(f"/api/v1/actions/{second}", headers=admin).get_json()["attempts"]
    assert [a["outcome"] for a in log] == ["unknown", "manual_sent"] and log[1]["user_id"] is not None
    with db.session_scope() as s:
        assert {"sent_again", "marked_sent"} <= set(s.scalars(select(History.action)))
        assert s.scalars(select(Followup.status).where(Followup.id == followup_id)).one() == FollowupStatus.SENT


def test_redis_lost_while_replies_wait_loses_none_and_sends_each_once(app, client, channel, sandbox, agent,
                                                                      redis_server):
    before = [getloo_reply(client, channel, agent, f"До сбоя {n}") for n in range(2)]
    redis_server.stop()                                   # its jobs are gone with it
    during = getloo_reply(client, channel, agent, "Во время сбоя")
    redis_server.start()                                  # empty
    counts = requeue_stranded(stale_after=timedelta(0))
    assert counts["actions"] == 3
    assert requeue_stranded(stale_after=timedelta(0))["actions"] == 0     # queued once, not twice
    run_burst(app)
    assert sorted(m["caption"] for m in sandbox.state.sent) == ["Во время сбоя", "До сбоя 0", "До сбоя 1"]
    for action_id in (*before, during):
        assert state(action_id)[:2] == (ActionState.SENT, FollowupStatus.SENT)
    run_burst(app)
    assert len(sandbox.state.sent) == 3
