"""Tags and the category tree: the JSON API, the settings pages, the pickers in the pane, the
``categorize`` action, the subtree filter and the channels that require a category to archive."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from helpers import csrf_of, login
from inbox import db
from models import Category, Channel, History, Tag, Ticket


@pytest.fixture
def tickets(app, users):
    """One channel and three tickets (no provider involved: categories and local tags only)."""
    with db.session_scope() as s:
        channel = Channel(provider="getloo", network="instagram", name="Shop", base_url="http://getloo.test")
        s.add(channel)
        s.flush()
        made = []
        for i in range(3):
            t = Ticket(channel_id=channel.id, network="instagram", kind="conversation", external_id=f"t{i}",
                       text=f"ticket {i}")
            s.add(t)
            s.flush()
            made.append(t.id)
        return {"channel_id": channel.id, "ids": made}


def error_code(response) -> str:
    return response.get_json()["error"]["code"]


def make_tree(api) -> dict[str, int]:
    """Product > (Shipping > Late, Returns); Praise."""
    admin = api("admin")
    ids = {}
    ids["Product"] = admin.post("/api/v1/categories", json={"name": "Product"}).get_json()["id"]
    ids["Shipping"] = admin.post("/api/v1/categories", json={"name": "Shipping", "parent_id": ids["Product"]}).get_json()["id"]
    ids["Late"] = admin.post("/api/v1/categories", json={"name": "Late", "parent_id": ids["Shipping"]}).get_json()["id"]
    ids["Returns"] = admin.post("/api/v1/categories", json={"name": "Returns", "parent_id": ids["Product"]}).get_json()["id"]
    ids["Praise"] = admin.post("/api/v1/categories", json={"name": "Praise"}).get_json()["id"]
    return ids


# -- tags API ----------------------------------------------------------------------------------

def test_tag_crud_with_counts(api, tickets):
    admin = api("admin")
    created = admin.post("/api/v1/tags", json={"name": "VIP", "color": "#DC2626"})
    assert created.status_code == 201
    vip = created.get_json()
    assert vip == {"id": vip["id"], "name": "VIP", "color": "#dc2626"}
    admin.post(f"/api/v1/tickets/{tickets['ids'][0]}/actions/tag", json={"tag_ids": [vip["id"]]})
    listed = admin.get("/api/v1/tags").get_json()["data"]
    assert listed == [{"id": vip["id"], "name": "VIP", "color": "#dc2626", "ticket_count": 1}]
    renamed = admin.patch(f"/api/v1/tags/{vip['id']}", json={"name": "Very important", "color": "#2563eb"})
    assert renamed.status_code == 200 and renamed.get_json()["name"] == "Very important"
    assert admin.delete(f"/api/v1/tags/{vip['id']}").status_code == 204
    assert admin.get("/api/v1/tags").get_json()["data"] == []
    with db.session_scope() as s:
        assert s.get(Ticket, tickets["ids"][0]).tags == []


def test_agents_read_tags_but_cannot_change_them(api, tickets):
    api("admin").post("/api/v1/tags", json={"name": "VIP"})
    assert api("agent").get("/api/v1/tags").status_code == 200
    refused = api("agent").post("/api/v1/tags", json={"name": "Mine"})
    assert refused.status_code == 403 and error_code(refused) == "insufficient_permissions"


@pytest.mark.parametrize("body, code", [
    ({}, "missing_field"),
    ({"name": ""}, "invalid_value"),
    ({"name": "   "}, "invalid_value"),
    ({"name": 5}, "invalid_value"),
    ({"name": "x" * 81}, "too_long"),
    ({"name": "a\nb"}, "invalid_value"),
    ({"name": "Red", "color": "red"}, "invalid_value"),
    ({"name": "Red", "color": "#12345"}, "invalid_value"),
    ({"name": "Red", "colour": "#123456"}, "unknown_field"),
    ({"name": "vip"}, "name_taken"),          # case-insensitive duplicate
])
def test_bad_tags_are_refused_and_nothing_is_written(api, tickets, body, code):
    admin = api("admin")
    admin.post("/api/v1/tags", json={"name": "VIP"})
    response = admin.post("/api/v1/tags", json=body)
    assert response.status_code == 422 and error_code(response) == code
    assert [t["name"] for t in admin.get("/api/v1/tags").get_json()["data"]] == ["VIP"]


def test_renaming_a_tag_to_another_tags_name_is_refused(api, tickets):
    admin = api("admin")
    admin.post("/api/v1/tags", json={"name": "VIP"})
    other = admin.post("/api/v1/tags", json={"name": "Billing"}).get_json()
    response = admin.patch(f"/api/v1/tags/{other['id']}", json={"name": "VIP"})
    assert response.status_code == 422 and error_code(response) == "name_taken"
    assert admin.patch("/api/v1/tags/999", json={"name": "X"}).status_code == 404


def test_merge_moves_tickets_and_deletes_the_source(api, tickets):
    admin = api("admin")
    a = admin.post("/api/v1/tags", json={"name": "delivery"}).get_json()["id"]
    b = admin.post("/api/v1/tags", json={"name": "Shipping"}).get_json()["id"]
    t0, t1, _ = tickets["ids"]
    admin.post(f"/api/v1/tickets/{t0}/actions/tag", json={"tag_ids": [a]})
    admin.post(f"/api/v1/tickets/{t1}/actions/tag", json={"tag_ids": [a, b]})   # has both: counted once
    merged = admin.post(f"/api/v1/tags/{a}/merge", json={"into_id": b})
    assert merged.status_code == 200 and merged.get_json()["ticket_count"] == 2
    assert admin.get(f"/api/v1/tags/{a}").status_code == 404
    for tid in (t0, t1):
        assert [t["name"] for t in admin.get(f"/api/v1/tickets/{tid}").get_json()["tags"]] == ["Shipping"]
    assert error_code(admin.post(f"/api/v1/tags/{b}/merge", json={"into_id": b})) == "invalid_value"
    assert error_code(admin.post(f"/api/v1/tags/{b}/merge", json={"into_id": 4242})) == "unknown_tag"
    assert error_code(admin.post(f"/api/v1/tags/{b}/merge", json={"into_id": "x"})) == "unknown_tag"
    assert error_code(admin.post(f"/api/v1/tags/{b}/merge", json={})) == "missing_field"


# -- categories API ----------------------------------------------------------------------------

def test_category_tree_crud_and_shape(api, tickets):
    admin = api("admin")
    ids = make_tree(api)
    data = admin.get("/api/v1/categories").get_json()["data"]
    assert [c["name"] for c in data] == ["Product", "Shipping", "Late", "Returns", "Praise"]   # depth-first
    assert data[1] == {"id": ids["Shipping"], "name": "Shipping", "parent_id": ids["Product"], "description": "",
                       "position": 0, "hidden": False, "ticket_count": 0}
    changed = admin.patch(f"/api/v1/categories/{ids['Returns']}",
                          json={"name": "Refunds", "description": "Money back", "hidden": True, "position": 0})
    assert changed.status_code == 200
    assert changed.get_json() | {} == {"id": ids["Returns"], "name": "Refunds", "parent_id": ids["Product"],
                                       "description": "Money back", "position": 0, "hidden": True}
    names = [c["name"] for c in admin.get("/api/v1/categories").get_json()["data"]]
    assert names == ["Product", "Refunds", "Shipping", "Late", "Praise"]     # reordered among siblings
    moved = admin.patch(f"/api/v1/categories/{ids['Late']}", json={"parent_id": None})
    assert moved.status_code == 200 and moved.get_json()["parent_id"] is None


def test_a_cycle_in_the_tree_is_refused(api, tickets):
    admin = api("admin")
    ids = make_tree(api)
    for target in ("Product", "Shipping", "Late"):
        response = admin.patch(f"/api/v1/categories/{ids['Product']}", json={"parent_id": ids[target]})
        assert response.status_code == 422 and error_code(response) == "cycle", target
    assert admin.get(f"/api/v1/categories/{ids['Product']}").get_json()["parent_id"] is None


@pytest.mark.parametrize("body, code", [
    ({}, "missing_field"),
    ({"name": ""}, "invalid_value"),
    ({"name": "x" * 121}, "too_long"),
    ({"name": "Shipping", "parent_id": "PRODUCT"}, "invalid_value"),
    ({"name": "New", "parent_id": 4242}, "unknown_category"),
    ({"name": "New", "parent_id": 2**40}, "invalid_value"),
    ({"name": "New", "hidden": "yes"}, "invalid_value"),
    ({"name": "New", "position": -1}, "invalid_value"),
    ({"name": "New", "description": ["x"]}, "invalid_value"),
    ({"name": "New", "color": "#fff"}, "unknown_field"),
    ({"name": "praise"}, "name_taken"),      # a sibling at the root
])
def test_bad_categories_are_refused(api, tickets, body, code):
    admin = api("admin")
    ids = make_tree(api)
    if body.get("parent_id") == "PRODUCT":
        body = {**body, "parent_id": ids["Product"]}
        code = "name_taken"       # Shipping exists under Product
    response = admin.post("/api/v1/categories", json=body)
    assert response.status_code == 422 and error_code(response) == code
    assert len(admin.get("/api/v1/categories").get_json()["data"]) == 5


def test_the_same_name_may_sit_under_different_parents(api, tickets):
    admin = api("admin")
    ids = make_tree(api)
    assert admin.post("/api/v1/categories", json={"name": "Late", "parent_id": ids["Praise"]}).status_code == 201
    clash = admin.patch(f"/api/v1/categories/{ids['Returns']}", json={"parent_id": ids["Shipping"], "name": "late"})
    assert clash.status_code == 422 and error_code(clash) == "name_taken"


def test_counts_include_the_subtree(api, tickets):
    admin = api("admin")
    ids = make_tree(api)
    t0, t1, t2 = tickets["ids"]
    admin.post(f"/api/v1/tickets/{t0}/actions/categorize", json={"category_ids": [ids["Late"]]})
    admin.post(f"/api/v1/tickets/{t1}/actions/categorize", json={"category_ids": [ids["Shipping"], ids["Late"]]})
    admin.post(f"/api/v1/tickets/{t2}/actions/categorize", json={"category_ids": [ids["Returns"], ids["Praise"]]})
    counts = {c["name"]: c["ticket_count"] for c in admin.get("/api/v1/categories").get_json()["data"]}
    assert counts == {"Product": 3, "Shipping": 2, "Late": 2, "Returns": 1, "Praise": 1}
    assert admin.get(f"/api/v1/categories/{ids['Shipping']}").get_json()["ticket_count"] == 2


def test_delete_with_reassignment_moves_tickets_and_lifts_children(api, tickets):
    admin = api("admin")
    ids = make_tree(api)
    t0, t1, _ = tickets["ids"]
    admin.post(f"/api/v1/tickets/{t0}/actions/categorize", json={"category_ids": [ids["Shipping"]]})
    admin.post(f"/api/v1/tickets/{t1}/actions/categorize", json={"category_ids": [ids["Shipping"], ids["Praise"]]})
    refused = admin.delete(f"/api/v1/categories/{ids['Shipping']}", json={"reassign_to": 4242})
    assert refused.status_code == 422 and error_code(refused) == "unknown_category"
    itself = admin.delete(f"/api/v1/categories/{ids['Shipping']}", json={"reassign_to": ids["Shipping"]})
    assert itself.status_code == 422
    assert admin.delete(f"/api/v1/categories/{ids['Shipping']}", json={"reassign_to": ids["Praise"]}).status_code == 204
    for tid in (t0, t1):
        assert [c["name"] for c in admin.get(f"/api/v1/tickets/{tid}").get_json()["categories"]] == ["Praise"]
    late = admin.get(f"/api/v1/categories/{ids['Late']}").get_json()
    assert late["parent_id"] == ids["Product"]             # children moved up, not deleted
    assert admin.delete(f"/api/v1/categories/{ids['Praise']}").status_code == 204   # no body: tickets just lose it
    assert admin.get(f"/api/v1/tickets/{t0}").get_json()["categories"] == []


def test_deleting_a_node_whose_child_clashes_with_an_uncle_is_refused(api, tickets):
    admin = api("admin")
    ids = make_tree(api)
    admin.post("/api/v1/categories", json={"name": "Late", "parent_id": ids["Product"]})
    response = admin.delete(f"/api/v1/categories/{ids['Shipping']}")
    assert response.status_code == 422 and error_code(response) == "name_taken"
    assert admin.get(f"/api/v1/categories/{ids['Shipping']}").status_code == 200


def test_import_builds_the_tree_and_reuses_existing_nodes(api, tickets):
    admin = api("admin")
    admin.post("/api/v1/categories", json={"name": "Product"})
    text = "Product\n  Shipping\n    Late\n\n  Returns\nPraise\n\tFor staff\n"
    response = admin.post("/api/v1/categories/import", json={"text": text})
    assert response.status_code == 201
    assert [c["name"] for c in response.get_json()["created"]] == ["Shipping", "Late", "Returns", "Praise", "For staff"]
    tree = {c["name"]: c for c in admin.get("/api/v1/categories").get_json()["data"]}
    assert tree["Late"]["parent_id"] == tree["Shipping"]["id"] and tree["Shipping"]["parent_id"] == tree["Product"]["id"]
    assert tree["For staff"]["parent_id"] == tree["Praise"]["id"]
    again = admin.post("/api/v1/categories/import", json={"text": text})
    assert again.status_code == 201 and again.get_json()["created"] == []


@pytest.mark.parametrize("text, code", [
    ("A\n    B\n", "invalid_indent"),          # two levels at once
    ("  A\n", "invalid_indent"),               # starts indented
    ("A\n   B\n", "invalid_indent"),           # three spaces
    ("A\n \tB\n", "invalid_indent"),           # mixed
    ("\n  \n", "invalid_value"),               # nothing
    ("A\n" + "x" * 121 + "\n", "too_long"),
    (["A"], "invalid_value"),
])
def test_bad_imports_are_refused_whole(api, tickets, text, code):
    admin = api("admin")
    response = admin.post("/api/v1/categories/import", json={"text": text})
    assert response.status_code == 422 and error_code(response) == code
    assert admin.get("/api/v1/categories").get_json()["data"] == []


# -- on tickets --------------------------------------------------------------------------------

def test_categorize_replaces_the_set_and_is_in_the_history(api, tickets):
    agent = api("agent")
    ids = make_tree(api)
    tid = tickets["ids"][0]
    first = agent.post(f"/api/v1/tickets/{tid}/actions/categorize", json={"category_ids": [ids["Late"], ids["Praise"]]})
    assert first.status_code == 200 and {c["name"] for c in first.get_json()["categories"]} == {"Late", "Praise"}
    second = agent.post(f"/api/v1/tickets/{tid}/actions/categorize", json={"category_ids": [ids["Returns"]]})
    assert [c["name"] for c in second.get_json()["categories"]] == ["Returns"]
    history = agent.get(f"/api/v1/tickets/{tid}").get_json()["history"]
    assert [h["action"] for h in history if h["action"] == "categorized"] == ["categorized", "categorized"]


@pytest.mark.parametrize("body, code", [
    ({}, "invalid_value"),
    ({"category_ids": "1"}, "invalid_value"),
    ({"category_ids": [4242]}, "unknown_category"),
    ({"category_ids": [True]}, "invalid_value"),
    ({"category_ids": [2**40]}, "invalid_value"),
])
def test_categorize_refuses_bad_ids_and_keeps_the_old_set(api, tickets, body, code):
    agent = api("agent")
    ids = make_tree(api)
    tid = tickets["ids"][0]
    agent.post(f"/api/v1/tickets/{tid}/actions/categorize", json={"category_ids": [ids["Praise"]]})
    response = agent.post(f"/api/v1/tickets/{tid}/actions/categorize", json=body)
    assert response.status_code == 422 and error_code(response) == code
    assert [c["name"] for c in agent.get(f"/api/v1/tickets/{tid}").get_json()["categories"]] == ["Praise"]


def test_the_category_filter_includes_the_subtree(api, tickets, client, users):
    admin = api("admin")
    ids = make_tree(api)
    t0, t1, t2 = tickets["ids"]
    admin.post(f"/api/v1/tickets/{t0}/actions/categorize", json={"category_ids": [ids["Late"]]})
    admin.post(f"/api/v1/tickets/{t1}/actions/categorize", json={"category_ids": [ids["Returns"]]})
    admin.post(f"/api/v1/tickets/{t2}/actions/categorize", json={"category_ids": [ids["Praise"]]})

    def found(category: int) -> set[int]:
        return {t["id"] for t in admin.get(f"/api/v1/tickets?category={category}").get_json()["data"]}

    assert found(ids["Product"]) == {t0, t1}
    assert found(ids["Shipping"]) == {t0}
    assert found(ids["Praise"]) == {t2}
    login(client, "agent")
    page = client.get(f"/queue/rows?category={ids['Shipping']}", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert f'id="ticket-{t0}"' in page and f'id="ticket-{t1}"' not in page


def test_tags_by_name_in_the_contract_shape(api, tickets):
    agent = api("agent")
    tid = tickets["ids"][0]
    response = agent.post(f"/api/v1/tickets/{tid}/actions/tag", json={"tags": ["VIP", "Late delivery"]})
    assert response.status_code == 200 and sorted(t["name"] for t in response.get_json()["tags"]) == ["Late delivery", "VIP"]
    assert error_code(agent.post(f"/api/v1/tickets/{tid}/actions/tag", json={"tags": [1]})) == "invalid_value"


def test_force_tagging_requires_a_category_to_archive(api, tickets):
    admin = api("admin")
    ids = make_tree(api)
    patched = admin.patch(f"/api/v1/channels/{tickets['channel_id']}", json={"settings": {"require_category": True}})
    assert patched.status_code == 200
    tid = tickets["ids"][0]
    refused = api("agent").post(f"/api/v1/tickets/{tid}/actions/archive")
    assert refused.status_code == 422 and error_code(refused) == "category_required"
    assert admin.get(f"/api/v1/tickets/{tid}").get_json()["status"] == "open"
    admin.post(f"/api/v1/tickets/{tid}/actions/categorize", json={"category_ids": [ids["Praise"]]})
    done = api("agent").post(f"/api/v1/tickets/{tid}/actions/archive")
    assert done.status_code == 200 and done.get_json()["status"] == "archived"
    other = tickets["ids"][1]
    admin.patch(f"/api/v1/channels/{tickets['channel_id']}", json={"settings": {"require_category": False}})
    assert api("agent").post(f"/api/v1/tickets/{other}/actions/archive").get_json()["status"] == "archived"


def test_force_tagging_in_the_pane_shows_the_message_inline(client, api, tickets):
    api("admin").patch(f"/api/v1/channels/{tickets['channel_id']}", json={"settings": {"require_category": True}})
    login(client, "agent")
    tid = tickets["ids"][0]
    token = csrf_of(client, f"/tickets/{tid}")
    response = client.post(f"/tickets/{tid}/actions/archive", data={"csrf_token": token}, headers={"HX-Request": "true"})
    assert response.status_code == 422 and "requires a category" in response.get_data(as_text=True)


# -- the pane's pickers ------------------------------------------------------------------------

def test_tag_picker_creates_adds_and_removes_one_chip_at_a_time(client, api, tickets):
    existing = api("admin").post("/api/v1/tags", json={"name": "VIP", "color": "#dc2626"}).get_json()["id"]
    login(client, "agent")
    tid = tickets["ids"][0]
    pane = client.get(f"/tickets/{tid}").get_data(as_text=True)
    assert 'id="ticket-taxonomy"' in pane
    token = csrf_of(client, f"/tickets/{tid}")
    hx = {"HX-Request": "true", "X-CSRFToken": token}
    options = client.get(f"/tickets/{tid}/tag-options?name=vi", headers=hx).get_data(as_text=True)
    assert f'data-add-tag="{existing}"' in options
    added = client.post(f"/tickets/{tid}/tags", data={"tag_id": existing}, headers=hx)
    assert added.status_code == 200 and 'fill="#dc2626"' in added.get_data(as_text=True)
    created = client.post(f"/tickets/{tid}/tags", data={"name": "  Late delivery "}, headers=hx)
    assert created.status_code == 200
    again = client.post(f"/tickets/{tid}/tags", data={"name": "late DELIVERY"}, headers=hx)   # found, not duplicated
    assert again.status_code == 200
    with db.session_scope() as s:
        assert sorted(t.name for t in s.get(Ticket, tid).tags) == ["Late delivery", "VIP"]
        assert s.scalar(select(Tag.id).where(Tag.name == "Late delivery")) is not None
    removed = client.post(f"/tickets/{tid}/tags/{existing}/remove", headers=hx)
    assert removed.status_code == 200 and f'data-remove-tag="{existing}"' not in removed.get_data(as_text=True)
    with db.session_scope() as s:
        assert [t.name for t in s.get(Ticket, tid).tags] == ["Late delivery"]
    bad = client.post(f"/tickets/{tid}/tags", data={"name": "   "}, headers=hx)
    assert bad.status_code == 422 and "needs a name" in bad.get_data(as_text=True)
    unknown = client.post(f"/tickets/{tid}/tags", data={"tag_id": "999"}, headers=hx)
    assert unknown.status_code == 422
    queue = client.get("/").get_data(as_text=True)
    assert 'class="chip"' in queue and "Late delivery" in queue      # the chips in the list


def test_category_picker_searches_the_tree_and_leaves_hidden_nodes_out(client, api, tickets):
    ids = make_tree(api)
    api("admin").patch(f"/api/v1/categories/{ids['Returns']}", json={"hidden": True})
    login(client, "agent")
    tid = tickets["ids"][0]
    token = csrf_of(client, f"/tickets/{tid}")
    hx = {"HX-Request": "true", "X-CSRFToken": token}
    found = client.get(f"/tickets/{tid}/category-options?q=lat", headers=hx).get_data(as_text=True)
    assert f'data-add-category="{ids["Late"]}"' in found and "Product › Shipping › Late" in found
    assert f'data-add-category="{ids["Praise"]}"' not in found
    everything = client.get(f"/tickets/{tid}/category-options", headers=hx).get_data(as_text=True)
    assert f'data-add-category="{ids["Returns"]}"' not in everything       # hidden
    assert client.post(f"/tickets/{tid}/categories", data={"category_id": ids["Late"]}, headers=hx).status_code == 200
    assert client.post(f"/tickets/{tid}/categories", data={"category_id": ids["Praise"]}, headers=hx).status_code == 200
    removed = client.post(f"/tickets/{tid}/categories/{ids['Late']}/remove", headers=hx)
    assert removed.status_code == 200
    with db.session_scope() as s:
        assert [c.name for c in s.get(Ticket, tid).categories] == ["Praise"]
        assert s.scalars(select(History.action).where(History.ticket_id == tid)).all().count("categorized") == 3
    for bad in ({"category_id": "4242"}, {"category_id": "abc"}, {}):
        response = client.post(f"/tickets/{tid}/categories", data=bad, headers=hx)
        assert response.status_code == 422 and 'role="alert"' in response.get_data(as_text=True)


def test_picker_posts_need_the_csrf_token(client, api, tickets):
    login(client, "agent")
    tid = tickets["ids"][0]
    assert client.post(f"/tickets/{tid}/tags", data={"name": "X"}).status_code == 400
    with db.session_scope() as s:
        assert s.get(Ticket, tid).tags == []


# -- settings pages ----------------------------------------------------------------------------

def test_only_admins_see_the_settings_pages(client, users):
    login(client, "agent")
    assert client.get("/settings/tags").status_code == 403
    assert client.get("/settings/categories").status_code == 403


def test_tags_page_create_rename_merge_delete(client, users, tickets):
    login(client, "admin")
    token = csrf_of(client, "/settings/tags")
    assert client.post("/settings/tags", data={"csrf_token": token, "name": "VIP", "color": "#dc2626"}).status_code == 302
    assert client.post("/settings/tags", data={"csrf_token": token, "name": "Billing"}).status_code == 302
    dup = client.post("/settings/tags", data={"csrf_token": token, "name": "vip", "color": "#000000"})
    assert dup.status_code == 422 and "already exists" in dup.get_data(as_text=True)
    bad = client.post("/settings/tags", data={"csrf_token": token, "name": "Red", "color": "javascript:x"})
    assert bad.status_code == 422 and "hex colour" in bad.get_data(as_text=True)
    assert client.post("/settings/tags", data={"name": "NoToken"}).status_code == 400
    with db.session_scope() as s:
        vip, billing = (s.scalar(select(Tag.id).where(Tag.name == n)) for n in ("VIP", "Billing"))
        s.get(Ticket, tickets["ids"][0]).tags = [s.get(Tag, vip)]
    page = client.get("/settings/tags").get_data(as_text=True)
    assert 'fill="#dc2626"' in page and f'id="tag-{vip}"' in page
    renamed = client.post(f"/settings/tags/{billing}", data={"csrf_token": token, "name": "Invoices", "color": "#2563eb"})
    assert renamed.status_code == 302
    clash = client.post(f"/settings/tags/{billing}", data={"csrf_token": token, "name": "VIP", "color": "#2563eb"})
    assert clash.status_code == 422
    assert client.post(f"/settings/tags/{vip}/merge", data={"csrf_token": token, "into_id": ""}).status_code == 422
    assert client.post(f"/settings/tags/{vip}/merge", data={"csrf_token": token, "into_id": billing}).status_code == 302
    with db.session_scope() as s:
        assert [t.name for t in s.get(Ticket, tickets["ids"][0]).tags] == ["Invoices"]
        assert s.get(Tag, vip) is None
    assert client.post(f"/settings/tags/{billing}/delete", data={"csrf_token": token}).status_code == 302
    assert client.post(f"/settings/tags/{billing}/delete", data={"csrf_token": token}).status_code == 404


def test_categories_page_tree_move_hide_delete_import(client, users, tickets):
    login(client, "admin")
    token = csrf_of(client, "/settings/categories")
    data = {"csrf_token": token}
    assert client.post("/settings/categories/import", data={**data, "text": "Product\n  Shipping\n  Returns\nPraise"}).status_code == 302
    with db.session_scope() as s:
        ids = {c.name: c.id for c in s.scalars(select(Category))}
    page = client.get("/settings/categories").get_data(as_text=True)
    assert all(f'id="category-{i}"' in page for i in ids.values())
    bad_import = client.post("/settings/categories/import", data={**data, "text": "A\n      B"})
    assert bad_import.status_code == 422 and "Line 2" in bad_import.get_data(as_text=True)
    cycle = client.post(f"/settings/categories/{ids['Product']}",
                        data={**data, "name": "Product", "parent_id": ids["Shipping"], "description": ""})
    assert cycle.status_code == 422 and "cannot move under itself" in cycle.get_data(as_text=True)
    saved = client.post(f"/settings/categories/{ids['Returns']}",
                        data={**data, "name": "Refunds", "parent_id": ids["Product"], "description": "Money", "hidden": "on"})
    assert saved.status_code == 302
    assert client.post(f"/settings/categories/{ids['Returns']}/move", data={**data, "direction": "up"}).status_code == 302
    assert client.post(f"/settings/categories/{ids['Returns']}/move", data={**data, "direction": "sideways"}).status_code == 422
    with db.session_scope() as s:
        refunds = s.get(Category, ids["Returns"])
        assert (refunds.name, refunds.description, refunds.hidden, refunds.position) == ("Refunds", "Money", True, 0)
        s.get(Ticket, tickets["ids"][0]).categories = [s.get(Category, ids["Shipping"])]
    created = client.post("/settings/categories", data={**data, "name": "Shipping", "parent_id": ids["Product"]})
    assert created.status_code == 422 and "already exists" in created.get_data(as_text=True)
    assert client.post("/settings/categories", data={**data, "name": "Other", "parent_id": "x"}).status_code == 422
    deleted = client.post(f"/settings/categories/{ids['Shipping']}/delete", data={**data, "reassign_to": ids["Praise"]})
    assert deleted.status_code == 302
    with db.session_scope() as s:
        assert [c.name for c in s.get(Ticket, tickets["ids"][0]).categories] == ["Praise"]


def test_categories_page_sets_force_tagging_per_channel(client, users, tickets):
    login(client, "admin")
    token = csrf_of(client, "/settings/categories")
    assert client.post("/settings/categories/required",
                       data={"csrf_token": token, "channel_id": str(tickets["channel_id"])}).status_code == 302
    with db.session_scope() as s:
        assert s.get(Channel, tickets["channel_id"]).settings["require_category"] is True
    client.post("/settings/categories/required", data={"csrf_token": token})
    with db.session_scope() as s:
        assert s.get(Channel, tickets["channel_id"]).settings["require_category"] is False


# -- more bad input, and what lists cost -------------------------------------------------------

def test_bodies_that_are_not_json_objects_are_refused(api, tickets):
    admin = api("admin")
    tag = admin.post("/api/v1/tags", json={"name": "VIP"}).get_json()["id"]
    assert admin.post("/api/v1/tags", data="name=VIP", content_type="application/x-www-form-urlencoded").status_code == 400
    assert admin.post("/api/v1/categories", json=["Product"]).status_code == 400
    assert admin.patch(f"/api/v1/tags/{tag}", data=b"\xff", content_type="application/json").status_code == 400
    assert error_code(admin.patch(f"/api/v1/categories/1", json={"name": "x"})) == "not_found"
    assert admin.delete("/api/v1/tags/4242").status_code == 404
    assert admin.post("/api/v1/tags/4242/merge", json={"into_id": tag}).status_code == 404
    assert admin.get("/api/v1/tags?q=" + "x" * 81).status_code == 400
    assert error_code(admin.patch(f"/api/v1/tags/{tag}", json={"name": "VIP", "extra": 1})) == "unknown_field"


def test_ticket_json_carries_the_tag_colour(api, tickets):
    admin = api("admin")
    tag = admin.post("/api/v1/tags", json={"name": "VIP", "color": "#16a34a"}).get_json()["id"]
    body = admin.post(f"/api/v1/tickets/{tickets['ids'][0]}/actions/tag", json={"tag_ids": [tag]}).get_json()
    assert body["tags"] == [{"id": tag, "name": "VIP", "color": "#16a34a"}]


def test_lists_cost_the_same_for_a_small_and_a_large_tree(api, tickets, client):
    from statements import recorded

    admin = api("admin")

    def cost(path: str) -> int:
        admin.get(path)
        with recorded() as statements:
            assert admin.get(path).status_code == 200
        return len(statements)

    admin.post("/api/v1/categories/import", json={"text": "A\n  B\nC"})
    admin.post("/api/v1/tags", json={"name": "t0"})
    admin.post(f"/api/v1/tickets/{tickets['ids'][0]}/actions/categorize", json={"category_ids": [2]})
    small = (cost("/api/v1/categories"), cost("/api/v1/tags"), cost("/api/v1/tickets?category=1"))
    admin.post("/api/v1/categories/import", json={"text": "\n".join(f"N{i}\n  M{i}\n    O{i}" for i in range(30))})
    for i in range(1, 30):
        admin.post("/api/v1/tags", json={"name": f"t{i}"})
    for tid in tickets["ids"]:
        admin.post(f"/api/v1/tickets/{tid}/actions/categorize", json={"category_ids": [1, 2, 5, 6]})
    assert (cost("/api/v1/categories"), cost("/api/v1/tags"), cost("/api/v1/tickets?category=1")) == small


def test_reply_and_archive_on_a_force_tagging_channel_refuses_both(api, tickets):
    from models import Followup

    api("admin").patch(f"/api/v1/channels/{tickets['channel_id']}", json={"settings": {"require_category": True}})
    tid = tickets["ids"][0]
    response = api("agent").post(f"/api/v1/tickets/{tid}/actions/reply", json={"text": "Thanks!", "archive": True})
    assert response.status_code == 422 and error_code(response) == "category_required"
    with db.session_scope() as s:
        assert s.scalars(select(Followup).where(Followup.ticket_id == tid)).all() == []   # nothing half-written
        assert s.get(Ticket, tid).status == "open"


def test_queue_filters_keep_the_category_while_others_change(client, api, tickets):
    ids = make_tree(api)
    login(client, "agent")
    page = client.get(f"/?category={ids['Shipping']}").get_data(as_text=True)
    # the filter bar's category dropdown has it selected, so the next filter change sends it along
    dropdown = page.split('<select name="category"', 1)[1].split("</select>", 1)[0]
    assert f'<option value="{ids["Shipping"]}" selected>' in dropdown


def test_tagging_by_name_finds_a_tag_regardless_of_case(api, tickets):
    vip = api("admin").post("/api/v1/tags", json={"name": "VIP"}).get_json()["id"]
    body = api("agent").post(f"/api/v1/tickets/{tickets['ids'][0]}/actions/tag", json={"tags": ["vip", "Vip", "new"]}).get_json()
    assert sorted(t["name"] for t in body["tags"]) == ["VIP", "new"] and vip in {t["id"] for t in body["tags"]}
    assert len(api("admin").get("/api/v1/tags").get_json()["data"]) == 2
