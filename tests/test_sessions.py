"""Sessions end when they should: logout, a password change and deactivation end every session and
"remember me" cookie of the user (a copy replayed elsewhere goes back to the login page); login
starts a fresh session with a new CSRF token; ``?next=`` can neither redirect off-site nor inject."""
from __future__ import annotations

import pytest

from helpers import PASSWORDS, csrf_of, login

REMEMBER = "remember_token"


def _login_remembered(client, role: str = "agent"):
    token = csrf_of(client, "/auth/login")
    response = client.post("/auth/login", data={"email": f"{role}@example.test", "password": PASSWORDS[role],
                                                "remember": "1", "csrf_token": token})
    assert response.status_code == 302
    return client.get_cookie("session").value, client.get_cookie(REMEMBER).value


def _replay(app, name: str, value: str):
    """A fresh browser holding only this one cookie, opening the queue."""
    other = app.test_client()
    other.set_cookie(name, value)
    return other.get("/")


def _logged_in(response) -> bool:
    return response.status_code == 200


def _sent_to_login(response) -> bool:
    return response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_copied_cookies_work_until_logout_and_never_after(app, client, users):
    session_cookie, remember_cookie = _login_remembered(client)
    assert _logged_in(_replay(app, "session", session_cookie))
    assert _logged_in(_replay(app, REMEMBER, remember_cookie))
    client.post("/auth/logout", data={"csrf_token": csrf_of(client)})
    assert _sent_to_login(_replay(app, "session", session_cookie))
    assert _sent_to_login(_replay(app, REMEMBER, remember_cookie))
    assert _sent_to_login(client.get("/"))


def test_logging_out_in_one_browser_ends_the_others(app, client, users):
    laptop, phone = client, app.test_client()
    login(laptop, "agent")
    login(phone, "agent")
    laptop.post("/auth/logout", data={"csrf_token": csrf_of(laptop)})
    assert _sent_to_login(phone.get("/"))
    assert login(phone, "agent").status_code == 302 and _logged_in(phone.get("/"))


def _change_password(client, current: str, new: str, again: str | None = None):
    return client.post("/settings/account", data={
        "current_password": current, "new_password": new, "new_password_again": new if again is None else again,
        "csrf_token": csrf_of(client, "/settings/account")})


def test_a_password_change_ends_every_other_session(app, client, users):
    session_cookie, remember_cookie = _login_remembered(client)
    other = app.test_client()
    login(other, "agent")
    changed = _change_password(client, PASSWORDS["agent"], "a-new-long-password")
    assert changed.status_code == 302
    assert _logged_in(client.get("/"))                        # this browser carries on
    assert _sent_to_login(other.get("/"))
    assert _sent_to_login(_replay(app, "session", session_cookie))
    assert _sent_to_login(_replay(app, REMEMBER, remember_cookie))
    fresh = app.test_client()
    assert fresh.post("/auth/login", data={"email": "agent@example.test", "password": PASSWORDS["agent"],
                                           "csrf_token": csrf_of(fresh, "/auth/login")}).status_code == 401
    assert fresh.post("/auth/login", data={"email": "agent@example.test", "password": "a-new-long-password",
                                           "csrf_token": csrf_of(fresh, "/auth/login")}).status_code == 302


@pytest.mark.parametrize("current, new, again, message", [
    ("wrong-password", "a-new-long-password", None, "current password is wrong"),
    (PASSWORDS["agent"], "a-new-long-password", "another-long-password", "do not match"),
    (PASSWORDS["agent"], "short", None, "at least 8 characters"),
])
def test_a_refused_password_change_says_why_and_changes_nothing(app, client, users, current, new, again, message):
    login(client, "agent")
    refused = _change_password(client, current, new, again)
    assert refused.status_code == 422 and message in refused.get_data(as_text=True)
    assert _logged_in(client.get("/"))
    assert login(app.test_client(), "agent").status_code == 302     # the old password still works


