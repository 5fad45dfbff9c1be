"""Provider trouble as callers see it: one JSON error body with the right status in the API and
the webhook intake, and in the worker a retry only when nothing can have been sent."""
from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from helpers import count, load, post, run_jobs
from inbox import db
from inbox.connectors.base import AuthError, ProviderError, Rejected
from inbox.errors import provider_status
from models import ActionState, Channel, ChannelStatus, Followup, FollowupStatus, OutboundAction, Ticket


def auth(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("exc, status", [
    (Rejected("reply_too_long", "too long"), 422),            # refused before sending: fix the values
    (Rejected("unknown_action", "no such action"), 400),      # the request names nothing we know
    (AuthError("invalid_token", "refused"), 400),             # the provider refused the credentials
    (ProviderError("not_found", "gone", status=404), 400),    # the provider refused the request
    (ProviderError("provider_busy", "503", retryable=True), 502),
    (ProviderError("provider_no_answer", "silent", uncertain=True), 502),
])
def test_provider_errors_map_to_one_status_each(exc, status):
    assert provider_status(exc) == status


def assert_error(response, status: int, code: str) -> None:
    """Exactly ``{"error": {"code", "message"}}``: no other keys, a message for people."""
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert list(body) == ["error"] and sorted(body["error"]) == ["code", "message"]
    assert body["error"]["code"] == code and body["error"]["message"].strip()


def open_ticket(client, channel) -> int:
    post(client, channel, load("incoming_text"))
    run_jobs()
    with db.session_scope() as s:
        return s.scalars(select(Ticket.id)).one()


def test_every_kind_of_error_in_the_api_has_the_one_body(client, channel, sandbox, token_for):
    agent, admin = auth(token_for("agent")), auth(token_for("admin"))
    ticket_id = open_ticket(client, channel)
    # ApiError raised by a view, and by the token check
    assert_error(client.post("/api/v1/channels", headers=admin, data="x", content_type="text/plain"),
                 400, "invalid_json")
    assert_error(client.get("/api/v1/channels"), 401, "unauthenticated")
    # the registry's UnknownProvider, translated by the connect service
    assert_error(client.post("/api/v1/channels", headers=admin, json={"provider": "nope", "credentials": {}}),
                 422, "unknown_provider")
    # a connector's AuthError and a retryable ProviderError while connecting
    assert_error(client.post("/api/v1/channels", headers=admin, json={
        "provider": "getloo", "base_url": sandbox.url, "credentials": {"token": "WRONG"}}), 400, "invalid_token")
    assert_error(client.post("/api/v1/channels", headers=admin, json={
        "provider": "getloo", "base_url": "http://127.0.0.1:9", "credentials": {"token": "T"}}),
        502, "provider_unreachable")
    # a connector's Rejected escaping the view (no try/except there): the blueprint's handler answers
    assert_error(client.post(f"/api/v1/tickets/{ticket_id}/actions/reply", headers=agent, json={"text": "я" * 1001}),
                 422, "reply_too_long")
    assert_error(client.post(f"/api/v1/tickets/{ticket_id}/actions/like", headers=agent), 422, "unsupported_action")
    assert_error(client.post(f"/api/v1/tickets/{ticket_id}/actions/teleport", headers=agent), 400, "unknown_action")
    # werkzeug's own errors under /api/v1
    assert_error(client.get("/api/v1/no-such-thing", headers=agent), 404, "not_found")
    assert_error(client.delete("/api/v1/tickets", headers=agent), 405, "method_not_allowed")


def test_a_refused_reply_leaves_no_half_written_rows(client, channel, sandbox, token_for):
    ticket_id = open_ticket(client, channel)
    response = client.post(f"/api/v1/tickets/{ticket_id}/actions/reply", headers=auth(token_for("agent")),
                           json={"text": "   "})
    assert_error(response, 422, "empty_reply")
    assert count(Followup) == 0 and count(OutboundAction) == 0
    run_jobs()
    assert sandbox.state.sent == []


def test_the_webhook_intake_answers_with_the_same_body(client, channel):
    assert_error(client.post("/webhooks/nope/abc", json={}), 404, "unknown_webhook")
    assert_error(client.post("/webhooks/getloo/not-a-token", json={}), 404, "unknown_webhook")
    assert_error(post(client, channel, "{not json"), 400, "malformed")
    assert_error(post(client, channel, {"event": "no object"}), 400, "malformed")   # the connector's Rejected
    assert_error(client.get("/webhooks/getloo/abc"), 405, "method_not_allowed")


# -- the worker: retried only when nothing can have been sent ---------------------------------------

def queue_reply(client, channel, token_for) -> int:
    ticket_id = open_ticket(client, channel)
    response = client.post(f"/api/v1/tickets/{ticket_id}/actions/reply", headers=auth(token_for("agent")),
                           json={"text": "Спасибо!"})
    assert response.status_code == 202, response.get_data(as_text=True)
    return response.get_json()["id"]


def outcome(followup_id: int, channel_id: int) -> tuple[str, str, str]:
    with db.session_scope() as s:
        followup = s.get(Followup, followup_id)
        [action] = followup.actions
        return followup.status, action.state, s.get(Channel, channel_id).status


@pytest.mark.parametrize("status, expected", [
    (429, (FollowupStatus.QUEUED, ActionState.QUEUED, ChannelStatus.ACTIVE)),     # retryable: back in line
    (500, (FollowupStatus.QUEUED, ActionState.QUEUED, ChannelStatus.ACTIVE)),
    (400, (FollowupStatus.FAILED, ActionState.FAILED, ChannelStatus.ACTIVE)),     # refused: not retried
    (401, (FollowupStatus.FAILED, ActionState.FAILED, ChannelStatus.NEEDS_ATTENTION)),   # AuthError: flagged
    (402, (FollowupStatus.FAILED, ActionState.FAILED, ChannelStatus.NEEDS_ATTENTION)),
])
def test_the_worker_retries_only_retryable_errors(client, channel, sandbox, token_for, status, expected):
    followup_id = queue_reply(client, channel, token_for)
    sandbox.state.fail_next("sendMsg", status)
    run_jobs()
    assert outcome(followup_id, channel["id"]) == expected
    assert sandbox.state.sent == []
    with db.session_scope() as s:
        action = s.scalars(select(OutboundAction)).one()
        assert action.error_code and action.attempts == 1


def test_an_answer_that_never_came_is_unknown_and_never_sent_again(client, channel, sandbox, token_for,
                                                                    monkeypatch):
    monkeypatch.setattr("inbox.connectors.getloo.TIMEOUT", httpx.Timeout(0.5, connect=2.0))
    followup_id = queue_reply(client, channel, token_for)
    sandbox.state.delay_next("sendMsg", 1.5)          # Getloo does the work, then answers too late
    run_jobs()
    assert outcome(followup_id, channel["id"])[:2] == (FollowupStatus.UNKNOWN, ActionState.UNKNOWN)
    run_jobs()
    assert len(sandbox.state.sent) == 1               # retrying would have sent it twice
