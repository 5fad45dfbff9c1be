"""Suggested replies in the ticket pane: the composer says "Suggest" and why, the suggestion's card
with its author's and its approvers' buttons, the list's marker, and the three switches (a user's,
a channel's, a ticket's). Approved replies really leave for the Getloo sandbox."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from helpers import csrf_of, load, login, post, run_jobs
from inbox import db
from models import Channel, Followup, FollowupStatus, History, OutboundAction, Ticket, User


class Pane:
    """A logged-in browser tab: htmx requests with the page's CSRF token."""

    def __init__(self, app, role: str):
        self.client = app.test_client()
        assert login(self.client, role).status_code == 302
        self.headers = {"HX-Request": "true", "X-CSRFToken": csrf_of(self.client)}

    def get(self, path: str, htmx: bool = True):
        return self.client.get(path, headers=self.headers if htmx else {})

    def post(self, path: str, **data):
        return self.client.post(path, data=data, headers=self.headers)

    def html(self, path: str, htmx: bool = True) -> str:
        return self.get(path, htmx).get_data(as_text=True)


@pytest.fixture
def ticket(client, channel) -> int:
    """A DM on the Getloo sandbox channel "Shop": approved replies really leave."""
    post(client, channel, load("incoming_text"))
    run_jobs()
    with db.session_scope() as s:
        return s.scalars(select(Ticket.id)).one()


@pytest.fixture
def agent(app, users) -> Pane:
    return Pane(app, "agent")


@pytest.fixture
def boss(app, users) -> Pane:
    return Pane(app, "supervisor")


def _hold(user_id: int) -> None:
    with db.session_scope() as s:
        s.get(User, user_id).reply_requires_approval = True


def _version(ticket_id: int) -> int:
    with db.session_scope() as s:
        return s.get(Ticket, ticket_id).version


def _suggest(pane: Pane, ticket_id: int, text: str):
    return pane.post(f"/tickets/{ticket_id}/suggest", text=text, version=str(_version(ticket_id)))


def _only_suggestion(ticket_id: int) -> int:
    with db.session_scope() as s:
        return s.scalars(select(Followup.id).where(Followup.ticket_id == ticket_id)).one()


def _card(html: str, followup_id: int) -> str:
    """The suggestion's (or reply's) card in the pane's thread."""
    start = html.index(f'id="followup-{followup_id}"')
    following = html.find('id="followup-', start + 1)
    return html[start:following if following != -1 else len(html)]


# -- the composer -----------------------------------------------------------------------------------

def test_the_composer_says_suggest_and_why_when_held_and_send_otherwise(api, agent, boss, channel, ticket):
    free = agent.html(f"/tickets/{ticket}")
    assert ">Send reply</button>" in free and 'data-action="reply-archive"' in free
    assert 'data-action="suggest"' not in free and "approval-reasons" not in free

    assert api("admin").patch(f"/api/v1/channels/{channel['id']}",
                              json={"settings": {"require_approval": True}}).status_code == 200
    held = agent.html(f"/tickets/{ticket}")
    assert ">Suggest</button>" in held and f'formaction="/tickets/{ticket}/suggest"' in held
    assert "Replies on Shop go through approval." in held
    assert ">Send reply</button>" not in held and 'data-action="reply-archive"' not in held
    # A supervisor approves their own suggestions: not held by the channel.
    assert ">Send reply</button>" in boss.html(f"/tickets/{ticket}")