def test_deactivation_ends_the_users_sessions_and_blocks_login(app, client, users):
    agent = app.test_client()
    session_cookie, remember_cookie = _login_remembered(agent)
    login(client, "admin")
    page = client.get("/settings/users").get_data(as_text=True)
    assert "agent@example.test" in page and "Deactivate" in page
    done = client.post(f"/settings/users/{users['agent'].id}/deactivate", data={"csrf_token": csrf_of(client, "/settings/users")})
    assert done.status_code == 302
    assert 'deactivated' in client.get("/settings/users").get_data(as_text=True)
    assert _sent_to_login(agent.get("/"))
    assert _sent_to_login(_replay(app, REMEMBER, remember_cookie))
    assert login(app.test_client(), "agent").status_code == 401

    client.post(f"/settings/users/{users['agent'].id}/activate", data={"csrf_token": csrf_of(client, "/settings/users")})
    assert login(app.test_client(), "agent").status_code == 302
    assert _sent_to_login(_replay(app, "session", session_cookie))    # old sessions stay ended


def test_an_admin_cannot_deactivate_themselves(client, users):
    login(client, "admin")
    refused = client.post(f"/settings/users/{users['admin'].id}/deactivate",
                          data={"csrf_token": csrf_of(client, "/settings/users")})
    assert refused.status_code == 422 and "cannot deactivate your own account" in refused.get_data(as_text=True)
    assert _logged_in(client.get("/"))


def test_only_admins_manage_users(client, users):
    login(client, "supervisor")
    assert client.get("/settings/users").status_code == 403
    assert client.post(f"/settings/users/{users['agent'].id}/deactivate",
                       data={"csrf_token": csrf_of(client)}).status_code == 403


def test_cli_deactivates_and_sets_passwords_ending_sessions(app, client, users):
    runner = app.test_cli_runner()
    login(client, "agent")
    assert runner.invoke(args=["users", "set-password", "agent@example.test", "--password", "short"]).exit_code != 0
    assert _logged_in(client.get("/"))
    result = runner.invoke(args=["users", "set-password", "agent@example.test", "--password", "cli-set-password"])
    assert result.exit_code == 0, result.output
    assert _sent_to_login(client.get("/"))
    fresh = app.test_client()
    assert fresh.post("/auth/login", data={"email": "agent@example.test", "password": "cli-set-password",
                                           "csrf_token": csrf_of(fresh, "/auth/login")}).status_code == 302
    assert runner.invoke(args=["users", "deactivate", "agent@example.test"]).exit_code == 0
    assert _sent_to_login(fresh.get("/"))
    assert runner.invoke(args=["users", "deactivate", "nobody@example.test"]).exit_code != 0


def test_login_starts_a_fresh_session_with_a_new_csrf_token(client, users):
    before = csrf_of(client, "/auth/login")
    login(client, "agent")
    after = csrf_of(client, "/")
    assert after != before
    # The token of the anonymous session no longer passes.
    stale = client.post("/auth/logout", data={"csrf_token": before})
    assert stale.status_code == 400 and _logged_in(client.get("/"))


@pytest.mark.parametrize("target", [
    "/x\r\nSet-Cookie: stolen=1", "/x\nSet-Cookie: stolen=1", "/\\evil.example", "/\t/evil.example",
    "/ok\x7f", "/\x00", "//evil.example", "https://evil.example/",
])
def test_next_never_leaves_the_site_nor_splits_headers(client, users, target):
    from urllib.parse import quote

    token = csrf_of(client, "/auth/login")
    response = client.post(f"/auth/login?next={quote(target)}",
                           data={"email": "agent@example.test", "password": PASSWORDS["agent"], "csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert "stolen" not in str(response.headers)


def test_a_plain_next_path_is_followed(client, users):
    token = csrf_of(client, "/auth/login")
    response = client.post("/auth/login?next=/settings/tokens?all%3D1",
                           data={"email": "agent@example.test", "password": PASSWORDS["agent"], "csrf_token": token})
    assert response.headers["Location"] == "/settings/tokens?all=1"
