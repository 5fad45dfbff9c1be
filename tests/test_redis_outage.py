"""Redis goes down: requests that save work still answer (saying it is not queued yet), nothing
is lost, and when Redis is back the sweep queues everything and the workers finish it.

A real ``redis-server`` of this module's own is stopped and started (helpers.RedisServer); it
keeps nothing across a restart, like a server that was lost.
"""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

import workers
from helpers import csrf_of, load, login, post, run_jobs
from inbox import db
from models import (ActionState, Channel, Followup, FollowupStatus, Message, OutboundAction, RawEvent,
                    RawEventStatus, Ticket)
from workers.sweep import requeue_stranded

SECOND_TOKEN = "OUTAGE-SECOND-ACCOUNT-TOKEN"


# Every test here runs on a Redis of its own that it stops and starts (conftest's ``redis_server``).
pytestmark = pytest.mark.usefixtures("redis_server")


def _ticket_id() -> int:
    with db.session_scope() as s:
        return s.scalars(select(Ticket.id)).one()


def test_with_redis_down_the_work_is_saved_answered_and_done_when_it_is_back(
        app, client, channel, sandbox, token_for, redis_server):
    admin = {"Authorization": f"Bearer {token_for('admin')}"}
    agent = {"Authorization": f"Bearer {token_for('agent')}"}
    post(client, channel, load("incoming_text"))
    run_jobs()
    ticket_id = _ticket_id()
    login(client, "agent")
    csrf = csrf_of(client)
    sandbox.state.add_account(SECOND_TOKEN, username="second_shop", user_id="17841400000000009", channel_id="249")

    redis_server.stop()

    # A channel: verified with the provider and saved; its webhook registration waits for the queue.
    created = client.post("/api/v1/channels", headers=admin, json={
        "provider": "getloo", "name": "Second", "base_url": sandbox.url, "credentials": {"token": SECOND_TOKEN}})
    assert created.status_code == 202, created.get_data(as_text=True)
    body = created.get_json()
    assert body["queued"] is False and "queue" in body["notice"] and body["name"] == "Second"
    assert client.get(f"/api/v1/channels/{body['id']}", headers=admin).status_code == 200
    assert sandbox.state.accounts[SECOND_TOKEN].webhook is None

    # A reply through the API, and one from the ticket pane: saved, queued later.
    replied = client.post(f"/api/v1/tickets/{ticket_id}/actions/reply", headers=agent, json={"text": "From the API"})
    assert replied.status_code == 202, replied.get_data(as_text=True)
    assert replied.get_json()["queued"] is False and replied.get_json()["status"] == "queued"
    pane = client.post(f"/tickets/{ticket_id}/reply", data={"text": "From the pane"},
                       headers={"HX-Request": "true", "X-CSRFToken": csrf})
    assert pane.status_code == 200, pane.get_data(as_text=True)
    assert "it will run when the queue is back" in pane.get_data(as_text=True)

    # A webhook: stored before the answer, as always.
    hook = post(client, channel, load("incoming_comment"))
    assert hook.status_code == 200
    with db.session_scope() as s:
        assert s.get(RawEvent, hook.get_json()["id"]).status == RawEventStatus.RECEIVED

    redis_server.start()    # empty: every job queued before the outage is gone too
    counts = requeue_stranded(stale_after=timedelta(0))
    assert (counts["setups"], counts["actions"], counts["events"]) == (1, 2, 1)
    run_jobs()

    assert sandbox.state.accounts[SECOND_TOKEN].webhook == body["webhook_url"]
    assert sorted(m["caption"] for m in sandbox.state.sent) == ["From the API", "From the pane"]
    with db.session_scope() as s:
        assert s.get(Channel, body["id"]).webhook_registered_at is not None
        assert set(s.scalars(select(Followup.status))) == {FollowupStatus.SENT}
        assert set(s.scalars(select(OutboundAction.state))) == {ActionState.SENT}
        assert s.get(RawEvent, hook.get_json()["id"]).status == RawEventStatus.PROCESSED
        assert s.scalar(select(Ticket.kind).where(Ticket.id != ticket_id)) == "comment"
        assert s.scalars(select(Message.text).where(Message.ticket_id != ticket_id)).all()
    assert requeue_stranded(stale_after=timedelta(0)) == {"events": 0, "actions": 0, "unknown": 0, "reconciled": 0,
                                                       "setups": 0}


