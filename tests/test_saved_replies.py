"""Saved replies: the API (shape, who sees and changes which, every bad input), the settings page
(inline errors, CSRF), and the composer's "/" picker filling variables in for the ticket."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from helpers import count, csrf_of, load, login, post, run_jobs
from inbox import db
from models import Channel, SavedReply, Ticket

API = "/api/v1/saved-replies"


def _auth(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def tokens(token_for) -> dict[str, str]:
    return {role: token_for(role) for role in ("agent", "supervisor", "admin")}


@pytest.fixture
def ticket(client, channel) -> dict:
    """One Getloo DM from "Алина из Getloo" (@getcourseru) on the channel "Shop"."""
    post(client, channel, load("incoming_text"))
    run_jobs()
    with db.session_scope() as s:
        return {"id": s.scalars(select(Ticket.id)).one(), "channel_id": channel["id"]}


def _create(client, token: str, **body):
    return client.post(API, json=body, headers=_auth(token))


# -- API -----------------------------------------------------------------------------------------

def test_create_list_update_delete_a_personal_reply(client, tokens):
    made = _create(client, tokens["agent"], name="Greeting", text="Hi {{author.name}}!")
    assert made.status_code == 201
    reply = made.get_json()
    assert reply == {"id": reply["id"], "name": "Greeting", "text": "Hi {{author.name}}!", "shared": False,
                     "channel_ids": []}
    assert client.get(API, headers=_auth(tokens["agent"])).get_json() == {"data": [reply]}
    assert client.get(f"{API}/{reply['id']}", headers=_auth(tokens["agent"])).get_json() == reply

    changed = client.patch(f"{API}/{reply['id']}", json={"text": "Hello {{author.name}}"},
                           headers=_auth(tokens["agent"]))
    assert changed.status_code == 200 and changed.get_json()["text"] == "Hello {{author.name}}"
    assert changed.get_json()["name"] == "Greeting"

    assert client.delete(f"{API}/{reply['id']}", headers=_auth(tokens["agent"])).status_code == 204
    assert client.get(API, headers=_auth(tokens["agent"])).get_json() == {"data": []}


def test_personal_replies_are_their_owners_only(client, tokens):
    mine = _create(client, tokens["agent"], name="Mine", text="x").get_json()
    for role in ("supervisor", "admin"):     # even an admin does not see another's personal reply
        assert client.get(API, headers=_auth(tokens[role])).get_json() == {"data": []}
        assert client.get(f"{API}/{mine['id']}", headers=_auth(tokens[role])).status_code == 404
        assert client.patch(f"{API}/{mine['id']}", json={"name": "Theirs"},
                            headers=_auth(tokens[role])).status_code == 404
        assert client.delete(f"{API}/{mine['id']}", headers=_auth(tokens[role])).status_code == 404
    assert count(SavedReply, name="Mine") == 1


def test_shared_replies_are_everyones_and_edited_with_edit_templates(client, tokens):
    refused = _create(client, tokens["agent"], name="Team", text="x", shared=True)
    assert refused.status_code == 403
    assert refused.get_json()["error"]["code"] == "insufficient_permissions"
    assert count(SavedReply) == 0

    shared = _create(client, tokens["admin"], name="Team", text="x", shared=True).get_json()
    assert shared["shared"] is True
    for role in ("agent", "supervisor"):
        assert [r["id"] for r in client.get(API, headers=_auth(tokens[role])).get_json()["data"]] == [shared["id"]]
        assert client.patch(f"{API}/{shared['id']}", json={"text": "y"},
                            headers=_auth(tokens[role])).status_code == 403
        assert client.delete(f"{API}/{shared['id']}", headers=_auth(tokens[role])).status_code == 403
    assert client.get(f"{API}/{shared['id']}", headers=_auth(tokens["agent"])).get_json()["text"] == "x"

    # an agent cannot share their own personal reply either
    own = _create(client, tokens["agent"], name="Own", text="x").get_json()
    assert client.patch(f"{API}/{own['id']}", json={"shared": True}, headers=_auth(tokens["agent"])).status_code == 403
    assert client.get(f"{API}/{own['id']}", headers=_auth(tokens["agent"])).get_json()["shared"] is False


def test_channel_limits_and_the_channel_filter(client, tokens, channel):
    other = _create(client, tokens["admin"], name="Anywhere", text="a", shared=True).get_json()
    limited = _create(client, tokens["admin"], name="Shop only", text="b", shared=True,
                      channel_ids=[channel["id"]]).get_json()
    assert limited["channel_ids"] == [channel["id"]]
    with db.session_scope() as s:
        second = Channel(provider="getloo", name="Second", network="instagram", base_url="https://api.getloo.ru/insta")
        s.add(second)
        s.flush()
        second_id = second.id
    names = lambda cid: [r["name"] for r in client.get(f"{API}?channel_id={cid}",  # noqa: E731
                                                          headers=_auth(tokens["agent"])).get_json()["data"]]
    assert names(channel["id"]) == ["Anywhere", "Shop only"]
    assert names(second_id) == ["Anywhere"]
    assert client.get(f"{API}?channel_id=abc", headers=_auth(tokens["agent"])).status_code == 400
    # clearing the limit makes it usable everywhere
    cleared = client.patch(f"{API}/{limited['id']}", json={"channel_ids": []}, headers=_auth(tokens["admin"]))
    assert cleared.get_json()["channel_ids"] == []
    assert names(second_id) == ["Anywhere", "Shop only"]
    assert other["channel_ids"] == []


@pytest.mark.parametrize("body, code", [
    ({"text": "no name"}, "missing_field"),
    ({"name": "no text"}, "missing_field"),
    ({"name": "  ", "text": "x"}, "invalid_value"),
    ({"name": "x", "text": ""}, "invalid_value"),
    ({"name": 5, "text": "x"}, "invalid_value"),
    ({"name": "x", "text": {"a": 1}}, "invalid_value"),
    ({"name": "x" * 201, "text": "x"}, "too_long"),
    ({"name": "x", "text": "x" * 10_001}, "too_long"),
    ({"name": "x", "text": "x", "shared": "yes"}, "invalid_value"),
    ({"name": "x", "text": "x", "channel_ids": 3}, "invalid_value"),
    ({"name": "x", "text": "x", "channel_ids": ["3"]}, "invalid_value"),
    ({"name": "x", "text": "x", "channel_ids": [True]}, "invalid_value"),
    ({"name": "x", "text": "x", "channel_ids": [2**31]}, "invalid_value"),
    ({"name": "x", "text": "x", "channel_ids": [999]}, "unknown_channel"),
    ({"name": "x", "text": "x", "channel_ids": list(range(1, 52))}, "too_many"),
])
def test_bad_input_is_refused_and_nothing_is_written(client, tokens, body, code):
    answer = _create(client, tokens["admin"], **body)
    assert answer.status_code == 422, answer.get_data(as_text=True)
    assert answer.get_json()["error"]["code"] == code
    assert count(SavedReply) == 0


def test_a_bad_update_changes_nothing(client, tokens):
    reply = _create(client, tokens["agent"], name="Keep", text="kept").get_json()
    for body in ({"name": "New", "channel_ids": [999]}, {"name": "New", "text": ""}, {"name": None, "text": 7}):
        assert client.patch(f"{API}/{reply['id']}", json=body, headers=_auth(tokens["agent"])).status_code == 422
    assert client.get(f"{API}/{reply['id']}", headers=_auth(tokens["agent"])).get_json() == reply
    bad_json = client.patch(f"{API}/{reply['id']}", data="[1", headers={**_auth(tokens["agent"]),
                                                                         "Content-Type": "application/json"})
    assert bad_json.status_code == 400 and bad_json.get_json()["error"]["code"] == "invalid_json"
    assert client.get(f"{API}/{2**31}", headers=_auth(tokens["agent"])).status_code == 404


# -- the composer's picker -------------------------------------------------------------------------

def test_the_picker_lists_usable_replies_and_fills_variables_for_the_ticket(client, tokens, ticket):
    hello = _create(client, tokens["admin"], name="Hello", shared=True, channel_ids=[ticket["channel_id"]],
                    text="Hi {{author.name}} (@{{ author.username }}), {{agent.name}} from {{channel.name}} "
                         "here. {{order.id}} {{author.name").get_json()
    _create(client, tokens["agent"], name="Refund", text="Your refund is on its way")
    _create(client, tokens["admin"], name="Admin's own", text="not for agents")
    login(client, "agent")

    page = client.get(f"/tickets/{ticket['id']}")
    html = page.get_data(as_text=True)
    assert f'data-saved-replies="/tickets/{ticket["id"]}/saved-replies"' in html
    assert 'id="saved-reply-picker"' in html
    assert "saved-replies.js" in html

    listed = client.get(f"/tickets/{ticket['id']}/saved-replies?q=").get_data(as_text=True)
    assert "Hello" in listed and "Refund" in listed and "Admin&#39;s own" not in listed
    by_text = client.get(f"/tickets/{ticket['id']}/saved-replies?q=REFUND is").get_data(as_text=True)
    assert "Refund" in by_text and "Hello" not in by_text
    none = client.get(f"/tickets/{ticket['id']}/saved-replies?q=zzz").get_data(as_text=True)
    assert "No saved reply matches" in none
    wildcard = client.get(f"/tickets/{ticket['id']}/saved-replies?q=%25").get_data(as_text=True)
    assert "Hello" not in wildcard     # "%" is searched for, not a wildcard

    filled = client.get(f"/tickets/{ticket['id']}/saved-replies/{hello['id']}")
    assert filled.status_code == 200
    assert filled.get_json()["text"] == ("Hi Алина из Getloo (@getcourseru), Agent from Shop here. "
                                         "{{order.id}} {{author.name")


def test_the_picker_refuses_replies_of_other_channels_and_other_people(client, tokens, ticket):
    with db.session_scope() as s:
        second = Channel(provider="getloo", name="Second", network="instagram", base_url="https://api.getloo.ru/insta")
        s.add(second)
        s.flush()
        second_id = second.id
    elsewhere = _create(client, tokens["admin"], name="Elsewhere", text="x", shared=True,
                        channel_ids=[second_id]).get_json()
    private = _create(client, tokens["admin"], name="Private", text="x").get_json()
    login(client, "agent")
    listed = client.get(f"/tickets/{ticket['id']}/saved-replies").get_data(as_text=True)
    assert "Elsewhere" not in listed and "Private" not in listed
    for reply in (elsewhere, private):
        assert client.get(f"/tickets/{ticket['id']}/saved-replies/{reply['id']}").status_code == 404
    assert client.get(f"/tickets/{2**31 - 1}/saved-replies").status_code == 404


def test_the_picker_script_is_a_static_file_with_no_inline_script(client, users, ticket):
    login(client, "agent")
    html = client.get(f"/tickets/{ticket['id']}").get_data(as_text=True)
    assert "<script>" not in html
    script = client.get("/static/saved-replies.js")
    assert script.status_code == 200 and b"saved-reply-choice" in script.data


# -- the settings page ----------------------------------------------------------------------------

def _form(client, path: str, **data):
    return client.post(path, data={"csrf_token": csrf_of(client, "/settings/saved-replies"), **data})


def test_the_page_creates_edits_and_deletes(client, users, channel):
    login(client, "admin")
    made = _form(client, "/settings/saved-replies", name="Welcome", text="Welcome {{author.name}}",
                 shared="on", channel_ids=str(channel["id"]))
    assert made.status_code == 302
    with db.session_scope() as s:
        reply = s.scalars(select(SavedReply)).one()
        assert (reply.name, reply.shared, reply.channel_ids) == ("Welcome", True, [channel["id"]])
        reply_id = reply.id
    page = client.get("/settings/saved-replies").get_data(as_text=True)
    assert "Welcome" in page and "shared" in page and "Shop" in page

    edited = _form(client, f"/settings/saved-replies/{reply_id}", name="Welcome back", text="Hi again")
    assert edited.status_code == 302
    with db.session_scope() as s:
        reply = s.get(SavedReply, reply_id)
        assert (reply.name, reply.text, reply.shared, reply.channel_ids) == ("Welcome back", "Hi again", False, [])

    assert _form(client, f"/settings/saved-replies/{reply_id}/delete").status_code == 302
    assert count(SavedReply) == 0


@pytest.mark.parametrize("data, message", [
    ({"name": "", "text": "x"}, "name must not be empty"),
    ({"name": "x", "text": ""}, "text must not be empty"),
    ({"name": "x" * 201, "text": "x"}, "name must be at most 200 characters"),
    ({"name": "x", "text": "x", "channel_ids": "999"}, "No channel 999"),
    ({"name": "x", "text": "x", "channel_ids": "abc"}, "channel_ids must be channel ids"),
])
def test_the_page_shows_bad_input_inline_and_keeps_the_draft(client, users, data, message):
    login(client, "admin")
    answer = _form(client, "/settings/saved-replies", **data)
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    assert message in html and 'role="alert"' in html
    assert count(SavedReply) == 0


def test_an_agent_cannot_share_or_edit_shared_replies_from_the_page(client, tokens):
    shared = _create(client, tokens["admin"], name="Team", text="x", shared=True).get_json()
    login(client, "agent")
    page = client.get("/settings/saved-replies").get_data(as_text=True)
    assert "Team" in page and 'name="shared"' not in page         # no sharing box, no edit form
    assert f"/settings/saved-replies/{shared['id']}/delete" not in page
    assert _form(client, "/settings/saved-replies", name="Mine", text="x", shared="on").status_code == 403
    assert _form(client, f"/settings/saved-replies/{shared['id']}", name="Mine", text="y").status_code == 403
    assert _form(client, f"/settings/saved-replies/{shared['id']}/delete").status_code == 403
    assert count(SavedReply) == 1


def test_page_forms_need_the_csrf_token(client, users):
    login(client, "admin")
    assert client.post("/settings/saved-replies", data={"name": "x", "text": "y"}).status_code == 400
    assert count(SavedReply) == 0
