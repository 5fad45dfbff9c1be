"""Teams: ``/api/v1/teams`` with every bad input refused, who may read and change them, users'
``team_ids``, deleting a team (its tickets go back to no team), and the ``/settings/teams`` page."""
from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import func, select

from helpers import csrf_of, login
from inbox import db
from models import Channel, History, Team, Ticket, team_channels, team_members

API = "/api/v1/teams"


@pytest.fixture
def world(app, users):
    """Two channels (no provider involved) and two open tickets on the first one."""
    with db.session_scope() as s:
        shop = Channel(provider="getloo", network="instagram", name="Shop", base_url="http://getloo.test")
        news = Channel(provider="getloo", network="instagram", name="News", base_url="http://getloo.test")
        s.add_all([shop, news])
        s.flush()
        tickets = []
        for i in range(2):
            t = Ticket(channel_id=shop.id, network="instagram", kind="conversation", external_id=f"t{i}",
                       text=f"ticket {i}")
            s.add(t)
            s.flush()
            tickets.append(t.id)
        return {"shop": shop.id, "news": news.id, "tickets": tickets,
                **{role: users[role].id for role in ("agent", "supervisor", "admin")}}


def error_code(response) -> str:
    return response.get_json()["error"]["code"]


def _hand_to(ticket_id: int, team_id: int | None) -> None:
    with db.session_scope() as s:
        s.get(Ticket, ticket_id).team_id = team_id


def _team_count() -> int:
    with db.session_scope() as s:
        return s.scalar(select(func.count()).select_from(Team))


# -- API -----------------------------------------------------------------------------------------

def test_team_crud_in_the_contract_shape(api, world):
    admin = api("admin")
    made = admin.post(API, json={"name": "  Support ", "member_ids": [world["agent"], world["supervisor"]],
                                 "channel_ids": [world["shop"]]})
    assert made.status_code == 201
    team = made.get_json()
    assert team == {"id": team["id"], "name": "Support", "member_ids": sorted([world["agent"], world["supervisor"]]),
                    "channel_ids": [world["shop"]]}
    assert admin.get(API).get_json() == {"data": [team]}
    assert admin.get(f"{API}/{team['id']}").get_json() == team

    # PATCH changes only what it names; each list replaces the old one
    renamed = admin.patch(f"{API}/{team['id']}", json={"name": "Care"})
    assert renamed.status_code == 200 and renamed.get_json() == {**team, "name": "Care"}
    moved = admin.patch(f"{API}/{team['id']}", json={"member_ids": [world["admin"]], "channel_ids": []})
    assert moved.get_json() == {"id": team["id"], "name": "Care", "member_ids": [world["admin"]], "channel_ids": []}

    assert admin.delete(f"{API}/{team['id']}").status_code == 204
    assert admin.get(API).get_json() == {"data": []}
    assert admin.get(f"{API}/{team['id']}").status_code == 404


def test_teams_are_listed_by_name_whatever_the_case(api, world):
    admin = api("admin")
    for name in ("b-team", "Alpha", "charlie"):
        admin.post(API, json={"name": name})
    assert [t["name"] for t in admin.get(API).get_json()["data"]] == ["Alpha", "b-team", "charlie"]


@pytest.mark.parametrize("body, code", [
    ({}, "missing_field"),
    ({"name": None}, "missing_field"),
    ({"name": ""}, "invalid_value"),
    ({"name": "   "}, "invalid_value"),
    ({"name": "two\nlines"}, "invalid_value"),
    ({"name": "x" * 121}, "too_long"),
    ({"name": 7}, "invalid_value"),
    ({"name": ["Support"]}, "invalid_value"),
    ({"name": "Support", "member_ids": "1"}, "invalid_value"),
    ({"name": "Support", "member_ids": {"id": 1}}, "invalid_value"),
    ({"name": "Support", "member_ids": ["1"]}, "invalid_value"),
    ({"name": "Support", "member_ids": [True]}, "invalid_value"),
    ({"name": "Support", "member_ids": [1.5]}, "invalid_value"),
    ({"name": "Support", "member_ids": [0]}, "invalid_value"),
    ({"name": "Support", "member_ids": [2**31]}, "invalid_value"),
    ({"name": "Support", "member_ids": list(range(1, 52))}, "too_many"),
    ({"name": "Support", "channel_ids": [None]}, "invalid_value"),
    ({"name": "Support", "member_ids": [2**31 - 1]}, "unknown_user"),
    ({"name": "Support", "channel_ids": [2**31 - 1]}, "unknown_channel"),
    ({"name": "Support", "members": [1]}, "unknown_field"),
])
def test_bad_team_bodies_are_refused_and_nothing_is_written(api, world, body, code):
    answer = api("admin").post(API, json=body)
    assert answer.status_code == 422, answer.get_json()
    assert error_code(answer) == code
    assert _team_count() == 0


