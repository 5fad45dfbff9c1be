"""Each documented SocialWall Pro body (one fixture file per case) means what the docs say."""
from __future__ import annotations

from datetime import datetime

import pytest

from helpers import FIXTURES, load
from inbox.connectors.base import AuthError, ProviderError, Rejected
from inbox.connectors.socialwall import SocialWallConnector, dedupe, documented_error, message_id_of
from models import TicketKind

WALL = "9074"


def fixture(name: str):
    return load(name, "socialwall")


def test_get_content_messages_become_wall_posts_oldest_first():
    older, newer = SocialWallConnector.parse_messages(fixture("get_content"), WALL)
    assert (older.ticket_external_id, newer.ticket_external_id) == ("wall:1927838572843158768",
                                                                    "wall:1927950199376995079")
    assert newer.ticket_kind == TicketKind.WALL_POST
    assert newer.message_external_id == newer.ticket_external_id
    assert newer.text == "In love ☀☀"
    assert newer.created_at == datetime(2018, 12, 5, 22, 39, 55)      # creationDate is epoch ms, kept as UTC


def test_author_comes_from_the_avatar_with_the_origin_network():
    older, newer = SocialWallConnector.parse_messages(fixture("get_content"), WALL)
    assert (newer.author.external_id, newer.author.username, newer.author.name) == \
        ("instagram:adababyyyyy", "adababyyyyy", "Ada Baby")
    assert older.author.name == "🌺Aloha"
    assert newer.ticket_data["origin_network"] == "instagram"
    assert newer.ticket_data["grab_origin"] == "Instagram"
    assert newer.ticket_data["avatar_url"].startswith("https://scontent-frx5-1.cdninstagram.com/")
    assert newer.ticket_data["wall_id"] == WALL and newer.ticket_data["tags"] == ["Accepted", "Instagram"]


def test_media_prefers_the_walls_own_copy_made_absolute():
    _, newer = SocialWallConnector.parse_messages(fixture("get_content"), WALL)
    assert newer.media_url == "https://pic.tezaki.com/atotwp/55895/1544094750745-670881861.jpg"
    assert (newer.message_kind, newer.media_type) == ("image", "image/jpeg")
    assert newer.ticket_data["media"] == [newer.media_url]


def test_a_message_without_media_is_text_and_a_video_url_is_video():
    message = fixture("get_content")["messages"][0]
    text_only = SocialWallConnector.to_item({**message, "mediaJsons": []}, WALL)
    assert (text_only.message_kind, text_only.media_url, text_only.media_type) == ("text", None, None)
    video = {**message, "mediaJsons": [{"mediaType": 3, "relativeMediaURL": "//pic.tezaki.com/a/clip.mp4"}]}
    item = SocialWallConnector.to_item(video, WALL)
    assert (item.message_kind, item.media_type) == ("video", "video/mp4")


def test_the_answer_after_a_cursor_may_hold_the_cursor_itself_and_it_is_dropped():
    """messages/last/{messageId}/{n}: "Caller has to check if the messages returned have already been received"."""
    body = fixture("get_content_last_includes_cursor")
    cursor = "1927838572843158768"
    fresh = dedupe(body["messages"], {cursor})
    assert [message_id_of(m) for m in fresh] == ["1927950199376995079"]


def test_repeats_inside_one_answer_are_dropped():
    message = fixture("get_content")["messages"][0]
    assert len(dedupe([message, dict(message)], set())) == 1


@pytest.mark.parametrize("case, code, needs_admin", [
    ("error_mandatory_field_missing", "mandatory_field_missing", False),
    ("error_invalid_media_url", "invalid_media_url", False),
    ("error_request_malformed", "request_malformed", False),
    ("error_api_key_incorrect", "invalid_api_key", True),
    ("error_api_key_missing", "missing_api_key", True),
    ("error_event_forbidden", "event_forbidden", True),
    ("error_event_not_found", "event_not_found", True),
    ("error_event_stopped", "event_stopped", False),
])
def test_every_documented_error_keeps_its_message_verbatim(case, code, needs_admin):
    body = fixture(case)
    error = documented_error(body["message"], 400)
    assert isinstance(error, ProviderError) and error.code == code
    assert error.message == body["message"]
    assert isinstance(error, AuthError) is needs_admin


def test_an_undocumented_message_still_reaches_people_as_it_is():
    error = documented_error("Quota exceeded for today", 400)
    assert (error.code, error.message) == ("provider_error", "Quota exceeded for today")


def test_there_are_no_webhooks():
    with pytest.raises(Rejected) as err:
        SocialWallConnector.parse(fixture("get_content"))
    assert err.value.code == "no_webhooks"


def test_replies_are_refused_before_queueing():
    with pytest.raises(Rejected):
        SocialWallConnector.validate_reply(TicketKind.WALL_POST, "hello")


@pytest.mark.parametrize("kind, params, code", [
    ("inject", {}, "missing_text"),
    ("inject", {"text": "   "}, "missing_text"),
    ("inject", {"text": "hi", "media_url": "not a url"}, "invalid_media_url"),
    ("inject", {"text": "hi", "media_url": "ftp://files.example.com/a.png"}, "invalid_media_url"),
    ("inject", {"text": "hi", "avatar_name": 42}, "invalid_avatar_name"),
    ("like", {"text": "hi"}, "unsupported_action"),
])
def test_inject_requests_the_api_would_refuse_are_caught_before_queueing(kind, params, code):
    with pytest.raises(Rejected) as err:
        SocialWallConnector.validate_action(kind, None, params)
    assert err.value.code == code


def test_a_valid_inject_passes_validation():
    request = fixture("inject_request")
    params = {"text": request["text"], "avatar_name": request["avatarName"], "real_name": request["realName"],
              "media_url": request["mediaUrl"]}
    assert SocialWallConnector.validate_action("inject", None, params) is None
    assert SocialWallConnector.validate_action("inject", None, {"text": "Привет 👋", "media_url": ""}) is None


def test_the_fixture_set_covers_every_documented_case():
    names = {p.stem for p in (FIXTURES / "socialwall").glob("*.json")}
    assert {"get_content", "inject_request", "inject_success"} <= names
    assert len([n for n in names if n.startswith("error_")]) == 8
