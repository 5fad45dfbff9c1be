"""The JSON API of the contract: channels, tickets, the reply action, and JSON errors."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from helpers import load, post, run_jobs, written_now
from inbox import crypto, db
from sandbox.getloo import UNPAID_TOKEN
from models import Channel, Ticket



def auth(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_connecting_calls_getinfo_now_and_setwebhook_in_a_worker(client, sandbox, token_for):
    response = client.post("/api/v1/channels", headers=auth(token_for("admin")),
                           json={"provider": "getloo", "base_url": sandbox.url, "credentials": {"token": sandbox.token}})
    assert response.status_code == 201
    body = response.get_json()
    assert body["provider"] == "getloo" and body["network"] == "instagram" and body["name"] == "@brand_shop"
    assert body["webhook_url"].startswith("http") and "/webhooks/getloo/" in body["webhook_url"]
    assert "credentials" not in body and sandbox.token not in response.get_data(as_text=True)
    assert [r["method"] for r in sandbox.state.requests] == ["getInfo"]
    run_jobs()
    assert [r["method"] for r in sandbox.state.requests] == ["getInfo", "setWebHook"]
    assert sandbox.state.accounts[sandbox.token].webhook == body["webhook_url"]
    listed = client.get("/api/v1/channels", headers=auth(token_for("agent"))).get_json()["data"]
    assert [c["id"] for c in listed] == [body["id"]] and listed[0]["webhook_registered_at"]


def test_credentials_are_encrypted_at_rest(client, sandbox, token_for):
    client.post("/api/v1/channels", headers=auth(token_for("admin")),
                json={"provider": "getloo", "base_url": sandbox.url, "credentials": {"token": sandbox.token}})
    with db.session_scope() as s:
        stored = s.scalars(select(Channel.credentials_encrypted)).one()
    assert stored and sandbox.token not in stored


@pytest.mark.parametrize("token, status, code", [("WRONG", 400, "invalid_token"), (UNPAID_TOKEN, 400, "no_active_channel")])
def test_refused_credentials_get_a_clear_error_and_no_channel(client, sandbox, token_for, token, status, code):
    response = client.post("/api/v1/channels", headers=auth(token_for("admin")),
                           json={"provider": "getloo", "base_url": sandbox.url, "credentials": {"token": token}})
    assert response.status_code == status
    assert response.get_json()["error"]["code"] == code and response.get_json()["error"]["message"]
    with db.session_scope() as s:
        assert s.scalars(select(Channel)).all() == []


@pytest.mark.parametrize("body, status, code", [
    ({"provider": "nope", "credentials": {"token": "x"}}, 422, "unknown_provider"),
    ({"provider": "getloo", "credentials": {}}, 422, "missing_credentials"),
    ({"provider": "getloo", "credentials": {"token": "x"}, "base_url": "ftp://x"}, 422, "invalid_base_url"),
    ({"credentials": {"token": "x"}}, 422, "missing_field"),
])
def test_bad_connect_requests_are_422(client, token_for, body, status, code):
    response = client.post("/api/v1/channels", headers=auth(token_for("admin")), json=body)
    assert response.status_code == status and response.get_json()["error"]["code"] == code


def test_not_json_is_400(client, token_for):
    response = client.post("/api/v1/channels", headers=auth(token_for("admin")), data="x", content_type="text/plain")
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "invalid_json"


def test_unreachable_provider_is_502_not_500(client, token_for):
    response = client.post("/api/v1/channels", headers=auth(token_for("admin")),
                           json={"provider": "getloo", "base_url": "http://127.0.0.1:9", "credentials": {"token": "T"}})
    assert response.status_code == 502 and response.get_json()["error"]["code"] == "provider_unreachable"


def revoke(state, old: str, new: str) -> None:
    """The account's owner revokes its Getloo token and issues a new one (same Instagram account)."""
    with state.lock:
        account = state.accounts.pop(old)
        state.add_account(new, username=account.username, user_id=account.user_id, channel_id=account.channel_id)


