"""The send-time guard: a message, reply or note that arrived while a reply was being written is
shown before anything is sent, the text kept; "Send anyway" sends (inbox/live/guard.py)."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from helpers import csrf_of, load, login, post, run_jobs
from inbox import db
from models import Followup, FollowupType, Ticket, User


@pytest.fixture
def dm(client, channel) -> int:
    """A DM on the Getloo sandbox channel."""
    post(client, channel, load("incoming_text"))
    run_jobs()
    with db.session_scope() as s:
        return s.scalars(select(Ticket.id)).one()


class Pane:
    """One user with the ticket open: the composer's hidden fields as the page gave them."""

    def __init__(self, app, who: str, ticket_id: int):
        self.client, self.ticket_id = app.test_client(), ticket_id
        assert login(self.client, who).status_code == 302
        self.csrf = csrf_of(self.client)
        self.open()

    def open(self) -> str:
        html = self.client.get(f"/tickets/{self.ticket_id}", headers={"HX-Request": "true"}).get_data(as_text=True)
        self.take(html)
        return html

    def take(self, html: str) -> None:
        composer = html[html.index('id="composer"'):]
        self.version = re.search(r'name="version" value="(\d+)"', composer).group(1)
        self.seen = re.search(r'name="seen" value="([\d.]+)"', composer).group(1)

    def send(self, text: str, path: str = "reply", **extra):
        data = {"text": text, "version": self.version, "seen": self.seen, **extra}
        return self.client.post(f"/tickets/{self.ticket_id}/{path}", data=data,
                                headers={"HX-Request": "true", "X-CSRFToken": self.csrf})

    def note(self, text: str):
        return self.client.post(f"/tickets/{self.ticket_id}/notes", data={"text": text, "version": self.version},
                                headers={"HX-Request": "true", "X-CSRFToken": self.csrf})


def replies(ticket_id: int, kind=FollowupType.REPLY) -> list[str]:
    with db.session_scope() as s:
        return list(s.scalars(select(Followup.text).where(Followup.ticket_id == ticket_id, Followup.type == kind)))


def test_a_note_from_someone_else_is_shown_and_asked_about_then_send_anyway_sends(app, dm, sandbox):
    agent, supervisor = Pane(app, "agent", dm), Pane(app, "supervisor", dm)
    assert supervisor.note("Careful: they already got a refund").status_code == 200
    asked = agent.send("Your parcel is on its way")
    assert asked.status_code == 409
    html = asked.get_data(as_text=True)
    assert "1 new item arrived while you were writing" in html
    assert "Careful: they already got a refund" in html and "by Supervisor" in html
    assert "Your parcel is on its way" in html                      # the text is kept
    assert 'data-action="send-anyway"' in html and ">Send anyway<" in html
    assert replies(dm) == []                                         # nothing sent, nothing saved
    agent.take(html)
    sent = agent.send("Your parcel is on its way")
    assert sent.status_code == 200
    assert replies(dm) == ["Your parcel is on its way"]
    run_jobs()
    assert [m["caption"] for m in sandbox.state.sent][-1:] == ["Your parcel is on its way"]


def test_a_new_inbound_message_is_shown_before_sending(app, client, channel, dm):
    agent = Pane(app, "agent", dm)
    again = load("incoming_text")
    again["event"]["properties"]["queueId"] = "second-message"
    again["event"]["properties"]["content"]["body"] = "Never mind, it just arrived!"
    post(client, channel, again)
    run_jobs()
    asked = agent.send("Let me check for you")
    assert asked.status_code == 409
    html = asked.get_data(as_text=True)
    assert "New message" in html and "Never mind, it just arrived!" in html
    assert replies(dm) == []


def test_a_reply_someone_else_sent_meanwhile_is_shown(app, dm):
    agent, supervisor = Pane(app, "agent", dm), Pane(app, "supervisor", dm)
    assert supervisor.send("We sent a new one").status_code == 200
    asked = agent.send("I will look into it")
    assert asked.status_code == 409 and "We sent a new one" in asked.get_data(as_text=True)
    assert replies(dm) == ["We sent a new one"]


def test_the_users_own_note_does_not_stop_them(app, dm):
    agent = Pane(app, "agent", dm)
    seen = agent.seen
    assert agent.note("Note to self").status_code == 200
    agent.open()                  # the pane answers the note afresh, the composer with it
    assert agent.seen != seen
    agent.seen = seen             # as if the composer had been opened before the note
    assert agent.send("Hello").status_code == 200
    assert replies(dm) == ["Hello"]


def test_nothing_new_sends_at_once(app, dm):
    agent = Pane(app, "agent", dm)
    assert agent.send("Straight away").status_code == 200
    assert replies(dm) == ["Straight away"]


def test_triage_alone_keeps_the_existing_stale_version_answer(app, dm):
    """A change that is not something to read (priority) is the composer's old 409: the pane afresh."""
    agent = Pane(app, "agent", dm)
    with db.session_scope() as s:
        ticket = s.get(Ticket, dm)
        ticket.priority, ticket.version = True, ticket.version + 1
    answer = agent.send("Hi")
    assert answer.status_code == 409 and "arrived while you were writing" not in answer.get_data(as_text=True)
    assert answer.headers.get("HX-Retarget") == "#pane"
    assert replies(dm) == []


def test_suggest_is_guarded_too(app, dm, users):
    with db.session_scope() as s:
        s.get(User, users["agent"].id).reply_requires_approval = True
    agent, supervisor = Pane(app, "agent", dm), Pane(app, "supervisor", dm)
    supervisor.note("Check the order number first")
    asked = agent.send("Here is a suggestion", path="suggest")
    assert asked.status_code == 409
    html = asked.get_data(as_text=True)
    assert "Check the order number first" in html and ">Suggest anyway<" in html and "/suggest" in html
    assert replies(dm, FollowupType.SUGGESTION) == []
    agent.take(html)
    assert agent.send("Here is a suggestion", path="suggest").status_code == 200
    assert replies(dm, FollowupType.SUGGESTION) == ["Here is a suggestion"]


def test_a_malformed_position_is_not_a_500(app, dm):
    agent = Pane(app, "agent", dm)
    agent.seen = "garbage'<>"
    assert agent.send("Hello").status_code == 200      # not guarded, like a form without it
