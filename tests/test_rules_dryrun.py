"""The dry run: a rule — unsaved in the editor, or saved — tried on the last N items answers which
would match, the condition that failed for the others, and what would be done; and writes nothing
(no history, no rule run, no counter, no ticket change, no rule or version)."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from helpers import count, csrf_of, local_ticket, login
from inbox import db
from inbox.rules import dryrun
from models import History, Message, Rule, RuleRun, RuleVersion, Tag, Ticket, utcnow


@pytest.fixture
def world(api):
    """Three tickets, newest last: a refund request (by its latest inbound message), a parcel
    question, and an older refund question the ticket's text still shows."""
    kl = api("admin").post("/api/v1/keyword-lists", json={"name": "Refund words", "keywords": ["refund"]}).get_json()
    old = local_ticket("Refund please, it broke", external_id="old")
    parcel = local_ticket("Where is my parcel?", external_id="parcel")
    refund = local_ticket("(an older text)", external_id="refund")
    with db.session_scope() as s:
        now = utcnow()
        for n, ticket_id in enumerate((old, parcel, refund)):
            s.get(Ticket, ticket_id).last_activity_at = now - timedelta(minutes=10 - n)
        ticket = s.get(Ticket, refund)
        s.add_all([Message(ticket_id=refund, channel_id=ticket.channel_id, external_id="m1", text="Hello there",
                           created_at=now - timedelta(minutes=5)),
                   Message(ticket_id=refund, channel_id=ticket.channel_id, external_id="m2",
                           text="I want a REFUND for order 12", created_at=now - timedelta(minutes=1))])
        tag = Tag(name="Money")
        s.add(tag)
        s.flush()
        tag_id = tag.id
    return {"keyword_list": kl["id"], "tag": tag_id, "old": old, "parcel": parcel, "refund": refund}


def editor_form(world, **changes) -> dict:
    data = {"name": "Refunds", "trigger": "ticket_creation", "match": "all", "op": "dryrun", "n": "50",
            "conditions-0-condition": "message_has_keyword", "conditions-0-shown": "message_has_keyword",
            "conditions-0-keywordList": str(world["keyword_list"]), "conditions-0-wholeWord": "on",
            "actions-0-action": "add_tags", "actions-0-shown": "add_tags", "actions-0-tagIds": str(world["tag"]),
            "actions-1-action": "mark_as_priority", "actions-1-shown": "mark_as_priority"}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def snapshot() -> tuple:
    with db.session_scope() as s:
        tickets = tuple(s.execute(select(Ticket.id, Ticket.version, Ticket.priority, Ticket.status)
                                  .order_by(Ticket.id)).all())
    return (count(History), count(RuleRun), count(Ticket), count(Rule), count(RuleVersion), count(Message), tickets)


def rows(html: str) -> dict[int, str]:
    return {int(m.group(1)): m.group(2) for m in
            re.finditer(r'<tr class="(?:matched|unmatched)" data-ticket-id="(\d+)">(.*?)</tr>', html, re.S)}


def test_an_unsaved_rule_is_tried_on_the_last_items_and_nothing_is_written(client, users, world):
    login(client, "admin")
    before = snapshot()
    response = client.post("/settings/rules/new", data={**editor_form(world),
                                                        "csrf_token": csrf_of(client, "/settings/rules")})
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html
    assert "Dry run: 2 of 3 items would match" in html
    found = rows(html)
    assert list(found) == [world["refund"], world["parcel"], world["old"]]        # newest activity first
    assert "✓" in found[world["refund"]] and "I want a REFUND for order 12" in found[world["refund"]]
    assert "found &#39;refund&#39;" in found[world["refund"]]
    assert "Add tags: “Money”" in found[world["refund"]] and "Mark as priority" in found[world["refund"]]
    assert "✓" in found[world["old"]]                                           # the ticket's text: no message
    assert "✗" in found[world["parcel"]] and "no keyword of the list found" in found[world["parcel"]]
    assert "Add tags" not in found[world["parcel"]]
    assert 'dir="auto"' in found[world["parcel"]] and f'href="/tickets/{world["parcel"]}"' in found[world["parcel"]]
    assert 'value="Refunds"' in html                                          # the form is kept
    assert snapshot() == before


def test_n_limits_the_items_and_an_inactive_draft_is_still_tried(client, users, world):
    login(client, "admin")
    html = client.post("/settings/rules/new", data={**editor_form(world, n="1"),
                                                   "csrf_token": csrf_of(client, "/settings/rules")}).get_data(as_text=True)
    assert "Dry run: 1 of 1 items would match" in html and list(rows(html)) == [world["refund"]]


def test_a_dry_run_of_a_broken_draft_shows_the_error_inline(client, users, world):
    login(client, "admin")
    before = snapshot()
    response = client.post("/settings/rules/new", data={
        **editor_form(world, **{"conditions-0-keywordList": "999999"}), "csrf_token": csrf_of(client, "/settings/rules")})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert re.search(r'id="conditions-0-keywordList-error" role="alert">No keyword list with id 999999', html)
    assert "Dry run:" not in html and snapshot() == before


def test_a_saved_rule_is_dry_run_from_the_list(client, users, api, world):
    made = api("admin").post("/api/v1/rules", json={
        "name": "Parcels", "active": False, "weight": 10, "trigger": "ticket_creation", "entity": "ticket",
        "conditions": [{"condition": "message_matches_regex", "config": {"pattern": r"\bparcel\b"}}],
        "actions": [{"action": "mark_as_priority", "config": {}}]}).get_json()
    login(client, "admin")
    assert f'href="/settings/rules/{made["id"]}/dry-run#dryrun-result"' in client.get("/settings/rules").get_data(as_text=True)
    before = snapshot()
    html = client.get(f"/settings/rules/{made['id']}/dry-run?n=500").get_data(as_text=True)
    assert "Dry run: 1 of 3 items would match" in html
    found = rows(html)
    assert "✓" in found[world["parcel"]] and "matched &#39;parcel&#39;" in found[world["parcel"]]
    assert "the pattern does not match" in found[world["refund"]]
    assert snapshot() == before


def test_a_new_message_rule_takes_each_ticket_as_a_new_message(session, world):
    data = {"name": "Follow-ups", "active": True, "trigger": "message_received", "entity": "ticket",
            "conditions": [{"condition": "message_has_keyword", "config": {"keywordList": world["keyword_list"]}}],
            "actions": [{"action": "mark_as_priority", "config": {}}]}
    result = dryrun.dry_run(session, data, 2)
    assert (result.tried, result.matched) == (2, 1)
    assert [r.matched for r in result.rows] == [True, False]


@pytest.mark.parametrize("raw, n", [("", 50), ("abc", 50), ("0", 1), ("-3", 1), ("501", 500), (" 20 ", 20), (None, 50)])
def test_n_is_one_to_five_hundred(raw, n):
    assert dryrun.parse_n(raw) == n
