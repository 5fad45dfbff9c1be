"""The "Mentions" folder: the open tickets whose notes @mention the viewer, newest first, read from
``ticket_mention`` — one row per (user, ticket), with the ticket's status and activity, kept by
triggers (models/mention.py). Checked here against what ``note_mention`` says after every kind of
change, and through the folder's page, its number and the API as a user meets them."""
from __future__ import annotations

import random
import re
import threading
import time
from datetime import datetime, timedelta

import pytest
from sqlalchemy import delete, select, text, update

from helpers import login
from inbox import db
from models import Channel, Followup, Team, Ticket, User, note_mentions, ticket_mentions


@pytest.fixture
def tickets(app, users) -> list[int]:
    with db.session_scope() as s:
        channel = Channel(provider="getloo", network="instagram", name="C", base_url="http://getloo.test",
                          account_ref="acct")
        s.add(channel)
        s.flush()
        start = datetime(2026, 12, 1, 9, 0)
        made = [Ticket(channel_id=channel.id, network="instagram", kind="comment", external_id=f"t{i}",
                       text=f"ticket {i}", last_activity_at=start + timedelta(minutes=i)) for i in range(8)]
        s.add_all(made)
        s.flush()
        return [t.id for t in made]


def _derived(session) -> set[tuple]:
    """What ticket_mention must hold: from the notes' mentions and their tickets."""
    rows = session.execute(select(note_mentions.c.user_id, Ticket.id, Ticket.status, Ticket.last_activity_at,
                                  Ticket.channel_id, Ticket.team_id, Ticket.assignee_id)
                           .join(Followup, Followup.id == note_mentions.c.followup_id)
                           .join(Ticket, Ticket.id == Followup.ticket_id)).all()
    return {tuple(r) for r in rows}


def _held(session) -> set[tuple]:
    c = ticket_mentions.c
    return {tuple(r) for r in session.execute(select(c.user_id, c.ticket_id, c.status, c.last_activity_at,
                                                     c.channel_id, c.team_id, c.assignee_id)).all()}


def _note(session, ticket_id: int, author: int, mentioned: list[User]) -> Followup:
    note = Followup(ticket_id=ticket_id, type="note", status="saved", text="note", author_id=author)
    note.mentioned = mentioned
    session.add(note)
    session.flush()
    return note


def test_the_mentioned_tickets_equal_the_notes_mentions_after_every_kind_of_change(app, users, tickets):
    """Notes added with mentions, their mentions edited and removed (the ORM and plain statements),
    notes deleted and moved between tickets, tickets archived, re-opened, active again, assigned,
    handed to a team and deleted, a mentioned user deleted: after each, ticket_mention is exactly
    what note_mention and the tickets say."""
    rnd = random.Random(3)
    with db.session_scope() as s:
        spare = User(email="spare@example.test", role="agent", name="Spare", password_hash="x")
        s.add(spare)
        crew = Team(name="Crew")
        s.add(crew)
        s.flush()
        team = crew.id
    people = [users["agent"].id, users["supervisor"].id, users["outsider"].id, spare.id]
    sizes = []
    for step in range(80):
        with db.session_scope() as s:
            live = list(s.scalars(select(Ticket.id)))
            notes = list(s.scalars(select(Followup).where(Followup.type == "note")))
            present = [u for u in people if s.get(User, u)]
            kind = step % 8 if notes else 0
            if kind in (0, 1):
                _note(s, rnd.choice(live), users["admin"].id,
                      [s.get(User, u) for u in rnd.sample(present, rnd.randint(1, min(2, len(present))))])
            elif kind == 2:
                rnd.choice(notes).mentioned = [s.get(User, u) for u in rnd.sample(present, rnd.randint(0, len(present)))]
            elif kind == 3:
                s.execute(delete(note_mentions).where(note_mentions.c.user_id == rnd.choice(present)))
            elif kind == 4:
                s.delete(rnd.choice(notes)) if rnd.random() < 0.5 else s.execute(
                    delete(Followup).where(Followup.id == rnd.choice(notes).id))
            elif kind == 5:
                rnd.choice(notes).ticket_id = rnd.choice(live)
            elif kind == 6:
                s.execute(update(Ticket).where(Ticket.id.in_(rnd.sample(live, 2)))
                          .values(status=rnd.choice(["open", "archived", "snoozed"])))
                changed = s.get(Ticket, rnd.choice(live))
                changed.last_activity_at = datetime(2026, 12, 2, rnd.randrange(24))
                changed.assignee_id = rnd.choice([None, users["agent"].id, users["supervisor"].id])
                changed.team_id = rnd.choice([None, team])
            elif step == 47:
                s.execute(delete(User).where(User.id == spare.id))
            elif len(live) > 4 and rnd.random() < 0.5:
                s.execute(delete(Ticket).where(Ticket.id == rnd.choice(live)))
        with db.session_scope() as s:
            assert _held(s) == _derived(s), f"after step {step} (kind {kind})"
            sizes.append(len(_held(s)))
    assert max(sizes) >= 5 and any(a > b for a, b in zip(sizes, sizes[1:])), sizes   # grown and shrunk


