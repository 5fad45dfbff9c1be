"""Folders and their numbers: built-in folders are filters every user has, custom folders are saved
filters (personal or shared with a team), and every number is kept by the database's triggers in
the same transaction as the change — checked here against a real COUNT after every kind of change,
and through the pages and the API as a user meets them."""
from __future__ import annotations

import itertools
import random
import re
import threading
import time

import pytest
from sqlalchemy import and_, case, delete, func, literal_column, or_, select, text, update

import statements
from helpers import csrf_of, login
from inbox import db
from inbox.queue.counters import builtin_counts
from models import (ActionState, Channel, Followup, FolderTotal, Interactor, OutboundAction, Role, Team, Ticket, TicketCount, User,
                    note_mentions)


def auth(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def world(app, users):
    """Team A (the agent) owns channel A, team B (the outsider) owns channel B, a shared channel
    belongs to no team; tickets in every state on each."""
    with db.session_scope() as s:
        channels = {k: Channel(provider="getloo", network="instagram", name=f"Channel {k}",
                               base_url="http://getloo.test", account_ref=f"acct-{k}") for k in ("a", "b", "shared")}
        s.add_all(channels.values())
        s.flush()
        s.add_all([Team(name="Team A", members=[s.get(User, users["agent"].id)], channels=[channels["a"]]),
                   Team(name="Team B", members=[s.get(User, users["outsider"].id)], channels=[channels["b"]])])
        n = 0
        for key, channel in channels.items():
            who = Interactor(channel_id=channel.id, external_id=f"u-{key}", username=f"user_{key}", name=key)
            for status, count in (("open", 3), ("archived", 2), ("snoozed", 1)):
                for _ in range(count):
                    n += 1
                    s.add(Ticket(channel=channel, network="instagram", kind="conversation", external_id=f"t{n}",
                                 status=status, text=f"ticket {n}", interactor=who))
    return {k: c for k, c in ((k, v.id) for k, v in channels.items())}


def _recount(session) -> dict[tuple, int]:
    """What ticket_count must say: a real COUNT per bucket."""
    t = Ticket
    rows = session.execute(select(t.channel_id, func.coalesce(t.team_id, 0), func.coalesce(t.assignee_id, 0), t.status,
                                  t.priority, t.has_pending_suggestion, t.has_failed_send, func.count())
                           .group_by(t.channel_id, t.team_id, t.assignee_id, t.status, t.priority,
                                     t.has_pending_suggestion, t.has_failed_send)).all()
    return {tuple(r[:7]): r[7] for r in rows}


def _counters(session) -> dict[tuple, int]:
    c = TicketCount
    rows = session.execute(select(c.channel_id, c.team_id, c.assignee_id, c.status, c.priority, c.pending, c.failed,
                                  c.n).where(c.n != 0)).all()
    return {tuple(r[:7]): r[7] for r in rows}


def _retotal(session) -> dict[tuple, tuple]:
    """What folder_total must say: per channel and team, a real COUNT of each folder's tickets."""
    t = Ticket
    open_ = t.status == "open"

    def n(condition):
        return func.sum(case((condition, 1), else_=0))
    team = func.coalesce(t.team_id, literal_column("0"))     # one expression in SELECT and GROUP BY
    rows = session.execute(select(t.channel_id, team, n(open_), n(and_(open_, t.assignee_id.is_(None))),
                                  n(and_(open_, t.priority.is_(True))), n(t.status == "snoozed"),
                                  n(t.has_pending_suggestion.is_(True)), n(t.has_failed_send.is_(True)),
                                  n(t.status == "archived"), func.count())
                           .group_by(t.channel_id, team)).all()
    return {tuple(r[:2]): tuple(r[2:]) for r in rows}


def _totals(session) -> dict[tuple, tuple]:
    f = FolderTotal
    numbers = (f.inbox, f.unassigned, f.priority, f.snoozed, f.approval, f.failed, f.archived, f.everything)
    rows = session.execute(select(f.channel_id, f.team_id, *numbers).where(or_(*(n != 0 for n in numbers)))).all()
    return {tuple(r[:2]): tuple(r[2:]) for r in rows}


def test_counters_equal_a_real_count_after_every_kind_of_change(app, users, world):
    """Inserts, deletes and updates of every counted column — through the ORM and through plain
    UPDATE statements, as bulk work and workers write, and a send failing or retried (which flags
    the ticket by a trigger of its own) — keep ticket_count equal to COUNT(*)."""
    rnd = random.Random(11)
    user_ids = [u.id for u in users.values()]
    with db.session_scope() as s:
        team_ids = list(s.scalars(select(Team.id)))
    for step in range(60):
        with db.session_scope() as s:
            tickets = list(s.scalars(select(Ticket)))
            ticket = rnd.choice(tickets)
            kind = step % 7
            if kind == 0:
                ticket.status = rnd.choice(["open", "pending", "snoozed", "archived"])
            elif kind == 1:
                ticket.assignee_id = rnd.choice(user_ids + [None])
            elif kind == 2:
                ticket.priority = not ticket.priority
            elif kind == 3:
                ticket.has_pending_suggestion = not ticket.has_pending_suggestion
                # A send failing, or retried: outbound_action's triggers move the ticket's flag.
                if ticket.has_failed_send:
                    s.execute(update(OutboundAction).where(OutboundAction.ticket_id == ticket.id).values(state="queued"))
                else:
                    s.add(OutboundAction(channel_id=ticket.channel_id, ticket_id=ticket.id, kind="reply", state="failed"))
            elif kind == 4:
                ticket.team_id = rnd.choice(team_ids + [None])
            elif kind == 5:
                s.execute(update(Ticket).where(Ticket.channel_id == ticket.channel_id)
                          .values(status="archived", assignee_id=rnd.choice(user_ids)))
            else:
                if len(tickets) > 5:
                    s.execute(delete(Ticket).where(Ticket.id == ticket.id))
                s.add(Ticket(channel_id=ticket.channel_id, network="instagram", kind="comment",
                             external_id=f"new-{step}", status="open", priority=step % 2 == 0))
        with db.session_scope() as s:
            assert _counters(s) == _recount(s), f"after step {step} (kind {kind})"
            assert _totals(s) == _retotal(s), f"folder_total after step {step} (kind {kind})"


def test_a_rolled_back_change_leaves_the_numbers_alone(app, users, world):
    with db.session_scope() as s:
        before = _counters(s)
    s = db.new_session()
    try:
        s.execute(update(Ticket).values(status="archived"))
        s.add(Ticket(channel_id=world["a"], network="instagram", kind="comment", external_id="x", status="open"))
        s.flush()
        s.rollback()
    finally:
        s.close()
    with db.session_scope() as s:
        assert _counters(s) == before == _recount(s)
        assert _totals(s) == _retotal(s)


def _numbers(client, path="/") -> dict[str, int]:
    html = client.get(path).get_data(as_text=True)
    return {m.group(1): int(m.group(2).replace(",", "")) for m in
            re.finditer(r'id="count-([\w-]+)"[^>]*>([\d,]+)<', html)}


def test_the_sidebar_shows_every_built_in_folder_with_its_number_for_who_looks(client, users, world):
    login(client, "supervisor")
    seen = _numbers(client)
    assert seen["inbox"] == 9 and seen["archived"] == 6 and seen["snoozed"] == 3 and seen["all"] == 18
    assert seen["mine"] == 0 and seen["unassigned"] == 9 and seen["priority"] == 0
    client.get("/logout")
    login(client, "agent")          # team A: channel A and the shared channel, not B
    seen = _numbers(client)
    assert seen["inbox"] == 6 and seen["all"] == 12


def test_numbers_follow_an_archive_an_assignment_and_a_new_item(client, users, world):
    login(client, "agent")
    with db.session_scope() as s:
        ticket = s.scalar(select(Ticket).where(Ticket.channel_id == world["a"], Ticket.status == "open"))
        ticket_id = ticket.id
    token = csrf_of(client)
    answer = client.post(f"/tickets/{ticket_id}/actions/assign", data={"csrf_token": token, "user_id": users["agent"].id})
    assert answer.status_code in (200, 302, 303), answer.status_code
    seen = _numbers(client)
    assert seen["mine"] == 1 and seen["unassigned"] == 5
    answer = client.post(f"/tickets/{ticket_id}/actions/archive", data={"csrf_token": csrf_of(client)})
    assert answer.status_code in (200, 302, 303)
    seen = _numbers(client)
    assert seen["inbox"] == 5 and seen["mine"] == 0 and seen["archived"] == 5
    with db.session_scope() as s:     # a new item arrives on team B's channel: not the agent's business
        s.add(Ticket(channel_id=world["b"], network="instagram", kind="conversation", external_id="new-b"))
    assert _numbers(client)["inbox"] == 5
    with db.session_scope() as s:
        s.add(Ticket(channel_id=world["a"], network="instagram", kind="conversation", external_id="new-a"))
    assert _numbers(client)["inbox"] == 6


def test_small_folders_count_mentions_suggestions_and_failed_sends(client, users, world):
    with db.session_scope() as s:
        ticket = s.scalar(select(Ticket).where(Ticket.channel_id == world["a"], Ticket.status == "open"))
        note = Followup(ticket_id=ticket.id, type="note", status="saved", text="@Agent", author_id=users["admin"].id)
        s.add(note)
        s.add(Followup(ticket_id=ticket.id, type="suggestion", status="suggested", text="Try this",
                       author_id=users["agent"].id))
        s.flush()
        s.execute(note_mentions.insert().values(followup_id=note.id, user_id=users["agent"].id))
    login(client, "agent")
    seen = _numbers(client)
    assert seen["mentions"] == 1 and seen["suggestions"] == 1 and seen["failed"] == 0
    page = client.get("/?folder=mentions").get_data(as_text=True)
    assert f'id="ticket-{ticket.id}"' in page and page.count('class="row-item"') == 1


def test_the_numbers_are_kept_while_nothing_changes_and_follow_a_failed_send_at_once(client, users, world):
    """The sidebar's numbers come from Redis under the queue's change marker: an unchanged queue is
    not summed again, and a send that fails (which changes no ticket) still moves "Failed sends"."""
    login(client, "supervisor")
    assert _numbers(client, "/queue/folders")["failed"] == 0
    with statements.recorded() as ran:
        assert _numbers(client, "/queue/folders")["inbox"] == 9
    assert not [q for q in ran if "ticket_count" in q or "note_mention" in q], ran
    with db.session_scope() as s:
        ticket = s.scalar(select(Ticket).where(Ticket.channel_id == world["a"], Ticket.status == "open"))
        action = OutboundAction(channel_id=world["a"], ticket_id=ticket.id, kind="reply")
        s.add(action)
    assert _numbers(client, "/queue/folders")["failed"] == 0
    with db.session_scope() as s:      # as the worker settles a send the network refused
        s.get(OutboundAction, action.id).state = ActionState.FAILED
    assert _numbers(client, "/queue/folders")["failed"] == 1
    with db.session_scope() as s:      # and an archive, through any writer, moves Inbox
        s.get(Ticket, ticket.id).status = "archived"
    seen = _numbers(client, "/queue/folders")
    assert seen["inbox"] == 8 and seen["archived"] == 7


def _failed_rows(client) -> set[int]:
    page = client.get("/?folder=failed").get_data(as_text=True)
    return {int(i) for i in re.findall(r'id="ticket-(\d+)"', page.split('id="ticket-rows"')[1].split("</ul>")[0])}


def _failed_numbers(users) -> tuple[int, int]:
    """Failed sends as the supervisor (everything) and the agent (team A: channel A and shared) count it."""
    with db.session_scope() as s:
        return tuple(builtin_counts(s, s.get(User, users[role].id))["failed"] for role in ("supervisor", "agent"))


def test_failed_sends_follow_each_action_failing_retried_sent_and_deleted(client, users, world):
    """A ticket is in "Failed sends" while any of its actions is failed or unknown — as the worker,
    a retry and a delete change them — and its row (updated_at, version) is not touched for it."""
    login(client, "supervisor")
    with db.session_scope() as s:
        ticket = s.scalar(select(Ticket).where(Ticket.channel_id == world["a"], Ticket.status == "open"))
        other = s.scalar(select(Ticket).where(Ticket.channel_id == world["b"], Ticket.status == "archived"))
        first = OutboundAction(channel_id=world["a"], ticket_id=ticket.id, kind="reply")
        s.add(first)
        s.flush()
        ids = {"ticket": ticket.id, "other": other.id, "first": first.id}
        before = (ticket.updated_at, ticket.version)

    def move(action: str, state: ActionState) -> None:
        with db.session_scope() as s:
            s.get(OutboundAction, ids[action]).state = state

    assert _failed_rows(client) == set() and _failed_numbers(users) == (0, 0)
    move("first", ActionState.SENDING)
    move("first", ActionState.FAILED)                   # the network refused it
    assert _failed_rows(client) == {ids["ticket"]} and _failed_numbers(users) == (1, 1)
    move("first", ActionState.QUEUED)                   # Retry
    assert _failed_rows(client) == set() and _failed_numbers(users) == (0, 0)
    move("first", ActionState.SENDING)
    move("first", ActionState.SENT)
    assert _failed_rows(client) == set() and _failed_numbers(users) == (0, 0)
    with db.session_scope() as s:
        assert (s.get(Ticket, ids["ticket"]).updated_at, s.get(Ticket, ids["ticket"]).version) == before

    # Two actions on one ticket, one failed: the ticket stays while that one is failed or unknown.
    with db.session_scope() as s:
        second = OutboundAction(channel_id=world["a"], ticket_id=ids["ticket"], kind="like", state=ActionState.UNKNOWN)
        s.add(second)
        s.add(OutboundAction(channel_id=world["b"], ticket_id=ids["other"], kind="reply", state=ActionState.FAILED))
        s.flush()
        ids["second"] = second.id
    assert _failed_rows(client) == {ids["ticket"], ids["other"]}
    assert _failed_numbers(users) == (2, 1)             # the agent does not see channel B
    move("first", ActionState.FAILED)
    move("second", ActionState.SENT)                    # "Mark as sent": the first is still failed
    assert _failed_rows(client) == {ids["ticket"], ids["other"]} and _failed_numbers(users) == (2, 1)
    with db.session_scope() as s:                       # the failed one deleted: the sent one stays
        s.execute(delete(OutboundAction).where(OutboundAction.id == ids["first"]))
    assert _failed_rows(client) == {ids["other"]} and _failed_numbers(users) == (1, 0)
    with db.session_scope() as s:                       # a plain UPDATE, as bulk work writes
        s.execute(update(OutboundAction).where(OutboundAction.ticket_id == ids["other"]).values(state="sent"))
    assert _failed_rows(client) == set() and _failed_numbers(users) == (0, 0)


def _flags_wrong(session) -> list[int]:
    """Tickets whose has_failed_send is not what their actions say."""
    failing = select(OutboundAction.ticket_id).where(OutboundAction.state.in_(("failed", "unknown")))
    return list(session.scalars(select(Ticket.id).where(Ticket.has_failed_send != Ticket.id.in_(failing))))


def test_the_failed_send_flag_equals_its_actions_after_every_kind_of_change(app, users, world):
    """Inserts, state changes, moves between tickets, deletes (one, many, and by deleting the
    ticket) of outbound actions, through the ORM and plain statements, keep every flag right."""
    rnd = random.Random(5)
    states = ["queued", "sending", "sent", "failed", "unknown"]
    flagged = []
    for step in range(60):
        with db.session_scope() as s:
            tickets = list(s.scalars(select(Ticket.id)))
            actions = list(s.scalars(select(OutboundAction)))
            kind = step % 6 if actions else 0
            if kind == 0:
                s.add(OutboundAction(channel_id=world["a"], ticket_id=rnd.choice(tickets + [None]), kind="reply",
                                     state=rnd.choice(states)))
            elif kind in (1, 2):
                rnd.choice(actions).state = rnd.choice(states)
            elif kind == 3:
                rnd.choice(actions).ticket_id = rnd.choice(tickets + [None])
            elif kind == 4:
                s.execute(update(OutboundAction).where(OutboundAction.ticket_id == rnd.choice(tickets))
                          .values(state=rnd.choice(states)))
                if rnd.random() < 0.5:
                    s.delete(rnd.choice(actions))
            else:
                with_actions = [a.ticket_id for a in actions if a.ticket_id]
                if with_actions and len(tickets) > 6 and rnd.random() < 0.3:
                    s.execute(delete(Ticket).where(Ticket.id == rnd.choice(with_actions)))
                else:
                    s.execute(delete(OutboundAction).where(OutboundAction.state == rnd.choice(states)))
        with db.session_scope() as s:
            assert _flags_wrong(s) == [], f"after step {step} (kind {kind})"
            flagged.append(s.scalar(select(func.count()).select_from(Ticket).where(Ticket.has_failed_send.is_(True))))
    assert max(flagged) >= 2 and any(a > b for a, b in itertools.pairwise(flagged)), flagged   # raised and lowered


def test_a_retry_and_a_failure_at_once_on_one_ticket_leave_it_in_failed_sends(app, users, world):
    """PostgreSQL: one transaction retries a ticket's failed action while another marks its other
    action failed. The second waits for the first's ticket lock and then sees its commit, so the
    ticket stays flagged (deciding from a snapshot that missed the other left it unflagged)."""
    engine = db.engine()
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite runs one writer at a time")
    with db.session_scope() as s:
        ticket = s.scalar(select(Ticket).where(Ticket.channel_id == world["a"]))
        failed = OutboundAction(channel_id=world["a"], ticket_id=ticket.id, kind="reply", state=ActionState.FAILED)
        queued = OutboundAction(channel_id=world["a"], ticket_id=ticket.id, kind="like")
        s.add_all([failed, queued])
    retry, fail = engine.connect(), engine.connect()
    try:
        retry.execute(update(OutboundAction).where(OutboundAction.id == failed.id).values(state="queued"))
        failing = threading.Thread(target=lambda: (fail.execute(update(OutboundAction).where(
            OutboundAction.id == queued.id).values(state="failed")), fail.commit()))
        failing.start()
        while failing.is_alive() and not retry.scalar(text(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()")):
            time.sleep(0.01)
        retry.commit()
        failing.join()
    finally:
        retry.close()
        fail.close()
    with db.session_scope() as s:
        assert s.get(Ticket, ticket.id).has_failed_send
        assert _failed_numbers(users) == (1, 1)


def test_a_folder_is_its_filter_and_the_default_is_the_inbox(client, users, world):
    login(client, "supervisor")
    default = client.get("/").get_data(as_text=True)
    assert default.count('class="row-item"') == 9 and "archived" not in re.sub(r"<nav id=\"folders\".*?</nav>", "", default, flags=re.S).split('id="ticket-rows"')[1].split("</ul>")[0]
    archived = client.get("/?folder=archived").get_data(as_text=True)
    assert archived.count('class="row-item"') == 6 and 'aria-current="page"' in archived
    narrowed = client.get(f"/?folder=archived&channel_id={world['a']}").get_data(as_text=True)
    assert narrowed.count('class="row-item"') == 2
    assert client.get("/?folder=nope").status_code == 404
    assert client.get("/?folder=99999").status_code == 404


def test_save_the_current_view_as_a_folder_and_open_it(client, users, world):
    login(client, "agent")
    token = csrf_of(client, f"/?folder=archived&channel_id={world['a']}")
    answer = client.post("/folders", data={"csrf_token": token, "name": "Archive of A", "arg_status": "archived",
                                           "arg_channel_id": str(world["a"])})
    assert answer.status_code == 302
    folder_id = int(answer.headers["Location"].split("folder=")[1])
    page = client.get(f"/?folder={folder_id}").get_data(as_text=True)
    assert page.count('class="row-item"') == 2 and "Archive of A" in page
    assert _numbers(client)[str(folder_id)] == 2           # from the counters: status + channel
    bad = client.post("/folders", data={"csrf_token": csrf_of(client), "name": "", "arg_status": "archived"})
    assert bad.status_code == 422 and "needs a name" in bad.get_data(as_text=True)
    bad = client.post("/folders", data={"csrf_token": csrf_of(client), "name": "X", "arg_status": "lost"})
    assert bad.status_code == 422 and "status must be one of" in bad.get_data(as_text=True)
    client.get("/logout")
    login(client, "outsider")       # a personal folder is its owner's alone
    assert client.get(f"/?folder={folder_id}").status_code == 404


def test_a_folder_of_failed_sends_is_summed_from_the_counters_and_follows_a_failure_at_once(client, users, world):
    login(client, "agent")
    answer = client.post("/folders", data={"csrf_token": csrf_of(client), "name": "A's failures", "arg_failed": "1",
                                           "arg_channel_id": str(world["a"])})
    assert answer.status_code == 302, answer.get_data(as_text=True)
    folder_id = int(answer.headers["Location"].split("folder=")[1])
    assert _numbers(client)[str(folder_id)] == 0
    with db.session_scope() as s:
        ticket = s.scalar(select(Ticket).where(Ticket.channel_id == world["a"]))
        s.add(OutboundAction(channel_id=world["a"], ticket_id=ticket.id, kind="reply", state=ActionState.FAILED))
    with statements.recorded() as ran:
        assert _numbers(client)[str(folder_id)] == 1      # not a capped count kept for seconds: at once
    assert any("ticket_count" in q for q in ran), ran


def test_a_folder_with_a_tag_or_search_is_counted_with_a_cap(client, users, world):
    login(client, "supervisor")
    token = csrf_of(client)
    answer = client.post("/folders", data={"csrf_token": token, "name": "Open tickets", "arg_q": "ticket",
                                           "arg_status": "open"})
    folder_id = int(answer.headers["Location"].split("folder=")[1])
    assert _numbers(client)[str(folder_id)] == 9         # search words: counted (capped), not from the counters
    with db.session_scope() as s:
        s.add(Ticket(channel_id=world["a"], network="instagram", kind="comment", external_id="late", text="a ticket"))
    assert _numbers(client)[str(folder_id)] == 9         # kept for a few seconds: not counted on every page


def test_rename_share_reorder_and_delete_folders(client, users, world, token_for):
    supervisor, agent = auth(token_for("supervisor")), auth(token_for("agent"))
    with db.session_scope() as s:
        team_a = s.scalar(select(Team.id).where(Team.name == "Team A"))
    made = [client.post("/api/v1/folders", headers=agent, json={"name": f"Mine {i}", "args": {"status": "open"}})
            for i in range(3)]
    assert [m.status_code for m in made] == [201, 201, 201]
    ids = [m.get_json()["id"] for m in made]
    assert client.post("/api/v1/folders", headers=agent,
                       json={"name": "Team view", "team_id": team_a}).status_code == 403
    shared = client.post("/api/v1/folders", headers=supervisor,
                         json={"name": "Team A open", "args": {"status": "open"}, "team_id": team_a})
    assert shared.status_code == 201
    shared_id = shared.get_json()["id"]
    listed = [f["id"] for f in client.get("/api/v1/folders", headers=agent).get_json()["data"]]
    assert set(listed) == set(ids) | {shared_id}
    outsider = auth(token_for("outsider"))
    assert [f["id"] for f in client.get("/api/v1/folders", headers=outsider).get_json()["data"]] == []
    assert client.get(f"/api/v1/folders/{ids[0]}", headers=outsider).status_code == 404
    assert client.patch(f"/api/v1/folders/{shared_id}", headers=agent, json={"name": "Mine now"}).status_code == 403
    assert client.patch(f"/api/v1/folders/{ids[0]}", headers=agent, json={"name": "  First  "}).get_json()["name"] == "First"
    assert client.patch(f"/api/v1/folders/{ids[0]}", headers=agent, json={"args": {"colour": "red"}}).status_code == 422
    assert client.patch(f"/api/v1/folders/{ids[0]}", headers=agent, json={"args": {"tag": "x"}}).status_code == 422
    # reorder through the page: move the first one down
    login(client, "agent")
    client.post(f"/folders/{ids[0]}", data={"csrf_token": csrf_of(client, "/folders"), "action": "down"})
    order = [f["id"] for f in client.get("/api/v1/folders", headers=agent).get_json()["data"] if f["team_id"] is None]
    assert order.index(ids[1]) < order.index(ids[0])
    counts = {f["id"]: f["count"] for f in client.get("/api/v1/folders/counts", headers=agent).get_json()["data"]}
    assert counts["inbox"] == 6 and counts[shared_id] == 6
    tickets = client.get(f"/api/v1/tickets?folder={shared_id}", headers=agent).get_json()["data"]
    assert len(tickets) == 6 and {t["status"] for t in tickets} == {"open"}
    assert client.get("/api/v1/tickets?folder=mine", headers=agent).get_json()["data"] == []
    assert client.get("/api/v1/tickets?folder=424242", headers=agent).status_code == 404
    assert client.delete(f"/api/v1/folders/{shared_id}", headers=agent).status_code == 403
    assert client.delete(f"/api/v1/folders/{shared_id}", headers=supervisor).status_code == 204
    assert client.get(f"/api/v1/folders/{shared_id}", headers=agent).status_code == 404