def test_reconnecting_a_channel_that_needs_attention_repairs_it(client, sandbox, token_for, channel):
    """A revoked token flags the channel; connecting the account again with the new token updates
    that channel (200, same id, webhook URL and tickets), registers the webhook again and clears
    the flag; a refused token on the way changes nothing."""
    post(client, channel, load("incoming_text"))
    run_jobs()
    revoke(sandbox.state, sandbox.token, "NEW42-AKFH5-H390S-HDRJS-Y5U43")
    with db.session_scope() as s:
        ticket_id = s.scalars(select(Ticket.id)).one()
    agent, admin = auth(token_for("agent")), auth(token_for("admin"))
    client.post(f"/api/v1/tickets/{ticket_id}/actions/reply", headers=agent, json={"text": "Are you there?"})
    run_jobs()
    flagged = client.get(f"/api/v1/channels/{channel['id']}", headers=admin).get_json()
    assert flagged["status"] == "needs_attention"

    refused = client.post("/api/v1/channels", headers=admin, json={
        "provider": "getloo", "base_url": sandbox.url, "credentials": {"token": "STILL-WRONG"}})
    assert refused.status_code == 400 and refused.get_json()["error"]["code"] == "invalid_token"
    assert client.get(f"/api/v1/channels/{channel['id']}", headers=admin).get_json()["status"] == "needs_attention"

    again = client.post("/api/v1/channels", headers=admin, json={
        "provider": "getloo", "base_url": sandbox.url, "credentials": {"token": "NEW42-AKFH5-H390S-HDRJS-Y5U43"}})
    assert again.status_code == 200, again.get_data(as_text=True)
    body = again.get_json()
    assert (body["id"], body["webhook_url"], body["name"]) == (channel["id"], channel["webhook_url"], "Shop")
    assert body["status"] == "active"
    run_jobs()                                           # setWebHook again, with the new token
    assert sandbox.state.accounts["NEW42-AKFH5-H390S-HDRJS-Y5U43"].webhook == channel["webhook_url"]
    with db.session_scope() as s:
        row = s.get(Channel, channel["id"])
        assert row.last_error is None and s.query(Channel).count() == 1
        assert crypto.decrypt_json(row.credentials_encrypted) == {"token": "NEW42-AKFH5-H390S-HDRJS-Y5U43"}
    assert client.get(f"/api/v1/tickets/{ticket_id}", headers=agent).status_code == 200   # its tickets stay
    assert client.post(f"/api/v1/tickets/{ticket_id}/actions/reply", headers=agent,
                       json={"text": "Back online 👋"}).status_code == 202
    run_jobs()
    assert [(m["token"], m["caption"]) for m in sandbox.state.sent] == [("NEW42-AKFH5-H390S-HDRJS-Y5U43",
                                                                        "Back online 👋")]
    body = load("incoming_text")
    body["event"]["properties"]["queueId"] = "after-reconnect"
    assert post(client, channel, body).status_code == 200        # the old webhook URL still takes events
    run_jobs()
    assert len(client.get(f"/api/v1/tickets/{ticket_id}", headers=agent).get_json()["messages"]) == 2


def test_connecting_a_healthy_channel_again_rotates_its_credentials(client, sandbox, token_for, channel):
    """A key rotation is a legitimate reason to connect again: the channel is updated, not doubled."""
    response = client.post("/api/v1/channels", headers=auth(token_for("admin")), json={
        "provider": "getloo", "name": "Shop (rotated)", "base_url": sandbox.url,
        "credentials": {"token": sandbox.token}})
    assert response.status_code == 200
    assert (response.get_json()["id"], response.get_json()["name"]) == (channel["id"], "Shop (rotated)")
    with db.session_scope() as s:
        assert s.query(Channel).count() == 1


def test_api_needs_a_valid_token_and_the_permission(client, users, token_for):
    assert client.get("/api/v1/tickets").status_code == 401
    assert client.get("/api/v1/tickets", headers=auth("inbx_wrong")).get_json()["error"]["code"] == "invalid_token"
    response = client.post("/api/v1/channels", headers=auth(token_for("agent")), json={"provider": "getloo"})
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "insufficient_permissions"


def test_tickets_list_newest_activity_first_with_filters_and_cursor(client, channel, token_for):
    for i in range(5):
        body = load("incoming_comment" if i % 2 else "incoming_text")
        body["event"]["properties"]["queueId"] = f"q{i}"
        body["device"]["user_id"] = f"user{i}"
        body["device"]["comment_id"] = f"c{i}"
        body["event"]["createdAt"] = f"2025-01-0{i + 1}T10:00:00+00:00"
        post(client, channel, body)
    run_jobs()
    headers = auth(token_for("agent"))
    page = client.get("/api/v1/tickets?limit=2", headers=headers).get_json()
    assert [t["author"]["external_id"] for t in page["data"]] == ["user4", "user3"]
    rest = client.get(f"/api/v1/tickets?limit=2&cursor={page['next_cursor']}", headers=headers).get_json()
    assert [t["author"]["external_id"] for t in rest["data"]] == ["user2", "user1"]
    comments = client.get("/api/v1/tickets?kind=comment", headers=headers).get_json()["data"]
    assert {t["kind"] for t in comments} == {"comment"} and len(comments) == 2
    assert client.get("/api/v1/tickets?status=bogus", headers=headers).status_code == 400
    assert client.get("/api/v1/tickets?cursor=garbage", headers=headers).status_code == 400
    first = page["data"][0]
    for key in ("id", "channel_id", "provider", "network", "kind", "status", "external_id", "text", "author",
                "created_at", "updated_at", "assignee_id", "tags", "categories", "priority", "sentiment"):
        assert key in first


