"""Resont through the whole framework: one channel per account, tags both ways, network actions."""
from __future__ import annotations

from sqlalchemy import select

import workers
from helpers import run_jobs
from inbox import db
from sandbox import resont as sandbox
from models import Channel, Ticket, TicketKind


def headers(token_for):
    return {"Authorization": f"Bearer {token_for('agent')}"}


def comment_ticket(external_id: str = "comment:1001") -> Ticket:
    with db.session_scope() as s:
        ticket = s.scalars(select(Ticket).filter_by(external_id=external_id)).one()
        ticket.tags  # load
        return ticket


def test_each_account_is_a_channel_on_its_network(resont):
    assert {c["network"] for c in resont} >= {"instagram", "telegram"}
    with db.session_scope() as s:
        channels = s.scalars(select(Channel)).all()
        assert len({c.webhook_token for c in channels}) == 1        # one webhook URL per connection
        kinds = set(s.scalars(select(Ticket.kind)))
    assert {TicketKind.COMMENT, TicketKind.CONVERSATION} <= kinds


def test_resont_tags_arrive_with_the_item(resont):
    assert [t.name for t in comment_ticket().tags] == ["VIP"]


def test_our_tags_go_to_resont(client, resont, token_for):
    ticket = comment_ticket()
    from models import Tag

    with db.session_scope() as s:
        s.add(Tag(name="Доставка"))
    with db.session_scope() as s:
        ids = [t.id for t in s.scalars(select(Tag).where(Tag.name.in_(["VIP", "Доставка"])))]
    response = client.post(f"/api/v1/tickets/{ticket.id}/actions/tag", headers=headers(token_for), json={"tag_ids": ids})
    assert response.status_code == 202
    run_jobs()
    [write] = [w for w in sandbox.SANDBOX.writes if w["kind"] == "comment.tag"]
    names = {sandbox.SANDBOX.comment_tags[t]["name"] for t in write["tag_ids"]}
    assert names == {"VIP", "Доставка"}


def test_like_then_unlike_toggle_on_resont(client, resont, token_for):
    ticket = comment_ticket()
    assert client.post(f"/api/v1/tickets/{ticket.id}/actions/like", headers=headers(token_for)).status_code == 202
    run_jobs()
    assert comment_ticket().data.get("liked") is True
    assert client.post(f"/api/v1/tickets/{ticket.id}/actions/unlike", headers=headers(token_for)).status_code == 202
    run_jobs()
    assert comment_ticket().data.get("liked") is False
    assert len([w for w in sandbox.SANDBOX.writes if w["kind"].startswith("comment.like")]) == 2


def test_reply_and_delete_a_comment(client, resont, token_for):
    ticket = comment_ticket()
    reply = client.post(f"/api/v1/tickets/{ticket.id}/actions/reply", headers=headers(token_for),
                        json={"text": "بله، سایز بزرگ هم داریم 🌸"})
    assert reply.status_code == 202
    run_jobs()
    assert [w for w in sandbox.SANDBOX.writes if w["kind"] == "comment.reply"]
    detail = client.get(f"/api/v1/tickets/{ticket.id}", headers=headers(token_for)).get_json()
    assert detail["followups"][0]["status"] == "sent"
    assert client.post(f"/api/v1/tickets/{ticket.id}/actions/delete", headers=headers(token_for)).status_code == 202
    run_jobs()
    assert comment_ticket().data.get("deleted") is True


def test_a_validation_error_is_shown_with_resonts_message(client, resont, token_for):
    ticket = comment_ticket()
    sandbox.SANDBOX.fail_next("comment.reply", 400)
    client.post(f"/api/v1/tickets/{ticket.id}/actions/reply", headers=headers(token_for), json={"text": "ok"})
    run_jobs()
    [followup] = client.get(f"/api/v1/tickets/{ticket.id}", headers=headers(token_for)).get_json()["followups"]
    assert followup["status"] == "failed" and followup["error"]


def test_a_dm_reply_uploads_its_attachment_to_resont(client, live, resont, token_for):
    """Resont takes a File, not a URL: the worker downloads attachment_url and uploads it as the
    multipart ``attachment`` the sandbox records; a comment refuses an attachment before queueing."""
    with db.session_scope() as s:
        dm = s.scalars(select(Ticket.id).where(Ticket.kind == TicketKind.CONVERSATION)).first()
    url = f"{live}/static/app.css"
    size = len(client.get("/static/app.css").get_data())
    reply = client.post(f"/api/v1/tickets/{dm}/actions/reply", headers=headers(token_for),
                        json={"text": "Here is the price list", "attachment_url": url})
    assert reply.status_code == 202, reply.get_data(as_text=True)
    run_jobs()
    [write] = [w for w in sandbox.SANDBOX.writes if w["kind"] == "conversation.reply"]
    assert write["content"] == "Here is the price list" and write["attachment"] == ("app.css", size, "text/css")
    refused = client.post(f"/api/v1/tickets/{comment_ticket().id}/actions/reply", headers=headers(token_for),
                          json={"text": "ok", "attachment_url": url})
    assert refused.status_code == 422 and refused.get_json()["error"]["code"] == "attachment_not_supported"


def test_reconnecting_resont_repairs_every_channel_of_the_connection(client, resont, token_for):
    """One Resont token yields a channel per account; when the token is revoked they all need
    attention, and connecting again with the new token repairs all of them in place."""
    admin = {"Authorization": f"Bearer {token_for('admin')}"}
    with sandbox.SANDBOX.lock:
        sandbox.SANDBOX.users[sandbox.DEMO_USER_ID]["token"] = "RSNT-rotated-0123456789ab"
    for channel in resont:
        workers.enqueue_poll(channel["id"])
    run_jobs()
    listed = client.get("/api/v1/channels", headers=admin).get_json()["data"]
    assert {c["status"] for c in listed} == {"needs_attention"}
    tickets_before = len(client.get("/api/v1/tickets?limit=100", headers=admin).get_json()["data"])

    again = client.post("/api/v1/channels", headers=admin, json={
        "provider": "resont", "base_url": resont[0]["base_url"],
        "credentials": {"token": "RSNT-rotated-0123456789ab"}})
    assert again.status_code == 200, again.get_data(as_text=True)
    repaired = again.get_json()["data"]
    assert sorted((c["id"], c["webhook_url"]) for c in repaired) == sorted((c["id"], c["webhook_url"]) for c in resont)
    assert {c["status"] for c in repaired} == {"active"}
    run_jobs()                                    # subscriptions and a poll again, with the new token
    sandbox.SANDBOX.add_message("Работает снова?")
    for channel in resont:
        workers.enqueue_poll(channel["id"])
    run_jobs()
    listed = client.get("/api/v1/channels", headers=admin).get_json()["data"]
    assert {c["status"] for c in listed} == {"active"} and len(listed) == len(resont)
    tickets = client.get("/api/v1/tickets?limit=100", headers=admin).get_json()["data"]
    assert len(tickets) >= tickets_before > 0 and "Работает снова?" in {t["text"] for t in tickets}
