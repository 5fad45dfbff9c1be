"""Network limits known before sending: what each provider's docs say it takes as a reply (a
window, one private reply to a Getloo comment, lengths, file types, a closed Resont ticket).

The rules are checked three ways: through the pure ``Connector.reply_limits`` (a table per
provider), through the API and the composer (refused with the reason, nothing queued, nothing
sent), and against the sandboxes, which hold the same rules as the docs: sent twice past our
check, the provider refuses the second.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from helpers import csrf_of, load, login, post, run_jobs
from inbox import db
from inbox.connectors import connector_class
from inbox.connectors.base import ProviderError, Rejected, ReplyContext, Target
from inbox.connectors.getloo import GetlooConnector
from inbox.connectors.resont import ResontConnector
from models import Followup, OutboundAction, Ticket, User

NOW = datetime(2026, 3, 1, 12, 0)
HOUR = timedelta(hours=1)


def limits(provider: str, kind: str, data: dict | None = None, **context):
    return connector_class(provider).reply_limits(kind, data or {}, ReplyContext(now=NOW, **context))


# -- the rules, through the pure function ------------------------------------------------------

@pytest.mark.parametrize("provider, kind, data, context, expected", [
    # Getloo: a DM takes 1,000 characters and a file of the documented types; no window.
    ("getloo", "conversation", {}, {"first_inbound_at": NOW - 30 * 24 * HOUR, "replies": 5},
     {"can_reply": True, "code": None, "reply_until": None, "max_length": 1000, "attachments": True}),
    # A comment: one reply in direct, within 24 hours of the comment, text only.
    ("getloo", "comment", {}, {"first_inbound_at": NOW - HOUR},
     {"can_reply": True, "reply_until": NOW + 23 * HOUR, "max_length": 1000, "attachments": False}),
    ("getloo", "comment", {}, {"first_inbound_at": NOW - 24 * HOUR},
     {"can_reply": False, "code": "reply_window_closed", "reply_until": NOW}),
    ("getloo", "comment", {}, {"first_inbound_at": NOW - 25 * HOUR},
     {"can_reply": False, "code": "reply_window_closed", "reply_until": NOW - HOUR}),
    ("getloo", "comment", {}, {"first_inbound_at": NOW - HOUR, "replies": 1},
     {"can_reply": False, "code": "private_reply_used"}),
    ("getloo", "comment", {}, {},           # no message stored: no window to tell
     {"can_reply": True, "reply_until": None}),
    # Resont: a closed support ticket takes nothing; a comment Resont marks can_reply 0 neither.
    ("resont", "ticket", {"closed": True}, {}, {"can_reply": False, "code": "ticket_closed"}),
    ("resont", "ticket", {"closed": False}, {}, {"can_reply": True, "max_length": 5000, "attachments": False}),
    ("resont", "comment", {"can_reply": False}, {}, {"can_reply": False, "code": "reply_not_allowed"}),
    ("resont", "comment", {"can_reply": True}, {"first_inbound_at": NOW - 90 * 24 * HOUR, "replies": 3},
     {"can_reply": True, "reply_until": None, "max_length": 2200, "attachments": False}),
    ("resont", "conversation", {}, {}, {"can_reply": True, "max_length": 1000, "attachments": True}),
    # The others: walls and brand posts take no replies; a custom channel's manifest decides.
    ("socialwall", "wall_post", {}, {}, {"can_reply": False, "code": "replies_unsupported"}),
    ("socialposts", "post_failure", {}, {}, {"can_reply": False, "code": "replies_unsupported"}),
    ("custom", "conversation", {}, {"replies": 9}, {"can_reply": True, "reply_until": None, "max_length": None}),
])
def test_each_providers_documented_rule(provider, kind, data, context, expected):
    found = limits(provider, kind, data, **context)
    assert {key: getattr(found, key) for key in expected} == expected
    assert bool(found.reason) == (not found.can_reply)
    if not found.can_reply:
        refusal = found.refusal()
        assert isinstance(refusal, Rejected) and (refusal.code, refusal.message) == (found.code, found.reason)


@pytest.mark.parametrize("url, kind", [
    ("https://cdn.example.com/catalogue.jpg", "image"),
    ("https://cdn.example.com/PHOTO.PNG", "image"),
    ("https://cdn.example.com/note.m4a", "audio"),
    ("https://cdn.example.com/clip.mp4?x=1", "audio"),      # mp4 is both voice and video: 25 MB either way
    ("https://fileurl.ru/fileid", None),                    # the docs' own example: no extension to judge
])
def test_getloo_takes_the_documented_file_types(url, kind):
    rule = limits("getloo", "conversation").attachment_rule(url)
    assert (rule.kind if rule else None) == kind
    if rule:
        assert rule.max_bytes == (8 if kind == "image" else 25) * 1024 * 1024


@pytest.mark.parametrize("url", ["https://cdn.example.com/menu.pdf", "https://cdn.example.com/a.gif",
                                 "https://cdn.example.com/setup.exe"])
def test_getloo_refuses_other_file_types_with_the_accepted_ones(url):
    with pytest.raises(Rejected) as refused:
        limits("getloo", "conversation").attachment_rule(url)
    assert refused.value.code == "attachment_type"
    assert ".jpg" in refused.value.message and "8 MB" in refused.value.message


# -- the API: refused with the reason, nothing queued, nothing sent ------------------------------

def comment(comment_id: str, written: datetime, user_id: str = "47367670531") -> dict:
    body = load("incoming_comment")
    body["event"]["createdAt"] = written.isoformat(timespec="seconds")
    body["event"]["properties"]["queueId"] = f"q-{comment_id}"
    body["device"].update(comment_id=comment_id, user_id=user_id)
    return body


def ticket_of(external_id: str) -> int:
    with db.session_scope() as s:
        return s.scalars(select(Ticket.id).filter_by(external_id=external_id)).one()


def queued(ticket_id: int) -> tuple[int, int]:
    with db.session_scope() as s:
        return (s.scalar(select(func.count()).select_from(Followup).filter_by(ticket_id=ticket_id)),
                s.scalar(select(func.count()).select_from(OutboundAction).filter_by(ticket_id=ticket_id)))


def sendmsg_calls(sandbox) -> int:
    return sum(1 for r in sandbox.state.requests if r["method"] == "sendMsg")


def reply(api, ticket_id: int, **body):
    return api("agent").post(f"/api/v1/tickets/{ticket_id}/actions/reply", json=body)


def test_the_api_refuses_a_reply_to_a_comment_older_than_24_hours(client, channel, sandbox, api):
    post(client, channel, comment("old-1", datetime.now(timezone.utc) - 25 * HOUR))
    run_jobs()
    ticket_id = ticket_of("comment:old-1")
    refused = reply(api, ticket_id, text="Sorry for the wait!")
    assert refused.status_code == 422
    error = refused.get_json()["error"]
    assert error["code"] == "reply_window_closed" and "24 hours" in error["message"]
    run_jobs()
    assert queued(ticket_id) == (0, 0) and sendmsg_calls(sandbox) == 0


def test_the_api_takes_one_private_reply_to_a_comment_and_refuses_the_second(client, channel, sandbox, api):
    post(client, channel, comment("fresh-1", datetime.now(timezone.utc) - HOUR))
    run_jobs()
    ticket_id = ticket_of("comment:fresh-1")
    assert reply(api, ticket_id, text="Replied in your DMs 🙂").status_code == 202
    run_jobs()
    second = reply(api, ticket_id, text="One more thing")
    assert second.status_code == 422 and second.get_json()["error"]["code"] == "private_reply_used"
    run_jobs()
    assert queued(ticket_id) == (1, 1)
    assert [m["caption"] for m in sandbox.state.sent] == ["Replied in your DMs 🙂"]


def test_a_failed_private_reply_leaves_the_comment_answerable(client, channel, sandbox, api):
    """The provider refused it (nothing went out), so the one reply is still to be had."""
    post(client, channel, comment("fresh-2", datetime.now(timezone.utc) - HOUR))
    run_jobs()
    ticket_id = ticket_of("comment:fresh-2")
    sandbox.state.fail_next("sendMsg", 400, error="bad request")
    assert reply(api, ticket_id, text="First try").status_code == 202
    run_jobs()
    assert [f["status"] for f in api("agent").get(f"/api/v1/tickets/{ticket_id}").get_json()["followups"]] \
        == ["failed"]
    assert reply(api, ticket_id, text="Second try").status_code == 202
    run_jobs()
    assert [m["caption"] for m in sandbox.state.sent] == ["Second try"]


def test_the_api_refuses_a_file_type_getloo_does_not_take(client, channel, sandbox, api):
    body = load("incoming_text")
    body["event"]["createdAt"] = datetime.now(timezone.utc).isoformat()
    post(client, channel, body)
    run_jobs()
    ticket_id = ticket_of("dm:47367670531")
    refused = reply(api, ticket_id, text="The menu", attachment_url="https://cdn.example.com/menu.pdf")
    assert refused.status_code == 422 and refused.get_json()["error"]["code"] == "attachment_type"
    assert ".pdf" in refused.get_json()["error"]["message"]
    assert reply(api, ticket_id, text="The menu", attachment_url="https://cdn.example.com/menu.jpg").status_code == 202
    run_jobs()
    assert [m["file"] for m in sandbox.state.sent] == ["https://cdn.example.com/menu.jpg"]
    assert queued(ticket_id) == (1, 1)


def test_the_api_refuses_a_reply_to_a_closed_resont_ticket(resont, api):
    closed = ticket_of("ticket:4002")       # the sandbox's "Invoice for October", status Closed
    refused = reply(api, closed, text="Thanks again!")
    assert refused.status_code == 422 and refused.get_json()["error"]["code"] == "ticket_closed"
    run_jobs()
    assert queued(closed) == (0, 0)
    from sandbox import resont as resont_sandbox

    assert not [w for w in resont_sandbox.SANDBOX.writes if w["kind"] == "ticket.reply"]
    assert reply(api, ticket_of("ticket:4001"), text="Logged in again, thanks").status_code == 202


# -- the sandboxes hold the same rules: past our check, the provider refuses ---------------------

def test_getloo_refuses_a_second_private_reply_and_a_late_one(app, sandbox):
    """Straight to the connector (no check of ours): the provider's own refusal."""
    sandbox.state.build_comment(sandbox.token, user_id="9002", comment_id="c-1", username="kate",
                                profile_name="Kate", text="Great post!")
    late = (datetime.now(timezone.utc) - 25 * HOUR).isoformat(timespec="seconds")
    sandbox.state.build_comment(sandbox.token, user_id="9003", comment_id="c-2", username="olga",
                                profile_name="Olga", text="Цена?", created_at=late)
    connector = GetlooConnector(sandbox.url, {"token": sandbox.token})
    assert connector.send_reply("comment", {"comment_id": "c-1", "username": "kate"}, "In your DMs!")
    with pytest.raises(ProviderError) as again:
        connector.send_reply("comment", {"comment_id": "c-1", "username": "kate"}, "And again")
    assert again.value.status == 400 and "already been answered" in again.value.message
    with pytest.raises(ProviderError) as too_late:
        connector.send_reply("comment", {"comment_id": "c-2", "username": "olga"}, "Sorry, late")
    assert too_late.value.status == 400 and "24 hours" in too_late.value.message
    with pytest.raises(ProviderError) as pdf:
        connector.send_reply("conversation", {"user_id": "9002", "username": "kate"}, "Menu",
                             file="https://cdn.example.com/menu.pdf")
    assert pdf.value.status == 400 and "not supported" in pdf.value.message
    assert [m["caption"] for m in sandbox.state.sent] == ["In your DMs!"]


