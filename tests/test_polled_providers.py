"""Polled providers through the whole framework: backfill on connect, reconciliation by the
scheduled poll, actions out to the sandbox, documented errors shown as such."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

import workers
from helpers import count, run_jobs
from inbox import db
from sandbox import socialposts as sp_sandbox
from sandbox import socialwall as sw_sandbox
from models import ActionState, Channel, OutboundAction, Post, Ticket, TicketKind
from workers.poll import poll_all


@pytest.fixture
def wall(client, _sandbox_server, token_for):
    sw_sandbox.SANDBOX.reset()
    response = client.post("/api/v1/channels", headers={"Authorization": f"Bearer {token_for('admin')}"}, json={
        "provider": "socialwall", "base_url": f"{_sandbox_server.url}/sandbox/socialwall",
        "credentials": {"api_key": sw_sandbox.DEMO_API_KEY}, "settings": {"wall_id": sw_sandbox.DEMO_WALL_ID}})
    assert response.status_code == 201, response.get_data(as_text=True)
    run_jobs()                                   # setup, then the backfill poll it queues
    yield response.get_json()
    sw_sandbox.SANDBOX.reset()


@pytest.fixture
def brand(client, _sandbox_server, token_for):
    sp_sandbox.SANDBOX.reset()
    response = client.post("/api/v1/channels", headers={"Authorization": f"Bearer {token_for('admin')}"}, json={
        "provider": "socialposts", "base_url": f"{_sandbox_server.url}/sandbox/socialposts",
        "credentials": {"token": sp_sandbox.DEMO_TOKEN}, "settings": {"brand": sp_sandbox.DEMO_BRAND}})
    assert response.status_code == 201, response.get_data(as_text=True)
    run_jobs()
    yield response.get_json()
    sp_sandbox.SANDBOX.reset()


def wall_posts() -> list[str]:
    with db.session_scope() as s:
        return list(s.scalars(select(Ticket.text).where(Ticket.kind == TicketKind.WALL_POST)))


def test_connect_backfills_the_wall_at_once(wall):
    assert len(wall_posts()) > 0
    with db.session_scope() as s:
        channel = s.get(Channel, wall["id"])
        assert channel.last_sync_at is not None and channel.sync_state.get("last_id")


def test_scheduled_poll_finds_new_messages_once(wall):
    before = len(wall_posts())
    sw_sandbox.SANDBOX.add_message(text="Новое сообщение на стене 🎉", screen_name="olga")
    assert poll_all() == 1
    run_jobs()
    assert len(wall_posts()) == before + 1 and "Новое сообщение на стене 🎉" in wall_posts()
    workers.enqueue_poll(wall["id"])
    run_jobs()
    assert len(wall_posts()) == before + 1          # polling again stores nothing twice


def test_a_poll_already_queued_is_not_doubled(wall):
    assert workers.enqueue_poll(wall["id"]) is not None
    assert workers.enqueue_poll(wall["id"]) is None
    run_jobs()


def test_inject_reaches_the_wall(client, wall, token_for):
    response = client.post(f"/api/v1/channels/{wall['id']}/actions/inject", headers={
        "Authorization": f"Bearer {token_for('agent')}"}, json={"text": "Добро пожаловать! Welcome!", "real_name": "Brand"})
    assert response.status_code == 202
    run_jobs()
    [injected] = sw_sandbox.SANDBOX.injected
    assert injected["body"]["text"] == "Добро пожаловать! Welcome!"
    with db.session_scope() as s:
        assert s.get(OutboundAction, response.get_json()["id"]).state == ActionState.SENT


def test_a_stopped_wall_shows_the_documented_message(client, wall, token_for):
    sw_sandbox.SANDBOX.stop()
    response = client.post(f"/api/v1/channels/{wall['id']}/actions/inject", headers={
        "Authorization": f"Bearer {token_for('agent')}"}, json={"text": "hello"})
    run_jobs()
    action = client.get(f"/api/v1/actions/{response.get_json()['id']}",
                        headers={"Authorization": f"Bearer {token_for('agent')}"}).get_json()
    assert action["state"] == "failed" and action["error"] == sw_sandbox.EVENT_STOPPED


def test_inject_without_text_is_refused_before_queueing(client, wall, token_for):
    response = client.post(f"/api/v1/channels/{wall['id']}/actions/inject",
                           headers={"Authorization": f"Bearer {token_for('agent')}"}, json={"media_url": "not a url"})
    assert response.status_code == 422
    assert count(OutboundAction) == 0


def test_failed_posts_become_items_with_their_post_as_context(brand):
    sp_sandbox.SANDBOX.fail_post(failure="Token expired for Facebook page", caption="Скидки недели 🔥")
    workers.enqueue_poll(brand["id"])
    run_jobs()
    with db.session_scope() as s:
        failures = s.scalars(select(Ticket).where(Ticket.kind == TicketKind.POST_FAILURE)).all()
        assert any("Token expired for Facebook page" in t.text for t in failures)
        assert s.scalar(select(Post.id).where(Post.failure == "Token expired for Facebook page"))
        assert s.get(Channel, brand["id"]).sync_state.get("stats") is not None


def test_reschedule_and_delete_a_failed_post(client, brand, token_for):
    post = sp_sandbox.SANDBOX.fail_post(failure="Media upload failed")
    workers.enqueue_poll(brand["id"])
    run_jobs()
    with db.session_scope() as s:
        ticket_id = s.scalars(select(Ticket.id).where(Ticket.external_id == f"post:{post['id']}")).one()
    headers = {"Authorization": f"Bearer {token_for('agent')}"}
    past = client.post(f"/api/v1/tickets/{ticket_id}/actions/reschedule", headers=headers,
                       json={"due_at": "2001-01-01T00:00:00+00:00"})
    assert past.status_code == 422
    due = (datetime.now(timezone.utc) + timedelta(days=1)).replace(microsecond=0).isoformat()
    assert client.post(f"/api/v1/tickets/{ticket_id}/actions/reschedule", headers=headers,
                       json={"due_at": due}).status_code == 202
    run_jobs()
    assert [w["op"] for w in sp_sandbox.SANDBOX.writes] == ["update"]
    assert client.post(f"/api/v1/tickets/{ticket_id}/actions/delete", headers=headers).status_code == 202
    run_jobs()
    assert [w["op"] for w in sp_sandbox.SANDBOX.writes] == ["update", "delete"]
    with db.session_scope() as s:
        assert s.get(Ticket, ticket_id).data.get("deleted") is True


def test_a_refused_key_flags_the_channel(wall):
    before = len(wall_posts())
    with db.session_scope() as s:
        channel = s.get(Channel, wall["id"])
        from inbox import crypto

        channel.credentials_encrypted = crypto.encrypt_json({"api_key": "swp_wrong"})
    workers.enqueue_poll(wall["id"])
    run_jobs()
    with db.session_scope() as s:
        channel = s.get(Channel, wall["id"])
        assert channel.status == "needs_attention" and channel.last_sync_error
    assert len(wall_posts()) == before > 0          # the items already in the queue stay there


def test_the_channels_page_shows_the_walls_answer(client, users, wall, token_for):
    from helpers import login

    sw_sandbox.SANDBOX.stop()
    client.post(f"/api/v1/channels/{wall['id']}/actions/inject", headers={
        "Authorization": f"Bearer {token_for('agent')}"}, json={"text": "hello wall"})
    run_jobs()
    login(client, "agent")
    page = client.get("/settings/channels").get_data(as_text=True)
    assert "hello wall" in page and sw_sandbox.EVENT_STOPPED.replace("'", "&#39;") in page


def test_wall_posts_carry_the_network_they_came_from(client, users, wall, token_for):
    """A wall gathers Instagram, Twitter ...: each post's ticket says where it came from, and the
    queue's network filter (API and page) finds it; the provider stays socialwall."""
    sw_sandbox.SANDBOX.add_message(text="Снято на айфон 📸 from the gram", network="instagram", screen_name="insta_ann")
    sw_sandbox.SANDBOX.add_message(text="Tweeting from the front row", network="twitter", screen_name="bird_bob")
    workers.enqueue_poll(wall["id"])
    run_jobs()
    headers = {"Authorization": f"Bearer {token_for('agent')}"}
    found = client.get("/api/v1/tickets?network=instagram&kind=wall_post&limit=100", headers=headers).get_json()["data"]
    gram = next(t for t in found if t["text"] == "Снято на айфон 📸 from the gram")
    assert gram["network"] == "instagram" and gram["provider"] == "socialwall"
    assert all(t["network"] == "instagram" for t in found)
    assert "Tweeting from the front row" not in {t["text"] for t in found}
    tweets = client.get("/api/v1/tickets?network=twitter", headers=headers).get_json()["data"]
    assert "Tweeting from the front row" in {t["text"] for t in tweets}
    from helpers import login

    login(client, "agent")
    page = client.get("/?network=twitter").get_data(as_text=True)
    assert "Tweeting from the front row" in page and "from the gram" not in page
    assert '<option value="twitter" selected>' in page


