"""Live updates of the queue (GET /queue/changes) and presence (who views or replies to a ticket).

The world: team A (the agent) owns channel A, team B (the outsider) owns channel B. The poll
answers 304 when nothing changed; otherwise the "N new" banner, the changed rows re-rendered, the
folder sidebar and presence — each as the viewer may see it.
"""
from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from helpers import csrf_of, login
from inbox import db
from inbox.queue.queries import encode_cursor
from models import Channel, Interactor, Team, Ticket, User
from models.base import utcnow


@pytest.fixture
def world(app, users):
    with db.session_scope() as s:
        channels = {key: Channel(provider="getloo", network="instagram", name=f"Channel {key}",
                                 base_url="http://getloo.test", account_ref=f"acct-{key}") for key in ("a", "b")}
        s.add_all(channels.values())
        s.flush()
        s.add_all([Team(name="Team A", members=[s.get(User, users["agent"].id)], channels=[channels["a"]]),
                   Team(name="Team B", members=[s.get(User, users["outsider"].id)], channels=[channels["b"]])])
        base = utcnow() - timedelta(hours=1)
        tickets = {}
        for n, key in enumerate(("a1", "a2", "b1")):
            channel = channels[key[0]]
            sam = Interactor(channel_id=channel.id, external_id=f"sam-{key}", username=f"sam_{key}", name=f"Sam {key}")
            tickets[key] = Ticket(channel=channel, network="instagram", kind="conversation", external_id=key,
                                  text=f"Where is my parcel? ({key})", interactor=sam,
                                  last_activity_at=base + timedelta(minutes=n))
        s.add_all(tickets.values())
        s.flush()
        return {"channel": {k: c.id for k, c in channels.items()}, "ticket": {k: t.id for k, t in tickets.items()}}


def add_ticket(channel_id: int, key: str) -> int:
    with db.session_scope() as s:
        sam = Interactor(channel_id=channel_id, external_id=f"new-{key}", username=key, name=key)
        ticket = Ticket(channel_id=channel_id, network="instagram", kind="conversation", external_id=key,
                        text=f"New: {key}", interactor=sam, last_activity_at=utcnow())
        s.add(ticket)
        s.flush()
        return ticket.id


class Screen:
    """What one browser tab shows of the queue, and its polls (as static/live.js makes them)."""

    def __init__(self, app, who: str, open_ticket: int | None = None):
        self.client = app.test_client()
        assert login(self.client, who).status_code == 302
        self.csrf = csrf_of(self.client)
        self.open_ticket, self.etag = open_ticket, None
        self.reload()

    def reload(self) -> None:
        with db.session_scope() as s:
            html = self.client.get("/").get_data(as_text=True)
            ids = [int(i) for i in re.findall(r'data-ticket="(\d+)" data-version', html)]
            rows = {t.id: t for t in s.scalars(select(Ticket).where(Ticket.id.in_(ids)))}
            self.rows = {i: rows[i].version for i in ids}
            self.top = encode_cursor(rows[ids[0]]) if ids else ""

    def poll(self, conditional: bool = True):
        args = {"rows": ",".join(f"{i}:{v}" for i, v in self.rows.items()), "top": self.top}
        if self.open_ticket:
            args["open"] = str(self.open_ticket)
        headers = {"If-None-Match": self.etag} if conditional and self.etag else {}
        answer = self.client.get("/queue/changes", query_string=args, headers=headers)
        if answer.status_code == 200:
            self.etag = answer.headers["ETag"]
        return answer

    def beat(self, ticket_id: int, state: str = "viewing"):
        return self.client.post(f"/tickets/{ticket_id}/presence", data={"state": state},
                                headers={"X-CSRFToken": self.csrf})


def new_count(html: str) -> int:
    return int(re.search(r'data-live-target="#live-banner" data-live-swap="inner" data-new="(\d+)"', html).group(1))


def inbox_count(html: str) -> int:
    return int(re.search(r'id="count-inbox" aria-label="(\d+) items"', html).group(1))


def test_nothing_changed_answers_304_without_a_body(app, world):
    agent = Screen(app, "agent")
    first = agent.poll()
    assert first.status_code == 200 and agent.etag
    assert new_count(first.get_data(as_text=True)) == 0
    again = agent.poll()
    assert again.status_code == 304
    assert again.get_data() == b""


def test_a_new_item_in_the_view_is_counted_and_the_counter_follows(app, world):
    agent = Screen(app, "agent")
    before = inbox_count(agent.poll().get_data(as_text=True))
    assert before == 2                       # a1 and a2: b1 is team B's
    add_ticket(world["channel"]["a"], "fresh")
    answer = agent.poll()
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    assert new_count(html) == 1 and "1 new — show" in html
    assert inbox_count(html) == 3
    # Nothing more: 304 again, the banner the page shows stays as it is.
    assert agent.poll().status_code == 304


