"""Fuzzing every JSON endpoint and every provider's webhook: never a 5xx, always the documented error.

Each endpoint gets the issue's known bad inputs, then generated JSON (hypothesis; bounded,
derandomized so CI sees the same examples every run). Bodies are shaped like what the endpoint
expects often enough to get past the first check: keys are drawn from the fields our APIs and
providers use, values from every JSON type, with lone surrogates, huge integers and 1e308 among
them. The app runs with TESTING=True, so an exception a view lets through fails the test rather
than hiding in a 500. For webhooks, every body received must be stored as a raw event, and the
worker must settle every one of them (none left failing or retried).
"""
from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import select

from bad_input_world import World, api_error, build, public_error, raw_events
from helpers import run_jobs
from inbox import db
from models import RawEvent, RawEventStatus

FUZZ = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])

KEYS = ["text", "name", "base_url", "provider", "settings", "credentials", "tag_ids", "tag_names", "archive",
        "attachment_url", "action_id", "option", "template", "media_url", "avatar_name", "real_name", "due_at",
        "interaction", "networkItemId", "message", "interactor", "interactorId", "pictures", "small", "url",
        "attachments", "rating", "value", "createdTime", "updatedTime", "root", "rootId", "type", "endpoint",
        "user", "webhook", "secret", "actions", "followupId", "reason", "event", "properties", "queueId",
        "content", "body", "href", "device", "user_id", "comment_id", "status", "payload", "account_id", "id",
        "conversation_id", "date", "attachment", "socialUser", "from", "post_id", "tags"]
HUGE = [2**31, 2**63, -(2**63), 10**30, 1e308, -1e308, 0, -1]
SCALARS = (st.none() | st.booleans() | st.integers() | st.sampled_from(HUGE)
           | st.floats(allow_nan=False, allow_infinity=False)
           # Lone surrogates included: json.dumps writes them as \udXXX escapes.
           | st.text(st.characters(categories=["L", "N", "P", "S", "Zs", "Cc", "Cs"]), max_size=30)
           | st.sampled_from(["javascript:alert(1)", "https://example.com/a.jpg", "2024-05-01T10:00:00Z",
                              "9999-12-31T23:59:59-05:00", "comment_created", "message_created", "incomingMessage",
                              "x" * 10_001]))
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), inner, max_size=5),
                    max_leaves=25)
# The values that broke something before, drawn as often as everything else together.
NASTY = st.sampled_from([1e308, -1e308, 2**63, 10**30, "\ud800", "a\udfffb", "javascript:alert(1)", {"an": "object"},
                         ["a", "list"], None, True, "", "9999-12-31T23:59:59-05:00", "x" * 10_001])
OBJECTS = st.dictionaries(st.sampled_from(KEYS), NASTY | JSON, max_size=6)
BODIES = (OBJECTS.map(json.dumps) | JSON.map(json.dumps) | st.binary(max_size=60)).map(
    lambda b: b if isinstance(b, bytes) else b.encode())

# The inputs, sent to every endpoint before the generated ones.
KNOWN = [b"", b"{", b"null", b"[]", b'"text"', b"1e308", b"NaN", b'{"a": Infinity}', b"[" * 50_000 + b"]" * 50_000,
         b'{"text": "\\ud800"}', b'{"\\udfff": 1}', b'{"text": "\xff\xfe\xfd"}', b"\xef\xbb\xbf{}",
         json.dumps({"text": {"an": "object"}}).encode(), json.dumps({"text": "x" * 1_000_000}).encode(),
         json.dumps({"tag_ids": [2**63]}).encode(), json.dumps({"tag_names": ",".join(map(str, range(500)))}).encode(),
         json.dumps({"interaction": {"networkItemId": "n1", "message": "\ud800"}}).encode(),
         json.dumps({"type": "comment_created", "payload": {"id": 1, "account_id": 101, "date": 1e308}}).encode()]


@pytest.fixture
def world(client, token_for) -> World:
    return build(client, token_for)


def _send(client, method: str, path: str, body: bytes, **kwargs):
    return client.open(path, method=method, data=body, content_type="application/json", **kwargs)


def _check_api(response) -> None:
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    if response.status_code >= 400:
        assert api_error(response), response.get_data(as_text=True)[:500]


def _check_public(response) -> None:
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    if response.status_code >= 400:
        assert public_error(response), response.get_data(as_text=True)[:500]


def _api_v1(world: World) -> list[tuple[str, str, str]]:
    """(method, path, role) of every JSON-taking route of /api/v1."""
    ticket, getloo, wall = world.ticket_id, world.channel_ids["getloo"], world.channel_ids["socialwall"]
    return [("POST", "/api/v1/channels", "admin"), ("PATCH", f"/api/v1/channels/{getloo}", "admin"),
            ("PATCH", f"/api/v1/channels/{world.channel_ids['custom']}", "admin"),
            *[("POST", f"/api/v1/tickets/{ticket}/actions/{a}", "admin")
              for a in ("reply", "tag", "archive", "like", "hide", "delete", "close", "reschedule", "custom_action")],
            ("POST", f"/api/v1/channels/{wall}/actions/inject", "admin"),
            ("POST", "/api/v1/saved-replies", "admin"), ("POST", "/api/v1/users", "admin")]


