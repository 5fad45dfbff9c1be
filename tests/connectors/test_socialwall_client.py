"""The SocialWall Pro connector against a server speaking the documented API over real HTTP."""
from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from helpers import load
from inbox.connectors.base import AuthError, ProviderError, Target
from inbox.connectors.socialwall import FIRST_SYNC, PAGE_SIZE, SocialWallConnector
from sandbox import socialwall
from sandbox.socialwall import (BASIC_API_KEY, BASIC_WALL_ID, DEMO_API_KEY, DEMO_MESSAGES, DEMO_WALL_ID,
                                         OTHER_WALL_ID, SANDBOX)
from models import TicketKind

CHANNEL = Target()      # inject is a channel action: no ticket


@pytest.fixture
def wall(_sandbox_server) -> Iterator[str]:
    """The SocialWall sandbox's root (like https://tool.socialwallpro.com), reset around each test."""
    SANDBOX.reset()
    yield f"{_sandbox_server.url}/sandbox/socialwall"
    SANDBOX.reset()


def connector(base: str, api_key: str = DEMO_API_KEY, wall_id: str | None = DEMO_WALL_ID) -> SocialWallConnector:
    return SocialWallConnector(base, {"api_key": api_key}, {"wall_id": wall_id} if wall_id is not None else {})


def requests_named(name: str) -> list[dict]:
    return [r for r in SANDBOX.requests if r["name"] == name]


# -- connect -------------------------------------------------------------------------------------

def test_connect_reads_the_last_message_and_checks_the_key_without_injecting(wall):
    [result] = connector(wall).connect()
    assert (result.account_ref, result.network, result.settings) == ("wall:9074", "socialwall", {"wall_id": "9074"})
    assert result.info["inject"] == "available"
    get, probe = SANDBOX.requests
    assert (get["method"], get["path"]) == ("GET", "/sandbox/socialwall/api/event/9074/messages/1")
    assert (probe["method"], probe["path"], probe["json"]) == ("POST", "/sandbox/socialwall/api/event/inject/9074", {})
    assert probe["status"] == 400          # "Mandatory field missing": key and wall accepted, nothing injected
    assert all(r["key_in"] == "header" and r["api_key"] == DEMO_API_KEY and "api_key" not in r["query"]
               for r in SANDBOX.requests)
    assert SANDBOX.injected == [] and len(SANDBOX.walls[DEMO_WALL_ID].accepted) == len(DEMO_MESSAGES)


@pytest.mark.parametrize("api_key, wall_id, code, message", [
    ("swp_wrong_key", DEMO_WALL_ID, "invalid_api_key", "API Key is incorrect"),
    (DEMO_API_KEY, OTHER_WALL_ID, "event_forbidden", "You can't use that event"),
    (DEMO_API_KEY, "404404", "event_not_found", "Event not found"),
])
def test_connect_refuses_a_wrong_key_or_wall_with_the_documented_message(wall, api_key, wall_id, code, message):
    with pytest.raises(AuthError) as err:
        connector(wall, api_key, wall_id).connect()
    assert (err.value.code, err.value.message) == (code, message)


def test_connect_without_wall_id_says_what_is_missing_before_calling(wall):
    with pytest.raises(ProviderError) as err:
        connector(wall, wall_id=None).connect()
    assert err.value.code == "missing_settings" and "wall_id" in err.value.message
    assert SANDBOX.requests == []


def test_a_stopped_wall_connects_for_reading_with_injection_marked_unavailable(wall):
    SANDBOX.stop()
    [result] = connector(wall).connect()
    assert result.info["inject"] == "stopped"


def test_an_account_without_get_content_cannot_connect(wall):
    with pytest.raises(AuthError) as err:
        connector(wall, BASIC_API_KEY, BASIC_WALL_ID).connect()
    assert err.value.code == "get_content_refused" and "Get Content" in err.value.message


def test_setup_registers_nothing_and_does_not_fail(wall):
    assert connector(wall).setup("http://127.0.0.1:9/webhooks/socialwall/x") is None
    assert SANDBOX.requests == []


# -- polling -------------------------------------------------------------------------------------

