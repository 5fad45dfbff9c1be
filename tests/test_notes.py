"""Internal notes: teammates add, edit and delete their own notes on a ticket, @mention each other
(who then find the ticket under "mentions me"), and nothing of it ever reaches the network.

API: ``note {text}`` (201 with the note), ``note_edit {followup_id, text}`` (200),
``note_delete {followup_id}`` (204) on ``POST /api/v1/tickets/{id}/actions/{action}``.
"""
from __future__ import annotations

import html
import json
import re

from sqlalchemy import func, select

from helpers import csrf_of, load, login, post, run_jobs
from inbox import db
from models import Followup, History, OutboundAction, Ticket, User
from inbox.queue import notes


def auth(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}



def act(client, ticket_id: int, action: str, body: dict, token: str):
    return client.post(f"/api/v1/tickets/{ticket_id}/actions/{action}", json=body, headers=auth(token))


def version(client, ticket_id: int, token: str) -> int:
    return client.get(f"/api/v1/tickets/{ticket_id}", headers=auth(token)).get_json()["version"]


def history(ticket_id: int) -> list[str]:
    with db.session_scope() as s:
        return [h.action for h in s.scalars(select(History).filter_by(ticket_id=ticket_id).order_by(History.id))]


def test_add_edit_delete_own_note_through_the_api(client, users, token_for, ticket_id):
    agent = token_for("agent")
    start = version(client, ticket_id, agent)

    added = act(client, ticket_id, "note", {"text": "  Customer is VIP  ", "version": start}, agent)
    assert added.status_code == 201, added.get_data(as_text=True)
    note = added.get_json()
    assert note["type"] == "note" and note["text"] == "Customer is VIP" and note["author_id"] == users["agent"].id
    assert version(client, ticket_id, agent) == start + 1

    edited = act(client, ticket_id, "note_edit", {"followup_id": note["id"], "text": "Customer is VIP!"}, agent)
    assert edited.status_code == 200 and edited.get_json()["text"] == "Customer is VIP!"
    detail = client.get(f"/api/v1/tickets/{ticket_id}", headers=auth(agent)).get_json()
    assert [f["text"] for f in detail["followups"] if f["type"] == "note"] == ["Customer is VIP!"]

    deleted = act(client, ticket_id, "note_delete", {"followup_id": note["id"]}, agent)
    assert deleted.status_code == 204
    detail = client.get(f"/api/v1/tickets/{ticket_id}", headers=auth(agent)).get_json()
    assert [f for f in detail["followups"] if f["type"] == "note"] == []
    assert history(ticket_id) == ["note_added", "note_edited", "note_deleted"]
    assert detail["version"] == start + 3


def test_another_users_note_cannot_be_edited_or_deleted(client, token_for, ticket_id):
    agent, supervisor = token_for("agent"), token_for("supervisor")
    note = act(client, ticket_id, "note", {"text": "mine"}, agent).get_json()

    for action, body in (("note_edit", {"followup_id": note["id"], "text": "theirs now"}),
                         ("note_delete", {"followup_id": note["id"]})):
        refused = act(client, ticket_id, action, body, supervisor)
        assert refused.status_code == 403, refused.get_data(as_text=True)
        assert refused.get_json()["error"]["code"] == "not_your_note"
    with db.session_scope() as s:
        assert s.get(Followup, note["id"]).text == "mine"
    assert history(ticket_id) == ["note_added"]


def test_empty_note_and_unknown_note_are_refused(client, token_for, ticket_id):
    agent = token_for("agent")
    for text in ("", "   \n "):
        refused = act(client, ticket_id, "note", {"text": text}, agent)
        assert refused.status_code == 422 and refused.get_json()["error"]["code"] == "empty_note"
    note = act(client, ticket_id, "note", {"text": "ok"}, agent).get_json()
    emptied = act(client, ticket_id, "note_edit", {"followup_id": note["id"], "text": " "}, agent)
    assert emptied.status_code == 422 and emptied.get_json()["error"]["code"] == "empty_note"
    missing = act(client, ticket_id, "note_delete", {"followup_id": note["id"] + 999}, agent)
    assert missing.status_code == 404
    assert act(client, ticket_id, "note", {"text": ["not", "text"]}, agent).status_code == 422


