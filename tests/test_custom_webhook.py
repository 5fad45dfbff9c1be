"""Custom channels, outbound: agent actions reach the integration as signed, retried, deduplicable
deliveries, and the integration's success / reset callbacks settle them."""
from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import uuid

import httpx
import pytest
from helpers import run_jobs
from rq import SimpleWorker
from sqlalchemy import func, select

import workers
from inbox import db
from inbox.connectors.custom import sign, verify_signature
from sandbox.custom import SANDBOX
from models import (
    ActionState,
    Channel,
    ChannelStatus,
    Direction,
    Followup,
    FollowupStatus,
    Message,
    OutboundAction,
)


@pytest.fixture
def integration(_sandbox_server):
    """The example integration (sandbox/custom.py) served on its own loopback port."""
    SANDBOX.reset()
    yield f"{_sandbox_server.url}/sandbox/custom"
    SANDBOX.reset()


def auth(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def custom(live, integration, token_for) -> dict:
    """A custom channel whose webhook is the sandbox integration, installed with the channel's token."""
    response = httpx.post(f"{live}/api/v1/channels", headers=auth(token_for("admin")), json={
        "provider": "custom", "name": "Shop support",
        "settings": {"webhook_url": f"{integration}/webhook/shop",
                     "manifest": {"inbox": {"ticketActions": [
                         {"id": "refund", "type": "custom", "label": {"en": "Refund", "de": "Erstatten",
                                                                      "fr": "Rembourser"}}]}}}})
    assert response.status_code == 201, response.text
    channel = response.json()
    installation = SANDBOX.install(f"{live}/api2", channel["access_token"], key="shop")
    return {**channel, "api": f"{live}/api2", "secret": installation.secret}


@pytest.fixture
def ticket(custom) -> dict:
    status, body = SANDBOX.push_ticket(custom["api"], custom["access_token"], "order-4821",
                                       "Здравствуйте! Где мой заказ?", {"interactorId": "cust-1", "name": "Анна"})
    assert status == 201, body
    return body


def reply(client, token_for, ticket: dict, text: str = "Добрый день! Уже отправили.") -> int:
    response = client.post(f"/api/v1/tickets/{int(ticket['_id'])}/actions/reply", json={"text": text},
                           headers=auth(token_for("agent")))
    assert response.status_code == 202, response.get_data(as_text=True)
    return response.get_json()["id"]


def state(followup_id: int) -> tuple[str, str, str | None, str]:
    with db.session_scope() as s:
        followup = s.get(Followup, followup_id)
        [action] = followup.actions
        return followup.status, action.state, followup.error, action.idempotency_key


def success(custom, ticket, rid: str, body) -> httpx.Response:
    return httpx.post(f"{custom['api']}/public/inbox/tickets/{ticket['_id']}/replies/{rid}/success",
                      params={"accesstoken": custom["access_token"]}, json=body)


def run_with_scheduler() -> None:
    conn = workers.connection()
    SimpleWorker([workers.queue(n) for n in workers.QUEUE_NAMES], connection=conn).work(
        burst=True, with_scheduler=True, logging_level="WARNING")


# -- signed deliveries ---------------------------------------------------------------------------

def test_an_agent_reply_is_delivered_signed_with_a_delivery_id(client, token_for, custom, ticket):
    followup_id = reply(client, token_for, ticket)
    assert SANDBOX.received == []                   # nothing leaves inside the web request
    run_jobs()
    [delivery] = SANDBOX.received
    raw = delivery["body"].encode()
    expected = "sha256=" + hmac.new(custom["secret"].encode(), raw, hashlib.sha256).hexdigest()
    assert delivery["signature"] == expected
    status, action_state, _, key = state(followup_id)
    assert (status, action_state) == (FollowupStatus.SENT, ActionState.SENT)
    assert delivery["delivery_id"] == key and uuid.UUID(key)
    payload = json.loads(raw)
    assert payload["type"] == "reply" and payload["replyId"] == key and payload["deliveryId"] == key
    assert payload["reply"] == {"text": "Добрый день! Уже отправили."}
    assert payload["ticket"]["_id"] == ticket["_id"] and payload["ticket"]["networkItemId"] == "order-4821"
    assert payload["ticket"]["interactor"]["interactorId"] == "cust-1"


def test_a_503_is_retried_with_the_same_delivery_id(client, token_for, custom, ticket):
    SANDBOX.fail_next(503)
    followup_id = reply(client, token_for, ticket)
    run_jobs()
    status, action_state, error, key = state(followup_id)
    assert (status, action_state) == (FollowupStatus.QUEUED, ActionState.QUEUED) and "503" in error
    assert SANDBOX.received == [] and [a["status"] for a in SANDBOX.attempts] == [503]
    time.sleep(2.2)                                  # the first retry interval
    run_with_scheduler()
    assert [(a["delivery_id"], a["status"]) for a in SANDBOX.attempts] == [(key, 503), (key, 200)]
    assert len(SANDBOX.received) == 1 and state(followup_id)[:2] == (FollowupStatus.SENT, ActionState.SENT)


def test_a_4xx_fails_the_reply_without_retrying(client, token_for, custom, ticket):
    SANDBOX.fail_next(422)
    followup_id = reply(client, token_for, ticket)
    run_jobs()
    status, action_state, error, _ = state(followup_id)
    assert (status, action_state) == (FollowupStatus.FAILED, ActionState.FAILED) and "422" in error
    with db.session_scope() as s:
        assert s.get(Channel, custom["id"]).status == ChannelStatus.ACTIVE


def test_an_integration_with_another_secret_refuses_and_the_channel_needs_attention(client, token_for, custom, ticket):
    SANDBOX.configure("shop", secret="x" * 40, access_token=custom["access_token"], api_base=custom["api"])
    followup_id = reply(client, token_for, ticket)
    run_jobs()
    assert state(followup_id)[0] == FollowupStatus.FAILED and SANDBOX.received == []
    assert [a["status"] for a in SANDBOX.attempts] == [401]
    with db.session_scope() as s:
        assert s.get(Channel, custom["id"]).status == ChannelStatus.NEEDS_ATTENTION


def test_signature_verification_rejects_tampering():
    body = json.dumps({"type": "reply", "reply": {"text": "hi"}}).encode()
    header = sign("k" * 32, body)
    assert verify_signature("k" * 32, body, header)
    assert not verify_signature("k" * 32, body.replace(b"hi", b"ha"), header)
    assert not verify_signature("other-secret" * 3, body, header)
    assert not verify_signature("k" * 32, body, header.removeprefix("sha256="))
    assert not verify_signature("k" * 32, body, None)
    assert not verify_signature("", body, header)


def test_the_integration_rejects_a_tampered_body_and_dedupes_repeats(integration):
    SANDBOX.configure("t", secret="k" * 32)
    body = json.dumps({"type": "action", "actionId": "refund", "ticket": {"_id": "1"}}).encode()
    headers = {"X-Inbox-Signature": sign("k" * 32, body), "X-Inbox-Delivery": "d-1",
               "Content-Type": "application/json"}
    tampered = httpx.post(f"{integration}/webhook/t", content=body.replace(b"refund", b"delete"), headers=headers)
    assert tampered.status_code == 401 and SANDBOX.received == []
    assert httpx.post(f"{integration}/webhook/t", content=body, headers=headers).status_code == 200
    again = httpx.post(f"{integration}/webhook/t", content=body, headers=headers)
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert len(SANDBOX.received) == 1


def test_a_custom_action_is_delivered_signed_with_its_action_id(custom, ticket):
    with db.session_scope() as s:
        action = OutboundAction(channel_id=custom["id"], ticket_id=int(ticket["_id"]), kind="custom_action",
                                request={"action_id": "refund", "payload": {"amount": "12.50"}})
        s.add(action)
        s.flush()
        action_id, key = action.id, action.idempotency_key
    workers.enqueue_send(action_id)
    run_jobs()
    [delivery] = SANDBOX.received
    assert verify_signature(custom["secret"], delivery["body"].encode(), delivery["signature"])
    payload = delivery["payload"]
    assert (payload["type"], payload["actionId"], payload["payload"]) == ("action", "refund", {"amount": "12.50"})
    assert delivery["delivery_id"] == key and payload["ticket"]["_id"] == ticket["_id"]
    with db.session_scope() as s:
        done = s.get(OutboundAction, action_id)
        assert done.state == ActionState.SENT and done.external_id == key


def test_a_rotated_secret_signs_the_next_delivery(client, token_for, custom, ticket):
    new_secret = "n" * 48
    response = httpx.patch(f"{custom['api']}/public/manifest", params={"accesstoken": custom["access_token"]},
                           json={"webhook": {"url": custom["settings"]["webhook_url"], "secret": new_secret}})
    assert response.status_code == 200
    SANDBOX.configure("shop", secret=new_secret, access_token=custom["access_token"], api_base=custom["api"])
    followup_id = reply(client, token_for, ticket)
    run_jobs()
    [delivery] = SANDBOX.received
    assert verify_signature(new_secret, delivery["body"].encode(), delivery["signature"])
    assert not verify_signature(custom["secret"], delivery["body"].encode(), delivery["signature"])
    assert state(followup_id)[0] == FollowupStatus.SENT


# -- callbacks: success and reset -------------------------------------------------------------------

def test_the_success_callback_marks_the_reply_delivered(client, token_for, custom, ticket):
    followup_id = reply(client, token_for, ticket)
    run_jobs()
    rid = state(followup_id)[3]
    body = {"interaction": {"networkItemId": "reply-000001", "type": "COMMENT",
                            "url": "https://network.example/r/1", "createdTime": "2024-05-01T10:05:00Z"}}
    response = success(custom, ticket, rid, body)
    assert response.status_code == 201, response.text
    [followup] = response.json()["followups"]
    assert followup["id"] == rid and followup["networkId"] == "reply-000001" and followup["status"] == "delivered"
    assert state(followup_id)[:2] == (FollowupStatus.DELIVERED, ActionState.SENT)
    with db.session_scope() as s:
        [echo] = s.scalars(select(Message).filter_by(direction=Direction.OUT)).all()
        assert echo.external_id == "reply-000001" and echo.ticket_id == int(ticket["_id"])
        assert echo.data["replyId"] == rid and echo.text == "Добрый день! Уже отправили."
        assert s.get(OutboundAction, s.scalars(select(OutboundAction.id)).one()).response["interaction"][
            "networkItemId"] == "reply-000001"

    assert success(custom, ticket, rid, body).status_code == 201          # a repeated callback is harmless
    other = success(custom, ticket, rid, {"interaction": {"networkItemId": "reply-000002"}})
    assert other.status_code == 409 and other.json()["code"] == "ConflictError"
    with db.session_scope() as s:
        assert s.scalar(select(func.count()).select_from(Message).filter_by(direction=Direction.OUT)) == 1


def test_a_callback_that_beats_the_worker_is_not_overwritten_by_it(client, token_for, custom, ticket):
    """The integration may confirm before the worker that delivered has recorded its result."""
    followup_id = reply(client, token_for, ticket)
    with db.session_scope() as s:
        action = s.scalars(select(OutboundAction)).one()
        action.state, rid = ActionState.SENDING, action.idempotency_key    # the worker is mid-call
    results: list[httpx.Response] = []
    callback = threading.Thread(target=lambda: results.append(
        success(custom, ticket, rid, {"interaction": {"networkItemId": "reply-000001"}})))
    callback.start()
    time.sleep(0.5)
    with db.session_scope() as s:                  # what workers.outbound.run_action writes on a 2xx
        action = s.scalars(select(OutboundAction)).one()
        action.state, action.external_id, action.response = ActionState.SENT, rid, {}
        action.followup.advance(FollowupStatus.SENT)
    callback.join(10)
    assert results and results[0].status_code == 201, results
    assert state(followup_id)[:2] == (FollowupStatus.DELIVERED, ActionState.SENT)
    with db.session_scope() as s:
        assert s.scalars(select(OutboundAction)).one().response["interaction"]["networkItemId"] == "reply-000001"


@pytest.mark.parametrize("rid, body, status, mentions", [
    ("not-a-uuid", {"interaction": {"networkItemId": "reply-000001"}}, 400, "rid must be a uuid"),
    (None, {}, 400, "interaction is required"),
    (None, {"interaction": {}}, 400, "interaction.networkItemId is required"),
    (None, {"interaction": {"networkItemId": "reply|000001"}}, 400, "interaction.networkItemId must match"),
    (None, {"interaction": {"networkItemId": "reply-000001", "type": "SMS"}}, 400, "interaction.type must be one of"),
    (None, {"interaction": {"networkItemId": "reply-000001", "createdTime": "now"}}, 400, "createdTime"),
    (str(uuid.uuid4()), {"interaction": {"networkItemId": "reply-000001"}}, 404, "No reply"),
])
def test_bad_success_callbacks_get_socialhub_errors(client, token_for, custom, ticket, rid, body, status, mentions):
    followup_id = reply(client, token_for, ticket)
    run_jobs()
    response = success(custom, ticket, rid or state(followup_id)[3], body)
    assert response.status_code == status, response.text
    assert set(response.json()) == {"code", "message"} and mentions in response.json()["message"]
    assert state(followup_id)[0] == FollowupStatus.SENT


def test_a_network_item_id_taken_by_a_ticket_is_409(client, token_for, custom, ticket):
    followup_id = reply(client, token_for, ticket)
    run_jobs()
    response = success(custom, ticket, state(followup_id)[3], {"interaction": {"networkItemId": "order-4821"}})
    assert response.status_code == 409 and state(followup_id)[0] == FollowupStatus.SENT


def test_auto_confirm_settles_the_reply_end_to_end(client, token_for, custom, ticket):
    SANDBOX.auto_confirm = True
    followup_id = reply(client, token_for, ticket)
    run_jobs()
    SANDBOX.drain()
    [callback] = SANDBOX.callbacks
    assert callback["kind"] == "success" and callback["status"] == 201, callback
    assert state(followup_id)[:2] == (FollowupStatus.DELIVERED, ActionState.SENT)


def test_reset_marks_the_reply_failed_with_the_integrations_reason(client, token_for, custom, ticket):
    SANDBOX.reset_next("Instagram says: user has blocked the account")
    followup_id = reply(client, token_for, ticket)
    run_jobs()
    SANDBOX.drain()
    [callback] = SANDBOX.callbacks
    assert callback["kind"] == "reset" and callback["status"] == 201, callback
    status, action_state, error, rid = state(followup_id)
    assert (status, action_state) == (FollowupStatus.FAILED, ActionState.FAILED)
    assert error == "Instagram says: user has blocked the account"
    shown = client.get(f"/api/v1/tickets/{int(ticket['_id'])}", headers=auth(token_for("agent"))).get_json()
    assert shown["followups"][0]["status"] == "failed" and "action_reset" in [h["action"] for h in shown["history"]]
    # A reply reported failed cannot then be confirmed.
    late = success(custom, ticket, rid, {"interaction": {"networkItemId": "reply-000009"}})
    assert late.status_code == 409


def test_reset_by_action_id_finds_the_latest_such_action(client, token_for, custom, ticket):
    followup_id = reply(client, token_for, ticket)
    run_jobs()
    response = httpx.post(f"{custom['api']}/public/inbox/tickets/{ticket['_id']}/reset/reply",
                          params={"accesstoken": custom["access_token"]}, json={"reason": "rate limited"})
    assert response.status_code == 201, response.text
    assert response.json()["followups"][0]["networkError"] == "rate limited"
    assert state(followup_id)[:3] == (FollowupStatus.FAILED, ActionState.FAILED, "rate limited")


# -- connecting ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("url, ok", [
    ("https://integration.example/hooks", True),
    ("http://127.0.0.1:8080/hooks", True),
    ("http://localhost:8080/hooks", True),
    ("http://[::1]:8080/hooks", True),
    ("http://integration.example/hooks", False),
    ("http://10.0.0.5/hooks", False),
    ("ftp://integration.example/hooks", False),
    ("javascript:alert(1)", False),
    ("https://", False),
    (42, False),
])
def test_the_webhook_url_must_be_https_except_on_loopback(client, token_for, url, ok):
    response = client.post("/api/v1/channels", headers=auth(token_for("admin")),
                           json={"provider": "custom", "settings": {"webhook_url": url}})
    if ok:
        assert response.status_code == 201, response.get_data(as_text=True)
        assert response.get_json()["settings"]["webhook_url"] == url
    else:
        assert response.status_code == 422, response.get_data(as_text=True)
        assert response.get_json()["error"]["code"] == "invalid_webhook_url"
        with db.session_scope() as s:
            assert s.scalars(select(Channel)).all() == []


