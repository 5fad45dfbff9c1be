"""The channels page: health per channel, connecting from the UI, errors inline, attention flags."""
from __future__ import annotations

from inbox import db
from helpers import csrf_of, load, login, post, run_jobs
from models import Channel, ChannelStatus


def test_admin_sees_health_and_webhook(client, users, channel):
    post(client, channel, load("incoming_text"))
    run_jobs()
    login(client, "admin")
    page = client.get("/settings/channels").get_data(as_text=True)
    assert "Shop" in page and channel["webhook_url"] in page
    assert 'data-field="items_last_hour">1<' in page and "registered" in page


def test_agents_see_channels_but_not_secrets_or_connect_forms(client, users, channel):
    login(client, "agent")
    page = client.get("/settings/channels").get_data(as_text=True)
    assert "Shop" in page and channel["webhook_url"] not in page and 'id="connect-getloo"' not in page


def test_connect_from_the_ui_shows_refusals_inline(client, users, sandbox):
    login(client, "admin")
    token = csrf_of(client, "/settings/channels")
    refused = client.post("/settings/channels", data={"provider": "getloo", "token": "WRONG", "base_url": sandbox.url,
                                                      "csrf_token": token})
    body = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "rejected the token" in body and 'value="WRONG"' in body
    ok = client.post("/settings/channels", data={"provider": "getloo", "token": sandbox.token, "base_url": sandbox.url,
                                                 "csrf_token": token})
    assert ok.status_code == 302
    with db.session_scope() as s:
        assert s.query(Channel).count() == 1


def test_queue_header_flags_channels_that_need_attention(client, users, channel):
    with db.session_scope() as s:
        c = s.get(Channel, channel["id"])
        c.status, c.last_error = ChannelStatus.NEEDS_ATTENTION, "Getloo rejected the token (401)"
    login(client, "agent")
    page = client.get("/").get_data(as_text=True)
    assert "Shop needs attention" in page and "rejected the token" in page


def test_reconnect_from_the_page_keeps_the_channel_and_clears_the_flag(client, users, sandbox, channel):
    post(client, channel, load("incoming_text"))
    run_jobs()
    with db.session_scope() as s:
        c = s.get(Channel, channel["id"])
        c.status, c.last_error = ChannelStatus.NEEDS_ATTENTION, "Getloo rejected the token (401)"
    login(client, "admin")
    page = client.get("/settings/channels").get_data(as_text=True)
    assert f'id="reconnect-{channel["id"]}"' in page and 'name="token" required' in page
    done = client.post("/settings/channels", follow_redirects=True, data={
        "csrf_token": csrf_of(client, "/settings/channels"), "provider": "getloo", "base_url": sandbox.url,
        "token": sandbox.token})
    body = done.get_data(as_text=True)
    assert "Reconnected Shop" in body and "Connected Shop" not in body
    run_jobs()
    with db.session_scope() as s:
        [c] = s.query(Channel).all()
        assert (c.id, c.webhook_url, c.status, c.last_error) == (channel["id"], channel["webhook_url"], "active", None)
    queue = client.get("/").get_data(as_text=True)
    assert "needs attention" not in queue and "Отправленный текст" in queue
