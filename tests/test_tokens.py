"""Personal API tokens: created (shown once), listed (never the token), revoked, expiring; UI and CLI."""
from __future__ import annotations

import re
from datetime import timedelta

from helpers import csrf_of, login
from inbox import db
from models import ApiToken, utcnow

TOKEN = re.compile(r"inbx_[A-Za-z0-9_-]{20,}")


def _api(client, token: str):
    return client.get("/api/v1/channels", headers={"Authorization": f"Bearer {token}"})


def _create_in_ui(client, name: str, days: str = ""):
    return client.post("/settings/tokens", data={"name": name, "expires_days": days,
                                                 "csrf_token": csrf_of(client, "/settings/tokens")})


def test_a_user_creates_a_token_that_is_shown_once_and_works(client, users):
    login(client, "agent")
    created = _create_in_ui(client, "reporting script", "30")
    html = created.get_data(as_text=True)
    assert created.status_code == 201
    token = TOKEN.search(html).group(0)
    assert _api(client.application.test_client(), token).status_code == 200
    listing = client.get("/settings/tokens").get_data(as_text=True)
    assert "reporting script" in listing and token not in listing and not TOKEN.search(listing)
    row = _only_token()
    assert row.expires_at is not None and timedelta(days=29) < row.expires_at - utcnow() <= timedelta(days=30)


def _only_token() -> ApiToken:
    with db.session_scope() as s:
        (row,) = s.query(ApiToken).all()
        s.expunge(row)
    return row


def test_a_bad_expiry_is_refused_inline(client, users):
    login(client, "agent")
    for days in ("soon", "-3", "0", "99999"):
        response = _create_in_ui(client, "x", days)
        assert response.status_code == 422 and "days" in response.get_data(as_text=True)
    assert client.get("/settings/tokens").status_code == 200
    with db.session_scope() as s:
        assert s.query(ApiToken).count() == 0


def test_a_revoked_token_stops_working(client, users):
    login(client, "agent")
    token = TOKEN.search(_create_in_ui(client, "retired-key").get_data(as_text=True)).group(0)
    row = _only_token()
    revoked = client.post(f"/settings/tokens/{row.id}/revoke", data={"csrf_token": csrf_of(client, "/settings/tokens")})
    assert revoked.status_code == 302
    answer = _api(client.application.test_client(), token)
    assert answer.status_code == 401 and answer.get_json()["error"]["code"] == "invalid_token"
    page = client.get("/settings/tokens").get_data(as_text=True)
    assert "Revoked the token “retired-key”" in page and f'id="token-{row.id}"' not in page


def test_an_expired_token_answers_token_expired(client, users, token_for):
    token = token_for("agent")
    with db.session_scope() as s:
        s.query(ApiToken).update({"expires_at": utcnow() - timedelta(seconds=1)})
    answer = _api(client, token)
    assert answer.status_code == 401 and answer.get_json()["error"]["code"] == "token_expired"
    login(client, "agent")
    assert "expired" in client.get("/settings/tokens").get_data(as_text=True)


def test_an_agent_sees_and_revokes_only_their_own_tokens(client, users, token_for):
    admin_token = token_for("admin")
    admin_row = _only_token()
    login(client, "agent")
    page = client.get("/settings/tokens?all=1").get_data(as_text=True)
    assert f'id="token-{admin_row.id}"' not in page and "admin@example.test" not in page
    refused = client.post(f"/settings/tokens/{admin_row.id}/revoke", data={"csrf_token": csrf_of(client, "/settings/tokens")})
    assert refused.status_code == 404 and _api(client, admin_token).status_code == 200


def test_an_admin_sees_and_revokes_everyones_tokens(client, users):
    agent = client.application.test_client()
    login(agent, "agent")
    agent_token = TOKEN.search(_create_in_ui(agent, "agent laptop").get_data(as_text=True)).group(0)
    row = _only_token()
    login(client, "admin")
    assert "agent laptop" not in client.get("/settings/tokens").get_data(as_text=True)
    everyone = client.get("/settings/tokens?all=1").get_data(as_text=True)
    assert "agent laptop" in everyone and "agent@example.test" in everyone and agent_token not in everyone
    revoked = client.post(f"/settings/tokens/{row.id}/revoke",
                          data={"all": "1", "csrf_token": csrf_of(client, "/settings/tokens")})
    assert revoked.status_code == 302 and revoked.headers["Location"].endswith("/settings/tokens?all=1")
    assert _api(client, agent_token).status_code == 401


def test_the_tokens_page_needs_a_login(client, users):
    assert client.get("/settings/tokens").status_code == 302


def test_cli_creates_lists_and_revokes_tokens(app, client, users):
    runner = app.test_cli_runner()
    created = runner.invoke(args=["tokens", "create", "agent@example.test", "--name", "nightly export",
                                  "--expires-days", "7"])
    assert created.exit_code == 0, created.output
    token = created.output.strip().splitlines()[-1]
    assert TOKEN.fullmatch(token) and _api(client, token).status_code == 200
    row = _only_token()

    listing = runner.invoke(args=["tokens", "list"])
    assert listing.exit_code == 0 and token not in listing.output
    line = next(l for l in listing.output.splitlines() if l.startswith(f"{row.id}\t"))
    assert "agent@example.test" in line and "nightly export" in line and f"{row.expires_at:%Y-%m-%d}" in line
    assert runner.invoke(args=["tokens", "list", "admin@example.test"]).output.count("\n") == 1   # header only
    assert runner.invoke(args=["tokens", "create", "agent@example.test", "--expires-days", "0"]).exit_code != 0

    revoked = runner.invoke(args=["tokens", "revoke", str(row.id)])
    assert revoked.exit_code == 0, revoked.output
    assert _api(client, token).status_code == 401
    assert runner.invoke(args=["tokens", "revoke", str(row.id)]).exit_code != 0
    assert runner.invoke(args=["tokens", "revoke", str(2**63)]).exit_code != 0


def test_a_deactivated_users_tokens_stop_working_until_reactivated(app, client, users, token_for):
    token = token_for("agent")
    runner = app.test_cli_runner()
    assert runner.invoke(args=["users", "deactivate", "agent@example.test"]).exit_code == 0
    answer = _api(client, token)
    assert answer.status_code == 401 and answer.get_json()["error"]["code"] == "invalid_token"
    assert runner.invoke(args=["users", "activate", "agent@example.test"]).exit_code == 0
    assert _api(client, token).status_code == 200
