"""Each bad input of issue 7 ("Bad input never a 500, never lost"), as a client or a network sent it.

Every test here answered 500, lost a webhook body, stored something it should have refused or
rendered a script link before the fix. The app runs with TESTING=True, so an unexpected
exception fails the test instead of becoming a 500.
"""
from __future__ import annotations

import base64
import json

import pytest
from sqlalchemy import select

from bad_input_world import World, api_error, build, public_error, raw_events
from helpers import load, login, run_jobs
from inbox import db
from models import Message, OutboundAction, RawEvent, RawEventStatus, Tag, Ticket

DEEP = "[" * 100_000 + "]" * 100_000
SURROGATE = '{"text": "\\ud800 hello"}'


@pytest.fixture
def world(client, token_for) -> World:
    return build(client, token_for)


def _json(client, method, path, body, **kwargs):
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.open(path, method=method, data=data, content_type="application/json", **kwargs)


def _api2(client, world, method, path, body):
    return _json(client, method, f"/api2/public{path}", body, query_string={"accesstoken": world.access_token})


# -- JSON that cannot be read: deep nesting, lone surrogates, invalid UTF-8 ---------------------

def test_json_nested_too_deep_is_400_on_every_api(client, world):
    reply = _json(client, "POST", f"/api/v1/tickets/{world.ticket_id}/actions/reply", DEEP, headers=world.auth())
    assert reply.status_code == 400 and api_error(reply)
    nested = {"text": "hi"}
    for _ in range(40):                  # deep, though far from RecursionError: refused all the same
        nested = {"a": nested}
    assert _json(client, "PATCH", f"/api/v1/channels/{world.channel_ids['getloo']}", nested,
                 headers=world.auth()).status_code == 400
    pushed = _api2(client, world, "POST", "/inbox/tickets", DEEP)
    assert pushed.status_code == 400 and public_error(pushed)


def test_a_lone_surrogate_is_400_in_pushes_replies_and_channel_patch(client, world):
    push = _api2(client, world, "POST", "/inbox/tickets",
                 '{"interaction": {"networkItemId": "item-2", "message": "\\udc00"}}')
    assert push.status_code == 400 and public_error(push) and "surrogate" in push.get_json()["message"]
    reply = _json(client, "POST", f"/api/v1/tickets/{world.ticket_id}/actions/reply", SURROGATE,
                  headers=world.auth())
    assert reply.status_code == 400 and api_error(reply)
    patch = _json(client, "PATCH", f"/api/v1/channels/{world.channel_ids['getloo']}", '{"name": "\\ud800"}',
                  headers=world.auth())
    assert patch.status_code == 400 and api_error(patch)
    key = _json(client, "PATCH", f"/api/v1/channels/{world.channel_ids['getloo']}", '{"\\udfff": 1}',
                headers=world.auth())
    assert key.status_code == 400
    with db.session_scope() as s:
        assert s.scalars(select(Ticket).filter_by(external_id="item-2")).first() is None


def test_a_webhook_with_a_lone_surrogate_is_kept_as_rejected_and_answered_400(client, world):
    body = load("incoming_text")
    body["event"]["properties"]["content"]["body"] = "\ud800"
    before = raw_events()
    response = _json(client, "POST", world.hooks["getloo"], json.dumps(body))   # ensure_ascii: "\ud800"
    assert response.status_code == 400 and api_error(response)
    assert raw_events() == before + 1
    with db.session_scope() as s:
        event = s.scalars(select(RawEvent).order_by(RawEvent.id.desc())).first()
        assert event.status == RawEventStatus.REJECTED and "surrogate" in event.error
        assert "\\ud800" in event.body


def test_invalid_utf8_in_a_webhook_is_kept_escaped_not_mangled(client, world):
    raw = json.dumps(load("incoming_text")).replace("\\u041e", "OK").encode().replace(b"OK", b"\xff\xfe\xfd")
    before = raw_events()
    response = client.post(world.hooks["getloo"], data=raw, content_type="application/json")
    assert response.status_code == 400 and "UTF-8" in response.get_json()["error"]["message"]
    assert raw_events() == before + 1
    with db.session_scope() as s:
        event = s.scalars(select(RawEvent).order_by(RawEvent.id.desc())).first()
        assert event.status == RawEventStatus.REJECTED and "\\xff\\xfe\\xfd" in event.body
        assert "\ufffd" not in event.body