def test_a_revoked_wall_key_is_repaired_from_the_channels_page(client, users, wall):
    """The key is revoked: the wall needs attention, the page offers to reconnect it, and the new key
    puts the same channel back to work (same id, its wall posts kept, polling resumes)."""
    from helpers import csrf_of, login

    with sw_sandbox.SANDBOX.lock:
        sw_sandbox.SANDBOX.accounts.pop(sw_sandbox.DEMO_API_KEY)
        sw_sandbox.SANDBOX.add_account("swp_rotated_key")
        sw_sandbox.SANDBOX.walls[sw_sandbox.DEMO_WALL_ID].api_key = "swp_rotated_key"
    workers.enqueue_poll(wall["id"])
    run_jobs()
    before = len(wall_posts())
    login(client, "admin")
    page = client.get("/settings/channels").get_data(as_text=True)
    assert f'id="reconnect-{wall["id"]}"' in page and "<summary>Reconnect</summary>" in page
    token = csrf_of(client, "/settings/channels")
    form = {"csrf_token": token, "provider": "socialwall", "base_url": wall["base_url"],
            "wall_id": sw_sandbox.DEMO_WALL_ID}
    refused = client.post("/settings/channels", data={**form, "api_key": "swp_wrong"})
    assert refused.status_code == 422
    done = client.post("/settings/channels", data={**form, "api_key": "swp_rotated_key"}, follow_redirects=True)
    assert done.status_code == 200 and f"Reconnected {wall['name']}" in done.get_data(as_text=True)
    sw_sandbox.SANDBOX.add_message(text="Back on the wall", network="twitter", screen_name="again")
    run_jobs()                                           # the setup the reconnect queued: a backfill poll
    with db.session_scope() as s:
        assert s.query(Channel).count() == 1
        channel = s.get(Channel, wall["id"])
        assert channel.status == "active" and channel.last_sync_error is None
    assert len(wall_posts()) == before + 1 and "Back on the wall" in wall_posts()