def test_an_invalid_manifest_at_creation_is_422(client, token_for):
    response = client.post("/api/v1/channels", headers=auth(token_for("admin")), json={
        "provider": "custom", "settings": {"webhook_url": "https://integration.example/h",
                                           "manifest": {"inbox": {"ticketActions": [{"id": "no spaces"}]}}}})
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "invalid_manifest"


def test_a_manifest_webhook_at_creation_sets_url_and_secret(client, token_for):
    secret = "m" * 40
    response = client.post("/api/v1/channels", headers=auth(token_for("admin")), json={
        "provider": "custom", "settings": {"manifest": {"webhook": {"url": "https://integration.example/m",
                                                                    "secret": secret}}}})
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert body["settings"]["webhook_url"] == "https://integration.example/m" and secret not in str(body)
    shown = client.get("/api2/public", query_string={"accesstoken": body["access_token"]}).get_json()
    assert shown["manifest"]["webhook"] == {"url": "https://integration.example/m", "secret": secret}


def test_custom_channels_take_no_inbound_webhooks(client, token_for):
    body = client.post("/api/v1/channels", headers=auth(token_for("admin")),
                       json={"provider": "custom", "settings": {"webhook_url": "https://i.example/h"}}).get_json()
    path = "/" + body["webhook_url"].split("://", 1)[1].split("/", 1)[1]
    response = client.post(path, json={"interaction": {}})
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "no_webhooks"