def test_suggesting_from_the_pane_sends_nothing_and_marks_the_ticket(agent, boss, users, ticket, sandbox):
    _hold(users["agent"].id)
    held = agent.html(f"/tickets/{ticket}")
    assert "Your replies go through approval." in held
    answer = _suggest(agent, ticket, "Добрый день! <b>Скоро</b> ответим.")
    assert answer.status_code == 200 and answer.headers["HX-Retarget"] == "#pane"
    fid = _only_suggestion(ticket)
    card = _card(answer.get_data(as_text=True), fid)
    assert "Awaiting approval since" in card and "Suggested by Agent" in card
    assert '<div class="bubble suggestion" dir="auto">Добрый день! &lt;b&gt;Скоро&lt;/b&gt; ответим.</div>' in card
    assert 'data-action="withdraw"' in card and 'data-action="revise"' in card
    assert 'data-action="approve"' not in card                       # an agent cannot approve
    run_jobs()
    assert sandbox.state.sent == []
    with db.session_scope() as s:
        assert s.scalars(select(OutboundAction)).all() == []
        assert s.get(Followup, fid).status == FollowupStatus.SUGGESTED
    # Everyone sees it; those who approve get the buttons; the list and the header are marked.
    seen = _card(boss.html(f"/tickets/{ticket}"), fid)
    assert 'data-action="approve"' in seen and 'data-action="reject"' in seen and "Edit &amp; approve" in seen
    assert 'data-action="withdraw"' not in seen
    rows = boss.html("/queue/rows")
    row = rows[rows.index(f'id="ticket-{ticket}"'):]
    assert '<span class="badge suggested"' in row.split("</a>", 1)[0]
    page = boss.html(f"/tickets/{ticket}", htmx=False)
    assert page.count('class="badge suggested"') >= 2                 # its row and the pane's header


def test_the_reply_route_refuses_a_held_reply_and_sends_nothing(agent, users, ticket, sandbox):
    _hold(users["agent"].id)
    refused = agent.post(f"/tickets/{ticket}/reply", text="Sent anyway?", version=str(_version(ticket)),
                         archive="1")
    body = refused.get_data(as_text=True)
    assert refused.status_code == 409
    assert "Not sent: this reply needs approval." in body and ">Suggest</button>" in body and "Sent anyway?" in body
    run_jobs()
    assert sandbox.state.sent == []
    with db.session_scope() as s:
        assert s.scalars(select(Followup)).all() == [] and s.scalars(select(OutboundAction)).all() == []
        assert s.get(Ticket, ticket).status == "open"


def test_a_suggestion_the_provider_would_refuse_stays_in_the_composer(agent, users, ticket):
    _hold(users["agent"].id)
    refused = _suggest(agent, ticket, "x" * 1001)
    assert refused.status_code == 422 and "at most 1000 characters" in refused.get_data(as_text=True)
    with db.session_scope() as s:
        assert s.scalars(select(Followup)).all() == []


# -- deciding from the card -------------------------------------------------------------------------

def test_approve_from_the_pane_sends_the_reply_once(agent, boss, users, ticket, sandbox):
    _suggest(agent, ticket, "Thanks, we will look into it.")
    fid = _only_suggestion(ticket)
    approved = boss.post(f"/tickets/{ticket}/suggestions/{fid}/approve")
    assert approved.status_code == 200
    card = _card(approved.get_data(as_text=True), fid)
    assert "Approved by Supervisor" in card and 'data-status="queued"' in card and "Original suggestion" not in card
    assert 'class="badge suggested"' not in approved.get_data(as_text=True)     # no longer marked
    run_jobs()
    assert [m["caption"] for m in sandbox.state.sent] == ["Thanks, we will look into it."]
    # The author sees it as their reply, approved.
    assert "Approved by Supervisor" in _card(agent.html(f"/tickets/{ticket}"), fid)


def test_edit_and_approve_sends_the_edited_words_and_shows_the_original(agent, boss, ticket, sandbox):
    _suggest(agent, ticket, "thx")
    fid = _only_suggestion(ticket)
    too_long = boss.post(f"/tickets/{ticket}/suggestions/{fid}/approve", text="y" * 1001)
    card = _card(too_long.get_data(as_text=True), fid)
    assert too_long.status_code == 422 and "at most 1000 characters" in card
    assert '<details class="suggestion-edit" open>' in card and "y" * 1001 in card      # the words typed are kept
    with db.session_scope() as s:
        assert s.get(Followup, fid).status == FollowupStatus.SUGGESTED
    done = boss.post(f"/tickets/{ticket}/suggestions/{fid}/approve", text="Thank you for writing to us!")
    card = _card(done.get_data(as_text=True), fid)
    assert done.status_code == 200 and "Edited &amp; approved by Supervisor" in card
    assert re.search(r"<summary>Original suggestion</summary><div class=\"bubble\" dir=\"auto\">thx</div>", card)
    run_jobs()
    assert [m["caption"] for m in sandbox.state.sent] == ["Thank you for writing to us!"]


