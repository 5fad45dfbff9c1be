"""Replies leave through RQ workers: sent once, retried when safe, never sent twice."""
from __future__ import annotations

import time

from sqlalchemy import select

import workers
from helpers import load, post, run_jobs
from inbox import db
from models import ActionState, Channel, ChannelStatus, Followup, FollowupStatus, OutboundAction, Ticket
from workers.outbound import run_action
from worker_process import kill_hard, run_burst, start_worker



def reply(client, channel, token_for, text="Спасибо, отвечаем!") -> int:
    post(client, channel, load("incoming_text"))
    run_jobs()
    with db.session_scope() as s:
        ticket_id = s.scalars(select(Ticket.id)).one()
    response = client.post(f"/api/v1/tickets/{ticket_id}/actions/reply", json={"text": text},
                           headers={"Authorization": f"Bearer {token_for('agent')}"})
    assert response.status_code == 202, response.get_data(as_text=True)
    assert response.get_json()["status"] == "queued"
    return response.get_json()["id"]


def state(followup_id: int) -> tuple[str, str, str | None]:
    with db.session_scope() as s:
        followup = s.get(Followup, followup_id)
        [action] = followup.actions
        return followup.status, action.state, followup.error


def test_reply_is_sent_by_the_worker_with_the_documented_call(client, channel, sandbox, token_for):
    followup_id = reply(client, channel, token_for)
    assert sandbox.state.sent == []                    # nothing leaves inside the web request
    run_jobs()
    [sent] = sandbox.state.sent
    assert (sent["user_id"], sent["username"], sent["caption"]) == ("47367670531", "getcourseru",
                                                                    "Спасибо, отвечаем!")
    assert state(followup_id)[:2] == (FollowupStatus.SENT, ActionState.SENT)
    with db.session_scope() as s:
        assert s.scalars(select(OutboundAction.external_id)).one() == sent["queue_id"]


def test_running_the_job_again_does_not_send_again(client, channel, sandbox, token_for):
    followup_id = reply(client, channel, token_for)
    run_jobs()
    with db.session_scope() as s:
        action_id = s.scalars(select(OutboundAction.id)).one()
    assert run_action(action_id) == "not sent: already handled"
    workers.enqueue_send(action_id)
    run_jobs()
    assert len(sandbox.state.sent) == 1 and state(followup_id)[0] == FollowupStatus.SENT


def test_a_503_is_retried_with_backoff_and_sent_once(client, channel, sandbox, token_for):
    followup_id = reply(client, channel, token_for)
    sandbox.state.fail_next("sendMsg", 503)
    run_jobs()
    status, action_state, error = state(followup_id)
    assert (status, action_state) == (FollowupStatus.QUEUED, ActionState.QUEUED) and "503" in error
    assert sandbox.state.sent == []
    conn = workers.connection()
    workers_ = [workers.queue(n) for n in workers.QUEUE_NAMES]
    from rq import SimpleWorker

    deadline = time.monotonic() + 10                   # the first backoff is a few seconds
    while not sandbox.state.sent:
        assert time.monotonic() < deadline, "the retry never came"
        time.sleep(0.5)
        SimpleWorker(workers_, connection=conn).work(burst=True, with_scheduler=True)
    assert len(sandbox.state.sent) == 1
    assert state(followup_id)[:2] == (FollowupStatus.SENT, ActionState.SENT)


def test_a_refusal_fails_the_reply_with_the_providers_reason(client, channel, sandbox, token_for):
    followup_id = reply(client, channel, token_for)
    sandbox.state.fail_next("sendMsg", 400, error="user_id not found")
    run_jobs()
    status, action_state, error = state(followup_id)
    assert (status, action_state) == (FollowupStatus.FAILED, ActionState.FAILED)
    assert "user_id not found" in error
    run_jobs()
    assert sandbox.state.sent == []


def test_a_revoked_token_fails_the_reply_and_flags_the_channel(client, channel, sandbox, token_for):
    followup_id = reply(client, channel, token_for)
    sandbox.state.fail_next("sendMsg", 401)
    run_jobs()
    assert state(followup_id)[0] == FollowupStatus.FAILED
    with db.session_scope() as s:
        flagged = s.get(Channel, channel["id"])
        assert flagged.status == ChannelStatus.NEEDS_ATTENTION and "401" in flagged.last_error


def test_worker_killed_after_the_provider_accepted_does_not_send_twice(app, client, channel, sandbox, token_for):
    followup_id = reply(client, channel, token_for)
    sandbox.state.delay_next("sendMsg", 20)            # accepted, but the answer is slow
    worker = start_worker(app)
    try:
        deadline = time.monotonic() + 30
        while not sandbox.state.sent:
            assert time.monotonic() < deadline, "the worker never called sendMsg"
            time.sleep(0.1)
    finally:
        kill_hard(worker)                              # the worker dies before it hears "accepted"
    assert state(followup_id)[:2] == (FollowupStatus.SENDING, ActionState.SENDING)
    # After the restart RQ runs the abandoned job again (or the sweeper queues it).
    with db.session_scope() as s:
        action_id = s.scalars(select(OutboundAction.id)).one()
    workers.enqueue_send(action_id)
    run_burst(app)
    assert len(sandbox.state.sent) == 1
    status, action_state, error = state(followup_id)
    assert (status, action_state) == (FollowupStatus.UNKNOWN, ActionState.UNKNOWN)
    assert "may or may not" in error


def test_an_admin_sees_the_attempts_on_the_reply_card_and_an_agent_does_not(client, channel, sandbox, token_for):
    from helpers import login

    followup_id = reply(client, channel, token_for)
    sandbox.state.fail_next("sendMsg", 400, error="user_id not found")
    run_jobs()
    login(client, "admin")
    card = client.get(f"/followups/{followup_id}").get_data(as_text=True)
    assert "Details: 1 attempt" in card and "HTTP 400" in card and "bad_request" in card
    assert 'data-decision="retry"' in card
    other = client.application.test_client()
    login(other, "agent")
    card = other.get(f"/followups/{followup_id}").get_data(as_text=True)
    assert "Details:" not in card and 'data-decision="retry"' in card and "user_id not found" in card


def test_a_failed_like_is_retried_from_the_action_log(client, resont, token_for):
    from helpers import csrf_of, login
    from sandbox import resont as resont_sandbox

    with db.session_scope() as s:
        ticket_id = s.scalars(select(Ticket.id).filter_by(external_id="comment:1001")).one()
    agent = {"Authorization": f"Bearer {token_for('agent')}"}
    resont_sandbox.SANDBOX.fail_next("comment.like", 400, message="This comment cannot be liked right now.")
    liked = client.post(f"/api/v1/tickets/{ticket_id}/actions/like", headers=agent)
    assert liked.status_code == 202
    action_id = liked.get_json()["id"]
    run_jobs()
    login(client, "agent")
    bar = client.get(f"/tickets/{ticket_id}/actions").get_data(as_text=True)
    assert "cannot be liked right now" in bar and f'/actions/{action_id}/retry' in bar
    retried = client.post(f"/actions/{action_id}/retry", headers={"HX-Request": "true", "X-CSRFToken": csrf_of(client)})
    assert retried.status_code == 200 and 'id="ticket-actions"' in retried.get_data(as_text=True)
    run_jobs()
    with db.session_scope() as s:
        assert s.get(OutboundAction, action_id).state == ActionState.SENT
        assert s.get(Ticket, ticket_id).data.get("liked") is True
    assert len([w for w in resont_sandbox.SANDBOX.writes if w["kind"] == "comment.like"]) == 1