def test_resont_refuses_a_reply_to_a_closed_ticket(app, _sandbox_server):
    from sandbox import resont as resont_sandbox

    resont_sandbox.SANDBOX.reset()
    connector = ResontConnector(f"{_sandbox_server.url}/sandbox/resont/token/v1",
                                {"token": resont_sandbox.SANDBOX_TOKEN})
    target = Target(kind="ticket", external_id="ticket:4002", data={"ticket_id": "4002"})
    with pytest.raises(ProviderError) as refused:
        connector.perform("reply", target, {"text": "Thanks again!"})
    assert refused.value.status == 400 and "closed" in refused.value.message
    assert not [w for w in resont_sandbox.SANDBOX.writes if w["kind"] == "ticket.reply"]


# -- the composer: the window in the user's time zone, the reason and a disabled Send --------------

def send_button(html: str) -> str:
    match = re.search(r'<button type="submit"[^>]*>Send reply</button>', html)
    assert match, "no Send button in the composer"
    return match.group(0)


def test_the_composer_says_until_when_a_comment_can_be_answered_in_the_users_zone(client, users, channel, sandbox):
    written = (datetime.now(timezone.utc) - HOUR).replace(microsecond=0)
    post(client, channel, comment("fresh-3", written))
    run_jobs()
    with db.session_scope() as s:
        s.get(User, users["agent"].id).time_zone = "Asia/Tehran"
    login(client)
    ticket_id = ticket_of("comment:fresh-3")
    html = client.get(f"/tickets/{ticket_id}").get_data(as_text=True)
    until = (written + 24 * HOUR).astimezone(ZoneInfo("Asia/Tehran")).strftime("%d %b %H:%M")
    assert "Can reply until" in html and f"{until} Asia/Tehran" in html
    assert "disabled" not in send_button(html)


