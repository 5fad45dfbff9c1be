"""The rules pages as an admin uses them: the list in run order, the editor (its rows re-rendered as
typed, refusals shown next to the field at fault with nothing saved), turning a rule on and off,
Move up / Move down, the drag order, delete, and versions with restore."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from helpers import count, csrf_of, local_ticket, login
from inbox import db
from models import Rule, RuleVersion, Tag, Ticket


@pytest.fixture
def refs(api, users):
    """A keyword list, a channel and a tag for rules to refer to."""
    kl = api("admin").post("/api/v1/keyword-lists", json={"name": "Refund words", "keywords": ["refund"]}).get_json()
    ticket_id = local_ticket("I want a refund", external_id="r1")
    with db.session_scope() as s:
        channel_id = s.get(Ticket, ticket_id).channel_id
        tag = Tag(name="Money")
        s.add(tag)
        s.flush()
        tag_id = tag.id
    return {"keyword_list": kl["id"], "channel": channel_id, "tag": tag_id, "user": users["agent"].id}


@pytest.fixture
def admin(client, users):
    login(client, "admin")
    return client


def form(refs, **changes) -> dict:
    """The editor's fields for "Refunds": a keyword condition, then add a tag and mark as priority."""
    data = {"name": "Refunds", "description": "Money back", "active": "on", "trigger": "ticket_creation",
            "match": "all",
            "conditions-0-condition": "message_has_keyword", "conditions-0-shown": "message_has_keyword",
            "conditions-0-keywordList": str(refs["keyword_list"]), "conditions-0-wholeWord": "on",
            "actions-0-action": "add_tags", "actions-0-shown": "add_tags", "actions-0-tagIds": [str(refs["tag"])],
            "actions-1-action": "mark_as_priority", "actions-1-shown": "mark_as_priority", "op": "save"}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def post(client, path: str, data: dict):
    return client.post(path, data={**data, "csrf_token": csrf_of(client, "/settings/rules")})


def rules_in_order() -> list[str]:
    with db.session_scope() as s:
        return [r.name for r in s.scalars(select(Rule).order_by(Rule.weight, Rule.id))]


def make_rule(api, refs, name: str, weight: int) -> int:
    made = api("admin").post("/api/v1/rules", json={
        "name": name, "active": True, "weight": weight, "trigger": "ticket_creation", "entity": "ticket",
        "conditions": [], "actions": [{"action": "mark_as_priority", "config": {}}]})
    assert made.status_code == 201, made.get_data(as_text=True)
    return made.get_json()["id"]


@pytest.mark.parametrize("role, status", [("agent", 403), ("supervisor", 403)])
def test_only_admins_see_the_rules_pages(client, users, api, refs, role, status):
    rule_id = make_rule(api, refs, "Anything", 10)
    login(client, role)
    for path in ("/settings/rules", "/settings/rules/new", f"/settings/rules/{rule_id}",
                 f"/settings/rules/{rule_id}/versions", f"/settings/rules/{rule_id}/dry-run"):
        assert client.get(path).status_code == status, path
    token = csrf_of(client, "/")
    for path in (f"/settings/rules/{rule_id}/toggle", f"/settings/rules/{rule_id}/delete",
                 f"/settings/rules/{rule_id}/move", "/settings/rules/new"):
        assert client.post(path, data={"csrf_token": token}).status_code == status, path
    assert 'href="/settings/rules"' not in client.get("/").get_data(as_text=True)
    assert rules_in_order() == ["Anything"]


def test_anonymous_is_sent_to_log_in(client):
    assert client.get("/settings/rules").status_code in (302, 401)


def test_an_admin_creates_a_rule_with_the_form(admin, refs):
    page = admin.get("/settings/rules").get_data(as_text=True)
    assert 'href="/settings/rules"' in page and "run from top to bottom" in page
    response = post(admin, "/settings/rules/new", form(refs))
    assert response.status_code == 302, response.get_data(as_text=True)
    with db.session_scope() as s:
        rule = s.scalars(select(Rule)).one()
        assert (rule.name, rule.active, rule.trigger, rule.match, rule.stop) == (
            "Refunds", True, "ticket_creation", "all", False)
        assert rule.conditions == [{"condition": "message_has_keyword", "negate": False,
                                    "config": {"keywordList": refs["keyword_list"], "wholeWord": True}}]
        assert rule.actions == [{"action": "add_tags", "config": {"tagIds": [refs["tag"]]}},
                                {"action": "mark_as_priority", "config": {}}]
    listed = admin.get("/settings/rules").get_data(as_text=True)
    assert "Refunds" in listed and "“Refund words”" in listed and "“Money”" in listed
    assert "Matched 0" in listed


