"""The keyword-list and interactor-list settings pages, and "Add to a list" on a ticket's author card.

What an admin sees and does: create, rename, edit, import pasted text, delete (refused, inline,
while a rule reads the list); every refusal is the page again with the message and nothing
written; agents and supervisors are shut out. Adding a ticket's author to a list makes the rules
engine's ``ticket_from_user`` match that author.
"""
from __future__ import annotations

import pytest
from sqlalchemy import select

from helpers import csrf_of, local_ticket, login
from inbox import db
from inbox.rules import engine
from inbox.rules.items import item_for, lookups
from models import Interactor, InteractorList, KeywordList, Rule, Ticket


def _admin(client):
    assert login(client, "admin").status_code == 302
    return csrf_of(client, "/settings/keyword-lists")


def _lists(model):
    with db.session_scope() as s:
        return [(r.name, list(r.keywords if model is KeywordList else r.members)) for r in s.scalars(select(model).order_by(model.id))]


def test_keyword_lists_are_created_edited_imported_and_deleted(client, users):
    token = _admin(client)
    made = client.post("/settings/keyword-lists", data={"csrf_token": token, "name": "Refunds",
                                                          "entries": "refund, money back\nبازگشت وجه"})
    assert made.status_code == 302
    assert _lists(KeywordList) == [("Refunds", ["refund", "money back", "بازگشت وجه"])]
    with db.session_scope() as s:
        list_id = s.scalar(select(KeywordList.id))
    page = client.get("/settings/keyword-lists").get_data(as_text=True)
    assert "3 keywords" in page and 'dir="auto">بازگشت وجه</li>' in page and "Not used by any rule." in page

    imported = client.post(f"/settings/keyword-lists/{list_id}/import",
                           data={"csrf_token": token, "text": "возврат, Refund\nсломан\n"})
    assert imported.status_code == 302
    assert "Added 2 to Refunds (5 in all)." in client.get("/settings/keyword-lists").get_data(as_text=True)

    edited = client.post(f"/settings/keyword-lists/{list_id}",
                         data={"csrf_token": token, "name": "Money", "entries": "refund\n\nвозврат"})
    assert edited.status_code == 302
    assert _lists(KeywordList) == [("Money", ["refund", "возврат"])]

    deleted = client.post(f"/settings/keyword-lists/{list_id}/delete", data={"csrf_token": token})
    assert deleted.status_code == 302 and _lists(KeywordList) == []


@pytest.mark.parametrize("form, message", [
    ({"name": ""}, "name is required"),
    ({"name": "Refunds"}, "already exists"),
    ({"name": "Other", "entries": "x" * 201}, "at most 200 characters"),
])
def test_a_refused_form_shows_why_and_writes_nothing(client, users, form, message):
    token = _admin(client)
    client.post("/settings/keyword-lists", data={"csrf_token": token, "name": "Refunds", "entries": "refund"})
    answer = client.post("/settings/keyword-lists", data={"csrf_token": token, **form})
    assert answer.status_code == 422
    assert message in answer.get_data(as_text=True)
    assert _lists(KeywordList) == [("Refunds", ["refund"])]


def test_a_list_a_rule_reads_is_not_deleted_and_the_page_says_which_rule(client, users):
    token = _admin(client)
    with db.session_scope() as s:
        kl = KeywordList(name="Refunds", keywords=["refund"])
        s.add(kl)
        s.flush()
        s.add(Rule(name="Refund desk", conditions=[{"condition": "message_has_keyword", "config": {"keywordList": kl.id}}],
                   actions=[{"action": "archive", "config": {}}]))
        list_id = kl.id
    page = client.get("/settings/keyword-lists").get_data(as_text=True)
    assert "Used by" in page and "Refund desk" in page
    refused = client.post(f"/settings/keyword-lists/{list_id}/delete", data={"csrf_token": token})
    assert refused.status_code == 422
    assert "Refunds is used by the rules Refund desk: change them first." in refused.get_data(as_text=True)
    assert _lists(KeywordList) == [("Refunds", ["refund"])]


def test_interactor_lists_take_handles_ids_and_a_channel(client, users):
    token = _admin(client)
    ticket_id = local_ticket()
    with db.session_scope() as s:
        channel_id = s.get(Ticket, ticket_id).channel_id
    made = client.post("/settings/interactor-lists", data={"csrf_token": token, "name": "VIPs",
                                                             "entries": f"@anna\nid:123 channel:{channel_id}"})
    assert made.status_code == 302
    with db.session_scope() as s:
        list_id = s.scalar(select(InteractorList.id))
    client.post(f"/settings/interactor-lists/{list_id}/import",
                data={"csrf_token": token, "text": "@boris\nid:555", "channel_id": str(channel_id)})
    assert _lists(InteractorList) == [("VIPs", [
        {"channel_id": None, "external_id": None, "username": "anna"},
        {"channel_id": channel_id, "external_id": "123", "username": None},
        {"channel_id": channel_id, "external_id": None, "username": "boris"},
        {"channel_id": channel_id, "external_id": "555", "username": None}])]
    page = client.get("/settings/interactor-lists").get_data(as_text=True)
    assert "4 members" in page and f"id:555 channel:{channel_id}" in page

    bad = client.post(f"/settings/interactor-lists/{list_id}/import",
                      data={"csrf_token": token, "text": "id:1 channel:999999"})
    assert bad.status_code == 422 and "No channel with id 999999" in bad.get_data(as_text=True)
    assert len(_lists(InteractorList)[0][1]) == 4


