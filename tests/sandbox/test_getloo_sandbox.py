"""The Getloo sandbox must serve the documented Insta API over real HTTP and emit documented webhooks.

Everything runs on loopback servers: the sandbox app, and a tiny receiver standing in for our
webhook endpoint. Expected bodies are copied from shared/specs/getloo-insta-api.ru.txt.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx
import pytest
from flask import Flask, request
from werkzeug.serving import make_server

from sandbox import getloo, sandboxes
from sandbox.app import create_app as create_sandbox_app

TOKEN = getloo.DEMO_TOKEN
UNPAID = getloo.UNPAID_TOKEN
SANDBOX = getloo.SANDBOX
HEX40 = re.compile(r"^[0-9a-f]{40}$")
ISO_WITH_OFFSET = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$")
RUSSIAN = "Здравствуйте! Сколько стоит доставка в Казань? 🙂"


@contextmanager
def serve(app: Flask) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


class Receiver:
    """Our side of the webhook: records every POSTed JSON body."""

    def __init__(self) -> None:
        self.events: list[dict] = []
        self.raw: list[bytes] = []
        self.url = ""

    def app(self) -> Flask:
        app = Flask("receiver")

        @app.post("/hook")
        def hook():
            self.raw.append(request.get_data())
            self.events.append(request.get_json(force=True))
            return {"ok": True}

        return app


def wait_for(predicate: Callable[[], bool], timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.01)


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    with serve(create_sandbox_app()) as root:
        yield f"{root}/sandbox/getloo"


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    rec = Receiver()
    with serve(rec.app()) as root:
        rec.url = f"{root}/hook"
        yield rec


@pytest.fixture(autouse=True)
def fresh(receiver: Receiver) -> Iterator[None]:
    SANDBOX.reset()
    receiver.events.clear()
    receiver.raw.clear()
    yield
    SANDBOX.reset()


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5) as c:
        yield c


@pytest.fixture
def hooked(base: str, client: httpx.Client, receiver: Receiver) -> str:
    """Demo account with our receiver registered through the documented setWebHook."""
    assert client.post(f"{base}/{TOKEN}/setWebHook", json={"url": receiver.url}).status_code == 200
    return base


def send(client: httpx.Client, base: str, **params) -> httpx.Response:
    return client.post(f"{base}/{TOKEN}/sendMsg", json={"username": "alina", "user_id": "47367670531", **params})


# ------------------------------------------------------------------------------------ API bodies
def test_registry_exposes_the_sandbox() -> None:
    assert sandboxes()["getloo"] is SANDBOX


@pytest.mark.parametrize("verb", ["GET", "POST"])
def test_get_info_documented_body(base: str, client: httpx.Client, verb: str) -> None:
    r = client.request(verb, f"{base}/{TOKEN}/getInfo")
    assert r.status_code == 200
    assert r.json() == {
        "result": {"success": True},
        "channel": {"id": "235", "user_id": "17841400000000001", "username": "brand_shop", "status": True},
        "error": None,
    }
    assert SANDBOX.requests[-1]["method"] == "getInfo" and SANDBOX.requests[-1]["http_method"] == verb


def test_get_url_documented_body(base: str, client: httpx.Client) -> None:
    r = client.get(f"{base}/{TOKEN}/getUrl")
    assert r.status_code == 200
    assert r.json() == {
        "result": {"success": True},
        "channel": {"id": "235", "user_id": "17841400000000001", "username": "brand_shop",
                    "url": "https://ig.me/m/brand_shop"},
        "error": None,
    }


def test_set_and_get_webhook(base: str, client: httpx.Client) -> None:
    assert client.get(f"{base}/{TOKEN}/getWebHook").json()["channel"] == {"id": "235", "webhook": None}
    r = client.post(f"{base}/{TOKEN}/setWebHook", json={"url": "https://inbox.example/hooks/getloo/1"})
    assert r.status_code == 200
    assert r.json() == {"result": {"success": True},
                        "channel": {"id": "235", "webhook": "https://inbox.example/hooks/getloo/1"}, "error": None}
    # A form body is accepted too, and getWebHook reports the current hook.
    client.post(f"{base}/{TOKEN}/setWebHook", data={"url": "http://inbox.example/h2"})
    assert client.get(f"{base}/{TOKEN}/getWebHook").json()["channel"]["webhook"] == "http://inbox.example/h2"


@pytest.mark.parametrize("url", [None, "", "ftp://inbox.example/h", "inbox.example/h", "https://"])
def test_set_webhook_rejects_bad_url(base: str, client: httpx.Client, url: str | None) -> None:
    r = client.post(f"{base}/{TOKEN}/setWebHook", json={} if url is None else {"url": url})
    assert r.status_code == 400
    assert r.json()["result"] == {"success": False} and "url" in r.json()["error"]
    assert SANDBOX.accounts[TOKEN].webhook is None


@pytest.mark.parametrize("verb,method", [("GET", "sendMsg"), ("GET", "setWebHook"), ("POST", "getUrl"),
                                         ("POST", "getWebHook"), ("DELETE", "getInfo")])
def test_wrong_http_verb_is_400(base: str, client: httpx.Client, verb: str, method: str) -> None:
    r = client.request(verb, f"{base}/{TOKEN}/{method}")
    assert r.status_code == 400 and r.json()["result"]["success"] is False and r.json()["error"]


def test_unknown_method_is_400(base: str, client: httpx.Client) -> None:
    r = client.get(f"{base}/{TOKEN}/getinfo")
    assert r.status_code == 400 and "unknown method" in r.json()["error"]


@pytest.mark.parametrize("verb,method", [("GET", "getInfo"), ("POST", "sendMsg"), ("GET", "getUrl"),
                                         ("GET", "getWebHook"), ("POST", "setWebHook")])
def test_bad_token_is_401(base: str, client: httpx.Client, verb: str, method: str) -> None:
    r = client.request(verb, f"{base}/NOPE0-AKFH5-H390S-HDRJS-Y5U43/{method}", json={"url": "https://x.example"})
    assert r.status_code == 401
    assert r.json() == {"result": {"success": False}, "error": "invalid token"}


def test_unpaid_or_unauthorized_is_402(base: str, client: httpx.Client) -> None:
    r = client.get(f"{base}/{UNPAID}/getInfo")
    assert r.status_code == 402
    assert r.json()["result"] == {"success": False} and "not paid" in r.json()["error"]
    SANDBOX.add_account("LOGGED-OUT", username="gone", user_id="1", authorized=False)
    r = client.post(f"{base}/LOGGED-OUT/sendMsg", json={"username": "a", "user_id": "1", "caption": "hi"})
    assert r.status_code == 402 and "not authorized" in r.json()["error"]
    assert SANDBOX.sent == []


# ------------------------------------------------------------------------------------ sendMsg
def test_send_msg_success(base: str, client: httpx.Client) -> None:
    SANDBOX.auto_delivery = False
    r = send(client, base, caption=RUSSIAN, file="https://files.example/пример.jpg", options=["Да", "Нет"])
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"result", "error"} and body["error"] is None
    assert body["result"]["success"] is True and HEX40.match(body["result"]["queue_id"])
    assert SANDBOX.sent == [{"token": TOKEN, "queue_id": body["result"]["queue_id"], "username": "alina",
                             "user_id": "47367670531", "caption": RUSSIAN,
                             "file": "https://files.example/пример.jpg", "options": ["Да", "Нет"]}]


def test_send_msg_accepts_form_body_with_php_style_options(base: str, client: httpx.Client) -> None:
    SANDBOX.auto_delivery = False
    r = client.post(f"{base}/{TOKEN}/sendMsg", data={"username": "alina", "user_id": "1", "caption": "текст",
                                                     "options[]": ["A", "B"]})
    assert r.status_code == 200, r.text
    assert SANDBOX.sent[0]["caption"] == "текст" and SANDBOX.sent[0]["options"] == ["A", "B"]


def test_send_msg_limits_are_inclusive(base: str, client: httpx.Client) -> None:
    SANDBOX.auto_delivery = False
    r = send(client, base, caption="я" * 1000, options=[f"{i:02d}" + "x" * 18 for i in range(13)])
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("params,fragment", [
    ({"caption": "я" * 1001}, "caption"),
    ({"caption": "hi", "options": [str(i) for i in range(14)]}, "options"),
    ({"caption": "hi", "options": ["ok", "x" * 21]}, "options[1]"),
    ({"caption": "hi", "options": ["ok", 5]}, "options[1]"),
    ({}, "caption"),
    ({"caption": ""}, "caption"),
    ({"file": "not a url"}, "file"),
    ({"caption": "hi", "username": ""}, "username"),
    ({"caption": "hi", "username": "@alina"}, "@"),
    ({"caption": "hi", "user_id": None}, "user_id"),
])
def test_send_msg_validation(base: str, client: httpx.Client, params: dict, fragment: str) -> None:
    r = send(client, base, **params)
    assert r.status_code == 400
    assert r.json()["result"] == {"success": False}
    assert fragment in r.json()["error"]
    assert SANDBOX.sent == []


def test_reply_to_comment_must_be_text(hooked: str, client: httpx.Client) -> None:
    SANDBOX.auto_delivery = False
    SANDBOX.emit_comment(TOKEN, user_id="111", comment_id="18000000001", username="alina",
                         profile_name="Алина", text="Цена?")
    r = send(client, hooked, user_id="18000000001", caption="В директ!", file="https://files.example/a.jpg")
    assert r.status_code == 400 and "comment" in r.json()["error"]
    assert send(client, hooked, user_id="18000000001", caption="Ответили в директ").status_code == 200


# ------------------------------------------------------------------------------------ fault injection
def test_fail_next_then_success(base: str, client: httpx.Client) -> None:
    SANDBOX.auto_delivery = False
    SANDBOX.fail_next("sendMsg", 503, times=2, error="temporarily unavailable")
    for _ in range(2):
        r = send(client, base, caption="hi")
        assert r.status_code == 503
        assert r.json() == {"result": {"success": False}, "error": "temporarily unavailable"}
    assert SANDBOX.sent == []
    r = send(client, base, caption="hi")
    assert r.status_code == 200 and len(SANDBOX.sent) == 1
    assert [q["status"] for q in SANDBOX.requests] == [503, 503, 200]
    # Faults are per method: other methods were never affected.
    assert client.get(f"{base}/{TOKEN}/getInfo").status_code == 200


def test_delay_next_accepts_before_answering(base: str, client: httpx.Client) -> None:
    SANDBOX.auto_delivery = False
    SANDBOX.delay_next("sendMsg", 1.0)
    with pytest.raises(httpx.ReadTimeout):
        client.post(f"{base}/{TOKEN}/sendMsg", json={"username": "a", "user_id": "1", "caption": "hi"},
                    timeout=0.3)
    assert len(SANDBOX.sent) == 1  # the provider did the work even though the client gave up
    started = time.monotonic()
    assert send(client, base, caption="again").status_code == 200
    assert time.monotonic() - started < 0.5  # the delay was one-shot


# ------------------------------------------------------------------------------------ webhooks
def test_emit_message_text_reaches_receiver(hooked: str, receiver: Receiver) -> None:
    payload = SANDBOX.emit_message(TOKEN, user_id="47367670531", username="getcourseru",
                                   profile_name="Алина из Getloo", text=RUSSIAN)
    assert receiver.events == [payload]
    event = receiver.events[0]
    assert set(event) == {"event", "device"}
    assert event["event"]["name"] == "incomingMessage"
    assert ISO_WITH_OFFSET.match(event["event"]["createdAt"])
    props = event["event"]["properties"]
    assert HEX40.match(props["queueId"])
    assert props == {"queueId": props["queueId"], "type": "text", "content": {"body": RUSSIAN}}
    assert event["device"] == {"user_id": "47367670531", "username": "getcourseru", "profileName": "Алина из Getloo"}


def test_emit_message_media(hooked: str, receiver: Receiver) -> None:
    href = "https://files.getloo.ru/ig/20221207/87b1/пример.jpg"
    SANDBOX.emit_message(TOKEN, user_id="1", username="u", profile_name="P", text="Подпись", type="image", href=href)
    SANDBOX.emit_message(TOKEN, user_id="1", username="u", profile_name="P", type="video",
                         href="https://files.getloo.ru/ig/x/пример.mp4")
    image, video = (e["event"]["properties"] for e in receiver.events)
    assert image["type"] == "image"
    assert image["content"] == {"body": "Подпись", "mimeType": "image/jpeg", "filename": "пример.jpg", "href": href}
    assert video["type"] == "video"
    assert video["content"] == {"mimeType": "video/mp4", "filename": "пример.mp4",
                                "href": "https://files.getloo.ru/ig/x/пример.mp4"}
    assert image["queueId"] != video["queueId"]


def test_emit_comment_reaches_receiver(hooked: str, receiver: Receiver) -> None:
    payload = SANDBOX.emit_comment(TOKEN, user_id="47367670531", comment_id="17900000000000001",
                                   username="getcourseru", profile_name="Алина из Getloo", text="Отправленный комментарий",
                                   created_at="2022-12-07T12:29:21+03:00")
    assert receiver.events == [payload]
    assert payload["event"] == {"name": "incomingComment",
                                "properties": {"queueId": payload["event"]["properties"]["queueId"], "type": "comment",
                                               "content": {"body": "Отправленный комментарий"}},
                                "createdAt": "2022-12-07T12:29:21+03:00"}
    assert payload["device"] == {"user_id": "47367670531", "comment_id": "17900000000000001",
                                 "username": "getcourseru", "profileName": "Алина из Getloo"}


def test_emit_without_webhook_raises() -> None:
    with pytest.raises(LookupError):
        SANDBOX.emit_message(TOKEN, user_id="1", username="u", profile_name="P", text="hi")
    with pytest.raises(LookupError):
        SANDBOX.emit_comment(TOKEN, user_id="1", comment_id="2", username="u", profile_name="P", text="hi")


def test_post_raw_replays_and_unreachable_webhook_is_recorded(hooked: str, receiver: Receiver) -> None:
    payload = SANDBOX.emit_message(TOKEN, user_id="1", username="u", profile_name="P", text="hi")
    assert SANDBOX.post_raw(TOKEN, payload) == 200
    assert receiver.events == [payload, payload]
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    SANDBOX.accounts[TOKEN].webhook = f"http://127.0.0.1:{dead}/hook"
    assert SANDBOX.post_raw(TOKEN, payload) == 0
    assert len(SANDBOX.webhook_errors) == 1 and SANDBOX.webhook_errors[0]["body"] == payload


def _statuses(receiver: Receiver) -> list[tuple[str, str]]:
    return [(e["event"]["name"], e["event"]["properties"]["status"]) for e in receiver.events]


def test_deliver_posts_documented_statuses(hooked: str, client: httpx.Client, receiver: Receiver) -> None:
    SANDBOX.auto_delivery = False
    queue_id = send(client, hooked, caption="hi").json()["result"]["queue_id"]
    for status in ("pending", "delivered", "read", "fail"):
        assert SANDBOX.deliver(queue_id, status) == 200
    assert _statuses(receiver) == [("whatsappSuccess", "pending"), ("reportActionReceived", "delivered"),
                                   ("reportActionExecuted", "read"), ("errorActionFail", "fail")]
    event = receiver.events[0]
    assert event == {"event": {"name": "whatsappSuccess", "properties": {"queueId": queue_id, "status": "pending"},
                               "createdAt": event["event"]["createdAt"]},
                     "device": {"profileName": "brand_shop"}}
    assert ISO_WITH_OFFSET.match(event["event"]["createdAt"])
    with pytest.raises(LookupError):
        SANDBOX.deliver("0" * 40, "read")


def test_auto_delivery_in_order(hooked: str, client: httpx.Client, receiver: Receiver) -> None:
    SANDBOX.delivery_delays = (0.05, 0.1, 0.15)
    queue_id = send(client, hooked, caption="hi").json()["result"]["queue_id"]
    wait_for(lambda: len(receiver.events) >= 3)
    assert _statuses(receiver) == [("whatsappSuccess", "pending"), ("reportActionReceived", "delivered"),
                                   ("reportActionExecuted", "read")]
    assert {e["event"]["properties"]["queueId"] for e in receiver.events} == {queue_id}
    time.sleep(0.1)
    assert len(receiver.events) == 3


# ------------------------------------------------------------------------------------ control endpoints
def test_control_endpoints(base: str, client: httpx.Client, receiver: Receiver) -> None:
    ctl = f"{base}/_sandbox"
    msg = {"kind": "message", "user_id": "5", "username": "alina", "profile_name": "Алина", "text": RUSSIAN}
    r = client.post(f"{ctl}/incoming", json=msg)
    assert r.status_code == 409 and "webhook" in r.json()["error"]

    client.post(f"{base}/{TOKEN}/setWebHook", json={"url": receiver.url})
    r = client.post(f"{ctl}/incoming", json=msg)
    assert r.status_code == 201 and r.json()["item"]["status"] == 200
    assert receiver.events == [r.json()["item"]["payload"]]
    assert receiver.events[0]["event"]["properties"]["content"]["body"] == RUSSIAN

    r = client.post(f"{ctl}/incoming", json={**msg, "kind": "comment", "comment_id": "77"})
    assert r.status_code == 201 and receiver.events[-1]["device"]["comment_id"] == "77"
    assert client.post(f"{ctl}/incoming", json={"kind": "wall_post", "text": "x"}).status_code == 400
    r = client.post(f"{ctl}/incoming", json={"kind": "comment"})      # who and what: made up
    assert r.status_code == 201 and receiver.events[-1]["device"]["username"]

    SANDBOX.auto_delivery = False
    send(client, base, caption=RUSSIAN)
    r = client.get(f"{ctl}/{TOKEN}/sent")
    assert [m["caption"] for m in r.json()["sent"]] == [RUSSIAN]
    assert RUSSIAN.encode() in r.content  # UTF-8, not \u-escaped
    log = client.get(f"{ctl}/requests").json()["requests"]
    assert (log[-1]["method"], log[-1]["path"], log[-1]["status"]) == ("POST", "sendMsg", 200)
    state = client.get(f"{ctl}/{TOKEN}/state").json()
    assert state["webhook"] == receiver.url and state["username"] == "brand_shop" and state["paid"] is True
    assert client.get(f"{ctl}/NOPE/state").status_code == 404

    assert client.post(f"{ctl}/fail", json={"name": "getInfo", "status": 503}).status_code == 200
    assert client.get(f"{base}/{TOKEN}/getInfo").status_code == 503
    assert client.get(f"{base}/{TOKEN}/getInfo").status_code == 200
    assert client.post(f"{ctl}/fail", json={"name": "getInfo", "status": "x"}).status_code == 400
    assert client.post(f"{ctl}/reset").status_code == 200
    assert client.get(f"{ctl}/requests").json()["requests"] == []


def test_reset_restores_initial_state(base: str, client: httpx.Client) -> None:
    SANDBOX.add_account("EXTRA", username="x", user_id="9")
    SANDBOX.fail_next("getInfo", 500)
    SANDBOX.auto_delivery = False
    SANDBOX.reset()
    assert set(SANDBOX.accounts) == {TOKEN, UNPAID}
    assert SANDBOX.requests == [] and SANDBOX.sent == [] and SANDBOX.auto_delivery is True
    assert client.get(f"{base}/{TOKEN}/getInfo").status_code == 200


def test_params_from_query_string_and_bad_json(base: str, client: httpx.Client) -> None:
    r = client.post(f"{base}/{TOKEN}/setWebHook", params={"url": "https://inbox.example/q"})
    assert r.status_code == 200 and r.json()["channel"]["webhook"] == "https://inbox.example/q"
    assert SANDBOX.requests[-1]["params"] == {"url": "https://inbox.example/q"}
    headers = {"Content-Type": "application/json"}
    assert client.get(f"{base}/{TOKEN}/getInfo", headers=headers).status_code == 200  # no body: fine
    r = client.post(f"{base}/{TOKEN}/sendMsg", content=b"{not json", headers=headers)
    assert r.status_code == 400 and r.json()["result"] == {"success": False} and "JSON" in r.json()["error"]
    assert SANDBOX.sent == []