def test_reject_needs_a_reason_then_the_author_reads_it_and_revises(agent, boss, ticket, sandbox):
    _suggest(agent, ticket, "k")
    fid = _only_suggestion(ticket)
    empty = boss.post(f"/tickets/{ticket}/suggestions/{fid}/reject", reason="   ")
    card = _card(empty.get_data(as_text=True), fid)
    assert empty.status_code == 422 and "Say why the suggestion is rejected" in card and 'role="alert"' in card
    assert '<details class="suggestion-reject" open>' in card
    with db.session_scope() as s:
        assert s.get(Followup, fid).status == FollowupStatus.SUGGESTED

    rejected = boss.post(f"/tickets/{ticket}/suggestions/{fid}/reject", reason="Greet them by name, please.")
    assert rejected.status_code == 200
    assert "Rejected by Supervisor: <bdi dir=\"auto\">Greet them by name, please.</bdi>" in _card(
        rejected.get_data(as_text=True), fid)
    mine = _card(agent.html(f"/tickets/{ticket}"), fid)
    assert '<p class="rejection-reason" role="status"><strong>Rejected by Supervisor:</strong>' in mine
    assert "Greet them by name, please." in mine
    assert re.search(r'<textarea id="suggestion-revise-\d+" name="text"[^>]*>k</textarea>', mine)   # prefilled
    assert ">Suggest again</button>" in mine and 'data-action="withdraw"' not in mine

    revised = agent.post(f"/tickets/{ticket}/suggestions/{fid}/revise", text="Hello Anna, thanks for writing!")
    assert revised.status_code == 200
    with db.session_scope() as s:
        newer = s.scalars(select(Followup).where(Followup.revision_of_id == fid)).one()
        assert (newer.status, newer.text) == (FollowupStatus.SUGGESTED, "Hello Anna, thanks for writing!")
        newer_id = newer.id
    html = revised.get_data(as_text=True)
    assert "Revised: see the newer suggestion." in _card(html, fid)
    assert "revises a rejected suggestion" in _card(html, newer_id)
    run_jobs()
    assert sandbox.state.sent == []


def test_the_author_revises_a_pending_suggestion_in_place_and_withdraws_it(agent, boss, ticket):
    _suggest(agent, ticket, "First words")
    fid = _only_suggestion(ticket)
    assert boss.post(f"/tickets/{ticket}/suggestions/{fid}/revise", text="Not mine").status_code == 403
    revised = agent.post(f"/tickets/{ticket}/suggestions/{fid}/revise", text="Better words")
    assert revised.status_code == 200 and "Better words" in _card(revised.get_data(as_text=True), fid)
    assert boss.post(f"/tickets/{ticket}/suggestions/{fid}/withdraw").status_code == 403
    withdrawn = agent.post(f"/tickets/{ticket}/suggestions/{fid}/withdraw")
    card = _card(withdrawn.get_data(as_text=True), fid)
    assert withdrawn.status_code == 200 and 'data-status="withdrawn"' in card and "Withdrawn" in card
    assert 'data-action="withdraw"' not in card and 'class="badge suggested"' not in withdrawn.get_data(as_text=True)
    with db.session_scope() as s:
        assert [h.action for h in s.scalars(select(History).where(History.ticket_id == ticket)
                                            .order_by(History.id))][-3:] == [
            "suggested", "suggestion_revised", "suggestion_withdrawn"]