def test_a_change_to_a_shown_row_re_renders_that_row_only(app, world):
    agent = Screen(app, "agent")
    agent.poll()
    a1, a2 = world["ticket"]["a1"], world["ticket"]["a2"]
    with db.session_scope() as s:
        ticket = s.get(Ticket, a1)
        ticket.priority, ticket.version = True, ticket.version + 1
    html = agent.poll().get_data(as_text=True)
    rows = re.findall(r"<template data-live-target='li.row-item\[data-ticket=\"(\d+)\"\]' data-live-swap=\"outer\">\s*"
                      r'<li class="row-item" data-ticket="\d+" data-version="(\d+)"', html)
    assert rows == [(str(a1), "2")]
    assert 'title="Priority"' in html and str(a2) not in re.findall(r'data-ticket="(\d+)" data-version', html)
    assert new_count(html) == 0   # changed in place, not newer than the top row (a2)


def test_an_agent_learns_nothing_of_another_teams_new_tickets(app, world):
    agent, outsider = Screen(app, "agent"), Screen(app, "outsider")
    agent_before = inbox_count(agent.poll().get_data(as_text=True))
    outsider_before = inbox_count(outsider.poll().get_data(as_text=True))
    hidden = add_ticket(world["channel"]["b"], "team-b-only")
    agent_html = agent.poll().get_data(as_text=True)
    assert new_count(agent_html) == 0 and inbox_count(agent_html) == agent_before
    assert f'data-ticket="{hidden}"' not in agent_html and "team-b-only" not in agent_html
    outsider_html = outsider.poll().get_data(as_text=True)
    assert new_count(outsider_html) == 1 and inbox_count(outsider_html) == outsider_before + 1


def test_a_row_the_viewer_cannot_see_is_never_re_rendered_for_them(app, world):
    outsider = Screen(app, "outsider")
    a1 = world["ticket"]["a1"]
    outsider.rows[a1] = 1          # a forged poll naming team A's ticket with a stale version
    with db.session_scope() as s:
        s.get(Ticket, a1).version = 5
    html = outsider.poll().get_data(as_text=True)
    assert f'data-ticket="{a1}"' not in html and "Sam a1" not in html


def test_bad_poll_arguments_are_a_400(app, world):
    agent = Screen(app, "agent")
    for args in ({"rows": "1:x"}, {"rows": "a,b"}, {"top": "not-a-cursor"}, {"open": "-1"},
                 {"open": "99999999999"}, {"rows": "99999999999:1"}, {"rows": "1:" + "9" * 400}, {"status": "nope"}):
        answer = agent.client.get("/queue/changes", query_string=args)
        assert answer.status_code == 400, args


def test_the_poll_needs_a_login(app, world):
    answer = app.test_client().get("/queue/changes")
    assert answer.status_code in (302, 401)


# ---- presence ----

