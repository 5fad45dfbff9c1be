"""The social posts connector against a server speaking the documented API over real HTTP."""
from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from helpers import load
from inbox.connectors.base import AuthError, InboundItem, PostRecord, ProviderError, Target
from inbox.connectors.socialposts import ASSOCIATIONS, PAGE_SIZE, SocialPostsConnector
from sandbox.socialposts import DEMO_BRAND, DEMO_POSTS, DEMO_TOKEN, OTHER_BRAND, SANDBOX
from models import TicketKind

PREFIX = f"/sandbox/socialposts/brands/{DEMO_BRAND}/social-posts"


def kind(exc: ProviderError) -> str:
    """How the workers treat an error: retried, the channel flagged, or a refusal for good."""
    return "retry" if exc.retryable else "auth" if isinstance(exc, AuthError) else "refused"


@pytest.fixture
def api(_sandbox_server) -> Iterator[str]:
    """The social posts sandbox's root (the docs name no host), reset around each test."""
    SANDBOX.reset()
    yield f"{_sandbox_server.url}/sandbox/socialposts"
    SANDBOX.reset()


def connector(base: str, token: str = DEMO_TOKEN, brand: str | None = DEMO_BRAND) -> SocialPostsConnector:
    return SocialPostsConnector(base, {"token": token}, {"brand": brand} if brand is not None else {})


def failures(items) -> list[InboundItem]:
    return [i for i in items if isinstance(i, InboundItem)]


def records(items) -> dict[str, PostRecord]:
    return {r.external_id: r for r in items if isinstance(r, PostRecord)}


def failure_target(item: InboundItem) -> Target:
    return Target(kind=item.ticket_kind, external_id=item.ticket_external_id, data=dict(item.ticket_data),
                  message_external_id=item.message_external_id)


def in_days(days: float) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat(timespec="seconds")


# -- connect -------------------------------------------------------------------------------------

def test_connect_lists_one_post_with_the_bearer_token(api):
    [result] = connector(api).connect()
    assert (result.account_ref, result.network, result.settings) == \
        (f"brand:{DEMO_BRAND}", "socialposts", {"brand": DEMO_BRAND})
    [call] = SANDBOX.requests
    assert (call["method"], call["path"], call["authorization"]) == ("GET", PREFIX, f"Bearer {DEMO_TOKEN}")
    assert call["query"]["limit"] == ["1"] and call["query"]["associations"] == [ASSOCIATIONS]
    assert call["status"] == 200


@pytest.mark.parametrize("token, brand, cls, code, status", [
    ("sp_wrong", DEMO_BRAND, AuthError, "unauthorized", 401),
    (DEMO_TOKEN, OTHER_BRAND, AuthError, "forbidden", 403),
    (DEMO_TOKEN, "00000000-0000-4000-8000-000000000000", ProviderError, "not_found", 404),
    (DEMO_TOKEN, "not-a-uuid", ProviderError, "bad_request", 400),
])
def test_connect_refusals_carry_the_servers_message(api, token, brand, cls, code, status):
    with pytest.raises(cls) as err:
        connector(api, token, brand).connect()
    assert (err.value.code, err.value.status) == (code, status)
    answer = SANDBOX.requests[-1]["response"]
    assert err.value.message == answer["message"] and answer["http"] == status


def test_connect_without_brand_says_what_is_missing_before_calling(api):
    with pytest.raises(ProviderError) as err:
        connector(api, brand=None).connect()
    assert err.value.code == "missing_settings" and "brand" in err.value.message
    assert SANDBOX.requests == []


def test_setup_registers_nothing_and_does_not_fail(api):
    assert connector(api).setup("http://127.0.0.1:9/webhooks/socialposts/x") is None
    assert SANDBOX.requests == []


# -- polling -------------------------------------------------------------------------------------