def test_a_decision_taken_first_by_someone_else_is_a_409_with_who_decided(app, agent, boss, ticket, sandbox):
    admin = Pane(app, "admin")
    _suggest(agent, ticket, "Once only")
    fid = _only_suggestion(ticket)
    stale_page = admin.html(f"/tickets/{ticket}")                      # the admin looks at it...
    assert 'data-action="approve"' in _card(stale_page, fid)
    assert boss.post(f"/tickets/{ticket}/suggestions/{fid}/approve").status_code == 200   # ...the boss decides
    late = admin.post(f"/tickets/{ticket}/suggestions/{fid}/approve", text="Twice?")
    assert late.status_code == 409 and late.headers["HX-Retarget"] == "#pane"
    assert "Supervisor already approved this suggestion." in _card(late.get_data(as_text=True), fid)
    assert agent.post(f"/tickets/{ticket}/suggestions/{fid}/withdraw").status_code == 409
    assert admin.post(f"/tickets/{ticket}/suggestions/{fid}/reject", reason="late").status_code == 409
    run_jobs()
    assert [m["caption"] for m in sandbox.state.sent] == ["Once only"]


def test_deciding_needs_the_permission_and_a_suggestion_of_this_ticket(agent, boss, ticket):
    _suggest(agent, ticket, "Mine")
    fid = _only_suggestion(ticket)
    assert agent.post(f"/tickets/{ticket}/suggestions/{fid}/approve").status_code == 403
    assert agent.post(f"/tickets/{ticket}/suggestions/{fid}/reject", reason="no").status_code == 403
    assert boss.post(f"/tickets/{ticket}/suggestions/{fid + 100}/approve").status_code == 404
    assert boss.post(f"/tickets/{ticket + 100}/suggestions/{fid}/approve").status_code == 404


# -- the switches -----------------------------------------------------------------------------------

def test_the_users_page_sets_replies_need_approval_and_the_overrides(app, users):
    admin = Pane(app, "admin")
    uid = users["agent"].id
    saved = admin.client.post(f"/settings/users/{uid}", data={
        "csrf_token": admin.headers["X-CSRFToken"], "name": "Agent", "role": "agent", "approval_fields": "1",
        "reply_requires_approval": "1", "override:ApproveSuggestion": "yes", "override:ApproveOwnSuggestion": ""})
    assert saved.status_code == 302
    with db.session_scope() as s:
        user = s.get(User, uid)
        assert user.reply_requires_approval is True and user.permission_overrides == {"ApproveSuggestion": True}
        assert user.can("ApproveSuggestion") and not user.can("ApproveOwnSuggestion")
    page = admin.html("/settings/users", htmx=False)
    row = page[page.index(f'id="user-{uid}"'):]
    row = row[:row.index("</tr>")]
    assert 'name="reply_requires_approval" value="1" checked' in row and "replies need approval" in row
    assert '<option value="yes" selected>Yes</option>' in row and "Role default (no)" in row
    # A form without the approval fields (an older page) leaves them as they are.
    admin.client.post(f"/settings/users/{uid}", data={"csrf_token": admin.headers["X-CSRFToken"],
                                                       "name": "Agent A", "role": "agent"})
    bad = admin.client.post(f"/settings/users/{uid}", data={
        "csrf_token": admin.headers["X-CSRFToken"], "name": "Agent", "role": "agent", "approval_fields": "1",
        "override:ApproveSuggestion": "maybe"})
    assert bad.status_code == 422 and "must be the role&#39;s default, yes or no" in bad.get_data(as_text=True)
    with db.session_scope() as s:
        user = s.get(User, uid)
        assert (user.name, user.reply_requires_approval, user.permission_overrides) == (
            "Agent A", True, {"ApproveSuggestion": True})
    # Cleared: unticked and back to the role's defaults.
    admin.client.post(f"/settings/users/{uid}", data={
        "csrf_token": admin.headers["X-CSRFToken"], "name": "Agent", "role": "agent", "approval_fields": "1",
        "override:ApproveSuggestion": "", "override:ApproveOwnSuggestion": ""})
    with db.session_scope() as s:
        assert (s.get(User, uid).reply_requires_approval, s.get(User, uid).permission_overrides) == (False, {})