def test_two_notes_mentioning_the_same_user_keep_the_ticket_until_both_are_gone(app, users, tickets):
    with db.session_scope() as s:
        agent = s.get(User, users["agent"].id)
        first, second = (_note(s, tickets[0], users["admin"].id, [agent]) for _ in range(2))
    with db.session_scope() as s:
        s.delete(s.get(Followup, first.id))
    with db.session_scope() as s:
        assert {row[:4] for row in _held(s)} == {(agent.id, tickets[0], "open", datetime(2026, 12, 1, 9, 0))}
        s.get(Followup, second.id).mentioned = []
    with db.session_scope() as s:
        assert _held(s) == set()


def test_a_note_removed_while_another_mentions_the_same_user_keeps_the_ticket(app, users, tickets):
    """PostgreSQL: one transaction deletes a note mentioning the agent while another adds a second
    note mentioning the agent on the same ticket. The deletion waits for the addition's ticket lock
    and then sees its note, so the ticket stays in the agent's mentions."""
    engine = db.engine()
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite runs one writer at a time")
    with db.session_scope() as s:
        old = _note(s, tickets[0], users["admin"].id, [s.get(User, users["agent"].id)])
    adding, removing = engine.connect(), engine.connect()
    try:
        added = adding.execute(text("INSERT INTO followup (ticket_id, type, status, text, author_id, status_at, request, "
                                    "created_at, updated_at) VALUES (:t, 'note', 'saved', 'again', :a, now(), '{}', "
                                    "now(), now()) RETURNING id"), {"t": tickets[0], "a": users["admin"].id}).scalar()
        adding.execute(note_mentions.insert().values(followup_id=added, user_id=users["agent"].id))
        worker = threading.Thread(target=lambda: (removing.execute(delete(Followup).where(Followup.id == old.id)),
                                                  removing.commit()))
        worker.start()
        while worker.is_alive() and not adding.scalar(text(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()")):
            time.sleep(0.01)
        adding.commit()
        worker.join()
    finally:
        adding.close()
        removing.close()
    with db.session_scope() as s:
        assert _held(s) == _derived(s) and len(_held(s)) == 1


def _rows(client, path: str) -> list[int]:
    return [int(n) for n in re.findall(r'id="ticket-(\d+)"', client.get(path).get_data(as_text=True))]


def _mentions_number(client) -> int:
    return int(re.search(r'id="count-mentions"[^>]*>([\d,]+)<', client.get("/").get_data(as_text=True)).group(1))


def test_the_mentions_folder_lists_open_mentions_newest_first_and_follows_changes(client, users, tickets, token_for):
    login(client, "agent")
    with db.session_scope() as s:
        agent = s.get(User, users["agent"].id)
        for t in (tickets[1], tickets[5], tickets[3]):
            _note(s, t, users["admin"].id, [agent])
        _note(s, tickets[6], users["admin"].id, [s.get(User, users["supervisor"].id)])   # someone else's
    assert _rows(client, "/?folder=mentions") == [tickets[5], tickets[3], tickets[1]]
    assert _mentions_number(client) == 3
    with db.session_scope() as s:
        s.get(Ticket, tickets[5]).status = "archived"
        s.get(Ticket, tickets[1]).last_activity_at = datetime(2026, 12, 1, 12, 0)     # a new message
    assert _rows(client, "/?folder=mentions") == [tickets[1], tickets[3]]
    assert _mentions_number(client) == 2
    # The next page starts after the cursor, in the same order.
    page = client.get("/?folder=mentions&limit=1").get_data(as_text=True)
    cursor = re.search(r'cursor=([^&"]+)', page).group(1)
    assert _rows(client, f"/?folder=mentions&limit=1&cursor={cursor}") == [tickets[3]]
    # The same filter on the archive, and through the API.
    assert _rows(client, "/?mentions=me&status=archived") == [tickets[5]]
    listed = client.get("/api/v1/tickets?mentions=me&status=open", headers={"Authorization": f"Bearer {token_for('agent')}"})
    assert [t["id"] for t in listed.get_json()["data"]] == [tickets[1], tickets[3]]
