"""Custom channels, outbound: agent actions reach the integration as SocialHub's signed
``ticket_action`` events, non-2xx answers are retried, a wrong challenge removes the webhook, and
the integration's success / reset callbacks settle the replies.

The integration is ``sandbox/socialhub_integration.py``, written from SocialHub's documentation
(it verifies signatures with the docs' own Python example), served over real HTTP on loopback."""
from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from helpers import csrf_of, login, run_jobs
from rq import SimpleWorker
from sqlalchemy import func, select

import workers
from inbox import db
from inbox.connectors.custom import fetch_templates, signed_headers
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
from sandbox.socialhub_integration import TEMPLATES
from workers.outbound import run_action

ACTIONS = [
    {"id": "reply-comment", "type": "reply", "label": {"en": "Reply", "de": "Antworten", "fr": "Répondre"},
     "config": {"maxLength": 120, "approvalProcess": False}, "attachments": {}},
    {"id": "reply-dm", "type": "reply", "label": "Private reply",
     "options": [{"id": "sms", "label": "SMS"}, {"id": "email", "label": {"en": "E-mail", "de": "E-Mail", "fr": "Courriel"},
                                                 "description": "Sent from support@"}]},
    {"id": "reply-file", "type": "reply", "label": "Send a file", "attachments": {"noText": True}},
    {"id": "refund", "type": "button", "label": {"en": "Refund", "de": "Erstatten", "fr": "Rembourser"}},
]


@pytest.fixture
def integration(_sandbox_server):
    """The example integration mounted in the sandbox app, on its own loopback port."""
    SANDBOX.reset()
    yield f"{_sandbox_server.url}/sandbox/custom"
    SANDBOX.drain()
    SANDBOX.reset()