def test_first_sync_reads_the_last_n_accepted_messages(wall):
    result = connector(wall).fetch({})
    [call] = SANDBOX.requests
    assert call["path"] == f"/sandbox/socialwall/api/event/9074/messages/{FIRST_SYNC}"
    assert [i.text for i in result.items] == [m[3] for m in DEMO_MESSAGES]      # oldest first
    assert all(i.ticket_kind == TicketKind.WALL_POST for i in result.items)
    newest = SANDBOX.walls[DEMO_WALL_ID].accepted[-1]["stringMessageId"]
    assert result.state["last_id"] == newest
    assert result.items[-1].ticket_external_id == f"wall:{newest}"


def test_multilingual_text_authors_and_media_survive_the_round_trip(wall):
    items = {i.author.username: i for i in connector(wall).fetch({}).items}
    assert items["sara.rahimi"].text == "چه شب فوق‌العاده‌ای بود! ممنون از همه 🌙"
    assert items["ivan_petrov"].author.name == "Иван Петров"
    assert items["ivan_petrov"].ticket_data["origin_network"] == "twitter"
    assert items["olga.s"].message_kind == "video" and items["olga.s"].media_url.startswith("https://")
    assert items["adababyyyyy"].message_kind == "image"


def test_incremental_sync_asks_after_the_newest_seen_and_drops_it_from_the_answer(wall):
    c = connector(wall)
    first = c.fetch({})
    cursor = first.state["last_id"]
    SANDBOX.requests.clear()
    SANDBOX.add_message(text="Привет из Казани! 👋", network="twitter", screen_name="kazan_fan", name="Казань")
    SANDBOX.add_message(text="What a night 🎆", screen_name="nightowl")
    second = c.fetch({"last_id": cursor})       # the cursor alone, without the remembered ids
    [call] = SANDBOX.requests
    assert call["path"] == f"/sandbox/socialwall/api/event/9074/messages/last/{cursor}/{PAGE_SIZE}"
    assert call["status"] == 200
    assert [i.text for i in second.items] == ["Привет из Казани! 👋", "What a night 🎆"]
    assert f"wall:{cursor}" not in {i.message_external_id for i in second.items}   # the server sent it back
    assert second.state["last_id"] == SANDBOX.walls[DEMO_WALL_ID].accepted[-1]["stringMessageId"]


def test_nothing_new_gives_nothing_and_keeps_the_cursor(wall):
    c = connector(wall)
    first = c.fetch({})
    second = c.fetch({"last_id": first.state["last_id"]})
    assert SANDBOX.requests[-1]["status"] == 200 and SANDBOX.requests[-1]["name"] == "messages_last"
    assert second.items == [] and second.state["last_id"] == first.state["last_id"]


def test_messages_sent_again_after_the_cursor_are_not_repeated(wall):
    """A server answering with messages already received (the docs leave the check to the caller)."""
    c = connector(wall)
    first = c.fetch({})
    older = SANDBOX.walls[DEMO_WALL_ID].accepted[-2]["stringMessageId"]
    second = c.fetch({**first.state, "last_id": older})     # the answer repeats the newest message
    assert second.items == []


def test_a_burst_larger_than_a_page_is_followed_page_by_page_without_loss_or_repeat(wall):
    c = connector(wall)
    state = c.fetch({}).state
    SANDBOX.requests.clear()
    texts = [f"Сообщение №{n} 🚀" for n in range(130)]
    for text in texts:
        SANDBOX.add_message(text=text)
    result = c.fetch(state)
    assert [i.text for i in result.items] == texts
    assert len(requests_named("messages_last")) >= 3
    assert c.fetch(result.state).items == []


def test_messages_waiting_in_moderation_arrive_once_accepted(wall):
    c = connector(wall)
    state = c.fetch({}).state
    pending = SANDBOX.add_message(text="Ждёт модерации", accepted=False)
    state_after = c.fetch(state)
    assert state_after.items == []
    SANDBOX.accept(pending["stringMessageId"])
    [item] = c.fetch(state_after.state).items
    assert item.text == "Ждёт модерации"