def test_ticket_detail_has_messages_followups_and_history(client, channel, sandbox, token_for):
    post(client, channel, load("incoming_text"))
    run_jobs()
    with db.session_scope() as s:
        ticket_id = s.scalars(select(Ticket.id)).one()
    headers = auth(token_for("agent"))
    assert client.post(f"/api/v1/tickets/{ticket_id}/actions/reply", headers=headers,
                       json={"text": "Hello!"}).status_code == 202
    run_jobs()
    detail = client.get(f"/api/v1/tickets/{ticket_id}", headers=headers).get_json()
    assert [m["text"] for m in detail["messages"]] == ["Отправленный текст"]
    [followup] = detail["followups"]
    assert (followup["type"], followup["text"], followup["status"]) == ("reply", "Hello!", "sent")
    assert [h["action"] for h in detail["history"]] == ["created", "replied"]
    assert client.get("/api/v1/tickets/999", headers=headers).status_code == 404


def test_reply_action_validates_before_queueing(client, channel, sandbox, token_for):
    post(client, channel, written_now(load("incoming_comment")))
    run_jobs()
    with db.session_scope() as s:
        ticket_id = s.scalars(select(Ticket.id)).one()
    headers = auth(token_for("agent"))
    too_long = client.post(f"/api/v1/tickets/{ticket_id}/actions/reply", headers=headers, json={"text": "a" * 1001})
    assert too_long.status_code == 422 and too_long.get_json()["error"]["code"] == "reply_too_long"
    assert client.post(f"/api/v1/tickets/{ticket_id}/actions/reply", headers=headers, json={}).status_code == 422
    assert client.post(f"/api/v1/tickets/{ticket_id}/actions/dance", headers=headers, json={}).status_code == 400
    run_jobs()
    assert sandbox.state.sent == []
    detail = client.get(f"/api/v1/tickets/{ticket_id}", headers=headers).get_json()
    assert detail["followups"] == []


def test_huge_ids_are_404_not_a_database_error(client, token_for):
    headers = auth(token_for("agent"))
    for path in ("/api/v1/tickets/99999999999999999999", "/api/v1/channels/4294967296"):
        response = client.get(path, headers=headers)
        assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"


def test_tickets_filter_by_tag_and_category(client, channel, token_for):
    from models import Category, Tag, Ticket

    for i in range(2):
        body = load("incoming_text")
        body["event"]["properties"]["queueId"] = f"q{i}"
        body["device"]["user_id"] = f"user{i}"
        post(client, channel, body)
    run_jobs()
    with db.session_scope() as s:
        first = s.scalars(select(Ticket).filter_by(external_id="dm:user0")).one()
        first.tags = [Tag(name="VIP")]
        first.categories = [Category(name="Delivery")]
    headers = auth(token_for("agent"))
    by_tag = client.get("/api/v1/tickets?tag=1", headers=headers).get_json()["data"]
    by_category = client.get("/api/v1/tickets?category=1", headers=headers).get_json()["data"]
    assert [t["external_id"] for t in by_tag] == [t["external_id"] for t in by_category] == ["dm:user0"]
    assert client.get("/api/v1/tickets?category=x", headers=headers).status_code == 400


def _one_ticket(client, channel, fixture: str) -> int:
    post(client, channel, written_now(load(fixture)))
    run_jobs()
    with db.session_scope() as s:
        return s.scalars(select(Ticket.id)).one()


def test_a_dm_reply_with_an_attachment_reaches_getloo_as_its_file(client, channel, sandbox, token_for):
    ticket_id = _one_ticket(client, channel, "incoming_text")
    headers = auth(token_for("agent"))
    photo = "https://cdn.example.com/catalogue/spring-2025.jpg"
    response = client.post(f"/api/v1/tickets/{ticket_id}/actions/reply", headers=headers,
                           json={"text": "Наш каталог 📎", "attachment_url": photo})
    assert response.status_code == 202, response.get_data(as_text=True)
    alone = client.post(f"/api/v1/tickets/{ticket_id}/actions/reply", headers=headers,
                        json={"attachment_url": "https://cdn.example.com/price.png"})
    assert alone.status_code == 202, alone.get_data(as_text=True)     # sendMsg's caption is optional
    run_jobs()
    assert [(m["caption"], m["file"]) for m in sandbox.state.sent] == [
        ("Наш каталог 📎", photo), (None, "https://cdn.example.com/price.png")]
    followups = client.get(f"/api/v1/tickets/{ticket_id}", headers=headers).get_json()["followups"]
    assert [f["status"] for f in followups] == ["sent", "sent"]