def test_invalid_utf8_is_400_on_the_apis(client, world):
    reply = _json(client, "POST", f"/api/v1/tickets/{world.ticket_id}/actions/reply", b'{"text": "\xff\xfe\xfd"}',
                  headers=world.auth())
    assert reply.status_code == 400 and api_error(reply)
    push = _api2(client, world, "POST", "/inbox/tickets", b'{"interaction": {"networkItemId": "x\xff"}}')
    assert push.status_code == 400 and public_error(push)


# -- webhook bodies whose checking raised: stored rejected, never lost ------------------------

@pytest.mark.parametrize("date", ["1e308", "-1e308", "123456789012345678901234567890", '"9999-12-31T23:59:59-05:00"'])
def test_a_resont_webhook_with_an_impossible_date_is_kept_rejected(client, world, date):
    body = json.dumps(load("comment_created", "resont")).replace('"2024-11-06 09:15:42"', date)
    body = body.replace('"account_id": 101', '"account_id": 102')
    before = raw_events()
    response = _json(client, "POST", world.hooks["resont"], body)
    assert response.status_code == 400 and api_error(response)
    assert raw_events() == before + 1
    with db.session_scope() as s:
        event = s.scalars(select(RawEvent).order_by(RawEvent.id.desc())).first()
        assert event.status == RawEventStatus.REJECTED and event.error and event.body == body


def test_a_stored_body_the_parser_chokes_on_is_rejected_once_not_retried(client, world):
    """A body stored before the intake checked it this well (or by an older version): the worker
    rejects it at once with the reason instead of failing the drain five times."""
    body = json.dumps(load("comment_created", "resont")).replace('"2024-11-06 09:15:42"', "1e308")
    body = body.replace('"account_id": 101', '"account_id": 102')
    with db.session_scope() as s:
        s.add(RawEvent(channel_id=world.channel_ids["resont"], provider="resont", body=body, content_type="application/json"))
        s.add(RawEvent(channel_id=world.channel_ids["getloo"], provider="getloo", content_type="application/json",
                       body='{"event": {"name": "incomingMessage", "properties": {"queueId": "q\\ud800"}}}'))
    import workers

    for channel_id in (world.channel_ids["resont"], world.channel_ids["getloo"]):
        workers.request_drain(channel_id)
    run_jobs()
    with db.session_scope() as s:
        events = s.scalars(select(RawEvent).order_by(RawEvent.id.desc()).limit(2)).all()
        assert [(e.status, e.attempts) for e in events] == [(RawEventStatus.REJECTED, 1)] * 2
        assert all(e.error for e in events)


# -- integers beyond our keys ------------------------------------------------------------------

@pytest.mark.parametrize("name", ["channel_id", "tag", "assignee", "category"])
def test_a_huge_filter_value_is_400(client, world, name):
    response = client.get("/api/v1/tickets", query_string={name: str(2**63)}, headers=world.auth())
    assert response.status_code == 400 and response.get_json()["error"]["code"] == f"invalid_{name}"


def test_a_cursor_with_a_huge_id_is_400(client, world):
    cursor = base64.urlsafe_b64encode(f"2024-01-01T00:00:00|{2**63}".encode()).decode()
    response = client.get("/api/v1/tickets", query_string={"cursor": cursor}, headers=world.auth())
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "invalid_cursor"


@pytest.mark.parametrize("ids", [[2**63], [0], [True]])
def test_tag_ids_out_of_range_are_422(client, world, ids):
    response = client.post(f"/api/v1/tickets/{world.ticket_id}/actions/tag", json={"tag_ids": ids},
                           headers=world.auth())
    assert response.status_code == 422 and api_error(response)


# -- types, lengths and counts -----------------------------------------------------------------

def test_one_call_creates_at_most_twenty_tags(client, world):
    names = ",".join(f"tag{i}" for i in range(21))
    response = client.post(f"/api/v1/tickets/{world.ticket_id}/actions/tag", json={"tag_names": names},
                           headers=world.auth("agent"))
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "too_many"
    with db.session_scope() as s:
        assert s.scalars(select(Tag)).all() == []
    ok = client.post(f"/api/v1/tickets/{world.ticket_id}/actions/tag", json={"tag_names": "a,b"},
                     headers=world.auth("agent"))
    assert ok.status_code == 200


