"""Login, throttling, CSRF, permissions and the CLI that creates users and tokens."""
from __future__ import annotations

from sqlalchemy import select

from helpers import PASSWORDS, csrf_of, load, login, post, run_jobs
from inbox import db
from models import User



def test_login_then_the_queue(client, users):
    assert client.get("/").status_code == 302
    response = login(client, "agent")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert "Agent" in client.get("/").get_data(as_text=True)


def test_wrong_password_is_refused_inline(client, users):
    token = csrf_of(client, "/auth/login")
    response = client.post("/auth/login", data={"email": "agent@example.test", "password": "nope", "csrf_token": token})
    assert response.status_code == 401 and "Wrong email or password" in response.get_data(as_text=True)


def test_passwords_are_hashed(users):
    with db.session_scope() as s:
        stored = s.scalars(select(User.password_hash)).all()
    assert all(PASSWORDS["agent"] not in h and h.startswith(("scrypt:", "pbkdf2:")) for h in stored)


def test_login_is_throttled_after_repeated_failures(client, users):
    token = csrf_of(client, "/auth/login")
    for _ in range(5):
        client.post("/auth/login", data={"email": "agent@example.test", "password": "x", "csrf_token": token})
    blocked = client.post("/auth/login", data={"email": "agent@example.test", "password": PASSWORDS["agent"],
                                              "csrf_token": token})
    assert blocked.status_code == 429 and "Too many failed attempts" in blocked.get_data(as_text=True)


def test_login_without_csrf_token_is_refused(client, users):
    response = client.post("/auth/login", data={"email": "agent@example.test", "password": PASSWORDS["agent"]})
    assert response.status_code == 400


def test_open_redirects_are_not_followed(client, users):
    page = client.get("/auth/login?next=//evil.example/x")
    token = csrf_of(client, "/auth/login")
    response = client.post("/auth/login?next=//evil.example/x",
                           data={"email": "agent@example.test", "password": PASSWORDS["agent"], "csrf_token": token})
    assert page.status_code == 200 and response.headers["Location"] == "/"


def test_htmx_reply_needs_the_csrf_header(client, users, channel):
    post(client, channel, load("incoming_text"))
    run_jobs()
    login(client, "agent")
    without = client.post("/tickets/1/reply", data={"text": "hi"}, headers={"HX-Request": "true"})
    assert without.status_code == 400
    with_token = client.post("/tickets/1/reply", data={"text": "hi"},
                             headers={"HX-Request": "true", "X-CSRFToken": csrf_of(client)})
    assert with_token.status_code == 200 and 'data-status="queued"' in with_token.get_data(as_text=True)


def test_agents_cannot_connect_channels(client, users):
    login(client, "agent")
    response = client.post("/settings/channels", data={"provider": "getloo", "token": "x",
                                                       "csrf_token": csrf_of(client, "/settings/channels")})
    assert response.status_code == 403


def test_expired_session_on_an_htmx_request_redirects_the_page(client, users):
    response = client.get("/tickets/1", headers={"HX-Request": "true"})
    assert response.status_code == 200 and response.headers["HX-Redirect"] == "/auth/login"


def test_cli_creates_users_and_tokens_that_work(app, client):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "create", "boss@example.test", "--role", "admin", "--password", "long-password"])
    assert result.exit_code == 0, result.output
    short = runner.invoke(args=["users", "create", "x@example.test", "--password", "short"])
    assert short.exit_code != 0 and "8 characters" in short.output
    result = runner.invoke(args=["tokens", "create", "boss@example.test"])
    token = result.output.strip().splitlines()[-1]
    assert client.get("/api/v1/channels", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert runner.invoke(args=["tokens", "create", "nobody@example.test"]).exit_code != 0
