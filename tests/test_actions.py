"""Ticket actions through the API and the pane: local ones at once, network ones via the worker."""
from __future__ import annotations

from sqlalchemy import select

from helpers import csrf_of, load, login, post, run_jobs
from inbox import db
from models import History, Tag, Ticket, TicketStatus


def make_ticket(client, channel) -> int:
    post(client, channel, load("incoming_text"))
    run_jobs()
    with db.session_scope() as s:
        return s.scalars(select(Ticket.id)).one()


def auth(token):
    return {"Authorization": f"Bearer {token}"}


def test_archive_and_reopen_through_the_api(client, channel, token_for):
    ticket_id = make_ticket(client, channel)
    headers = auth(token_for("agent"))
    archived = client.post(f"/api/v1/tickets/{ticket_id}/actions/archive", headers=headers)
    assert archived.status_code == 200 and archived.get_json()["status"] == "archived"
    assert client.get("/api/v1/tickets?status=open", headers=headers).get_json()["data"] == []
    reopened = client.post(f"/api/v1/tickets/{ticket_id}/actions/reopen", headers=headers)
    assert reopened.get_json()["status"] == "open"
    with db.session_scope() as s:
        assert [h.action for h in s.scalars(select(History).order_by(History.id))][-2:] == ["archive", "reopen"]


def test_actions_the_provider_cannot_do_are_refused_before_queueing(client, channel, token_for):
    ticket_id = make_ticket(client, channel)
    response = client.post(f"/api/v1/tickets/{ticket_id}/actions/like", headers=auth(token_for("agent")))
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "unsupported_action"


def test_tags_on_a_provider_without_tags_stay_local(client, channel, token_for):
    ticket_id = make_ticket(client, channel)
    with db.session_scope() as s:
        s.add_all([Tag(name="VIP"), Tag(name="billing")])
    headers = auth(token_for("agent"))
    response = client.post(f"/api/v1/tickets/{ticket_id}/actions/tag", headers=headers, json={"tag_ids": [1, 2]})
    assert response.status_code == 200 and {t["name"] for t in response.get_json()["tags"]} == {"VIP", "billing"}
    bad = client.post(f"/api/v1/tickets/{ticket_id}/actions/tag", headers=headers, json={"tag_ids": [99]})
    assert bad.status_code == 422 and bad.get_json()["error"]["code"] == "unknown_tag"


def test_pane_offers_archive_and_it_works_with_htmx(client, users, channel):
    ticket_id = make_ticket(client, channel)
    login(client, "agent")
    pane = client.get(f"/tickets/{ticket_id}", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'data-action="archive"' in pane and 'data-action="like"' not in pane
    bar = client.post(f"/tickets/{ticket_id}/actions/archive",
                      headers={"HX-Request": "true", "X-CSRFToken": csrf_of(client)}).get_data(as_text=True)
    assert 'data-action="reopen"' in bar
    with db.session_scope() as s:
        assert s.get(Ticket, ticket_id).status == TicketStatus.ARCHIVED


def test_tags_from_the_pane_by_name_create_missing_ones(client, users, channel):
    ticket_id = make_ticket(client, channel)
    login(client, "agent")
    bar = client.post(f"/tickets/{ticket_id}/actions/tag", data={"tag_names": "VIP, Доставка, VIP"},
                      headers={"HX-Request": "true", "X-CSRFToken": csrf_of(client)}).get_data(as_text=True)
    assert 'id="ticket-actions"' in bar      # the bar; the tags show in the pane's tag picker:
    pane = client.get(f"/tickets/{ticket_id}").get_data(as_text=True)
    assert 'aria-label="Remove the tag VIP"' in pane and 'aria-label="Remove the tag Доставка"' in pane
    with db.session_scope() as s:
        assert sorted(t.name for t in s.get(Ticket, ticket_id).tags) == ["VIP", "Доставка"]