def test_fetch_lists_each_status_with_the_documented_parameters(api):
    connector(api).fetch({})
    lists = [r for r in SANDBOX.requests if r["name"] == "list"]
    assert [r["query"]["status"] for r in lists] == [["executed"], ["scheduled"], ["draft"]]
    for call in lists:
        assert (call["method"], call["path"], call["authorization"]) == ("GET", PREFIX, f"Bearer {DEMO_TOKEN}")
        assert call["query"]["associations"] == ["social_post.template_instance,social_post.asset,social_post.owner"]
        assert call["query"]["start"] == ["0"] and call["query"]["limit"] == [str(PAGE_SIZE)]


def test_fetch_turns_every_post_into_context_and_failed_ones_into_tickets(api):
    result = connector(api).fetch({})
    posts = records(result.items)
    assert sorted(p.text for p in posts.values()) == sorted(p[0] for p in DEMO_POSTS)
    statuses = sorted(p.status for p in posts.values())
    assert statuses == sorted(["executed", "executed", "failed", "failed", "scheduled", "scheduled", "draft"])
    found = failures(result.items)
    assert {f.ticket_external_id for f in found} == {f"post:{pid}" for pid, p in posts.items() if p.status == "failed"}
    persian = next(f for f in found if "تخفیف" in f.text)
    assert persian.text.startswith("Post failed: (#200) The user hasn't authorized the application")
    assert persian.ticket_kind == TicketKind.POST_FAILURE and persian.author.name == DEMO_BRAND
    assert persian.media_url and persian.message_kind == "image"


def test_fetch_keeps_stats_per_medium_for_the_channel_page(api):
    result = connector(api).fetch({})
    [call] = [r for r in SANDBOX.requests if r["name"] == "stats"]
    assert (call["method"], call["path"], call["query"], call["authorization"]) == \
        ("GET", f"{PREFIX}/stats", {"status": ["any"]}, f"Bearer {DEMO_TOKEN}")
    assert result.state["stats"] == {"Email": 2, "Social": 5}      # the answer's strings as numbers, no "type"
    assert result.state["stats_error"] is None
    assert result.state["post_counts"] == {"executed": 4, "scheduled": 2, "draft": 1, "failed": 2}


def test_a_failing_stats_call_does_not_stop_the_poll(api):
    c = connector(api)
    first = c.fetch({})
    SANDBOX.fail_next("stats", 500)
    second = c.fetch(first.state)
    assert len(records(second.items)) == len(DEMO_POSTS)
    assert second.state["stats"] == first.state["stats"] and "500" in second.state["stats_error"]


def test_fetch_follows_start_and_limit_through_every_page(api):
    for n in range(PAGE_SIZE * 2 + 30):
        SANDBOX.publish(SANDBOX.add_post(caption=f"Пост №{n} ✨", due_at=time.time() - 10)["id"])
    result = connector(api).fetch({})
    executed = [r for r in SANDBOX.requests if r["name"] == "list" and r["query"]["status"] == ["executed"]]
    assert [r["query"]["start"] for r in executed] == [["0"], [str(PAGE_SIZE)], [str(PAGE_SIZE * 2)]]
    assert len(records(result.items)) == len(DEMO_POSTS) + PAGE_SIZE * 2 + 30


def test_a_new_failure_appears_at_the_next_poll(api):
    c = connector(api)
    first = c.fetch({})
    failed = SANDBOX.fail_post(caption="Вебинар в четверг 📅", failure="Instagram: The aspect ratio is not supported.")
    second = c.fetch(first.state)
    new = [f for f in failures(second.items) if f.message_external_id not in first.state["open_failures"].values()]
    [item] = new
    assert item.ticket_external_id == f"post:{failed['id']}"
    assert item.text == "Post failed: Instagram: The aspect ratio is not supported.\n\nВебинар в четверг 📅"


@pytest.mark.parametrize("status, expected", [(401, "auth"), (403, "auth"), (429, "retry"), (500, "retry"),
                                              (503, "retry")])
def test_list_errors_map_to_ours(api, status, expected):
    SANDBOX.fail_next("list", status, message=f"sandbox says {status}")
    with pytest.raises(ProviderError) as err:
        connector(api).fetch({})
    assert kind(err.value) == expected
    if status < 429:
        assert err.value.message == f"sandbox says {status}"


