"""Keyword lists and interactor lists over the JSON API: what smart rules match on.

Admins change them, everyone who works tickets reads them; every bad input is a 422 that says
what is wrong and changes nothing; each change raises the list's version (the engine's cache key).
"""
from __future__ import annotations

import pytest

from helpers import local_ticket
from inbox import db
from models import Ticket


def test_keyword_list_crud_in_the_contract_shape(api):
    made = api("admin").post("/api/v1/keyword-lists", json={"name": "Refunds", "keywords": ["refund", " money  back ", "Refund"]})
    assert made.status_code == 201
    body = made.get_json()
    assert body == {"id": body["id"], "name": "Refunds", "keywords": ["refund", "money back"], "version": 1}
    assert api("agent").get("/api/v1/keyword-lists").get_json()["data"] == [body]
    renamed = api("admin").patch(f"/api/v1/keyword-lists/{body['id']}", json={"name": "Money", "keywords": ["возврат"]})
    assert renamed.get_json() == {**body, "name": "Money", "keywords": ["возврат"], "version": 2}
    assert api("agent").get(f"/api/v1/keyword-lists/{body['id']}").get_json()["version"] == 2
    assert api("admin").delete(f"/api/v1/keyword-lists/{body['id']}").status_code == 204
    assert api("admin").get(f"/api/v1/keyword-lists/{body['id']}").status_code == 404


def test_pasted_text_is_added_one_per_line_or_comma(api):
    lid = api("admin").post("/api/v1/keyword-lists", json={"name": "Complaints", "keywords": ["broken"]}).get_json()["id"]
    imported = api("admin").post(f"/api/v1/keyword-lists/{lid}/import",
                                 json={"text": "late, Broken\nبازگشت وجه، خراب\n\n  сломан  \n"})
    assert imported.status_code == 200
    assert imported.get_json()["keywords"] == ["broken", "late", "بازگشت وجه", "خراب", "сломан"]
    assert imported.get_json()["version"] == 2
    # Importing the same text again adds nothing new (but still counts as a change).
    again = api("admin").post(f"/api/v1/keyword-lists/{lid}/import", json={"text": "late"}).get_json()
    assert again["keywords"] == ["broken", "late", "بازگشت وجه", "خراب", "сломан"]


def test_interactor_lists_take_handles_ids_and_channels(api):
    ticket_id = local_ticket()
    with db.session_scope() as s:
        channel_id = s.get(Ticket, ticket_id).channel_id
    made = api("admin").post("/api/v1/interactor-lists", json={
        "name": "VIPs", "members": [{"username": "@anna"}, {"external_id": "123", "channel_id": channel_id}],
        "text": "@boris\nid:555\nanna"})
    assert made.status_code == 201, made.get_data(as_text=True)
    assert made.get_json()["members"] == [
        {"channel_id": None, "external_id": None, "username": "anna"},
        {"channel_id": channel_id, "external_id": "123", "username": None},
        {"channel_id": None, "external_id": None, "username": "boris"},
        {"channel_id": None, "external_id": "555", "username": None}]
    unknown = api("admin").patch(f"/api/v1/interactor-lists/{made.get_json()['id']}",
                                 json={"members": [{"external_id": "1", "channel_id": 999999}]})
    assert unknown.status_code == 422 and unknown.get_json()["error"]["code"] == "unknown_channel"
    assert len(api("admin").get(f"/api/v1/interactor-lists/{made.get_json()['id']}").get_json()["members"]) == 4


@pytest.mark.parametrize("path, body, code", [
    ("keyword-lists", {}, "missing_field"),
    ("keyword-lists", {"name": "  "}, "missing_field"),
    ("keyword-lists", {"name": "x" * 121}, "too_long"),
    ("keyword-lists", {"name": "A", "keywords": "refund"}, "invalid_value"),
    ("keyword-lists", {"name": "A", "keywords": [1]}, "invalid_value"),
    ("keyword-lists", {"name": "A", "keywords": ["x" * 201]}, "too_long"),
    ("keyword-lists", {"name": "A", "keywords": [f"k{i}" for i in range(10_001)]}, "too_many"),
    ("keyword-lists", {"name": "A", "colour": "red"}, "unknown_field"),
    ("keyword-lists", {"name": "A", "text": 5}, "invalid_value"),
    ("interactor-lists", {"name": "A", "members": [{}]}, "invalid_value"),
    ("interactor-lists", {"name": "A", "members": [{"username": "two words"}]}, "invalid_value"),
    ("interactor-lists", {"name": "A", "members": [{"username": "a", "channel_id": "1"}]}, "invalid_value"),
    ("interactor-lists", {"name": "A", "members": [{"nick": "a"}]}, "invalid_value"),
])
def test_bad_lists_are_refused_and_nothing_is_written(api, path, body, code):
    answer = api("admin").post(f"/api/v1/{path}", json=body)
    assert answer.status_code == 422, answer.get_data(as_text=True)
    assert answer.get_json()["error"]["code"] == code
    assert api("admin").get(f"/api/v1/{path}").get_json()["data"] == []


def test_names_are_unique_whatever_their_case_and_only_admins_change_lists(api):
    assert api("admin").post("/api/v1/keyword-lists", json={"name": "Spam"}).status_code == 201
    taken = api("admin").post("/api/v1/keyword-lists", json={"name": "SPAM"})
    assert taken.status_code == 422 and taken.get_json()["error"]["code"] == "name_taken"
    assert api("supervisor").post("/api/v1/keyword-lists", json={"name": "Other"}).status_code == 403
    assert api("agent").get("/api/v1/keyword-lists").status_code == 200