def test_the_composer_shows_why_no_reply_can_go_and_disables_send(client, users, channel, sandbox):
    post(client, channel, comment("old-2", datetime.now(timezone.utc) - 30 * HOUR))
    post(client, channel, comment("fresh-4", datetime.now(timezone.utc) - HOUR, user_id="555"))
    run_jobs()
    login(client)
    old, fresh = ticket_of("comment:old-2"), ticket_of("comment:fresh-4")
    html = client.get(f"/tickets/{old}").get_data(as_text=True)
    assert 'data-limit="reply_window_closed"' in html and "within 24 hours" in html
    assert "disabled" in send_button(html) and "Can reply until" not in html

    # The server refuses all the same (a stale page, a crafted request): inline, nothing queued.
    hx = {"HX-Request": "true", "X-CSRFToken": csrf_of(client)}
    refused = client.post(f"/tickets/{old}/reply", data={"text": "Hello?"}, headers=hx)
    assert refused.status_code == 422 and "within 24 hours" in refused.get_data(as_text=True)
    assert queued(old) == (0, 0)

    # One private reply used: the composer says so.
    assert client.post(f"/tickets/{fresh}/reply", data={"text": "In your DMs"}, headers=hx).status_code == 200
    run_jobs()
    html = client.get(f"/tickets/{fresh}").get_data(as_text=True)
    assert 'data-limit="private_reply_used"' in html and "disabled" in send_button(html)
    assert sendmsg_calls(sandbox) == 1