def _api2(world: World) -> list[tuple[str, str]]:
    ticket = world.custom_ticket
    return [("PATCH", "/manifest"), ("POST", "/channels"), ("PATCH", "/channel"), ("POST", "/inbox/tickets"),
            ("PATCH", f"/inbox/tickets/{ticket}"), ("POST", f"/inbox/tickets/{ticket}/reset/reply"),
            ("POST", f"/inbox/tickets/{ticket}/replies/0b7c2f4e-8d1a-4c3b-9e5f-123456789abc/success")]


def test_known_bad_inputs_on_every_endpoint(client, world):
    for body in KNOWN:
        for method, path, role in _api_v1(world):
            _check_api(_send(client, method, path, body, headers=world.auth(role)))
        for method, path in _api2(world):
            _check_public(_send(client, method, f"/api2/public{path}", body,
                                query_string={"accesstoken": world.access_token}))
        for path in world.hooks.values():
            before = raw_events()
            _check_api(_send(client, "POST", path, body))
            assert raw_events() == before + 1, (path, body[:80])
    _assert_every_event_settles()


@pytest.mark.parametrize("index", range(13))
def test_generated_bodies_on_api_v1(client, world, index):
    routes = _api_v1(world)
    if index >= len(routes):
        pytest.skip("fewer routes than slots")
    method, path, role = routes[index]

    @FUZZ
    @given(body=BODIES)
    def run(body: bytes) -> None:
        _check_api(_send(client, method, path, body, headers=world.auth(role)))

    run()


@pytest.mark.parametrize("index", range(7))
def test_generated_bodies_on_api2_public(client, world, index):
    method, path = _api2(world)[index]

    @FUZZ
    @given(body=BODIES)
    def run(body: bytes) -> None:
        _check_public(_send(client, method, f"/api2/public{path}", body,
                            query_string={"accesstoken": world.access_token}))

    run()


@given(query=st.dictionaries(st.sampled_from(["status", "kind", "channel_id", "network", "assignee", "tag",
                                               "category", "q", "cursor", "limit"]),
                             st.sampled_from([str(2**63), "-1", "0", "1", "x" * 300, "open", "bm90IGEgY3Vyc29y"])
                             | st.text(max_size=20), max_size=4))
@FUZZ
def test_generated_ticket_filters(client, world, query):
    _check_api(client.get("/api/v1/tickets", query_string=query, headers=world.auth()))


# Where a documented body's fields are: each generated webhook body is a valid one with a few of
# them replaced by generated values, so the parsers' deeper checks are reached, not only the first.
FIELDS = {
    "getloo": ("incoming_image", "getloo", [("event", "name"), ("event", "createdAt"), ("event", "properties", "queueId"),
                                           ("event", "properties", "type"), ("event", "properties", "status"),
                                           ("event", "properties", "content", "body"),
                                           ("event", "properties", "content", "href"),
                                           ("event", "properties", "content", "mimeType"), ("device", "user_id"),
                                           ("device", "username"), ("device", "profileName"), ("device", "comment_id")]),
    "resont": ("comment_created", "resont", [("type",), ("payload", "id"), ("payload", "account_id"),
                                             ("payload", "text"), ("payload", "date"), ("payload", "from"),
                                             ("payload", "post_id"), ("payload", "tags"), ("payload", "socialUser"),
                                             ("payload", "socialUser", "id"), ("payload", "socialUser", "username"),
                                             ("payload", "social_user_id"), ("payload",)]),
}


def _mutated(provider: str) -> st.SearchStrategy[bytes]:
    from helpers import load

    name, folder, paths = FIELDS.get(provider, FIELDS["getloo"])
    base = load(name, folder)

    def build_body(changes: list[tuple[tuple[str, ...], object]]) -> bytes:
        body = json.loads(json.dumps(base))
        for path, value in changes:
            holder = body
            for key in path[:-1]:
                holder = holder.setdefault(key, {}) if isinstance(holder, dict) else {}
            if isinstance(holder, dict):
                holder[path[-1]] = value
        if provider == "resont" and isinstance(body.get("payload"), dict):
            body["payload"].setdefault("account_id", 102)
        return json.dumps(body).encode()

    return st.lists(st.tuples(st.sampled_from(paths), NASTY | JSON), min_size=1, max_size=3).map(build_body)


@pytest.mark.parametrize("provider", ["getloo", "resont", "socialwall", "socialposts", "custom"])
def test_generated_webhook_bodies_are_all_kept(client, world, provider):
    path = world.hooks[provider]

    @FUZZ
    @given(body=_mutated(provider))      # unshaped bodies: test_known_bad_inputs and BODIES on the APIs
    def run(body: bytes) -> None:
        before = raw_events()
        _check_api(_send(client, "POST", path, body))
        assert raw_events() == before + 1

    run()
    _assert_every_event_settles()


def _assert_every_event_settles() -> None:
    """The worker takes every stored body to an end state at once: nothing fails, nothing waits on a retry."""
    run_jobs()
    with db.session_scope() as s:
        unsettled = s.execute(select(RawEvent.id, RawEvent.status, RawEvent.error).where(
            RawEvent.status.not_in([RawEventStatus.PROCESSED, RawEventStatus.IGNORED, RawEventStatus.REJECTED]))).all()
    assert unsettled == []
