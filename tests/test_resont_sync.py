"""Resont through the whole framework: one channel per account, tags both ways, network actions."""
from __future__ import annotations

from sqlalchemy import select

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