# -- reschedule ----------------------------------------------------------------------------------

def test_reschedule_puts_the_new_due_at_with_the_posts_current_fields(api):
    c = connector(api)
    first = c.fetch({})
    item = next(f for f in failures(first.items) if "Nowruz" in f.text)
    post_id = item.ticket_data["post_id"]
    SANDBOX.posts[post_id]["caption"] = "Happy Nowruz! نوروز مبارک 🌱 (edited)"     # edited since the poll
    when = in_days(2)
    SANDBOX.requests.clear()
    result = c.perform("reschedule", failure_target(item), {"due_at": when, "_delivery_id": "x", "_action_id": 7})
    [put] = [r for r in SANDBOX.requests if r["name"] == "update"]
    assert (put["method"], put["path"], put["authorization"]) == \
        ("PUT", f"{PREFIX}/{post_id}", f"Bearer {DEMO_TOKEN}")
    expected = datetime.fromisoformat(when).timestamp()
    assert put["json"]["due_at"] == pytest.approx(expected)
    assert put["json"]["caption"] == "Happy Nowruz! نوروز مبارک 🌱 (edited)"
    assert set(put["json"]) == {"due_at", "caption", "facebook_page", "template_instance", "asset"}
    assert put["status"] == 200
    iso = datetime.fromisoformat(when).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert result.data == {"rescheduled_to": iso, "due_at": iso} and result.external_id == post_id
    post = SANDBOX.posts[post_id]
    assert post["due_at"] == pytest.approx(expected) and post["failed_at"] is None


def test_a_rescheduled_failure_is_archived_at_the_next_poll_and_a_new_failure_reopens(api):
    c = connector(api)
    first = c.fetch({})
    item = next(f for f in failures(first.items) if "Nowruz" in f.text)
    c.perform("reschedule", failure_target(item), {"due_at": in_days(1)})
    second = c.fetch(first.state)
    [closed] = [f for f in failures(second.items) if f.closed]
    assert (closed.ticket_external_id, closed.message_external_id) == \
        (item.ticket_external_id, item.message_external_id)
    assert records(second.items)[item.ticket_data["post_id"]].status == "scheduled"
    assert [f for f in failures(c.fetch(second.state).items) if f.closed] == []     # said once
    SANDBOX.fail_post(item.ticket_data["post_id"], failure="Internal Server Error")
    third = c.fetch(second.state)
    [again] = [f for f in failures(third.items) if f.ticket_external_id == item.ticket_external_id]
    assert not again.closed and again.message_external_id != item.message_external_id


def test_a_validation_refusal_reaches_the_agent_with_the_servers_message(api):
    c = connector(api)
    item = failures(c.fetch({}).items)[0]
    with pytest.raises(ProviderError) as err:
        c.perform("reschedule", failure_target(item), {"due_at": "2001-01-01T00:00:00Z"})
    assert (err.value.code, err.value.status, err.value.message) == ("bad_request", 400, "due_at must be in the future")
    assert not err.value.retryable


def test_a_bad_due_at_in_the_worker_fails_cleanly(api):
    c = connector(api)
    item = failures(c.fetch({}).items)[0]
    with pytest.raises(ProviderError) as err:
        c.perform("reschedule", failure_target(item), {"due_at": "soon"})
    assert err.value.code == "invalid_due_at"


@pytest.mark.parametrize("status, expected", [(401, "auth"), (403, "auth"), (404, "refused"), (422, "refused"),
                                              (429, "retry"), (500, "retry")])
def test_update_errors_map_to_ours(api, status, expected):
    c = connector(api)
    item = failures(c.fetch({}).items)[0]
    SANDBOX.fail_next("update", status, message=f"update refused ({status})")
    with pytest.raises(ProviderError) as err:
        c.perform("reschedule", failure_target(item), {"due_at": in_days(1)})
    assert kind(err.value) == expected
    if status < 429:
        assert err.value.message == f"update refused ({status})"
    if status == 404:
        assert err.value.code == "not_found"


# -- delete --------------------------------------------------------------------------------------