def test_the_composer_of_a_closed_resont_ticket_says_it_is_closed(client, users, resont):
    login(client)
    html = client.get(f"/tickets/{ticket_of('ticket:4002')}").get_data(as_text=True)
    assert 'data-limit="ticket_closed"' in html and "disabled" in send_button(html)
    html = client.get(f"/tickets/{ticket_of('ticket:4001')}").get_data(as_text=True)
    assert "data-limit" not in html and "disabled" not in send_button(html)


def test_the_composer_lists_the_file_types_getloo_takes(client, users, channel, sandbox):
    body = load("incoming_text")
    post(client, channel, body)
    run_jobs()
    login(client)
    html = client.get(f"/tickets/{ticket_of('dm:47367670531')}").get_data(as_text=True)
    assert 'data-limit="attachment_types"' in html and "image (.jpg" in html and "8 MB" in html
    assert 'maxlength="1000"' in html


# -- two replies at once: one private reply, whichever commits first ------------------------------

def test_two_private_replies_at_once_send_one(client, channel, sandbox, api, users, db_url):
    """Just before the request stores its reply, another request's reply to the same comment
    commits (made real on PostgreSQL; SQLite serializes writers from their first statement).
    The second sees the ticket changed under it: 409, nothing of it kept, one reply sent."""
    if db_url.startswith("sqlite"):
        pytest.skip("SQLite serializes writers from their first statement: no such race")
    from sqlalchemy import event

    import workers
    from inbox.queue import triage
    from inbox.replies.service import queue_reply

    post(client, channel, comment("race-1", datetime.now(timezone.utc) - HOUR))
    run_jobs()
    ticket_id, engine, armed = ticket_of("comment:race-1"), db.engine(), [True]

    def before(conn, _cursor, statement, *_args):
        if armed and statement.lstrip().upper().startswith("INSERT INTO FOLLOWUP"):
            armed.clear()
            with db.session_scope() as other:        # another agent's request, committed first
                ticket = other.get(Ticket, ticket_id)
                _, action = queue_reply(other, ticket, other.get(User, users["supervisor"].id), "The other reply")
                triage.bump_version(other, ticket)
                other.flush()
                action_id = action.id
            workers.send_soon(action_id)

    event.listen(engine, "before_cursor_execute", before)
    try:
        answer = reply(api, ticket_id, text="Mine")
    finally:
        event.remove(engine, "before_cursor_execute", before)
    assert answer.status_code == 409, answer.get_data(as_text=True)
    run_jobs()
    assert queued(ticket_id) == (1, 1)
    assert [m["caption"] for m in sandbox.state.sent] == ["The other reply"]
    again = reply(api, ticket_id, text="Mine, again")
    assert again.status_code == 422 and again.get_json()["error"]["code"] == "private_reply_used"