def test_adding_and_changing_rows_keeps_what_was_typed(admin, refs):
    data = form(refs, name="Typed name", op="add_condition")
    page = post(admin, "/settings/rules/new", data).get_data(as_text=True)
    assert 'value="Typed name"' in page
    assert 'id="conditions-1-condition"' in page and "autofocus" in page
    assert count(Rule) == 0
    # The new row becomes a regex: its fields appear, the first row keeps its list.
    data = form(refs, name="Typed name", op="refresh", **{"conditions-1-condition": "message_matches_regex",
                                                          "conditions-1-shown": "message_has_keyword"})
    page = post(admin, "/settings/rules/new", data).get_data(as_text=True)
    assert 'name="conditions-1-pattern"' in page
    assert re.search(rf'<option value="{refs["keyword_list"]}" selected>Refund words</option>', page)
    # Removing the first action leaves the second.
    page = post(admin, "/settings/rules/new", form(refs, op="remove_action:0")).get_data(as_text=True)
    assert 'name="actions-1-action"' not in page
    assert re.search(r'<option value="mark_as_priority" selected>', page)
    assert count(Rule) == 0


def test_htmx_gets_just_the_form(admin, refs):
    response = admin.post("/settings/rules/new", data={**form(refs, op="refresh"),
                                                       "csrf_token": csrf_of(admin, "/settings/rules")},
                          headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and html.lstrip().startswith('<div id="rule-editor">')


@pytest.mark.parametrize("changes, field, says", [
    ({"conditions-0-condition": "message_matches_regex", "conditions-0-shown": "message_matches_regex",
      "conditions-0-pattern": "(unclosed"}, "conditions-0-pattern", "Invalid regular expression"),
    ({"conditions-0-keywordList": "424242"}, "conditions-0-keywordList", "No keyword list with id 424242"),
    ({"conditions-0-keywordList": ""}, "conditions-0-keywordList", "The setting &#39;keywordList&#39; is required"),
    ({"actions-0-tagIds": None}, "actions-0-tagIds", "&#39;tagIds&#39; must not be empty"),
    ({"actions-1-action": "snooze", "actions-1-shown": "snooze", "actions-1-minutes": "soon"},
     "actions-1-minutes", "whole number"),
])
def test_a_refusal_is_shown_next_to_its_field_and_nothing_is_saved(admin, refs, changes, field, says):
    response = post(admin, "/settings/rules/new", form(refs, name="Kept as typed", **changes))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    error = re.search(rf'<p class="field-error" id="{field}-error" role="alert">([^<]*)</p>', html)
    assert error and says in error.group(1), html
    assert re.search(rf'id="{field}"[^>]*aria-invalid="true"[^>]*aria-describedby="{field}-error"', html) or \
        re.search(rf'id="{field}" aria-describedby="{field}-error"', html)
    assert 'value="Kept as typed"' in html
    assert count(Rule) == 0 and count(RuleVersion) == 0


def test_a_rule_needs_a_name_and_an_action(admin, refs):
    data = form(refs, name="")
    html = post(admin, "/settings/rules/new", data).get_data(as_text=True)
    assert 'id="name-error"' in html
    data = form(refs, **{"actions-0-action": None, "actions-1-action": None})
    response = post(admin, "/settings/rules/new", data)
    assert response.status_code == 422 and "at least one action" in response.get_data(as_text=True)
    assert count(Rule) == 0


def test_editing_toggling_and_deleting(admin, api, refs):
    post(admin, "/settings/rules/new", form(refs))
    with db.session_scope() as s:
        rule_id = s.scalars(select(Rule.id)).one()
    page = admin.get(f"/settings/rules/{rule_id}").get_data(as_text=True)
    assert 'value="Refunds"' in page and f'action="/settings/rules/{rule_id}"' in page
    response = post(admin, f"/settings/rules/{rule_id}", form(refs, name="Refunds!", stop="on"))
    assert response.status_code == 302
    rule = api("admin").get(f"/api/v1/rules/{rule_id}").get_json()
    assert (rule["name"], rule["stop"], rule["version"]) == ("Refunds!", True, 2)
    assert "stops later rules" in admin.get("/settings/rules").get_data(as_text=True)

    post(admin, f"/settings/rules/{rule_id}/toggle", {})
    assert api("admin").get(f"/api/v1/rules/{rule_id}").get_json()["active"] is False
    assert "Turn on" in admin.get("/settings/rules").get_data(as_text=True)

    assert post(admin, f"/settings/rules/{rule_id}/delete", {}).status_code == 302
    assert api("admin").get(f"/api/v1/rules/{rule_id}").status_code == 404
    assert "No rules yet" in admin.get("/settings/rules").get_data(as_text=True)


def test_move_up_and_down_change_the_run_order(admin, api, refs):
    first, second, third = (make_rule(api, refs, name, w) for name, w in (("A", 5), ("B", 6), ("C", 7)))
    post(admin, f"/settings/rules/{third}/move", {"direction": "up"})
    assert rules_in_order() == ["A", "C", "B"]
    post(admin, f"/settings/rules/{first}/move", {"direction": "down"})
    assert rules_in_order() == ["C", "A", "B"]
    post(admin, f"/settings/rules/{third}/move", {"direction": "up"})       # already first: no change
    assert rules_in_order() == ["C", "A", "B"]
    weights = [r["weight"] for r in api("admin").get("/api/v1/rules").get_json()["data"]]
    assert weights == [10, 20, 30]
    page = admin.get("/settings/rules").get_data(as_text=True)
    assert page.index('id="rule-%d"' % third) < page.index('id="rule-%d"' % first) < page.index('id="rule-%d"' % second)


def test_the_drag_order_is_saved(admin, api, refs):
    a, b = make_rule(api, refs, "A", 1), make_rule(api, refs, "B", 2)
    response = post(admin, "/settings/rules/order", {"order": f"{b},{a}"})
    assert response.status_code == 302
    assert rules_in_order() == ["B", "A"]
    # An order that is not every rule once is refused, nothing changes.
    assert post(admin, "/settings/rules/order", {"order": f"{a}"}).status_code == 409
    assert post(admin, "/settings/rules/order", {"order": "x"}).status_code == 400
    assert rules_in_order() == ["B", "A"]


def test_versions_show_each_change_and_restore(admin, api, refs):
    post(admin, "/settings/rules/new", form(refs))
    with db.session_scope() as s:
        rule_id = s.scalars(select(Rule.id)).one()
    post(admin, f"/settings/rules/{rule_id}", form(refs, name="Renamed"))
    page = admin.get(f"/settings/rules/{rule_id}/versions").get_data(as_text=True)
    assert "Version 2" in page and "Version 1" in page and "Created by Admin" in page and "Changed by Admin" in page
    assert "changed: name" in page
    assert "Renamed" in page and "Refunds" in page
    response = post(admin, f"/settings/rules/{rule_id}/versions/1/restore", {})
    assert response.status_code == 302
    rule = api("admin").get(f"/api/v1/rules/{rule_id}").get_json()
    assert (rule["name"], rule["version"]) == ("Refunds", 3)
    assert "Restored by Admin" in admin.get(f"/settings/rules/{rule_id}/versions").get_data(as_text=True)


def test_a_version_that_no_longer_validates_says_why(admin, api, refs):
    other = api("admin").post("/api/v1/keyword-lists", json={"name": "Other", "keywords": ["x"]}).get_json()["id"]
    post(admin, "/settings/rules/new", form(refs, **{"conditions-0-keywordList": str(other)}))
    with db.session_scope() as s:
        rule_id = s.scalars(select(Rule.id)).one()
    post(admin, f"/settings/rules/{rule_id}", form(refs))
    assert api("admin").delete(f"/api/v1/keyword-lists/{other}").status_code == 204
    page = admin.get(f"/settings/rules/{rule_id}/versions").get_data(as_text=True)
    assert re.search(r'id="version-1-error" role="alert">This version no longer validates: '
                     rf'conditions\[0\]\.config\.keywordList: No keyword list with id {other}', page)
    response = post(admin, f"/settings/rules/{rule_id}/versions/1/restore", {})
    assert response.status_code == 302
    assert "cannot be restored" in admin.get(response.headers["Location"]).get_data(as_text=True)
    assert api("admin").get(f"/api/v1/rules/{rule_id}").get_json()["version"] == 2


def test_unknown_rules_are_404(admin):
    assert admin.get("/settings/rules/999").status_code == 404
    assert admin.get("/settings/rules/999/versions").status_code == 404
    assert post(admin, "/settings/rules/999/delete", {}).status_code == 404


def test_a_rule_whose_list_was_deleted_says_it_cannot_run(admin, api, refs):
    post(admin, "/settings/rules/new", form(refs))
    assert api("admin").delete(f"/api/v1/keyword-lists/{refs['keyword_list']}").status_code == 204
    page = admin.get("/settings/rules").get_data(as_text=True)
    assert "This rule cannot run until it is fixed: conditions[0].config.keywordList" in page
    assert "#%d (missing)" % refs["keyword_list"] in page


def test_the_drag_order_answers_json_to_the_script(admin, api, refs):
    a, b = make_rule(api, refs, "A", 1), make_rule(api, refs, "B", 2)
    response = admin.post("/settings/rules/order", data={"order": f"{b},{a}"},
                          headers={"Accept": "application/json", "X-CSRFToken": csrf_of(admin, "/settings/rules")})
    assert response.status_code == 204 and rules_in_order() == ["B", "A"]
    # Without the CSRF token nothing changes.
    assert admin.post("/settings/rules/order", data={"order": f"{a},{b}"}).status_code == 400
    assert rules_in_order() == ["B", "A"]


def test_every_condition_and_action_type_shows_its_fields(admin, refs):
    """Each type of the engine is offered, and choosing it shows its settings (and saves nothing)."""
    from inbox.rules.engine import ACTIONS, CONDITIONS
    from inbox.settings import rule_form

    assert set(rule_form.CONDITION_LABELS) == set(CONDITIONS) and set(rule_form.ACTION_LABELS) == set(ACTIONS)
    data = form(refs, op="refresh")
    for i, kind in enumerate(CONDITIONS):
        data.update({f"conditions-{i}-condition": kind, f"conditions-{i}-shown": ""})
    for i, kind in enumerate(ACTIONS):
        data.update({f"actions-{i}-action": kind, f"actions-{i}-shown": ""})
    html = post(admin, "/settings/rules/new", data).get_data(as_text=True)
    for i, kind in enumerate(CONDITIONS):
        for key, _ in rule_form.CONDITION_FIELDS.get(kind, ()):
            assert f'id="conditions-{i}-{key}"' in html, (kind, key)
    for i, kind in enumerate(ACTIONS):
        for key, _ in rule_form.ACTION_FIELDS.get(kind, ()):
            assert f'id="actions-{i}-{key}"' in html, (kind, key)
    assert 'name="conditions-0-wholeWord" checked' in html        # defaults of a new type
    assert count(Rule) == 0


def test_a_full_rule_from_the_form_round_trips(admin, api, refs):
    """Many settings at once: any-match, negation, regex, languages, hours; assign to a user, note, forward."""
    data = form(refs, match="any", stop="on", **{
        "conditions-1-condition": "message_matches_regex", "conditions-1-shown": "message_matches_regex",
        "conditions-1-pattern": r"\border\s+\d+", "conditions-1-negate": "on",
        "conditions-2-condition": "message_language", "conditions-2-shown": "message_language",
        "conditions-2-languages": ["fa", "ru"],
        "conditions-3-condition": "business_hours", "conditions-3-shown": "business_hours", "conditions-3-when": "outside",
        "conditions-4-condition": "type", "conditions-4-shown": "type", "conditions-4-types": "conversation, instagram:comment",
        "actions-2-action": "assign", "actions-2-shown": "assign", "actions-2-assignee": f"user:{refs['user']}",
        "actions-3-action": "add_note", "actions-3-shown": "add_note", "actions-3-text": "Refund — check the order",
        "actions-4-action": "forward_by_mail", "actions-4-shown": "forward_by_mail",
        "actions-4-recipients": "money@example.com, boss@example.com", "actions-4-subject": "Refund",
        "actions-4-context": "on", "actions-5-action": "snooze", "actions-5-shown": "snooze", "actions-5-minutes": "90"})
    response = post(admin, "/settings/rules/new", data)
    assert response.status_code == 302, response.get_data(as_text=True)
    [rule] = api("admin").get("/api/v1/rules").get_json()["data"]
    assert (rule["match"], rule["stop"]) == ("any", True)
    assert rule["conditions"][1] == {"condition": "message_matches_regex", "negate": True,
                                     "config": {"pattern": r"\border\s+\d+", "ignoreCase": False}}
    assert rule["conditions"][2]["config"] == {"languages": ["fa", "ru"]}
    assert rule["conditions"][3]["config"] == {"when": "outside"}
    assert rule["conditions"][4]["config"] == {"types": [{"network": None, "type": "conversation"},
                                                         {"network": "INSTAGRAM", "type": "comment"}]}
    assert rule["actions"][2:] == [
        {"action": "assign", "config": {"userId": refs["user"]}},
        {"action": "add_note", "config": {"text": "Refund — check the order"}},
        {"action": "forward_by_mail", "config": {"recipients": ["money@example.com", "boss@example.com"], "cc": [],
                                                 "subject": "Refund", "message": "", "replyTo": None, "context": True}},
        {"action": "snooze", "config": {"minutes": 90}}]
    # The editor shows it back as saved.
    html = admin.get(f"/settings/rules/{rule['id']}").get_data(as_text=True)
    assert 'value="conversation, INSTAGRAM:comment"' in html
    assert f'<option value="user:{refs["user"]}" selected>' in html
    assert 'value="money@example.com, boss@example.com"' in html