def test_who_is_viewing_and_replying_shows_in_the_pane_and_the_row_of_others(app, world):
    a1 = world["ticket"]["a1"]
    agent, supervisor = Screen(app, "agent", open_ticket=a1), Screen(app, "supervisor", open_ticket=a1)
    assert agent.beat(a1).status_code == 204
    pane = supervisor.client.get(f"/tickets/{a1}", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Agent is viewing" in pane
    page = supervisor.client.get("/").get_data(as_text=True)
    row = re.search(rf'id="presence-row-{a1}">(.*?)</span></span></span>', page).group(1)
    assert 'data-state="viewing"' in row and "Agent is viewing" in row and ">A<" in row
    # Never the viewer themself.
    own = agent.client.get(f"/tickets/{a1}", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Agent is viewing" not in own
    # Replying: the supervisor's next poll answers (presence is part of the ETag) with it.
    supervisor.poll()
    assert supervisor.poll().status_code == 304
    agent.beat(a1, "replying")
    html = supervisor.poll().get_data(as_text=True)
    assert "Agent is replying…" in html and f'#pane-presence[data-ticket="{a1}"]' in html
    # Leaving: gone from the pane and the row.
    agent.beat(a1, "leave")
    html = supervisor.poll().get_data(as_text=True)
    assert "Agent is" not in html


def test_presence_expires_when_the_browser_goes_away(app, world):
    app.config["PRESENCE_TTL_SECONDS"] = 0.5
    a1 = world["ticket"]["a1"]
    agent, supervisor = Screen(app, "agent"), Screen(app, "supervisor", open_ticket=a1)
    agent.beat(a1)
    assert "Agent is viewing" in supervisor.poll().get_data(as_text=True)
    time.sleep(0.7)                      # no more heartbeats: the browser is gone
    html = supervisor.poll().get_data(as_text=True)
    assert "Agent is" not in html


def test_presence_respects_team_visibility(app, world):
    a1, b1 = world["ticket"]["a1"], world["ticket"]["b1"]
    agent, outsider = Screen(app, "agent"), Screen(app, "outsider")
    # Nobody can announce themself on a ticket they may not see (and learn it exists).
    assert outsider.beat(a1).status_code == 404
    assert agent.beat(b1).status_code == 404
    # Nor learn who is on one by naming it in a poll.
    agent.beat(a1, "replying")
    outsider.rows[a1], outsider.open_ticket = 1, a1
    html = outsider.poll().get_data(as_text=True)
    assert "Agent is" not in html


def test_bad_presence_state_is_a_400_and_csrf_is_required(app, world):
    a1 = world["ticket"]["a1"]
    agent = Screen(app, "agent")
    assert agent.beat(a1, "dancing").status_code == 400
    assert agent.client.post(f"/tickets/{a1}/presence", data={"state": "viewing"}).status_code in (400, 403)


@pytest.mark.usefixtures("redis_server")
def test_with_redis_down_the_queue_and_the_poll_still_work_without_presence(app, world, redis_server):
    a1 = world["ticket"]["a1"]
    agent, supervisor = Screen(app, "agent"), Screen(app, "supervisor", open_ticket=a1)
    agent.beat(a1)
    assert "Agent is viewing" in supervisor.poll().get_data(as_text=True)
    redis_server.stop()
    assert agent.beat(a1, "replying").status_code == 204          # dropped, not an error
    assert supervisor.client.get("/").status_code == 200
    pane = supervisor.client.get(f"/tickets/{a1}", headers={"HX-Request": "true"})
    assert pane.status_code == 200 and "Agent is" not in pane.get_data(as_text=True)
    add_ticket(world["channel"]["a"], "while-down")
    answer = supervisor.poll()
    assert answer.status_code == 200 and new_count(answer.get_data(as_text=True)) == 1
    assert "Agent is" not in answer.get_data(as_text=True)


def _script_calls() -> int:
    import workers

    stats = workers.connection().info("commandstats")
    return sum(stats.get(name, {}).get("calls", 0) for name in ("cmdstat_evalsha", "cmdstat_eval"))


def test_the_rows_presence_of_a_page_is_one_redis_call(app, world):
    a1, a2 = world["ticket"]["a1"], world["ticket"]["a2"]
    agent, supervisor = Screen(app, "agent"), Screen(app, "supervisor")
    agent.beat(a1)
    agent.beat(a2, "replying")
    before = _script_calls()
    page = supervisor.client.get("/?folder=all").get_data(as_text=True)
    assert _script_calls() - before == 1
    assert "Agent is viewing" in page and "Agent is replying…" in page


def test_a_core_update_of_many_tickets_is_seen_by_the_marker_too(app, world):
    """Bulk work and version bumps write with Core UPDATE statements, not ORM objects: the column's
    onupdate still moves updated_at, so the poll notices."""
    from sqlalchemy import update

    agent = Screen(app, "agent")
    agent.poll()
    assert agent.poll().status_code == 304
    with db.session_scope() as s:
        s.execute(update(Ticket).where(Ticket.id.in_([world["ticket"]["a1"], world["ticket"]["a2"]]))
                  .values(priority=True, version=Ticket.version + 1).execution_options(synchronize_session=False))
    answer = agent.poll()
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    assert sorted(re.findall(r'data-ticket="(\d+)" data-version="2"', html)) == sorted(
        [str(world["ticket"]["a1"]), str(world["ticket"]["a2"])])


def test_a_failed_send_refreshes_the_failed_sends_number_though_no_ticket_changed(app, world):
    """A send the network refused changes an outbound action, not its ticket: the poll still
    answers with the sidebar, "Failed sends" now 1."""
    from models import ActionState, OutboundAction

    agent = Screen(app, "agent")
    agent.poll()
    assert agent.poll().status_code == 304
    with db.session_scope() as s:
        action = OutboundAction(channel_id=world["channel"]["a"], ticket_id=world["ticket"]["a1"], kind="reply")
        s.add(action)
        s.flush()
        action.state = ActionState.FAILED
    answer = agent.poll()
    assert answer.status_code == 200
    assert re.search(r'id="count-failed"[^>]*>1<', answer.get_data(as_text=True))


def test_a_note_from_a_colleague_redraws_the_row_for_the_others(app, world):
    a1 = world["ticket"]["a1"]
    agent, supervisor = Screen(app, "agent"), Screen(app, "supervisor")
    agent.poll()
    pane = supervisor.client.get(f"/tickets/{a1}", headers={"HX-Request": "true"}).get_data(as_text=True)
    version = re.search(r'class="note-form".*?name="version" value="(\d+)"', pane, re.S).group(1)
    added = supervisor.client.post(f"/tickets/{a1}/notes", data={"text": "Call them back", "version": version},
                                   headers={"HX-Request": "true", "X-CSRFToken": supervisor.csrf})
    assert added.status_code == 200
    html = agent.poll().get_data(as_text=True)
    assert f'data-ticket="{a1}" data-version="{int(version) + 1}"' in html


def test_an_unknown_folder_in_the_poll_is_a_404(client, users):
    from helpers import login

    login(client, "agent")
    assert client.get("/queue/changes?folder=nope").status_code == 404