def test_stale_version_refuses_a_note(client, token_for, ticket_id):
    agent = token_for("agent")
    start = version(client, ticket_id, agent)
    act(client, ticket_id, "note", {"text": "first"}, agent)
    stale = act(client, ticket_id, "note", {"text": "second", "version": start}, agent)
    assert stale.status_code == 409 and stale.get_json()["error"]["code"] == "stale"
    assert history(ticket_id) == ["note_added"]


def test_mentions_me_filter_finds_tickets_where_i_am_mentioned(client, users, token_for, ticket_id):
    agent, supervisor = token_for("agent"), token_for("supervisor")
    with db.session_scope() as s:
        other = Ticket(channel_id=s.get(Ticket, ticket_id).channel_id, network="instagram", kind="comment",
                       external_id="t2", text="Nice!")
        s.add(other)
        s.flush()
        other_id = other.id

    # the local part of agent@example.test, any case; an e-mail address in the text is not a mention
    note = act(client, ticket_id, "note", {"text": "@AGENT can you check? cc admin@example.test"}, supervisor)
    assert note.get_json()["mention_ids"] == [users["agent"].id]
    act(client, other_id, "note", {"text": "@supervisor, fyi"}, agent)

    mine = client.get("/api/v1/tickets?mentions=me", headers=auth(agent)).get_json()["data"]
    assert [t["id"] for t in mine] == [ticket_id]
    theirs = client.get("/api/v1/tickets?mentions=me", headers=auth(supervisor)).get_json()["data"]
    assert [t["id"] for t in theirs] == [other_id]
    admins = client.get("/api/v1/tickets?mentions=me", headers=auth(token_for("admin"))).get_json()["data"]
    assert admins == []
    bad = client.get("/api/v1/tickets?mentions=everyone", headers=auth(agent))
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "invalid_mentions"

    # editing the mention away takes the ticket out of the filter
    act(client, ticket_id, "note_edit", {"followup_id": note.get_json()["id"], "text": "never mind"}, supervisor)
    assert client.get("/api/v1/tickets?mentions=me", headers=auth(agent)).get_json()["data"] == []

    # the queue page's filter too
    login(client, "agent")
    act(client, ticket_id, "note", {"text": "again @Agent."}, supervisor)
    page = client.get("/?mentions=me").get_data(as_text=True)
    assert f'id="ticket-{ticket_id}"' in page and f'id="ticket-{other_id}"' not in page


def test_notes_never_reach_the_network(client, channel, sandbox, token_for):
    post(client, channel, load("incoming_text"))
    run_jobs()
    with db.session_scope() as s:
        ticket_id = s.scalars(select(Ticket.id)).one()
    agent = token_for("agent")
    note = act(client, ticket_id, "note", {"text": "Internal: refund approved"}, agent).get_json()
    act(client, ticket_id, "note_edit", {"followup_id": note["id"], "text": "Internal: refund sent"}, agent)
    run_jobs()
    with db.session_scope() as s:
        assert s.scalar(select(func.count()).select_from(OutboundAction)
                        .where(OutboundAction.ticket_id == ticket_id)) == 0
    assert sandbox.state.sent == []


def _pane_form(page: str, action_path: str) -> dict[str, str]:
    """The hidden fields of the form posting to ``action_path`` in the pane."""
    start = page.index(f'action="{action_path}"')
    form = page[start:page.index("</form>", start)]
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form))