def auth(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def connect(live: str, token_for, actions: list[dict]) -> dict:
    response = httpx.post(f"{live}/api/v1/channels", headers=auth(token_for("admin")), json={
        "provider": "custom", "name": "Shop support", "settings": {"manifest": {"inbox": {"ticketActions": actions}}}})
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
def custom(live, integration, token_for) -> dict:
    """A custom channel whose integration registered its webhook as SocialHub's docs say (PATCH /manifest)."""
    templated = {"id": "templated", "type": "template_reply", "label": "Template",
                 "config": {"templates": {"url": f"{integration}/templates/shop"}}}
    channel = connect(live, token_for, [*ACTIONS, templated])
    answer = SANDBOX.register("shop", f"{live}/api2", channel["access_token"], f"{integration}/webhook/shop")
    assert answer.status_code == 200, answer.text
    return {**channel, "api": f"{live}/api2", "secret": SANDBOX.installations["shop"].secret,
            "webhook": f"{integration}/webhook/shop"}


@pytest.fixture
def ticket(custom) -> dict:
    status, body = SANDBOX.push_ticket(custom["api"], custom["access_token"], "order-4821",
                                       "Здравствуйте! Где мой заказ?", {"interactorId": "cust-1", "name": "Анна"})
    assert status == 201, body
    return body


def reply(client, token_for, ticket: dict, text: str | None = "Добрый день! Уже отправили.", **choice):
    body = {**({"text": text} if text is not None else {}), **choice}
    return client.post(f"/api/v1/tickets/{int(ticket['_id'])}/actions/reply", json=body,
                       headers=auth(token_for("agent")))


def replied(client, token_for, ticket: dict, **kwargs) -> int:
    response = reply(client, token_for, ticket, **kwargs)
    assert response.status_code == 202, response.get_data(as_text=True)
    return response.get_json()["id"]


def state(followup_id: int) -> tuple[str, str, str | None, str]:
    with db.session_scope() as s:
        followup = s.get(Followup, followup_id)
        [action] = followup.actions
        return followup.status, action.state, followup.error, action.idempotency_key


def delivered_requests() -> list[dict]:
    """Webhook requests that carried events (the test request has none)."""
    return [r for r in SANDBOX.requests if (r.get("payload") or {}).get("events")]


def success(custom, ticket, rid: str, body) -> httpx.Response:
    return httpx.post(f"{custom['api']}/public/inbox/tickets/{ticket['_id']}/replies/{rid}/success",
                      params={"accesstoken": custom["access_token"]}, json=body)


def run_with_scheduler() -> None:
    conn = workers.connection()
    SimpleWorker([workers.queue(n) for n in workers.QUEUE_NAMES], connection=conn).work(
        burst=True, with_scheduler=True, logging_level="WARNING")


# -- the webhook's registration -------------------------------------------------------------------

def test_registering_the_webhook_sends_a_signed_test_request_with_empty_events(custom):
    [test_request] = SANDBOX.requests
    assert test_request["verified"] and test_request["status"] == 200
    cid = f"{custom['id']:024d}"
    assert json.loads(test_request["body"]) == {"manifestId": cid, "accountId": "0" * 23 + "1", "channelId": cid,
                                                 "events": {}}
    shown = httpx.get(f"{custom['api']}/public", params={"accesstoken": custom["access_token"]}).json()
    assert shown["manifest"]["webhook"] == {"url": custom["webhook"], "secret": custom["secret"]}


def test_a_webhook_that_fails_the_challenge_is_refused_and_nothing_is_saved(custom):
    SANDBOX.wrong_challenge_next()
    answer = httpx.patch(f"{custom['api']}/public/manifest", params={"accesstoken": custom["access_token"]},
                         json={"webhook": {"url": custom["webhook"], "secret": custom["secret"]},
                               "branding": {"color": "#000"}})
    assert answer.status_code == 422
    assert answer.json() == {"code": "WebhookValidationError", "message": "Error: The WebHook failed to solve the challenge"}
    shown = httpx.get(f"{custom['api']}/public", params={"accesstoken": custom["access_token"]}).json()["manifest"]
    assert shown["webhook"] == {"url": custom["webhook"], "secret": custom["secret"]} and "branding" not in shown


def test_a_webhook_answering_non_2xx_to_the_test_is_refused(custom):
    SANDBOX.fail_next(500)
    answer = httpx.patch(f"{custom['api']}/public/manifest", params={"accesstoken": custom["access_token"]},
                         json={"webhook": {"url": custom["webhook"], "secret": custom["secret"]}})
    assert answer.status_code == 422 and answer.json()["code"] == "WebhookValidationError"
    assert "500" in answer.json()["data"]


# -- ticket_action events -------------------------------------------------------------------------

def test_a_reply_is_a_ticket_action_event_signed_as_the_docs_say(client, token_for, custom, ticket):
    followup_id = replied(client, token_for, ticket)
    assert delivered_requests() == []                  # nothing leaves inside the web request
    run_jobs()
    [request] = delivered_requests()
    assert request["verified"] and request["status"] == 200
    # The documented scheme, recomputed here: challenge = sha256("<ts>;<secret>"), signature = HMAC(challenge, body).
    challenge = hashlib.sha256(f"{request['timestamp']};{custom['secret']}".encode()).hexdigest()
    assert request["signature"] == hmac.new(challenge.encode(), request["body"].encode(), hashlib.sha256).hexdigest()
    assert abs(int(request["timestamp"]) / 1000 - time.time()) < 60
    status, action_state, _, key = state(followup_id)
    assert (status, action_state) == (FollowupStatus.SENT, ActionState.SENT)
    body = json.loads(request["body"])
    assert set(body) == {"manifestId", "accountId", "channelId", "events"} and list(body["events"]) == ["ticket_action"]
    [event] = body["events"]["ticket_action"]
    assert set(event) == {"ticketId", "networkItemId", "type", "actionId", "payload", "time", "uuid"}
    assert (event["ticketId"], event["networkItemId"], event["type"]) == (ticket["_id"], "order-4821", "reply")
    assert event["actionId"] == "reply-comment"              # the first reply action of the manifest
    assert event["payload"] == {"text": "Добрый день! Уже отправили.", "followupId": key} and event["uuid"] == key
    assert uuid.UUID(key) and abs(event["time"] / 1000 - time.time()) < 60


def test_a_non_2xx_answer_is_retried_with_the_same_event(client, token_for, custom, ticket):
    SANDBOX.fail_next(503)
    followup_id = replied(client, token_for, ticket)
    run_jobs()
    status, action_state, error, key = state(followup_id)
    assert (status, action_state) == (FollowupStatus.QUEUED, ActionState.QUEUED) and "503" in error
    assert SANDBOX.events == []
    time.sleep(2.2)                                  # the first retry interval
    run_with_scheduler()
    first, second = delivered_requests()
    assert (first["status"], second["status"]) == (503, 200)
    assert [json.loads(r["body"])["events"]["ticket_action"][0]["uuid"] for r in (first, second)] == [key, key]
    assert first["timestamp"] != second["timestamp"]            # signed afresh
    assert len(SANDBOX.events) == 1 and state(followup_id)[:2] == (FollowupStatus.SENT, ActionState.SENT)


def test_a_4xx_is_retried_too_as_every_non_2xx(client, token_for, custom, ticket):
    SANDBOX.fail_next(422)
    followup_id = replied(client, token_for, ticket)
    run_jobs()
    status, action_state, error, _ = state(followup_id)
    assert (status, action_state) == (FollowupStatus.QUEUED, ActionState.QUEUED) and "422" in error


def test_an_integration_with_another_secret_refuses_and_after_the_retries_the_channel_needs_attention(
        client, token_for, custom, ticket):
    SANDBOX.configure("shop", secret="x" * 40, access_token=custom["access_token"], api_base=custom["api"])
    followup_id = replied(client, token_for, ticket)
    with db.session_scope() as s:
        action_id = s.get(Followup, followup_id).actions[0].id
    run_action(action_id)                 # the last attempt: no retries left
    assert state(followup_id)[:2] == (FollowupStatus.FAILED, ActionState.FAILED) and SANDBOX.events == []
    assert [r["status"] for r in SANDBOX.requests[1:]] == [401]
    with db.session_scope() as s:
        assert s.get(Channel, custom["id"]).status == ChannelStatus.NEEDS_ATTENTION


def test_a_2xx_without_the_right_challenge_removes_the_webhook_and_flags_the_channel(client, token_for, custom, ticket):
    SANDBOX.wrong_challenge_next()
    followup_id = replied(client, token_for, ticket)
    run_jobs()
    status, action_state, error, _ = state(followup_id)
    assert (status, action_state) == (FollowupStatus.FAILED, ActionState.FAILED) and "X-SocialHub-Challenge" in error
    with db.session_scope() as s:
        channel = s.get(Channel, custom["id"])
        assert channel.status == ChannelStatus.NEEDS_ATTENTION and "removed" in channel.last_error
        assert channel.settings["webhook_url"] is None
    shown = httpx.get(f"{custom['api']}/public", params={"accesstoken": custom["access_token"]}).json()
    assert shown["manifest"]["webhook"] is None
    # Nothing more is sent until the integration registers again.
    later = replied(client, token_for, ticket, text="Ещё один ответ")
    run_jobs()
    assert state(later)[0] == FollowupStatus.FAILED and len(delivered_requests()) == 1


def test_the_integration_rejects_tampering_old_timestamps_and_handles_an_event_once(integration):
    SANDBOX.configure("t", secret="k" * 32)
    raw = json.dumps({"manifestId": "m", "accountId": "a", "channelId": "c", "events": {"ticket_action": [
        {"ticketId": "1", "networkItemId": "item-1", "type": "button", "actionId": "refund", "payload": {},
         "time": 1, "uuid": "u-1"}]}}).encode()
    headers, challenge = signed_headers("k" * 32, raw)
    tampered = httpx.post(f"{integration}/webhook/t", content=raw.replace(b"refund", b"delete"), headers=headers)
    assert tampered.status_code == 401 and "X-SocialHub-Challenge" not in tampered.headers
    stale, _ = signed_headers("k" * 32, raw, now_ms=int(time.time() * 1000) - 6 * 60 * 1000)
    assert httpx.post(f"{integration}/webhook/t", content=raw, headers=stale).status_code == 401
    good = httpx.post(f"{integration}/webhook/t", content=raw, headers=headers)
    assert good.status_code == 200 and good.headers["X-SocialHub-Challenge"] == challenge
    assert httpx.post(f"{integration}/webhook/t", content=raw, headers=headers).status_code == 200
    assert len(SANDBOX.events) == 1


def test_a_button_action_is_a_button_event_with_an_empty_payload(client, token_for, custom, ticket):
    response = client.post(f"/api/v1/tickets/{int(ticket['_id'])}/actions/custom_action",
                           json={"action_id": "refund"}, headers=auth(token_for("agent")))
    assert response.status_code == 202, response.get_data(as_text=True)
    run_jobs()
    [event] = [e["event"] for e in SANDBOX.events]
    assert (event["type"], event["actionId"], event["payload"]) == ("button", "refund", {})
    with db.session_scope() as s:
        assert s.get(OutboundAction, response.get_json()["id"]).state == ActionState.SENT
    # Reply actions are not buttons.
    refused = client.post(f"/api/v1/tickets/{int(ticket['_id'])}/actions/custom_action",
                          json={"action_id": "reply-dm"}, headers=auth(token_for("agent")))
    assert refused.status_code == 422


def test_a_rotated_secret_signs_the_next_delivery(client, token_for, custom, ticket):
    answer = SANDBOX.register("shop", custom["api"], custom["access_token"], custom["webhook"], secret="n" * 48)
    assert answer.status_code == 200
    followup_id = replied(client, token_for, ticket)
    run_jobs()
    [request] = delivered_requests()
    challenge = hashlib.sha256(f"{request['timestamp']};{'n' * 48}".encode()).hexdigest()
    assert request["verified"] and request["signature"] == hmac.new(
        challenge.encode(), request["body"].encode(), hashlib.sha256).hexdigest()
    assert state(followup_id)[0] == FollowupStatus.SENT


# -- the manifest's reply actions ---------------------------------------------------------------------

def test_the_chosen_reply_action_and_its_option_reach_the_integration(client, token_for, custom, ticket):
    replied(client, token_for, ticket, text="Письмо отправлено", action_id="reply-dm", option="email")
    run_jobs()
    [event] = [e["event"] for e in SANDBOX.events]
    assert (event["actionId"], event["payload"]["option"], event["payload"]["text"]) == (
        "reply-dm", "email", "Письмо отправлено")
    with db.session_scope() as s:
        request = s.scalars(select(OutboundAction)).one().request
        assert request["approval_process"] is True          # the manifest's default, kept for approval


@pytest.mark.parametrize("choice, code", [
    ({"text": "x" * 121}, "reply_too_long"),                                     # maxLength 120
    ({"action_id": "reply-dm"}, "option_required"),
    ({"action_id": "reply-dm", "option": "fax"}, "unknown_option"),
    ({"action_id": "nope"}, "unknown_reply_action"),
    ({"action_id": "reply-file", "attachment_url": "https://files.example/a.pdf"}, "no_text_with_attachment"),
    ({"action_id": "reply-dm", "option": "sms", "attachment_url": "https://files.example/a.pdf"},
     "attachments_not_allowed"),
    ({"action_id": "templated"}, "template_required"),
])
def test_the_manifest_rules_refuse_a_reply_before_it_is_queued(client, token_for, custom, ticket, choice, code):
    choice = {"text": "Hallo", **choice}
    text = choice.pop("text")
    attachment = choice.pop("attachment_url", None)
    if attachment:       # the composer's attachment field goes straight to the service
        from inbox.connectors.custom import reply_request
        from inbox.connectors.base import Rejected as ReplyRejected

        with db.session_scope() as s:
            channel = s.get(Channel, custom["id"])
            with pytest.raises(ReplyRejected) as refused:
                reply_request(channel.settings, {}, text, attachment_url=attachment, **choice)
        assert refused.value.code == code
        return
    response = reply(client, token_for, ticket, text=text, **choice)
    assert response.status_code == 422 and response.get_json()["error"]["code"] == code
    with db.session_scope() as s:
        assert s.scalar(select(func.count()).select_from(OutboundAction)) == 0


def test_a_reply_action_whose_timeout_ran_out_is_refused(client, live, token_for, integration):
    channel = connect(live, token_for, [{"id": "reply-24h", "type": "reply", "label": "Reply",
                                         "config": {"timeout": {"duration": "24h", "after": "networkCreationTime"}}}])
    old = (datetime.now(UTC) - timedelta(days=2)).isoformat()
    status, ticket = SANDBOX.push_ticket(f"{live}/api2", channel["access_token"], "old-item-1", "Hello?", "Ann",
                                         createdTime=old)
    assert status == 201
    response = reply(client, token_for, ticket, text="Sorry for the wait")
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "action_expired"
    login(client, "agent")
    pane = client.get(f"/tickets/{int(ticket['_id'])}")
    assert "No longer available" in pane.get_data(as_text=True)


def test_a_template_reply_sends_the_template_and_its_values(client, token_for, custom, ticket):
    template = {"networkId": "order_shipped", "name": "Order shipped", "variables": {"orderId": "4821"},
                "language": "de"}
    followup_id = replied(client, token_for, ticket, text=None, action_id="templated", template=template)
    run_jobs()
    [event] = [e["event"] for e in SANDBOX.events]
    assert event["type"] == "template_reply" and event["actionId"] == "templated"
    assert event["payload"] == {**template, "followupId": state(followup_id)[3]}


def test_templates_are_fetched_signed_and_offered_in_the_composer(client, token_for, custom, ticket):
    assert fetch_templates(f"{custom['webhook'].rsplit('/webhook', 1)[0]}/templates/shop", custom["secret"],
                           custom["id"]) == TEMPLATES
    assert SANDBOX.template_requests[-1]["channelId"] == f"{custom['id']:024d}"
    unsigned = httpx.get(f"{custom['webhook'].rsplit('/webhook', 1)[0]}/templates/shop")
    assert unsigned.status_code == 401
    login(client, "agent")
    html = client.get(f"/tickets/{int(ticket['_id'])}/reply-templates/templated").get_data(as_text=True)
    assert "Order shipped" in html and 'name="var:templated:order_shipped:orderId"' in html


def test_the_composer_offers_the_reply_actions_and_sends_the_chosen_one(client, token_for, custom, ticket):
    login(client, "agent")
    pane = client.get(f"/tickets/{int(ticket['_id'])}").get_data(as_text=True)
    for shown in ('name="action_id" value="reply-comment"', 'name="action_id" value="reply-dm"',
                  'name="option:reply-dm"', "Up to 120 characters", "E-mail",
                  "Goes through approval"):
        assert shown in pane, shown
    token = csrf_of(client, f"/tickets/{int(ticket['_id'])}")
    headers = {"HX-Request": "true", "X-CSRFToken": token}
    refused = client.post(f"/tickets/{int(ticket['_id'])}/reply", headers=headers,
                          data={"text": "Sure", "action_id": "reply-dm"})
    assert refused.status_code == 422 and "choose one of SMS, E-mail" in refused.get_data(as_text=True)
    sent = client.post(f"/tickets/{int(ticket['_id'])}/reply", headers=headers,
                       data={"text": "Sure", "action_id": "reply-dm", "option:reply-dm": "sms",
                             "option:reply-comment": "ignored"})
    assert sent.status_code == 200, sent.get_data(as_text=True)
    run_jobs()
    [event] = [e["event"] for e in SANDBOX.events]
    assert (event["actionId"], event["payload"]) == ("reply-dm", {"text": "Sure", "followupId": event["uuid"],
                                                                 "option": "sms"})


# -- callbacks: success and reset -------------------------------------------------------------------

def test_the_success_callback_marks_the_reply_delivered(client, token_for, custom, ticket):
    followup_id = replied(client, token_for, ticket)
    run_jobs()
    rid = state(followup_id)[3]
    body = {"interaction": {"networkItemId": "reply-000001", "type": "COMMENT",
                            "url": "https://network.example/r/1", "createdTime": "2024-05-01T10:05:00Z"}}
    response = success(custom, ticket, rid, body)
    assert response.status_code == 201, response.text
    [followup] = response.json()["followups"]
    assert followup["id"] == rid and followup["networkId"] == "reply-000001" and followup["status"] == "delivered"
    assert followup["actionId"] == "reply-comment"
    assert state(followup_id)[:2] == (FollowupStatus.DELIVERED, ActionState.SENT)
    with db.session_scope() as s:
        [echo] = s.scalars(select(Message).filter_by(direction=Direction.OUT)).all()
        assert echo.external_id == "reply-000001" and echo.ticket_id == int(ticket["_id"])
        assert echo.data["replyId"] == rid and echo.text == "Добрый день! Уже отправили."

    assert success(custom, ticket, rid, body).status_code == 201          # a repeated callback is harmless
    other = success(custom, ticket, rid, {"interaction": {"networkItemId": "reply-000002"}})
    assert other.status_code == 409 and other.json()["code"] == "ConflictError"
    with db.session_scope() as s:
        assert s.scalar(select(func.count()).select_from(Message).filter_by(direction=Direction.OUT)) == 1


def test_a_callback_while_the_worker_is_mid_call_answers_at_once_and_is_kept(client, token_for, custom, ticket):
    """No request waits for a worker: the integration's word is written and the worker keeps it."""
    followup_id = replied(client, token_for, ticket)
    with db.session_scope() as s:
        action = s.scalars(select(OutboundAction)).one()
        action.state, rid = ActionState.SENDING, action.idempotency_key    # a worker has claimed it
    started = time.monotonic()
    response = success(custom, ticket, rid, {"interaction": {"networkItemId": "reply-000001"}})
    assert response.status_code == 201 and time.monotonic() - started < 1.0
    assert state(followup_id)[:2] == (FollowupStatus.DELIVERED, ActionState.SENT)


def test_the_integration_confirms_on_its_own_end_to_end(client, token_for, custom, ticket):
    SANDBOX.auto_confirm = True
    followup_id = replied(client, token_for, ticket)
    run_jobs()
    SANDBOX.drain()
    [callback] = SANDBOX.callbacks
    assert callback["kind"] == "success" and callback["status"] == 201, callback
    assert state(followup_id)[:2] == (FollowupStatus.DELIVERED, ActionState.SENT)


def test_reset_marks_the_reply_failed_with_the_integrations_reason(client, token_for, custom, ticket):
    SANDBOX.reset_next("Instagram says: user has blocked the account")
    followup_id = replied(client, token_for, ticket)
    run_jobs()
    SANDBOX.drain()
    [callback] = SANDBOX.callbacks
    assert callback["kind"] == "reset" and callback["status"] == 201, callback
    assert callback["path"].endswith("/reset/reply-comment")
    status, action_state, error, rid = state(followup_id)
    assert (status, action_state) == (FollowupStatus.FAILED, ActionState.FAILED)
    assert error == "Instagram says: user has blocked the account"
    shown = client.get(f"/api/v1/tickets/{int(ticket['_id'])}", headers=auth(token_for("agent"))).get_json()
    assert shown["followups"][0]["status"] == "failed" and "action_reset" in [h["action"] for h in shown["history"]]
    late = success(custom, ticket, rid, {"interaction": {"networkItemId": "reply-000009"}})
    assert late.status_code == 409


def test_a_button_reset_without_followup_fails_the_latest_such_action(client, token_for, custom, ticket):
    SANDBOX.reset_next("Refunds are closed today")
    response = client.post(f"/api/v1/tickets/{int(ticket['_id'])}/actions/custom_action",
                           json={"action_id": "refund"}, headers=auth(token_for("agent")))
    run_jobs()
    SANDBOX.drain()
    [callback] = SANDBOX.callbacks
    assert callback["path"].endswith("/reset/refund") and "followupId" not in callback["body"]
    with db.session_scope() as s:
        action = s.get(OutboundAction, response.get_json()["id"])
        assert (action.state, action.error) == (ActionState.FAILED, "Refunds are closed today")


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
    followup_id = replied(client, token_for, ticket)
    run_jobs()
    response = success(custom, ticket, rid or state(followup_id)[3], body)
    assert response.status_code == status, response.text
    assert set(response.json()) == {"code", "message"} and mentions in response.json()["message"]
    assert state(followup_id)[0] == FollowupStatus.SENT


def test_a_network_item_id_taken_by_a_ticket_is_409(client, token_for, custom, ticket):
    followup_id = replied(client, token_for, ticket)
    run_jobs()
    response = success(custom, ticket, state(followup_id)[3], {"interaction": {"networkItemId": "order-4821"}})
    assert response.status_code == 409 and state(followup_id)[0] == FollowupStatus.SENT


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
