"""Users settings: admins create users, change name and role, set passwords (which end the user's
sessions); everyone sets their own time zone; ``/api/v1/users`` with every bad input refused."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from helpers import PASSWORDS, count, csrf_of, login
from inbox import db
from models import User

API = "/api/v1/users"


def _auth(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def tokens(token_for) -> dict[str, str]:
    return {role: token_for(role) for role in ("agent", "supervisor", "admin")}


def _login_as(app, email: str, password: str):
    client = app.test_client()
    answer = client.post("/auth/login", data={"email": email, "password": password,
                                              "csrf_token": csrf_of(client, "/auth/login")})
    return client, answer


# -- API -----------------------------------------------------------------------------------------

def test_list_and_show_users_in_the_contract_shape(client, tokens, users):
    listed = client.get(API, headers=_auth(tokens["supervisor"]))
    assert listed.status_code == 200
    agent = next(u for u in listed.get_json()["data"] if u["email"] == "agent@example.test")
    assert agent == {"id": users["agent"].id, "email": "agent@example.test", "name": "Agent", "role": "agent",
                     "active": True, "time_zone": "UTC", "team_ids": [], "reply_requires_approval": False,
                     "permission_overrides": {}}
    assert client.get(f"{API}/{agent['id']}", headers=_auth(tokens["admin"])).get_json() == agent
    assert client.get(f"{API}/{2**31 - 1}", headers=_auth(tokens["admin"])).status_code == 404
    assert client.get(API, headers=_auth(tokens["agent"])).status_code == 403


def test_create_a_user_who_can_then_log_in(app, client, tokens):
    made = client.post(API, json={"email": "new@example.test", "name": "Nora", "role": "supervisor",
                                  "password": "a-long-password", "time_zone": "Europe/Berlin"},
                       headers=_auth(tokens["admin"]))
    assert made.status_code == 201
    body = made.get_json()
    assert (body["email"], body["name"], body["role"], body["active"], body["time_zone"]) == (
        "new@example.test", "Nora", "supervisor", True, "Europe/Berlin")
    assert "password" not in body and "password_hash" not in body
    _, answer = _login_as(app, "new@example.test", "a-long-password")
    assert answer.status_code == 302 and "/auth/login" not in answer.headers["Location"]


@pytest.mark.parametrize("body, code", [
    ({"name": "x", "role": "agent", "password": "long-enough"}, "missing_field"),
    ({"email": "x@example.test", "role": "agent"}, "missing_field"),
    ({"email": "x@example.test", "password": "long-enough"}, "missing_field"),
    ({"email": "AGENT@example.test", "role": "agent", "password": "long-enough"}, "email_taken"),
    ({"email": "not-an-email", "role": "agent", "password": "long-enough"}, "invalid_email"),
    ({"email": ["x@example.test"], "role": "agent", "password": "long-enough"}, "invalid_value"),
    ({"email": "x@example.test", "role": "owner", "password": "long-enough"}, "invalid_role"),
    ({"email": "x@example.test", "role": 1, "password": "long-enough"}, "invalid_value"),
    ({"email": "x@example.test", "role": "agent", "password": "short"}, "invalid_password"),
    ({"email": "x@example.test", "role": "agent", "password": "x" * 1025}, "too_long"),
    ({"email": "x@example.test", "role": "agent", "password": "long-enough", "name": "x" * 121}, "too_long"),
    ({"email": "x@example.test", "role": "agent", "password": "long-enough", "time_zone": "Mars/Olympus"},
     "invalid_time_zone"),
    ({"email": "x@example.test", "role": "agent", "password": "long-enough", "time_zone": "../etc/passwd"},
     "invalid_time_zone"),
])
def test_bad_input_on_create_is_refused_and_nothing_is_written(client, tokens, body, code):
    answer = client.post(API, json=body, headers=_auth(tokens["admin"]))
    assert answer.status_code == 422, answer.get_data(as_text=True)
    assert answer.get_json()["error"]["code"] == code
    assert count(User) == 4   # the users fixture: one per role, and the outsider


def test_patch_changes_name_role_and_time_zone_all_or_nothing(client, tokens, users):
    url = f"{API}/{users['agent'].id}"
    changed = client.patch(url, json={"name": "Ada", "role": "supervisor", "time_zone": "America/New_York"},
                           headers=_auth(tokens["admin"]))
    assert changed.status_code == 200
    assert (changed.get_json()["name"], changed.get_json()["role"], changed.get_json()["time_zone"]) == (
        "Ada", "supervisor", "America/New_York")
    # one bad value: nothing of the request is applied
    refused = client.patch(url, json={"name": "Bob", "role": "emperor"}, headers=_auth(tokens["admin"]))
    assert refused.status_code == 422 and refused.get_json()["error"]["code"] == "invalid_role"
    taken = client.patch(url, json={"name": "Bob", "email": "admin@example.test"}, headers=_auth(tokens["admin"]))
    assert taken.status_code == 422 and taken.get_json()["error"]["code"] == "email_taken"
    assert client.get(url, headers=_auth(tokens["admin"])).get_json()["name"] == "Ada"
    assert client.patch(url, json={"active": "no"}, headers=_auth(tokens["admin"])).status_code == 422
    assert client.patch(url, json={"name": "x"}, headers=_auth(tokens["supervisor"])).status_code == 403


def test_an_admin_cannot_demote_or_deactivate_themselves(client, tokens, users):
    url = f"{API}/{users['admin'].id}"
    for body in ({"role": "agent"}, {"role": "supervisor"}, {"active": False}):
        answer = client.patch(url, json=body, headers=_auth(tokens["admin"]))
        assert answer.status_code == 422 and answer.get_json()["error"]["code"] == "own_account"
    me = client.get(url, headers=_auth(tokens["admin"])).get_json()
    assert (me["role"], me["active"]) == ("admin", True)
    assert client.patch(url, json={"role": "admin", "name": "Boss"}, headers=_auth(tokens["admin"])).status_code == 200


def test_deactivating_and_a_new_password_through_the_api_end_sessions(app, client, tokens, users):
    agent, _ = _login_as(app, "agent@example.test", PASSWORDS["agent"])
    assert agent.get("/").status_code == 200
    url = f"{API}/{users['agent'].id}"
    assert client.patch(url, json={"password": "a-brand-new-one"}, headers=_auth(tokens["admin"])).status_code == 200
    assert agent.get("/").status_code == 302                       # logged out
    assert _login_as(app, "agent@example.test", PASSWORDS["agent"])[1].status_code == 401
    again, answer = _login_as(app, "agent@example.test", "a-brand-new-one")
    assert answer.status_code == 302
    off = client.patch(url, json={"active": False}, headers=_auth(tokens["admin"]))
    assert off.status_code == 200 and off.get_json()["active"] is False
    assert again.get("/").status_code == 302
    assert client.get("/api/v1/tickets", headers=_auth(tokens["agent"])).status_code == 401   # tokens stop too
    assert client.patch(url, json={"active": True}, headers=_auth(tokens["admin"])).get_json()["active"] is True
    assert client.get("/api/v1/tickets", headers=_auth(tokens["agent"])).status_code == 200


# -- the users page -------------------------------------------------------------------------------

def _post(client, path: str, **data):
    return client.post(path, data={"csrf_token": csrf_of(client, "/settings/users"), **data})


def test_the_page_creates_renames_and_changes_roles(client, users):
    login(client, "admin")
    made = _post(client, "/settings/users", email="pat@example.test", name="Pat", role="agent",
                 password="pat-password")
    assert made.status_code == 302
    with db.session_scope() as s:
        pat = s.scalars(select(User).filter_by(email="pat@example.test")).one()
        pat_id = pat.id
    assert "pat@example.test" in client.get("/settings/users").get_data(as_text=True)
    assert _post(client, f"/settings/users/{pat_id}", name="Patricia", role="supervisor").status_code == 302
    with db.session_scope() as s:
        pat = s.get(User, pat_id)
        assert (pat.name, pat.role) == ("Patricia", "supervisor")


@pytest.mark.parametrize("data, message", [
    ({"email": "agent@example.test", "role": "agent", "password": "long-enough"}, "already a user"),
    ({"email": "nope", "role": "agent", "password": "long-enough"}, "e-mail address"),
    ({"email": "x@example.test", "role": "root", "password": "long-enough"}, "role must be one of"),
    ({"email": "x@example.test", "role": "agent", "password": "short"}, "at least 8 characters"),
    ({"email": "", "role": "agent", "password": "long-enough"}, "email is required"),
])
def test_the_page_shows_bad_input_inline(client, users, data, message):
    login(client, "admin")
    answer = _post(client, "/settings/users", name="Draft name", **data)
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    assert message in html and 'role="alert"' in html and "Draft name" in html
    assert "long-enough" not in html          # a password is never echoed back
    assert count(User) == 4   # the users fixture: one per role, and the outsider


def test_the_page_refuses_demoting_oneself_and_bad_roles(client, users):
    login(client, "admin")
    answer = _post(client, f"/settings/users/{users['admin'].id}", name="Admin", role="agent")
    assert answer.status_code == 422 and "own admin role" in answer.get_data(as_text=True)
    assert _post(client, f"/settings/users/{users['agent'].id}", name="x", role="").status_code == 422
    with db.session_scope() as s:
        assert s.get(User, users["admin"].id).role == "admin"
        assert s.get(User, users["agent"].id).name == "Agent"
    assert _post(client, f"/settings/users/{2**31 - 1}", name="x", role="agent").status_code == 404


def test_setting_a_password_on_the_page_logs_the_user_out(app, client, users):
    agent, _ = _login_as(app, "agent@example.test", PASSWORDS["agent"])
    login(client, "admin")
    short = _post(client, f"/settings/users/{users['agent'].id}/password", password="short")
    assert short.status_code == 422 and "at least 8" in short.get_data(as_text=True)
    assert agent.get("/").status_code == 200                       # a refused change ends nothing
    assert _post(client, f"/settings/users/{users['agent'].id}/password", password="set-by-admin").status_code == 302
    assert agent.get("/").status_code == 302
    assert _login_as(app, "agent@example.test", "set-by-admin")[1].status_code == 302


def test_agents_and_supervisors_cannot_manage_users(app, users):
    for role in ("agent", "supervisor"):
        client = app.test_client()
        login(client, role)
        token = csrf_of(client)
        answer = client.post("/settings/users", data={"csrf_token": token, "email": "x@example.test",
                                                      "role": "admin", "password": "long-enough"})
        assert answer.status_code == 403
        assert client.post(f"/settings/users/{users[role].id}", data={"csrf_token": token, "role": "admin"}
                           ).status_code == 403
    assert count(User) == 4   # the users fixture: one per role, and the outsider
    with db.session_scope() as s:
        assert s.get(User, users["agent"].id).role == "agent"


def test_page_forms_need_the_csrf_token(client, users):
    login(client, "admin")
    assert client.post("/settings/users", data={"email": "x@example.test", "role": "agent",
                                                "password": "long-enough"}).status_code == 400
    assert count(User) == 4   # the users fixture: one per role, and the outsider


# -- own time zone --------------------------------------------------------------------------------

def test_a_user_sets_their_own_time_zone(client, users):
    login(client, "agent")
    page = client.get("/settings/account").get_data(as_text=True)
    assert 'name="time_zone"' in page and 'value="UTC"' in page and '<option value="Asia/Tokyo">' in page
    token = csrf_of(client, "/settings/account")
    assert client.post("/settings/account/time-zone", data={"csrf_token": token,
                                                            "time_zone": "Asia/Tokyo"}).status_code == 302
    with db.session_scope() as s:
        assert s.get(User, users["agent"].id).time_zone == "Asia/Tokyo"
    assert 'value="Asia/Tokyo"' in client.get("/settings/account").get_data(as_text=True)


@pytest.mark.parametrize("value", ["", "Mars/Olympus", "asia/tokyo", "../../etc/passwd", "x" * 65, "UTC\x00"])
def test_a_bad_time_zone_is_refused_inline(client, users, value):
    login(client, "agent")
    token = csrf_of(client, "/settings/account")
    answer = client.post("/settings/account/time-zone", data={"csrf_token": token, "time_zone": value})
    assert answer.status_code in (400, 422)
    if answer.status_code == 422:
        assert 'role="alert"' in answer.get_data(as_text=True)
    with db.session_scope() as s:
        assert s.get(User, users["agent"].id).time_zone == "UTC"