def test_an_empty_wall_keeps_asking_for_the_last_messages(wall):
    SANDBOX.walls[DEMO_WALL_ID].accepted.clear()
    c = connector(wall)
    first = c.fetch({})
    assert first.items == [] and first.state["last_id"] is None
    SANDBOX.add_message(text="first! 🥇")
    [item] = c.fetch(first.state).items
    assert item.text == "first! 🥇" and requests_named("messages")[-1]["path"].endswith(f"/messages/{FIRST_SYNC}")


@pytest.mark.parametrize("status", [429, 500, 503])
def test_polling_rate_limits_and_server_errors_are_retryable(wall, status):
    SANDBOX.fail_next("messages", status)
    with pytest.raises(ProviderError) as err:
        connector(wall).fetch({})
    assert err.value.retryable


def test_a_wall_taken_away_while_polling_flags_the_channel(wall):
    with pytest.raises(AuthError) as err:
        connector(wall, wall_id=OTHER_WALL_ID).fetch({"last_id": "1"})
    assert err.value.message == "You can't use that event"


# -- inject --------------------------------------------------------------------------------------

def test_inject_posts_the_documented_fields_with_the_key_in_the_header(wall):
    request = load("inject_request", "socialwall")
    result = connector(wall).perform("inject", CHANNEL, {
        "text": request["text"], "avatar_name": request["avatarName"], "real_name": request["realName"],
        "media_url": request["mediaUrl"], "_delivery_id": "d-1", "_action_id": 1})
    [call] = SANDBOX.requests
    assert (call["method"], call["path"], call["key_in"], call["api_key"]) == \
        ("POST", "/sandbox/socialwall/api/event/inject/9074", "header", DEMO_API_KEY)
    assert {k: call["json"][k] for k in request} == request          # the docs' own example body
    assert call["json"]["mediaURL"] == request["mediaUrl"]           # the tables' spelling, same value
    assert not any(k.startswith("_") for k in call["json"])
    assert result.data["injected"] == [9074]
    [injected] = SANDBOX.injected
    assert injected["wall_ids"] == ["9074"]


def test_injected_message_shows_up_on_the_wall_at_the_next_poll(wall):
    c = connector(wall)
    state = c.fetch({}).state
    c.perform("inject", CHANNEL, {"text": "Спасибо всем! 🙏 ممنون"})
    [item] = c.fetch(state).items
    assert item.text == "Спасибо всем! 🙏 ممنون"
    assert item.author.username == "inbox" and item.author.name == "Web Message"   # documented default realName
    assert item.ticket_data["origin_network"] == "web"


def test_inject_without_optional_fields_sends_only_text_and_avatar_name(wall):
    connector(wall).perform("inject", CHANNEL, {"text": "hi", "media_url": "", "real_name": None})
    [call] = SANDBOX.requests
    assert call["json"] == {"text": "hi", "avatarName": "inbox"}


def test_inject_uses_the_channels_avatar_name_setting(wall):
    c = SocialWallConnector(wall, {"api_key": DEMO_API_KEY}, {"wall_id": DEMO_WALL_ID, "avatar_name": "brand_desk"})
    c.perform("inject", CHANNEL, {"text": "hi"})
    assert SANDBOX.requests[-1]["json"]["avatarName"] == "brand_desk"


@pytest.mark.parametrize("api_key, wall_id, params, prepare, message, cls", [
    (DEMO_API_KEY, DEMO_WALL_ID, {"text": ""}, None, "Mandatory field missing", ProviderError),
    (DEMO_API_KEY, DEMO_WALL_ID, {"text": "hi", "media_url": "not a url"}, None,
     "The media URL provided isn't a valid URL", ProviderError),
    ("swp_wrong_key", DEMO_WALL_ID, {"text": "hi"}, None, "API Key is incorrect", AuthError),
    ("", DEMO_WALL_ID, {"text": "hi"}, None, "API Key is missing (from header or query string)", AuthError),
    (DEMO_API_KEY, OTHER_WALL_ID, {"text": "hi"}, None, "You can't use that event", AuthError),
    (DEMO_API_KEY, "404404", {"text": "hi"}, None, "Event not found", AuthError),
    (DEMO_API_KEY, DEMO_WALL_ID, {"text": "hi"}, "stop", "You can't use that event (event is stopped)", ProviderError),
])
def test_every_documented_inject_error_reaches_the_agent_verbatim(wall, api_key, wall_id, params, prepare, message,
                                                                   cls):
    if prepare == "stop":
        SANDBOX.stop()
    with pytest.raises(cls) as err:
        connector(wall, api_key, wall_id).perform("inject", CHANNEL, params)
    assert err.value.message == message and not err.value.retryable
    assert SANDBOX.injected == []