def test_unknown_ids_are_named_and_the_team_is_left_as_it_was(api, world):
    admin = api("admin")
    team = admin.post(API, json={"name": "Support", "member_ids": [world["agent"]],
                                 "channel_ids": [world["shop"]]}).get_json()
    answer = admin.patch(f"{API}/{team['id']}", json={"name": "Renamed", "member_ids": [world["admin"], 999999],
                                                      "channel_ids": [world["news"]]})
    assert answer.status_code == 422 and error_code(answer) == "unknown_user"
    assert "999999" in answer.get_json()["error"]["message"]
    answer = admin.patch(f"{API}/{team['id']}", json={"name": "Renamed", "channel_ids": [world["news"], 888888]})
    assert answer.status_code == 422 and error_code(answer) == "unknown_channel"
    assert "888888" in answer.get_json()["error"]["message"]
    assert admin.get(f"{API}/{team['id']}").get_json() == team


def test_names_are_unique_whatever_their_case(api, world):
    admin = api("admin")
    first = admin.post(API, json={"name": "Support"}).get_json()
    taken = admin.post(API, json={"name": "SUPPORT"})
    assert taken.status_code == 422 and error_code(taken) == "name_taken"
    other = admin.post(API, json={"name": "Sales"}).get_json()
    renamed = admin.patch(f"{API}/{other['id']}", json={"name": "support "})
    assert renamed.status_code == 422 and error_code(renamed) == "name_taken"
    # renaming a team to its own name in another case is fine
    assert admin.patch(f"{API}/{first['id']}", json={"name": "SUPPORT"}).get_json()["name"] == "SUPPORT"


def test_bad_json_and_missing_teams(api, world):
    admin = api("admin")
    assert admin.post(API, data="[]", content_type="application/json").status_code == 400
    assert admin.post(API, data="name=x").status_code == 400
    assert admin.get(f"{API}/{2**31 - 1}").status_code == 404
    assert error_code(admin.patch(f"{API}/424242", json={"name": "x"})) == "not_found"
    assert admin.delete(f"{API}/424242").status_code == 404
    assert admin.get(f"{API}/{2**40}").status_code == 404


def test_supervisors_read_teams_agents_do_not_and_only_admins_change_them(api, world):
    team = api("admin").post(API, json={"name": "Support", "member_ids": [world["agent"]]}).get_json()
    supervisor, agent = api("supervisor"), api("agent")
    assert supervisor.get(API).get_json() == {"data": [team]}
    assert supervisor.get(f"{API}/{team['id']}").status_code == 200
    for caller in (supervisor, agent):
        assert caller.post(API, json={"name": "Mine"}).status_code == 403
        assert caller.patch(f"{API}/{team['id']}", json={"name": "Mine"}).status_code == 403
        assert caller.delete(f"{API}/{team['id']}").status_code == 403
    assert agent.get(API).status_code == 403 and agent.get(f"{API}/{team['id']}").status_code == 403
    assert api("admin").get(f"{API}/{team['id']}").get_json() == team


def test_deleting_a_team_hands_its_tickets_back_and_keeps_their_history(api, world):
    admin = api("admin")
    team = admin.post(API, json={"name": "Support", "member_ids": [world["agent"]],
                                 "channel_ids": [world["shop"]]}).get_json()
    other = admin.post(API, json={"name": "Sales"}).get_json()
    _hand_to(world["tickets"][0], team["id"])
    _hand_to(world["tickets"][1], other["id"])
    with db.session_scope() as s:
        s.add(History(ticket_id=world["tickets"][0], user_id=world["admin"], action="assign",
                      data={"team_id": team["id"]}))
    assert admin.delete(f"{API}/{team['id']}").status_code == 204
    with db.session_scope() as s:
        assert s.get(Ticket, world["tickets"][0]).team_id is None
        assert s.get(Ticket, world["tickets"][1]).team_id == other["id"]       # another team's: untouched
        assert s.scalar(select(func.count()).select_from(team_members)) == 0
        assert s.scalar(select(func.count()).select_from(team_channels)) == 0
        assert s.get(Channel, world["shop"]) is not None
        kept = s.scalars(select(History).where(History.ticket_id == world["tickets"][0])).all()
        assert [(h.action, h.data) for h in kept] == [("assign", {"team_id": team["id"]})]
    assert api("admin").get(f"/api/v1/users/{world['agent']}").get_json()["team_ids"] == []


# Bodies shaped like a team's or a user's, with every JSON type in the values.
VALUES = st.recursive(st.none() | st.booleans() | st.integers() | st.sampled_from([2**31, 2**63, 1e308, -1, 0])
                      | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=130),
                      lambda inner: st.lists(inner, max_size=60) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
                      max_leaves=70)