def test_pane_forms_add_edit_delete_with_csrf_and_version(client, users, ticket_id):
    login(client, "agent")
    page = client.get(f"/tickets/{ticket_id}").get_data(as_text=True)
    hidden = _pane_form(page, f"/tickets/{ticket_id}/notes")
    assert hidden["csrf_token"] and hidden["version"]

    added = client.post(f"/tickets/{ticket_id}/notes", data={**hidden, "text": "Ask @supervisor <b>now</b>"},
                        headers={"HX-Request": "true"})
    assert added.status_code == 200
    html = added.get_data(as_text=True)
    assert 'class="note-card"' in html and 'dir="auto"' in html
    assert '<mark class="mention">@supervisor</mark>' in html
    assert "&lt;b&gt;now&lt;/b&gt;" in html and "<b>now</b>" not in html
    with db.session_scope() as s:
        note_id = s.scalars(select(Followup.id).filter_by(ticket_id=ticket_id, type="note")).one()

    # a form carrying the old version is refused (409), nothing changes
    stale = client.post(f"/tickets/{ticket_id}/notes/{note_id}", data={**hidden, "text": "edited"},
                        headers={"HX-Request": "true"})
    assert stale.status_code == 409
    # without the CSRF token: refused
    assert client.post(f"/tickets/{ticket_id}/notes", data={"text": "x"}).status_code == 400

    hidden = _pane_form(html, f"/tickets/{ticket_id}/notes/{note_id}")
    edited = client.post(f"/tickets/{ticket_id}/notes/{note_id}", data={**hidden, "text": "Edited note"},
                         headers={"HX-Request": "true"})
    assert edited.status_code == 200 and "Edited note" in edited.get_data(as_text=True)

    empty = client.post(f"/tickets/{ticket_id}/notes", data={**_pane_form(edited.get_data(as_text=True),
                        f"/tickets/{ticket_id}/notes"), "text": "  "}, headers={"HX-Request": "true"})
    assert empty.status_code == 422

    hidden = _pane_form(edited.get_data(as_text=True), f"/tickets/{ticket_id}/notes/{note_id}/delete")
    gone = client.post(f"/tickets/{ticket_id}/notes/{note_id}/delete", data=hidden, headers={"HX-Request": "true"})
    assert gone.status_code == 200 and 'class="note-card"' not in gone.get_data(as_text=True)
    with db.session_scope() as s:
        assert s.scalar(select(func.count()).select_from(Followup).filter_by(ticket_id=ticket_id)) == 0


def test_pane_shows_no_edit_controls_on_anothers_note_and_refuses_them(client, token_for, ticket_id):
    note = act(client, ticket_id, "note", {"text": "supervisor's note"}, token_for("supervisor")).get_json()
    login(client, "agent")
    page = client.get(f"/tickets/{ticket_id}").get_data(as_text=True)
    assert "supervisor&#39;s note" in page
    assert f"/tickets/{ticket_id}/notes/{note['id']}" not in page
    token = csrf_of(client, f"/tickets/{ticket_id}")
    refused = client.post(f"/tickets/{ticket_id}/notes/{note['id']}/delete", data={"csrf_token": token})
    assert refused.status_code == 403
    # nor through the action bar's generic route: a 4xx, never a 500
    generic = client.post(f"/tickets/{ticket_id}/actions/note_delete",
                          data={"csrf_token": token, "followup_id": str(note["id"])})
    assert generic.status_code == 422
    with db.session_scope() as s:
        assert s.get(Followup, note["id"]) is not None


