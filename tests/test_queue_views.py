"""The queue pages: fragments for htmx, escaping of network text, inline errors, live reply status."""
from __future__ import annotations

from sqlalchemy import select

from helpers import csrf_of, load, login, post, run_jobs, written_now
from inbox import db
from models import Channel, Followup, FollowupStatus, Ticket



def seed(client, channel, text="Отправленный текст", user_id="47367670531", queue_id="q1"):
    body = load("incoming_text")
    body["event"]["properties"]["content"]["body"] = text
    body["event"]["properties"]["queueId"] = queue_id
    body["device"]["user_id"] = user_id
    post(client, channel, body)
    run_jobs()


def test_queue_lists_tickets_and_filters_swap_only_rows(client, users, channel):
    seed(client, channel)
    login(client)
    page = client.get("/").get_data(as_text=True)
    assert "Отправленный текст" in page and "<html" in page
    rows = client.get("/queue/rows?kind=conversation", headers={"HX-Request": "true"})
    body = rows.get_data(as_text=True)
    assert "<html" not in body and 'id="ticket-1"' in body
    assert rows.headers["HX-Push-Url"] == "/?kind=conversation" and "HX-Request" in rows.headers["Vary"]
    empty = client.get("/queue/rows?kind=comment", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'id="ticket-1"' not in empty and "Nothing here" in empty
    assert client.get("/?status=bogus").status_code == 400


def test_network_text_is_escaped_and_direction_aware(client, users, channel):
    seed(client, channel, text='<script>alert("x")</script> سلام')
    login(client)
    html = client.get("/tickets/1").get_data(as_text=True)
    assert '<script>alert("x")</script>' not in html
    assert "&lt;script&gt;" in html and 'dir="auto"' in html


def test_too_long_reply_shows_an_inline_error_and_keeps_the_text(client, users, channel, sandbox):
    seed(client, channel)
    login(client)
    response = client.post("/tickets/1/reply", data={"text": "x" * 1001},
                           headers={"HX-Request": "true", "X-CSRFToken": csrf_of(client)})
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and "at most 1000 characters" in body and "x" * 1001 in body
    with db.session_scope() as s:
        assert s.scalars(select(Followup)).all() == []


def test_reply_card_polls_until_delivered_then_stops(client, users, channel, sandbox):
    seed(client, channel)
    login(client)
    created = client.post("/tickets/1/reply", data={"text": "Спасибо!"},
                          headers={"HX-Request": "true", "X-CSRFToken": csrf_of(client)}).get_data(as_text=True)
    assert 'id="followup-1"' in created and 'data-status="queued"' in created
    assert 'hx-trigger="load delay:1s"' in created
    run_jobs()
    card = client.get("/followups/1", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'data-status="sent"' in card and "hx-get" in card
    with db.session_scope() as s:
        s.get(Followup, 1).advance(FollowupStatus.DELIVERED)
    card = client.get("/followups/1", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'data-status="delivered"' in card and "Delivered" in card and "hx-get" not in card


def test_ticket_pane_shows_the_thread_in_order(client, users, channel):
    seed(client, channel, text="первое", queue_id="q1")
    body = load("incoming_text")
    body["event"]["properties"]["queueId"] = "q2"
    body["event"]["createdAt"] = "2030-01-01T00:00:00+00:00"
    body["event"]["properties"]["content"]["body"] = "второе"
    post(client, channel, body)
    run_jobs()
    login(client)
    pane = client.get("/tickets/1", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in pane and pane.index("первое") < pane.index("второе")
    with db.session_scope() as s:
        assert s.get(Ticket, 1).text == "второе"
    assert client.get("/tickets/999").status_code == 404


def test_the_composer_offers_an_attachment_only_where_it_can_go(client, users, channel, sandbox):
    """A Getloo DM can carry a file (sendMsg ``file``), a comment cannot: the field is shown for
    the DM only, and what the agent puts in it reaches the provider."""
    seed(client, channel)
    comment = written_now(load("incoming_comment"))
    post(client, channel, comment)
    run_jobs()
    login(client)
    with db.session_scope() as s:
        dm_id, comment_id = (s.scalars(select(Ticket.id).where(Ticket.kind == kind)).one()
                             for kind in ("conversation", "comment"))
    assert 'name="attachment_url"' in client.get(f"/tickets/{dm_id}").get_data(as_text=True)
    assert 'name="attachment_url"' not in client.get(f"/tickets/{comment_id}").get_data(as_text=True)
    hx = {"HX-Request": "true", "X-CSRFToken": csrf_of(client)}
    bad = client.post(f"/tickets/{dm_id}/reply", data={"text": "hi", "attachment_url": "file:///etc/passwd"}, headers=hx)
    assert bad.status_code == 422 and "http(s) URL" in bad.get_data(as_text=True)
    sent = client.post(f"/tickets/{dm_id}/reply", headers=hx,
                       data={"text": "", "attachment_url": "https://cdn.example.com/menu.png"})
    assert sent.status_code == 200 and "📎 attachment" in sent.get_data(as_text=True)
    run_jobs()
    assert [(m["caption"], m["file"]) for m in sandbox.state.sent] == [(None, "https://cdn.example.com/menu.png")]


def test_send_and_archive_from_the_pane_does_both_or_neither(client, users, channel, sandbox):
    seed(client, channel)
    login(client)
    hx = {"HX-Request": "true", "X-CSRFToken": csrf_of(client)}
    assert 'data-action="reply-archive"' in client.get("/tickets/1").get_data(as_text=True)

    # A force-tagging channel wants a category first: the reply is not sent either (inline error).
    with db.session_scope() as s:
        s.get(Channel, channel["id"]).settings = {**s.get(Channel, channel["id"]).settings, "require_category": True}
    refused = client.post("/tickets/1/reply", data={"text": "Done!", "archive": "1"}, headers=hx)
    assert refused.status_code == 422 and "requires a category" in refused.get_data(as_text=True)
    with db.session_scope() as s:
        assert s.scalars(select(Followup)).all() == [] and s.get(Ticket, 1).status == "open"
        s.get(Channel, channel["id"]).settings = {k: v for k, v in s.get(Channel, channel["id"]).settings.items()
                                               if k != "require_category"}

    done = client.post("/tickets/1/reply", data={"text": "Done!", "archive": "1"}, headers=hx)
    assert done.status_code == 200 and 'data-status="queued"' in done.get_data(as_text=True)
    assert 'data-action="reply-archive"' not in done.get_data(as_text=True)     # archived already
    with db.session_scope() as s:
        assert s.get(Ticket, 1).status == "archived"
    assert 'id="ticket-1"' not in client.get("/queue/rows?status=open", headers={"HX-Request": "true"}).get_data(as_text=True)
    run_jobs()
    assert [m["caption"] for m in sandbox.state.sent] == ["Done!"]


def test_a_category_page_pages_through_its_subtree_newest_first_with_other_filters(app, users, token_for):
    """The category filter's page is merged from one index range per category of the subtree
    (inbox/queue/queries.py): next pages follow on with no gap and no repeat, a ticket filed in two
    of the subtree's categories comes once, equal activity times are cut by id, and the status
    filter and team visibility apply inside every category's range."""
    from datetime import datetime, timedelta

    from models import Category, Interactor, Team, User

    with db.session_scope() as s:
        shared, owned = (Channel(provider="getloo", network="instagram", name=name, base_url="http://getloo.test",
                                 account_ref=name) for name in ("shared", "owned"))
        s.add_all([shared, owned])
        s.flush()
        # The agent is not in the team that owns "owned": its tickets are not theirs to see.
        s.add(Team(name="Others", members=[s.get(User, users["outsider"].id)], channels=[owned]))
        root, other = Category(name="Product"), Category(name="Elsewhere")
        shipping, returns = Category(name="Shipping", parent=root), Category(name="Returns", parent=root)
        late = Category(name="Late", parent=shipping)
        s.add_all([root, other, shipping, returns, late])
        filings = [[late], [returns], [late, returns], [root], [other], [other, shipping], [shipping, late], []]
        start, made = datetime(2026, 3, 1), []
        for i in range(60):
            channel = owned if i % 7 == 0 else shared
            author = Interactor(channel_id=channel.id, external_id=f"a{i}", username=f"a{i}")
            made.append(Ticket(channel=channel, network="instagram", kind="comment", external_id=f"c{i}",
                               text=f"text {i}", interactor=author, status="archived" if i % 5 == 0 else "open",
                               # tickets i and i + 50 share a time: the order falls back to the id
                               last_activity_at=start + timedelta(minutes=(i * 37) % 50),
                               categories=filings[i % len(filings)]))
        s.add_all(made)
        s.flush()
        subtree = {root.id, shipping.id, returns.id, late.id}
        expected = sorted(((t.last_activity_at, t.id) for t in made
                           if t.status == "open" and t.channel is shared and subtree & {c.id for c in t.categories}),
                          reverse=True)
        root_id = root.id
    headers = {"Authorization": f"Bearer {token_for('agent')}"}
    client = app.test_client()
    seen, cursor = [], None
    while True:
        answer = client.get(f"/api/v1/tickets?category={root_id}&status=open&limit=4" + (f"&cursor={cursor}" if cursor else ""),
                            headers=headers).get_json()
        assert len(answer["data"]) <= 4
        seen += [t["id"] for t in answer["data"]]
        cursor = answer.get("next_cursor")
        if not cursor:
            break
    assert len(expected) > 12 and seen == [ident for _, ident in expected]