def test_delete_removes_the_post(api):
    c = connector(api)
    item = failures(c.fetch({}).items)[0]
    post_id = item.ticket_data["post_id"]
    result = c.perform("delete", failure_target(item), {})
    [call] = [r for r in SANDBOX.requests if r["name"] == "delete"]
    assert (call["method"], call["path"], call["authorization"], call["status"]) == \
        ("DELETE", f"{PREFIX}/{post_id}", f"Bearer {DEMO_TOKEN}", 204)
    assert result.data == {"deleted": True} and post_id not in SANDBOX.posts
    with pytest.raises(ProviderError) as err:
        c.perform("delete", failure_target(item), {})
    assert (err.value.code, err.value.message) == ("not_found", f"SocialPost {post_id} not found")


@pytest.mark.parametrize("status, expected", [(403, "auth"), (429, "retry"), (502, "retry")])
def test_delete_errors_map_to_ours(api, status, expected):
    c = connector(api)
    item = failures(c.fetch({}).items)[0]
    SANDBOX.fail_next("delete", status)
    with pytest.raises(ProviderError) as err:
        c.perform("delete", failure_target(item), {})
    assert kind(err.value) == expected
    assert item.ticket_data["post_id"] in SANDBOX.posts


def test_actions_only_apply_to_failed_posts(api):
    with pytest.raises(ProviderError) as err:
        connector(api).perform("delete", Target(kind=TicketKind.COMMENT, external_id="c:1", data={}), {})
    assert err.value.code == "unsupported_action" and SANDBOX.requests == []


# -- the sandbox itself answers as documented ------------------------------------------------------

AUTH = {"Authorization": f"Bearer {DEMO_TOKEN}"}


@pytest.mark.parametrize("case, associations", [
    ("create_template_instance", "social_post.template_instance,social_post.owner"),
    ("create_asset", None),
])
def test_sandbox_creates_posts_from_the_documented_requests(api, case, associations):
    params = {"associations": associations} if associations else {}
    response = httpx.post(f"{api}/brands/{DEMO_BRAND}/social-posts", params=params, headers=AUTH,
                          json=load(f"{case}_request", "socialposts"))
    assert response.status_code == 200
    expected = load(f"{case}_response", "socialposts")
    assert response.json()["code"] == "OK"
    assert set(response.json()["data"]) == set(expected["data"])        # the documented fields, no more


def test_sandbox_update_and_stats_answer_in_the_documented_shape(api):
    post = SANDBOX.add_post(caption="x", due_at=time.time() + 3600)
    body = {**load("update_request", "socialposts"), "due_at": time.time() + 7200}
    response = httpx.put(f"{api}/brands/{DEMO_BRAND}/social-posts/{post['id']}", headers=AUTH, json=body)
    assert set(response.json()["data"]) == set(load("update_response", "socialposts")["data"])
    stats = httpx.get(f"{api}/brands/{DEMO_BRAND}/social-posts/stats", params={"status": "executed"}, headers=AUTH)
    assert stats.json() == {"type": "social_post_stats", "Email": "2", "Social": "2"}
    assert set(load("stats", "socialposts")) <= set(stats.json())


def test_sandbox_list_answer_matches_the_documented_one(api):
    response = httpx.get(f"{api}/brands/{DEMO_BRAND}/social-posts", headers=AUTH,
                         params={"status": "executed", "associations": ASSOCIATIONS})
    documented = load("list_executed", "socialposts")
    assert set(response.json()) == set(documented)
    assert set(response.json()["data"][0]) == set(documented["data"][0])
    assert set(response.json()["data"][0]["owner"]) == set(documented["data"][0]["owner"])
    assert response.json()["info"] == {"count": 4, "total": 4}


def test_sandbox_control_endpoint_makes_a_post_fail(api):
    response = httpx.post(f"{api}/_sandbox/brands/{DEMO_BRAND}/failures", json={"failure": "Token expired"})
    assert response.status_code == 201
    post = response.json()["post"]
    assert post["failure"] == "Token expired" and post["failed_at"].endswith("Z")