def test_a_reconnect_with_redis_down_is_set_up_again_by_the_sweep(app, client, channel, sandbox, token_for,
                                                                   redis_server):
    admin = {"Authorization": f"Bearer {token_for('admin')}"}
    redis_server.stop()

    reconnected = client.post("/api/v1/channels", headers=admin, json={
        "provider": "getloo", "base_url": sandbox.url, "credentials": {"token": sandbox.token}})
    assert reconnected.status_code == 202 and reconnected.get_json()["id"] == channel["id"]
    sandbox.state.accounts[sandbox.token].webhook = None     # forgotten at the provider meanwhile

    redis_server.start()
    counts = requeue_stranded(stale_after=timedelta(0))
    assert counts["setups"] == 1
    run_jobs()
    assert sandbox.state.accounts[sandbox.token].webhook == channel["webhook_url"]
    assert requeue_stranded(stale_after=timedelta(0))["setups"] == 0


def test_flask_sync_with_redis_down_says_nothing_was_queued(app, resont, redis_server):
    """A poll request saves nothing: the command fails clearly instead of with a traceback."""
    redis_server.stop()
    result = app.test_cli_runner().invoke(args=["sync"])
    assert result.exit_code != 0 and "unreachable, nothing was queued" in result.output


def test_connecting_on_the_channels_page_with_redis_down_says_setup_waits(app, client, sandbox, users, redis_server):
    login(client, "admin")
    csrf = csrf_of(client, "/settings/channels")
    redis_server.stop()
    page = client.post("/settings/channels", data={"provider": "getloo", "name": "Page shop", "token": sandbox.token,
                                                   "base_url": sandbox.url, "csrf_token": csrf}, follow_redirects=True)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Connected Page shop" in html and "will be set up when the queue is back" in html

    redis_server.start()
    assert requeue_stranded(stale_after=timedelta(0))["setups"] == 1
    run_jobs()
    with db.session_scope() as s:
        assert s.scalars(select(Channel.webhook_url)).one() == sandbox.state.accounts[sandbox.token].webhook


def test_a_sweep_that_cannot_reach_redis_settles_nothing(app, client, channel, token_for, redis_server):
    """"Unreachable" is not "no job": a reply in flight must not be called unknown for it."""
    from redis.exceptions import ConnectionError as RedisConnectionError
    from workers.outbound import claim

    post(client, channel, load("incoming_text"))
    run_jobs()
    response = client.post(f"/api/v1/tickets/{_ticket_id()}/actions/reply", json={"text": "In flight"},
                           headers={"Authorization": f"Bearer {token_for('agent')}"})
    assert response.status_code == 202
    claim(_action_id())                       # a worker took it and is calling the provider
    redis_server.stop()
    with pytest.raises(RedisConnectionError):
        requeue_stranded(stale_after=timedelta(0))
    with db.session_scope() as s:
        assert s.scalars(select(OutboundAction.state)).one() == ActionState.SENDING


def _action_id() -> int:
    with db.session_scope() as s:
        return s.scalars(select(OutboundAction.id)).one()


def test_a_json_route_that_needs_redis_before_saving_answers_503(app, redis_server):
    """Every JSON blueprint (register_json_errors) answers an unreachable Redis with the documented
    error body, 503 ``queue_unavailable``, never a 500 (here a route of the test's own, as no
    route of ours needs Redis before it saves)."""
    from flask import Blueprint

    from inbox.errors import register_json_errors

    bp = Blueprint("needs_redis", __name__, url_prefix="/needs-redis")
    register_json_errors(bp)
    bp.add_url_rule("/", "touch", lambda: ({"pong": workers.connection().ping()}, 200))
    app.register_blueprint(bp)
    client = app.test_client()
    assert client.get("/needs-redis/").status_code == 200
    redis_server.stop()
    down = client.get("/needs-redis/")
    assert down.status_code == 503 and down.get_json()["error"]["code"] == "queue_unavailable"