BODIES = st.dictionaries(st.sampled_from(["name", "member_ids", "channel_ids", "team_ids", "role", "email"]),
                         VALUES, max_size=4)


@settings(max_examples=80, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(body=BODIES)
def test_generated_bodies_get_an_answer_never_a_crash(api, world, body):
    admin = api("admin")
    for method, path in (("POST", API), ("PATCH", f"/api/v1/users/{world['supervisor']}")):
        answer = getattr(admin, method.lower())(path, data=json.dumps(body), content_type="application/json")
        assert answer.status_code in (200, 201, 422), answer.get_data(as_text=True)[:300]
        if answer.status_code == 422:
            error = answer.get_json()["error"]
            assert isinstance(error["code"], str) and isinstance(error["message"], str)


# -- users' team_ids -----------------------------------------------------------------------------

def test_users_carry_their_team_ids(api, world):
    admin = api("admin")
    a = admin.post(API, json={"name": "A", "member_ids": [world["agent"], world["admin"]]}).get_json()
    b = admin.post(API, json={"name": "B", "member_ids": [world["agent"]]}).get_json()
    listed = {u["id"]: u["team_ids"] for u in api("supervisor").get("/api/v1/users").get_json()["data"]}
    assert listed[world["agent"]] == sorted([a["id"], b["id"]])
    assert listed[world["admin"]] == [a["id"]]
    assert listed[world["supervisor"]] == []
    assert admin.get(f"/api/v1/users/{world['agent']}").get_json()["team_ids"] == sorted([a["id"], b["id"]])


def test_team_ids_on_a_user_replace_the_membership(api, world):
    admin = api("admin")
    a = admin.post(API, json={"name": "A", "member_ids": [world["agent"]]}).get_json()
    b = admin.post(API, json={"name": "B"}).get_json()
    changed = admin.patch(f"/api/v1/users/{world['agent']}", json={"team_ids": [b["id"]]})
    assert changed.status_code == 200 and changed.get_json()["team_ids"] == [b["id"]]
    assert admin.get(f"{API}/{a['id']}").get_json()["member_ids"] == []
    assert admin.get(f"{API}/{b['id']}").get_json()["member_ids"] == [world["agent"]]
    assert admin.patch(f"/api/v1/users/{world['agent']}", json={"team_ids": []}).get_json()["team_ids"] == []

    made = admin.post("/api/v1/users", json={"email": "new@example.test", "role": "agent",
                                             "password": "a-long-password", "team_ids": [a["id"], b["id"]]})
    assert made.status_code == 201 and made.get_json()["team_ids"] == sorted([a["id"], b["id"]])
    assert made.get_json()["id"] in admin.get(f"{API}/{a['id']}").get_json()["member_ids"]


@pytest.mark.parametrize("team_ids, code", [
    ([424242], "unknown_team"),
    ("1", "invalid_value"),
    (None, "invalid_value"),
    (["1"], "invalid_value"),
    ([True], "invalid_value"),
    (list(range(1, 52)), "too_many"),
])
def test_bad_team_ids_on_a_user_change_nothing(api, world, team_ids, code):
    admin = api("admin")
    a = admin.post(API, json={"name": "A", "member_ids": [world["agent"]]}).get_json()
    answer = admin.patch(f"/api/v1/users/{world['agent']}", json={"name": "Renamed", "team_ids": team_ids})
    assert answer.status_code == 422 and error_code(answer) == code
    user = admin.get(f"/api/v1/users/{world['agent']}").get_json()
    assert (user["name"], user["team_ids"]) == ("Agent", [a["id"]])
    created = admin.post("/api/v1/users", json={"email": "x@example.test", "role": "agent",
                                                "password": "a-long-password", "team_ids": team_ids or [424242]})
    assert created.status_code == 422
    assert "x@example.test" not in [u["email"] for u in admin.get("/api/v1/users").get_json()["data"]]


# -- the settings page ---------------------------------------------------------------------------

def _page(client) -> str:
    answer = client.get("/settings/teams")
    assert answer.status_code == 200
    return answer.get_data(as_text=True)


def _submit(client, path: str, data: dict):
    return client.post(path, data={"csrf_token": csrf_of(client, "/settings/teams"), **data})


def test_admin_creates_edits_and_deletes_a_team_on_the_page(client, world):
    login(client, "admin")
    assert 'href="/settings/teams"' in _page(client)            # in the navigation
    made = _submit(client, "/settings/teams", {"name": "Support", "member_ids": [str(world["agent"])],
                                               "channel_ids": [str(world["shop"])]})
    assert made.status_code == 302
    with db.session_scope() as s:
        team = s.scalars(select(Team)).one()
        team_id = team.id
        assert ([u.id for u in team.members], [c.id for c in team.channels]) == ([world["agent"]], [world["shop"]])
    _hand_to(world["tickets"][0], team_id)
    _hand_to(world["tickets"][1], team_id)
    with db.session_scope() as s:
        s.get(Ticket, world["tickets"][1]).status = "archived"        # not open: not counted
    html = _page(client)
    row = html.split(f'id="team-{team_id}"', 1)[1].split("</tr>", 1)[0]
    assert "Support" in row and "Agent" in row and "Shop" in row
    assert '<td data-field="open_count">1</td>' in row

    # edit: rename, swap the member, untick every channel
    edited = _submit(client, f"/settings/teams/{team_id}", {"name": "Care", "member_ids": [str(world["admin"])]})
    assert edited.status_code == 302
    with db.session_scope() as s:
        team = s.get(Team, team_id)
        assert (team.name, [u.id for u in team.members], team.channels) == ("Care", [world["admin"]], [])

    assert _submit(client, f"/settings/teams/{team_id}/delete", {}).status_code == 302
    assert _team_count() == 0
    with db.session_scope() as s:
        assert s.get(Ticket, world["tickets"][0]).team_id is None
    assert "No teams yet." in _page(client)


def test_the_page_shows_refusals_inline_and_keeps_what_was_typed(client, world):
    login(client, "admin")
    _submit(client, "/settings/teams", {"name": "Support"})
    refused = _submit(client, "/settings/teams", {"name": "support", "member_ids": [str(world["agent"])]})
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    new_form = html.split('id="new-team"', 1)[1]
    assert "already exists" in new_form and 'value="support"' in new_form
    assert f'value="{world["agent"]}" checked' in new_form
    assert _team_count() == 1

    empty = _submit(client, "/settings/teams", {"name": "   "})
    assert empty.status_code == 422 and "needs a name" in empty.get_data(as_text=True)
    long = _submit(client, "/settings/teams", {"name": "x" * 121})
    assert long.status_code == 422 and "at most 120 characters" in long.get_data(as_text=True)
    forged = _submit(client, "/settings/teams", {"name": "Forged", "channel_ids": ["999999"]})
    assert forged.status_code == 422 and "There is no channel 999999" in forged.get_data(as_text=True)
    junk = _submit(client, "/settings/teams", {"name": "Junk", "member_ids": ["abc"]})
    assert junk.status_code == 422
    assert _team_count() == 1

    with db.session_scope() as s:
        team_id = s.scalars(select(Team.id)).one()
    other = _submit(client, "/settings/teams", {"name": "Sales"})
    assert other.status_code == 302
    clash = _submit(client, f"/settings/teams/{team_id}", {"name": "SALES", "member_ids": [str(world["agent"])]})
    assert clash.status_code == 422
    row = clash.get_data(as_text=True).split(f'id="team-{team_id}"', 1)[1].split("</tr>", 1)[0]
    assert "already exists" in row and 'value="SALES"' in row and "<details open" in row
    with db.session_scope() as s:
        assert s.get(Team, team_id).name == "Support" and s.get(Team, team_id).members == []


def test_the_page_needs_a_csrf_token(client, world):
    login(client, "admin")
    assert client.post("/settings/teams", data={"name": "Support"}).status_code == 400
    assert _team_count() == 0


def test_supervisors_see_the_page_without_its_forms_agents_not_at_all(app, client, world):
    login(client, "admin")
    _submit(client, "/settings/teams", {"name": "Support", "member_ids": [str(world["agent"])]})
    supervisor = app.test_client()
    login(supervisor, "supervisor")
    html = _page(supervisor)
    assert "Support" in html and 'id="new-team"' not in html and "/delete" not in html
    assert _submit(supervisor, "/settings/teams", {"name": "Mine"}).status_code == 403
    agent = app.test_client()
    login(agent, "agent")
    assert agent.get("/settings/teams").status_code == 403
    assert 'href="/settings/teams"' not in agent.get("/").get_data(as_text=True)


def test_the_users_page_shows_each_users_teams(client, world, api):
    admin = api("admin")
    admin.post(API, json={"name": "Support", "member_ids": [world["agent"]]})
    admin.post(API, json={"name": "Night shift", "member_ids": [world["agent"], world["supervisor"]]})
    login(client, "admin")
    html = client.get("/settings/users").get_data(as_text=True)
    cell = html.split(f'id="user-{world["agent"]}"', 1)[1].split('data-field="teams">', 1)[1].split("</td>", 1)[0]
    assert cell.index("Night shift") < cell.index("Support")
    cell = html.split(f'id="user-{world["admin"]}"', 1)[1].split('data-field="teams">', 1)[1].split("</td>", 1)[0]
    assert "none" in cell