def test_request_malformed_reaches_the_agent_verbatim(wall):
    SANDBOX.fail_next("inject", 400, message="Request malformed")
    with pytest.raises(ProviderError) as err:
        connector(wall).perform("inject", CHANNEL, {"text": "hi"})
    assert (err.value.code, err.value.message) == ("request_malformed", "Request malformed")


@pytest.mark.parametrize("status", [429, 500, 502])
def test_inject_rate_limits_and_server_errors_are_retryable(wall, status):
    SANDBOX.fail_next("inject", status)
    with pytest.raises(ProviderError) as err:
        connector(wall).perform("inject", CHANNEL, {"text": "hi"})
    assert err.value.retryable
    assert SANDBOX.injected == []


def test_an_inject_whose_answer_never_comes_is_uncertain_not_retried(wall):
    SANDBOX.delay_next("inject", 1.0)
    c = SocialWallConnector(wall, {"api_key": DEMO_API_KEY}, {"wall_id": DEMO_WALL_ID},
                            client=httpx.Client(timeout=httpx.Timeout(0.3, connect=2.0)))
    with pytest.raises(ProviderError) as err:
        c.perform("inject", CHANNEL, {"text": "hi"})
    assert err.value.uncertain and not err.value.retryable
    assert len(SANDBOX.injected) == 1       # the wall did get it: retrying would post twice


def test_unknown_actions_are_refused(wall):
    with pytest.raises(ProviderError) as err:
        connector(wall).perform("like", CHANNEL, {})
    assert err.value.code == "unsupported_action" and SANDBOX.requests == []


# -- the sandbox itself answers as documented ------------------------------------------------------

@pytest.mark.parametrize("case, kwargs", [
    ("error_request_malformed", {"content": b"{not json", "headers": {"x-api-key": DEMO_API_KEY}}),
    ("error_api_key_missing", {"json": {"text": "hi", "avatarName": "a"}}),
    ("error_api_key_incorrect", {"json": {"text": "hi", "avatarName": "a"}, "headers": {"x-api-key": "nope"}}),
    ("error_mandatory_field_missing", {"json": {"text": "hi"}, "headers": {"x-api-key": DEMO_API_KEY}}),
    ("error_invalid_media_url", {"json": {"text": "hi", "avatarName": "a", "mediaURL": "nope"},
                                 "headers": {"x-api-key": DEMO_API_KEY}}),
])
def test_sandbox_error_bodies_are_the_documented_ones(wall, case, kwargs):
    response = httpx.post(f"{wall}/api/event/inject/{DEMO_WALL_ID}", **kwargs)
    assert response.status_code >= 400 and response.json() == load(case, "socialwall")


def test_sandbox_takes_the_key_from_the_api_key_query_argument_too(wall):
    response = httpx.post(f"{wall}/api/event/inject", params={"api_key": DEMO_API_KEY},
                          json={"text": "Hello World", "avatarName": "socialwallpro"})
    assert response.json() == {"error": False, "injected": [int(DEMO_WALL_ID)]}   # every wall not stopped
    assert SANDBOX.requests[-1]["key_in"] == "query"


def test_sandbox_control_endpoint_adds_live_traffic(wall):
    response = httpx.post(f"{wall}/_sandbox/walls/{DEMO_WALL_ID}/messages",
                          json={"text": "Live 🎤", "network": "twitter", "screen_name": "live"})
    assert response.status_code == 201
    assert SANDBOX.walls[DEMO_WALL_ID].accepted[-1]["text"] == "Live 🎤"
    assert httpx.post(f"{wall}/_sandbox/walls/{DEMO_WALL_ID}/stop").json()["status"] == "stopped"
    assert socialwall.SANDBOX.walls[DEMO_WALL_ID].status == "stopped"