def test_the_tag_form_shows_the_limit_inline(client, world):
    login(client, "agent")
    page = client.get(f"/tickets/{world.ticket_id}")
    token = page.get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]
    response = client.post(f"/tickets/{world.ticket_id}/actions/tag", headers={"HX-Request": "true"},
                           data={"csrf_token": token, "tag_names": ",".join(f"t{i}" for i in range(25))})
    assert response.status_code == 422 and "at most 20 tags" in response.get_data(as_text=True)


def test_an_object_is_not_posted_to_a_wall_as_text(client, world):
    response = client.post(f"/api/v1/channels/{world.channel_ids['socialwall']}/actions/inject",
                           json={"text": {"an": "object"}}, headers=world.auth())
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "invalid_value"
    with db.session_scope() as s:
        assert s.scalars(select(OutboundAction)).all() == []


@pytest.mark.parametrize("body", [{"text": "x" * 10_001}, {"text": ["a list"]}, {"text": "hi", "archive": "yes"},
                                  {"text": "hi", "option": {"a": 1}}])
def test_a_reply_is_type_and_length_checked(client, world, body):
    response = client.post(f"/api/v1/tickets/{world.ticket_id}/actions/reply", json=body, headers=world.auth())
    assert response.status_code == 422 and api_error(response)


def test_a_one_megabyte_message_is_refused(client, world):
    reply = client.post(f"/api/v1/tickets/{world.ticket_id}/actions/reply", json={"text": "x" * 1_000_000},
                        headers=world.auth())
    assert reply.status_code == 422 and reply.get_json()["error"]["code"] == "too_long"
    push = _api2(client, world, "POST", "/inbox/tickets",
                 {"interaction": {"networkItemId": "item-3", "message": "x" * 1_000_000}})
    assert push.status_code == 400 and public_error(push) and "at most" in push.get_json()["message"]


def test_the_reply_composer_shows_the_length_limit_inline(client, world):
    login(client, "agent")
    page = client.get(f"/tickets/{world.ticket_id}").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    response = client.post(f"/tickets/{world.ticket_id}/reply", headers={"HX-Request": "true"},
                           data={"csrf_token": token, "text": "x" * 10_001})
    assert response.status_code == 422 and "at most 10000 characters" in response.get_data(as_text=True)


def test_channel_fields_are_type_and_length_checked(client, world):
    for body in ({"provider": "getloo", "name": "n" * 201}, {"provider": "getloo", "base_url": "h" * 2001},
                 {"provider": "getloo", "credentials": "token"}, {"provider": "getloo", "credentials": {"token": "t" * 2001}}):
        response = client.post("/api/v1/channels", json=body, headers=world.auth())
        assert response.status_code == 422 and api_error(response), body
    patch = client.patch(f"/api/v1/channels/{world.channel_ids['getloo']}", json={"name": {"a": 1}},
                         headers=world.auth())
    assert patch.status_code == 422


def test_api2_channel_edit_and_push_take_typed_fields(client, world):
    for body in ({"name": 5}, {"name": "n" * 201}, {"endpoint": {"user": {"name": ["x"]}}}):
        response = _api2(client, world, "PATCH", "/channel", body)
        assert response.status_code == 400 and public_error(response), body
    push = _api2(client, world, "POST", "/inbox/tickets",
                 {"interaction": {"networkItemId": "item-4", "interactor": {"interactorId": "u" * 300}}})
    assert push.status_code == 400 and public_error(push)


# -- links from networks -----------------------------------------------------------------------

SCRIPTS = ["javascript:alert(1)", "JaVaScRiPt:alert(1)", "data:text/html,<script>alert(1)</script>",
           "vbscript:msgbox(1)", " javascript:alert(1)"]