@pytest.mark.parametrize("role", ["agent", "supervisor"])
def test_only_admins_reach_the_list_pages(client, users, role):
    login(client, role)
    token = csrf_of(client, "/")
    assert client.get("/settings/keyword-lists").status_code == 403
    assert client.post("/settings/interactor-lists", data={"csrf_token": token, "name": "X"}).status_code == 403
    assert "Keyword lists" not in client.get("/").get_data(as_text=True)
    assert _lists(InteractorList) == []


def _ticket_with_author() -> int:
    ticket_id = local_ticket("I want a refund")
    with db.session_scope() as s:
        ticket = s.get(Ticket, ticket_id)
        person = Interactor(channel_id=ticket.channel_id, external_id="4711", username="darya", name="Дарья")
        s.add(person)
        s.flush()
        ticket.interactor_id = person.id
    return ticket_id


def test_adding_the_author_to_a_list_makes_rules_match_them(client, users):
    token = _admin(client)
    ticket_id = _ticket_with_author()
    with db.session_scope() as s:
        vip = InteractorList(name="VIPs", members=[])
        s.add_all([vip, InteractorList(name="Blocked", members=[])])
        s.flush()
        vip_id = vip.id
    pane = client.get(f"/tickets/{ticket_id}").get_data(as_text=True)
    assert f'hx-get="/tickets/{ticket_id}/author-lists"' in pane
    card = client.get(f"/tickets/{ticket_id}/author-lists").get_data(as_text=True)
    assert "In no list." in card and "Add to a list" in card

    added = client.post(f"/tickets/{ticket_id}/author-lists", data={"list_id": str(vip_id)},
                        headers={"HX-Request": "true", "X-CSRFToken": token})
    assert added.status_code == 200
    body = added.get_data(as_text=True)
    assert "Added to VIPs." in body and 'dir="auto">VIPs</bdi>' in body
    again = client.post(f"/tickets/{ticket_id}/author-lists", data={"list_id": str(vip_id)},
                        headers={"HX-Request": "true", "X-CSRFToken": token})
    assert "Already in VIPs." in again.get_data(as_text=True)

    without_script = client.post(f"/tickets/{ticket_id}/author-lists", data={"csrf_token": token, "list_id": "x"})
    assert without_script.status_code == 422 and "Choose an interactor list." in without_script.get_data(as_text=True)
    with db.session_scope() as s:
        blocked_id = s.scalars(select(InteractorList.id).filter_by(name="Blocked")).one()
    plain = client.post(f"/tickets/{ticket_id}/author-lists", data={"csrf_token": token, "list_id": str(blocked_id)})
    assert plain.status_code == 302 and plain.headers["Location"].endswith(f"/tickets/{ticket_id}")
    assert "In Blocked, VIPs" in " ".join(client.get(f"/tickets/{ticket_id}/author-lists").get_data(as_text=True)
                                          .replace('<bdi dir="auto">', "").replace("</bdi>", "").split())
    with db.session_scope() as s:
        ticket = s.get(Ticket, ticket_id)
        assert s.get(InteractorList, vip_id).members == [
            {"channel_id": ticket.channel_id, "external_id": "4711", "username": "darya"}]
        found = lookups(s)
        rule = engine.parse_rule({"name": "VIP first", "active": True, "weight": 1, "trigger": "ticket_creation",
                                  "entity": "ticket", "conditions": [
            {"condition": "ticket_from_user", "config": {"interactorList": vip_id}}],
            "actions": [{"action": "mark_as_priority", "config": {}}]}, found)
        evaluation = engine.evaluate([rule], item_for(s, ticket, None, "created"), found)
    assert evaluation.traces[0].matched


def test_add_to_a_list_is_refused_without_edit_rules_and_without_csrf(client, users):
    ticket_id = _ticket_with_author()
    with db.session_scope() as s:
        s.add(InteractorList(name="VIPs", members=[]))
    login(client, "supervisor")
    token = csrf_of(client, "/")
    assert "author-lists" not in client.get(f"/tickets/{ticket_id}").get_data(as_text=True)
    refused = client.post(f"/tickets/{ticket_id}/author-lists", data={"list_id": "1"}, headers={"X-CSRFToken": token})
    assert refused.status_code == 403
    admin = client.application.test_client()
    login(admin, "admin")
    assert admin.post(f"/tickets/{ticket_id}/author-lists", data={"list_id": "1"}).status_code == 400
    assert _lists(InteractorList) == [("VIPs", [])]