def test_mentions_filter_costs_the_same_for_5_and_50_tickets(client, users, token_for):
    """``mentions=me`` is one sub-select on the indexed mention table, not a query per ticket."""
    from statements import recorded
    from test_queries_count import BOUND, _add_tickets

    headers = auth(token_for("agent"))
    login(client, "agent")

    def mention(start: int, n: int) -> None:
        with db.session_scope() as s:
            agent = s.get(User, users["agent"].id)
            for ticket in s.scalars(select(Ticket).where(Ticket.external_id.in_([f"c{i}" for i in range(start, start + n)]))):
                s.add(Followup(ticket_id=ticket.id, type="note", status="saved", text="@agent look",
                               author_id=users["supervisor"].id, mentioned=[agent]))

    def count(path: str, with_headers: dict | None = None) -> int:
        client.get(path, headers=with_headers)
        with recorded() as statements:
            assert client.get(path, headers=with_headers).status_code == 200
        return len(statements)

    _add_tickets(5, 0)
    mention(0, 5)
    page_five, api_five = count("/?mentions=me"), count("/api/v1/tickets?mentions=me&limit=50", headers)
    _add_tickets(45, 5)
    mention(5, 45)
    body = client.get("/api/v1/tickets?mentions=me&limit=50", headers=headers).get_json()
    assert len(body["data"]) == 50
    assert count("/?mentions=me") == page_five <= BOUND
    assert count("/api/v1/tickets?mentions=me&limit=50", headers) == api_five <= BOUND


# -- @mention autocomplete ---------------------------------------------------------------------------

def test_the_handle_offered_by_the_autocomplete_is_read_back_as_a_mention(app, users):
    """Whatever the composer inserts after "@" must store the mention; a user no handle can reach
    is not offered rather than offered with a handle that would silently mention nobody."""
    with db.session_scope() as s:
        made = {
            "ana": User(email="ana.lopez+cm@example.test", name="Ana López", role="agent", password_hash="-"),
            "dash": User(email="dash-@example.test", name="Dash Řezník", role="agent", password_hash="-"),
            "nope": User(email="x-@example.test", name="O'Brien-", role="agent", password_hash="-"),
        }
        s.add_all(made.values())
        s.flush()
        handles = {key: notes.mention_handle(user) for key, user in made.items()}
        assert handles == {"ana": "ana.lopez+cm", "dash": "DashŘezník", "nope": None}
        for key in ("ana", "dash"):
            assert notes.mentioned_users(s, f"Please look, @{handles[key]} thanks") == [made[key]]


def test_the_note_box_carries_the_active_teammates_to_mention(client, users, ticket_id):
    with db.session_scope() as s:
        s.add(User(email="gone@example.test", name="Gone Away", role="agent", active=False, password_hash="-"))
    login(client, "agent")
    page = client.get(f"/tickets/{ticket_id}").get_data(as_text=True)
    raw = re.search(r'data-mentionables="([^"]*)"', page).group(1)
    offered = json.loads(html.unescape(raw))
    # the writer is not offered, nor an inactive user; each with the name shown and the handle inserted
    assert {"name": "Supervisor", "handle": "supervisor"} in offered
    assert {"name": "Admin", "handle": "admin"} in offered
    assert all(o["handle"] not in ("agent", "gone") for o in offered)
    assert 'role="listbox"' in page and 'aria-controls="note-text-mentions"' in page


def test_sidebar_history_shows_what_a_note_says_until_it_is_deleted(client, users, token_for, ticket_id):
    agent = token_for("agent")
    note = act(client, ticket_id, "note", {"text": "Refund approved by финансы"}, agent).get_json()
    login(client, "supervisor")

    def entries() -> list[str]:
        page = client.get(f"/tickets/{ticket_id}").get_data(as_text=True)
        return [html.unescape(re.sub(r"<[^>]+>", "", item)) for item in
                re.findall(r'<li data-history="note_(?:added|edited|deleted)">(.*?)</li>', page, re.S)]

    [added] = entries()
    assert "Refund approved by финансы" in added
    act(client, ticket_id, "note_edit", {"followup_id": note["id"], "text": "Refund sent"}, agent)
    assert all("Refund sent" in e for e in entries()[:2])          # the note as it is now
    assert act(client, ticket_id, "note_delete", {"followup_id": note["id"]}, agent).status_code == 204
    listed = entries()
    assert len(listed) == 3 and not any("Refund" in e for e in listed)   # its words went with it