def test_the_channels_page_switches_approval_per_channel(app, agent, channel, ticket):
    admin = Pane(app, "admin")
    url = f"/settings/channels/{channel['id']}/require-approval"
    token = admin.headers["X-CSRFToken"]
    assert "Replies need approval: off" in admin.html("/settings/channels", htmx=False)
    assert admin.client.post(url, data={"csrf_token": token, "on": "1"}).status_code == 302
    with db.session_scope() as s:
        assert s.get(Channel, channel["id"]).settings["require_approval"] is True
        assert s.get(Channel, channel["id"]).settings.get("token") is None       # nothing else touched
    assert "Replies need approval: on" in admin.html("/settings/channels", htmx=False)
    assert "Replies on Shop go through approval." in agent.html(f"/tickets/{ticket}")
    assert agent.client.post(url, data={"csrf_token": agent.headers["X-CSRFToken"], "on": "0"}).status_code == 403
    admin.client.post(url, data={"csrf_token": token, "on": "0"})
    assert ">Send reply</button>" in agent.html(f"/tickets/{ticket}")


def test_the_ticket_sidebar_and_the_api_switch_approval_per_ticket(api, agent, boss, ticket):
    free = agent.html(f"/tickets/{ticket}")
    assert 'data-action="require-approval"' not in free          # agents lack ApproveSuggestion
    assert agent.post(f"/tickets/{ticket}/triage/require_approval", on="1",
                      version=str(_version(ticket))).status_code == 403
    switched = boss.post(f"/tickets/{ticket}/triage/require_approval", on="1", version=str(_version(ticket)))
    html = switched.get_data(as_text=True)
    assert switched.status_code == 200 and "Replies on this ticket need approval: on" in html
    assert 'data-history="approval_required"' in html and "approval required on" in html
    held = agent.html(f"/tickets/{ticket}")
    assert "Replies on this ticket go through approval." in held and ">Suggest</button>" in held
    assert 'data-field="approval_required"' in held               # agents see that it is on

    answer = api("supervisor").post(f"/api/v1/tickets/{ticket}/actions/require_approval", json={"on": False})
    assert answer.status_code == 200 and answer.get_json()["approval_required"] is False
    assert api("agent").post(f"/api/v1/tickets/{ticket}/actions/require_approval",
                             json={"on": True}).status_code == 403
    bad = api("supervisor").post(f"/api/v1/tickets/{ticket}/actions/require_approval", json={"on": "yes"})
    assert bad.status_code == 422
    assert ">Send reply</button>" in agent.html(f"/tickets/{ticket}")


def test_a_custom_channels_exempt_reply_action_is_sent_and_the_others_are_held(client, token_for, app, users):
    """A manifest reply action with approvalProcess: false takes no part in approval: the composer
    judges by the preselected (first) action and the reply route checks the chosen one again."""
    actions = [{"id": "public", "type": "reply", "label": "Public reply", "config": {"approvalProcess": False}},
               {"id": "private", "type": "reply", "label": "Private reply"}]
    made = client.post("/api/v1/channels", headers={"Authorization": f"Bearer {token_for('admin')}"}, json={
        "provider": "custom", "name": "Shop support", "settings": {"manifest": {"inbox": {"ticketActions": actions}}}})
    assert made.status_code == 201, made.get_data(as_text=True)
    with db.session_scope() as s:
        row = Ticket(channel_id=made.get_json()["id"], network="custom", kind="ticket", external_id="order-1",
                     text="Where is my order?")
        s.add(row)
        s.flush()
        ticket_id = row.id
    _hold(users["agent"].id)
    agent = Pane(app, "agent")
    html = agent.html(f"/tickets/{ticket_id}")
    assert "Exempt from approval." in html and "not enforced yet" not in html
    assert ">Send reply</button>" in html and "approval-reasons" not in html
    refused = agent.post(f"/tickets/{ticket_id}/reply", text="Privately, then", action_id="private",
                         version=str(_version(ticket_id)))
    assert refused.status_code == 409 and "Your replies go through approval." in refused.get_data(as_text=True)
    with db.session_scope() as s:
        assert s.scalars(select(Followup)).all() == []
    sent = agent.post(f"/tickets/{ticket_id}/reply", text="Publicly", action_id="public",
                      version=str(_version(ticket_id)))
    assert sent.status_code == 200
    with db.session_scope() as s:
        [reply] = s.scalars(select(Followup)).all()
        assert (reply.type, reply.text, len(reply.actions)) == ("reply", "Publicly", 1)
