"""Lists cost a fixed number of SQL statements whatever their length (no N+1).

The channels' health used to cost two queries per channel, and each ticket of ``GET /api/v1/tickets``
a lazy load of its categories (57 statements for a page of 50). A list that grows with the data
slows every page that shows it; these tests count the statements with an engine event.
"""
from __future__ import annotations

from datetime import timedelta

from helpers import login
from inbox import db
from models import Category, Channel, Interactor, Message, Tag, Ticket, utcnow
from statements import recorded

BOUND = 15   # the list's own queries, authentication, the navigation's counters, the folders and their numbers; far below one per row


def _add_channels(n: int, start: int) -> None:
    """Channels with live messages (so each has a lag and an hourly count to compute)."""
    now = utcnow()
    with db.session_scope() as s:
        for i in range(start, start + n):
            channel = Channel(provider="getloo", network="instagram", name=f"Shop {i}", base_url="http://getloo.test",
                              account_ref=f"acct-{i}", created_at=now - timedelta(days=1))
            s.add(channel)
            s.flush()
            ticket = Ticket(channel_id=channel.id, network="instagram", kind="conversation", external_id=f"t{i}")
            s.add(ticket)
            s.flush()
            for j in range(3):
                s.add(Message(ticket_id=ticket.id, channel_id=channel.id, external_id=f"m{i}-{j}", text="hi",
                              created_at=now - timedelta(seconds=30 + j), received_at=now - timedelta(seconds=j)))


def _add_tickets(n: int, start: int) -> None:
    """Tickets with an author, tags and categories: everything the API's ticket shape shows."""
    with db.session_scope() as s:
        channel = s.query(Channel).first()
        if channel is None:
            channel = Channel(provider="getloo", network="instagram", name="Shop", base_url="http://getloo.test")
            s.add(channel)
            s.flush()
        tags = s.query(Tag).all() or [Tag(name="vip"), Tag(name="refund")]
        categories = s.query(Category).all() or [Category(name="Billing"), Category(name="Delivery")]
        for i in range(start, start + n):
            author = Interactor(channel_id=channel.id, external_id=f"u{i}", username=f"user{i}")
            s.add(Ticket(channel=channel, network="instagram", kind="comment", external_id=f"c{i}", text=f"comment {i}",
                         interactor=author, tags=list(tags), categories=[categories[i % 2]]))


def _count(client, path: str, headers=None) -> int:
    client.get(path, headers=headers)   # the same state for both runs (a token's "last used", a session)
    with recorded() as statements:
        response = client.get(path, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return len(statements)


def test_channels_api_costs_the_same_for_2_and_20_channels(client, token_for):
    headers = {"Authorization": f"Bearer {token_for('admin')}"}
    _add_channels(2, 0)
    two = _count(client, "/api/v1/channels", headers)
    _add_channels(18, 2)
    body = client.get("/api/v1/channels", headers=headers).get_json()
    assert len(body["data"]) == 20
    assert all(c["health"]["items_last_hour"] == 3 and c["health"]["ingestion_lag_seconds"] == 30 for c in body["data"])
    twenty = _count(client, "/api/v1/channels", headers)
    assert twenty == two <= BOUND


def test_channels_page_costs_the_same_for_2_and_20_channels(client, users):
    login(client, "admin")
    _add_channels(2, 0)
    two = _count(client, "/settings/channels")
    _add_channels(18, 2)
    assert "Shop 19" in client.get("/settings/channels").get_data(as_text=True)
    twenty = _count(client, "/settings/channels")
    assert twenty == two <= BOUND


def test_tickets_api_costs_the_same_for_5_and_50_tickets(client, token_for):
    headers = {"Authorization": f"Bearer {token_for('admin')}"}
    _add_tickets(5, 0)
    five = _count(client, "/api/v1/tickets?limit=50", headers)
    _add_tickets(45, 5)
    body = client.get("/api/v1/tickets?limit=50", headers=headers).get_json()
    assert len(body["data"]) == 50 and all(len(t["categories"]) == 1 and len(t["tags"]) == 2 for t in body["data"])
    fifty = _count(client, "/api/v1/tickets?limit=50", headers)
    assert fifty == five <= BOUND


def test_queue_page_costs_the_same_for_5_and_50_tickets(client, users):
    login(client, "agent")
    _add_tickets(5, 0)
    five = _count(client, "/")
    _add_tickets(45, 5)
    fifty = _count(client, "/")
    assert fifty == five <= BOUND


def test_filtered_queue_costs_the_same_for_5_and_50_tickets(client, users, token_for):
    """The triage filters (assignee, priority, sentiment, status) add conditions, not queries; the
    rows' assignees are loaded with the page."""
    headers = {"Authorization": f"Bearer {token_for('agent')}"}
    login(client, "agent")

    def triage(start: int, n: int) -> None:
        with db.session_scope() as s:
            for ticket in s.query(Ticket).filter(Ticket.external_id.in_([f"c{i}" for i in range(start, start + n)])):
                ticket.assignee_id, ticket.priority, ticket.sentiment = users["agent"].id, True, "negative"

    _add_tickets(5, 0)
    triage(0, 5)
    query = "assignee=me&priority=1&sentiment=negative&status=open"
    page_five, api_five = _count(client, f"/?{query}"), _count(client, f"/api/v1/tickets?{query}&limit=50", headers)
    _add_tickets(45, 5)
    triage(5, 45)
    body = client.get(f"/api/v1/tickets?{query}&limit=50", headers=headers).get_json()
    assert len(body["data"]) == 50 and all(t["assignee_id"] == users["agent"].id for t in body["data"])
    assert "Agent" in client.get(f"/?{query}").get_data(as_text=True)
    assert _count(client, f"/?{query}") == page_five <= BOUND
    assert _count(client, f"/api/v1/tickets?{query}&limit=50", headers) == api_five <= BOUND