@pytest.mark.parametrize("url", SCRIPTS)
def test_a_script_link_from_getloo_is_dropped_and_never_rendered(client, world, url):
    body = load("incoming_image")
    body["event"]["properties"]["content"]["href"] = url
    assert _json(client, "POST", world.hooks["getloo"], json.dumps(body)).status_code == 200
    run_jobs()
    with db.session_scope() as s:
        message = s.scalars(select(Message).order_by(Message.id.desc())).first()
        assert message.text == "Подпись к картинке" and message.media_url is None
        ticket_id = message.ticket_id
    login(client, "agent")
    page = client.get(f"/tickets/{ticket_id}").get_data(as_text=True).lower()
    assert "javascript:" not in page and "vbscript:" not in page and "data:text" not in page


def test_a_script_link_from_resont_is_dropped(client, world):
    from inbox.connectors.resont.parsing import message_item, post_record, ticket_items

    item = message_item({"id": 1, "conversation_id": 2, "type": "media", "attachment": "javascript:alert(1)"})
    assert item.media_url is None and item.media_type is None
    record = post_record({"id": 5, "permalink": "javascript:alert(1)", "image": "data:image/png;base64,AA"}, None)
    assert record.url is None and "image" not in record.data
    [meta] = ticket_items({"id": 3}, [{"id": 4, "attachment": "vbscript:x"}])
    assert meta.media_url is None


def test_script_links_from_polled_providers_are_dropped():
    from inbox.connectors.socialposts import SocialPostsConnector
    from inbox.connectors.socialwall import SocialWallConnector

    item = SocialWallConnector.to_item({"stringMessageId": "1", "text": "hi",
                                        "mediaJsons": [{"originalURL": "javascript:alert(1)"}],
                                        "avatarMediaJson": {"relativeMediaURL": "data:image/png,AA"}}, "w")
    assert item.media_url is None and item.ticket_data["avatar_url"] is None and item.ticket_data["media"] == []
    post = {"id": 7, "post_link": "javascript:alert(1)", "asset": {"file": {"url": "javascript:x"}},
            "failed_at": "2024-01-01T00:00:00Z", "due_at": 1e308}
    record = SocialPostsConnector.to_record(post, "failed")
    assert record.url is None and record.data["media_url"] is None and record.due_at is None
    failure = SocialPostsConnector.to_failure(post, "brand")
    assert failure.media_url is None and failure.ticket_data["post_link"] is None


def test_a_script_link_already_stored_is_not_rendered(client, world):
    """Rows stored before the connectors dropped such links: the template filter keeps them out."""
    with db.session_scope() as s:
        message = s.scalars(select(Message).where(Message.ticket_id == world.ticket_id)).first()
        message.media_url, message.kind = "javascript:alert(document.cookie)", "image"
    login(client, "agent")
    page = client.get(f"/tickets/{world.ticket_id}").get_data(as_text=True)
    assert "javascript:" not in page


def test_the_http_url_filter_keeps_only_http_links():
    from inbox.links import http_url_filter

    assert http_url_filter("https://cdn.example/a.jpg") == "https://cdn.example/a.jpg"
    assert http_url_filter("http://cdn.example/a.jpg") == "http://cdn.example/a.jpg"
    for bad in [*SCRIPTS, "ftp://x/y", "//cdn.example/a.jpg", "https://", None, 42, "https://a\nb"]:
        assert http_url_filter(bad) == ""


def test_the_channels_page_shows_the_limits_inline(client, world):
    login(client, "admin")
    token = client.get("/settings/channels").get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]
    response = client.post("/settings/channels", data={"csrf_token": token, "provider": "getloo", "token": "t",
                                              "name": "n" * 201})
    assert response.status_code == 422 and "name must be at most 200 characters" in response.get_data(as_text=True)


def test_a_form_reply_with_bytes_that_are_not_utf8_is_refused_not_mangled(client, world):
    """A form posting ``text=%FF%FE%FD``: that reply went out to a customer as "%FF%FE%FD"."""
    login(client, "agent")
    page = client.get(f"/tickets/{world.ticket_id}").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    response = client.post(f"/tickets/{world.ticket_id}/reply", headers={"HX-Request": "true"},
                           data=f"csrf_token={token}&text=Hello%FF%FE%FD",
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400 and "not valid UTF-8" in response.get_data(as_text=True)
    with db.session_scope() as s:
        assert s.scalars(select(OutboundAction)).all() == []