@pytest.mark.parametrize("url", ["ftp://cdn.example.com/a.jpg", "javascript:alert(1)", "not a url", "https://",
                                 "https://cdn.example.com/a b.jpg", "https://cdn.example.com/" + "a" * 2000, 42])
def test_a_bad_attachment_url_is_422_and_nothing_is_sent(client, channel, sandbox, token_for, url):
    ticket_id = _one_ticket(client, channel, "incoming_text")
    response = client.post(f"/api/v1/tickets/{ticket_id}/actions/reply", headers=auth(token_for("agent")),
                           json={"text": "see attached", "attachment_url": url})
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "invalid_attachment_url"
    run_jobs()
    assert sandbox.state.sent == []


def test_a_comment_reply_refuses_an_attachment_clearly(client, channel, sandbox, token_for):
    ticket_id = _one_ticket(client, channel, "incoming_comment")
    response = client.post(f"/api/v1/tickets/{ticket_id}/actions/reply", headers=auth(token_for("agent")),
                           json={"text": "Thanks!", "attachment_url": "https://cdn.example.com/a.jpg"})
    error = response.get_json()["error"]
    assert response.status_code == 422 and error["code"] == "attachment_not_supported"
    assert "text only" in error["message"]
    run_jobs()
    assert sandbox.state.sent == []


def test_reply_and_archive_in_one_call(client, channel, sandbox, token_for):
    ticket_id = _one_ticket(client, channel, "incoming_text")
    headers = auth(token_for("agent"))
    bad = client.post(f"/api/v1/tickets/{ticket_id}/actions/reply", headers=headers,
                      json={"text": "Done!", "archive": "yes"})
    assert bad.status_code == 422
    response = client.post(f"/api/v1/tickets/{ticket_id}/actions/reply", headers=headers,
                           json={"text": "Done!", "archive": True})
    assert response.status_code == 202
    run_jobs()
    detail = client.get(f"/api/v1/tickets/{ticket_id}", headers=headers).get_json()
    assert detail["status"] == "archived" and [f["status"] for f in detail["followups"]] == ["sent"]
    assert [m["caption"] for m in sandbox.state.sent] == ["Done!"]


def test_patching_a_channels_settings_merges_them(client, channel, token_for):
    """A key sent replaces that key, null removes it, the others stay; bad values change nothing."""
    headers, url = auth(token_for("admin")), f"/api/v1/channels/{channel['id']}"
    before = client.get(url, headers=headers).get_json()["settings"]
    first = client.patch(url, headers=headers, json={"settings": {"require_category": True, "signature": "— Shop"}})
    assert first.status_code == 200
    assert first.get_json()["settings"] == {**before, "require_category": True, "signature": "— Shop"}
    second = client.patch(url, headers=headers, json={"settings": {"signature": None, "require_category": False}})
    assert second.get_json()["settings"] == {**before, "require_category": False}

    for bad in ({"signature": "x" * 5000}, {"deep": [[[[[[[[["x"]]]]]]]]]}, "require_category"):
        refused = client.patch(url, headers=headers, json={"settings": bad, "name": "Renamed"})
        assert refused.status_code == 422 and set(refused.get_json()["error"]) == {"code", "message"}
    shown = client.get(url, headers=headers).get_json()
    assert shown["settings"] == {**before, "require_category": False} and shown["name"] == "Shop"   # nothing half-written


def test_patching_a_custom_channels_settings_keeps_its_manifest(client, token_for):
    headers = auth(token_for("admin"))
    manifest = {"inbox": {"ticketActions": [{"id": "refund", "type": "button", "label": "Refund"}]}}
    created = client.post("/api/v1/channels", headers=headers, json={
        "provider": "custom", "name": "Shop", "settings": {"webhook_url": "https://hooks.example/h", "manifest": manifest}})
    assert created.status_code == 201, created.get_data(as_text=True)
    url = f"/api/v1/channels/{created.get_json()['id']}"
    stored = created.get_json()["settings"]
    patched = client.patch(url, headers=headers, json={"settings": {"require_category": True}})
    assert patched.status_code == 200
    assert patched.get_json()["settings"] == {**stored, "require_category": True}
    refused = client.patch(url, headers=headers, json={"settings": {"webhook_url": "http://hooks.example/plain"}})
    assert refused.status_code == 422 and refused.get_json()["error"]["code"] == "invalid_webhook_url"
    assert client.get(url, headers=headers).get_json()["settings"] == {**stored, "require_category": True}
    gone = client.patch(url, headers=headers, json={"settings": {"require_category": None}})
    assert gone.get_json()["settings"] == stored
