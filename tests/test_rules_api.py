"""Smart rules over the JSON API, in SocialHub's shape: saved only when the engine could run them
(unknown lists, channels or tags, empty lists, bad patterns are 422s naming the part at fault),
listed in the order they run, reordered in bulk, and every change kept as a version that can be
restored."""
from __future__ import annotations

import pytest

from helpers import local_ticket
from inbox import db
from models import Tag, Ticket


@pytest.fixture
def refs(api):
    """A keyword list, a channel and a tag for rules to refer to."""
    kl = api("admin").post("/api/v1/keyword-lists", json={"name": "Refunds", "keywords": ["refund", "возврат"]}).get_json()
    ticket_id = local_ticket()
    with db.session_scope() as s:
        channel_id = s.get(Ticket, ticket_id).channel_id
        tag = Tag(name="Money")
        s.add(tag)
        s.flush()
        tag_id = tag.id
    return {"keyword_list": kl["id"], "channel": channel_id, "tag": tag_id}


def rule_body(refs, **changes) -> dict:
    body = {"name": "Refund requests", "description": "Tag and prioritise refunds", "active": True, "weight": 10,
            "trigger": "ticket_creation", "entity": "ticket",
            "conditions": [{"condition": "message_has_keyword", "config": {"keywordList": refs["keyword_list"]}},
                           {"condition": "ticket_belongs_to_channel", "config": {"channelIds": [refs["channel"]]}}],
            "actions": [{"action": "mark_as_priority", "config": {}},
                        {"action": "add_tags", "config": {"tagIds": [refs["tag"]]}}]}
    return {**body, **changes}


def test_a_rule_round_trips_in_socialhubs_shape(api, refs):
    made = api("admin").post("/api/v1/rules", json=rule_body(refs))
    assert made.status_code == 201, made.get_data(as_text=True)
    rule = made.get_json()
    assert (rule["name"], rule["trigger"], rule["entity"], rule["match"], rule["stop"], rule["version"]) == (
        "Refund requests", "ticket_creation", "ticket", "all", False, 1)
    assert [c["condition"] for c in rule["conditions"]] == ["message_has_keyword", "ticket_belongs_to_channel"]
    assert rule["conditions"][0]["config"]["keywordList"] == refs["keyword_list"]
    assert [a["action"] for a in rule["actions"]] == ["mark_as_priority", "add_tags"]
    assert api("admin").get(f"/api/v1/rules/{rule['id']}").get_json() == rule
    assert api("admin").get("/api/v1/rules").get_json()["data"] == [rule]


@pytest.mark.parametrize("change, code, where", [
    ({"conditions": [{"condition": "message_has_keyword", "config": {"keywordList": 999}}]}, "unknown_id",
     "conditions[0].config.keywordList"),
    ({"conditions": [{"condition": "ticket_belongs_to_channel", "config": {"channelIds": []}}]}, "empty_list",
     "conditions[0].config.channelIds"),
    ({"conditions": [{"condition": "message_matches_regex", "config": {"pattern": "(unclosed"}}]}, None,
     "conditions[0].config"),
    ({"conditions": [{"condition": "teleport", "config": {}}]}, "unknown_condition", "conditions[0].condition"),
    ({"actions": [{"action": "add_tags", "config": {"tagIds": [424242]}}]}, "unknown_id", "actions[0].config.tagIds"),
    ({"actions": []}, "no_actions", ""),
    ({"trigger": "whenever"}, "invalid_value", ""),
    ({"name": ""}, "missing_field", ""),
    ({"weight": -1}, "invalid_value", ""),
])
def test_a_rule_the_engine_could_not_run_is_refused_on_save(api, refs, change, code, where):
    answer = api("admin").post("/api/v1/rules", json=rule_body(refs, **change))
    assert answer.status_code == 422, answer.get_data(as_text=True)
    error = answer.get_json()["error"]
    if code:
        assert error["code"] == code
    assert where in error["message"]
    assert api("admin").get("/api/v1/rules").get_json()["data"] == []


def test_rules_list_in_the_order_they_run_and_reorder_in_bulk(api, refs):
    a = api("admin").post("/api/v1/rules", json=rule_body(refs, name="A", weight=20)).get_json()
    b = api("admin").post("/api/v1/rules", json=rule_body(refs, name="B", weight=10)).get_json()
    assert [r["name"] for r in api("admin").get("/api/v1/rules").get_json()["data"]] == ["B", "A"]
    moved = api("admin").patch("/api/v1/rules", json=[{"id": a["id"], "weight": 1}])
    assert moved.status_code == 200 and [r["name"] for r in moved.get_json()["data"]] == ["A", "B"]
    unknown = api("admin").patch("/api/v1/rules", json=[{"id": a["id"], "weight": 50}, {"id": 9999, "weight": 0}])
    assert unknown.status_code == 422 and unknown.get_json()["error"]["code"] == "unknown_rule"
    assert [r["name"] for r in api("admin").get("/api/v1/rules").get_json()["data"]] == ["A", "B"]   # nothing moved
    assert api("admin").patch("/api/v1/rules", json={"id": 1}).status_code == 400


def test_every_change_is_a_version_and_an_old_one_can_be_restored(api, users, refs):
    rule = api("admin").post("/api/v1/rules", json=rule_body(refs)).get_json()
    changed = api("admin").patch(f"/api/v1/rules/{rule['id']}", json={"name": "Refunds (strict)", "stop": True})
    assert changed.status_code == 200 and changed.get_json()["version"] == 2
    versions = api("admin").get(f"/api/v1/rules/{rule['id']}/versions").get_json()["data"]
    assert [(v["version"], v["change"], v["user_id"], v["rule"]["name"]) for v in versions] == [
        (2, "update", users["admin"].id, "Refunds (strict)"), (1, "create", users["admin"].id, "Refund requests")]
    restored = api("admin").post(f"/api/v1/rules/{rule['id']}/versions/1/restore")
    assert restored.status_code == 200
    assert (restored.get_json()["name"], restored.get_json()["stop"], restored.get_json()["version"]) == (
        "Refund requests", False, 3)
    assert api("admin").post(f"/api/v1/rules/{rule['id']}/versions/99/restore").status_code == 422
    # A version whose keyword list is gone cannot come back: the rule would not run.
    assert api("admin").delete(f"/api/v1/keyword-lists/{refs['keyword_list']}").status_code == 204
    gone = api("admin").post(f"/api/v1/rules/{rule['id']}/versions/1/restore")
    assert gone.status_code == 422 and gone.get_json()["error"]["code"] == "unknown_id"


def test_only_admins_see_and_change_rules(api, refs):
    rule = api("admin").post("/api/v1/rules", json=rule_body(refs)).get_json()
    for role in ("agent", "supervisor"):
        assert api(role).get("/api/v1/rules").status_code == 403
        assert api(role).patch(f"/api/v1/rules/{rule['id']}", json={"active": False}).status_code == 403
    assert api("admin").delete(f"/api/v1/rules/{rule['id']}").status_code == 204
    assert api("admin").get(f"/api/v1/rules/{rule['id']}").status_code == 404
