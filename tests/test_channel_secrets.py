"""Channel secrets reach only the people who may use them, and an admin can rotate them.

An agent's API token used to list every channel's webhook URL (whose token lets anyone post as
the provider) and every custom channel's access token (which lets anyone push tickets as the
integration). Now the webhook URL is for ``EditChannels`` only, the access token is shown once
(creation, rotation), and rotating makes the old values fail at once.
"""
from __future__ import annotations

import httpx
import pytest

from helpers import csrf_of, hook_path, load, login, post, run_jobs

HOOK = "https://integration.example/hooks/inbox"


def auth(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def custom(client, token_for) -> dict:
    response = client.post("/api/v1/channels", headers=auth(token_for("admin")),
                           json={"provider": "custom", "name": "Shop support", "settings": {"webhook_url": HOOK}})
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def public(client, token: str, **kwargs):
    return client.get("/api2/public", **kwargs) if not token else client.get(
        "/api2/public", query_string={"accesstoken": token}, **kwargs)


# -- who sees what -----------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["agent", "supervisor"])
def test_agents_and_supervisors_see_no_channel_secrets(client, token_for, channel, custom, role):
    token = token_for(role)
    listed = client.get("/api/v1/channels", headers=auth(token))
    assert listed.status_code == 200
    assert len(listed.get_json()["data"]) == 2
    for shown in listed.get_json()["data"]:
        assert "webhook_url" not in shown and "access_token" not in shown
    for one in (channel, custom):
        shown = client.get(f"/api/v1/channels/{one['id']}", headers=auth(token)).get_json()
        assert shown["id"] == one["id"] and "webhook_url" not in shown and "access_token" not in shown
    body = listed.get_data(as_text=True)
    assert custom["access_token"] not in body and channel["webhook_url"].rsplit("/", 1)[1] not in body


def test_admins_see_webhook_urls_but_the_access_token_only_at_creation(client, token_for, channel, custom):
    assert custom["access_token"] and channel["webhook_url"].startswith("http")
    admin = auth(token_for("admin"))
    listed = {c["id"]: c for c in client.get("/api/v1/channels", headers=admin).get_json()["data"]}
    assert listed[channel["id"]]["webhook_url"] == channel["webhook_url"]
    assert all("access_token" not in c for c in listed.values())
    shown = client.get(f"/api/v1/channels/{custom['id']}", headers=admin).get_json()
    assert "access_token" not in shown and "webhook_url" in shown
    patched = client.patch(f"/api/v1/channels/{custom['id']}", headers=admin, json={"name": "Renamed"}).get_json()
    assert patched["name"] == "Renamed" and "access_token" not in patched
    for answer in (listed, shown, patched):
        assert custom["access_token"] not in str(answer)


def test_the_channels_page_shows_webhook_urls_to_admins_only(client, users, channel):
    login(client, "agent")
    assert channel["webhook_url"] not in client.get("/settings/channels").get_data(as_text=True)
    client.post("/auth/logout", data={"csrf_token": csrf_of(client, "/settings/channels")})
    login(client, "admin")
    page = client.get("/settings/channels").get_data(as_text=True)
    assert channel["webhook_url"] in page and "Rotate secrets" in page


# -- rotation ----------------------------------------------------------------------------------

def test_rotating_a_getloo_webhook_url_kills_the_old_one_and_registers_the_new(client, token_for, channel, sandbox):
    before = sum(1 for r in sandbox.state.request_log() if r["path"] == "setWebHook")
    response = client.post(f"/api/v1/channels/{channel['id']}/rotate", headers=auth(token_for("admin")))
    assert response.status_code == 200, response.get_data(as_text=True)
    rotated = response.get_json()
    assert rotated["id"] == channel["id"] and rotated["webhook_url"] != channel["webhook_url"]
    assert "access_token" not in rotated

    assert post(client, channel, load("incoming_text")).status_code == 404       # the old address is dead
    assert post(client, rotated, load("incoming_text")).status_code == 200

    run_jobs()      # the channel setup job tells Getloo the new address (setWebHook)
    assert sum(1 for r in sandbox.state.request_log() if r["path"] == "setWebHook") == before + 1
    assert sandbox.state.webhook_url(sandbox.token) == rotated["webhook_url"]
    shown = client.get(f"/api/v1/channels/{channel['id']}", headers=auth(token_for("admin"))).get_json()
    assert shown["webhook_registered_at"] is not None


def test_rotating_a_custom_channels_access_token(client, token_for, custom):
    old = custom["access_token"]
    secret_before = public(client, old).get_json()["manifest"]["webhook"]["secret"]
    response = client.post(f"/api/v1/channels/{custom['id']}/rotate", headers=auth(token_for("admin")),
                           json={"secrets": ["access_token"]})
    assert response.status_code == 200, response.get_data(as_text=True)
    new = response.get_json()["access_token"]
    assert new and new != old
    assert public(client, old).status_code == 401
    shown = public(client, new)
    assert shown.status_code == 200
    assert shown.get_json()["manifest"]["webhook"]["secret"] == secret_before     # not asked: unchanged
    listed = client.get("/api/v1/channels", headers=auth(token_for("admin"))).get_data(as_text=True)
    assert new not in listed


def test_rotating_every_secret_of_a_custom_channel_by_default(client, token_for, custom):
    secret_before = public(client, custom["access_token"]).get_json()["manifest"]["webhook"]["secret"]
    response = client.post(f"/api/v1/channels/{custom['id']}/rotate", headers=auth(token_for("admin")))
    assert response.status_code == 200
    new = response.get_json()["access_token"]
    secret_after = public(client, new).get_json()["manifest"]["webhook"]["secret"]
    assert secret_after and secret_after != secret_before


def test_rotation_refuses_a_secret_the_channel_does_not_have(client, token_for, channel, custom):
    admin = auth(token_for("admin"))
    for target, names in ((channel, ["access_token"]), (custom, ["webhook_url"]), (custom, ["nonsense"]),
                          (custom, "access_token"), (custom, [])):
        response = client.post(f"/api/v1/channels/{target['id']}/rotate", headers=admin, json={"secrets": names})
        assert response.status_code == 422, (names, response.get_data(as_text=True))
        assert set(response.get_json()["error"]) == {"code", "message"}
    assert public(client, custom["access_token"]).status_code == 200           # nothing changed
    assert post(client, channel, load("incoming_text")).status_code == 200


@pytest.mark.parametrize("role", ["agent", "supervisor"])
def test_only_admins_rotate(client, token_for, channel, custom, role):
    for target in (channel, custom):
        response = client.post(f"/api/v1/channels/{target['id']}/rotate", headers=auth(token_for(role)))
        assert response.status_code == 403
    assert post(client, channel, load("incoming_text")).status_code == 200
    assert public(client, custom["access_token"]).status_code == 200


def test_the_rotate_button_shows_the_new_access_token_once(client, users, custom):
    login(client, "admin")
    token = csrf_of(client, "/settings/channels")
    page = client.post(f"/settings/channels/{custom['id']}/rotate", data={"csrf_token": token}, follow_redirects=True)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "shown once" in html
    new = html.split("keep it safe): ", 1)[1].split("<", 1)[0].strip()
    assert public(client, new).status_code == 200 and public(client, custom["access_token"]).status_code == 401
    assert new not in client.get("/settings/channels").get_data(as_text=True)       # once


def test_the_rotate_button_needs_csrf_and_an_admin(client, users, custom):
    login(client, "agent")
    token = csrf_of(client, "/settings/channels")
    assert client.post(f"/settings/channels/{custom['id']}/rotate", data={"csrf_token": token}).status_code == 403
    assert public(client, custom["access_token"]).status_code == 200
    assert "Rotate secrets" not in client.get("/settings/channels").get_data(as_text=True)


# -- /api2/public takes the token in a header too ------------------------------------------------

def test_the_public_api_takes_the_token_in_a_header(client, custom):
    token = custom["access_token"]
    assert client.get("/api2/public", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert client.get("/api2/public", headers={"accesstoken": token}).status_code == 200
    assert client.get("/api2/public", query_string={"accesstoken": token}).status_code == 200
    assert client.get("/api2/public", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/api2/public", headers={"accesstoken": "wrong"}).status_code == 401
    assert client.get("/api2/public").status_code == 401


def test_live_rotation_over_http(live, token_for, channel, sandbox):
    """The same through a real server: the provider's webhook reaches us at the new address only."""
    answer = httpx.post(f"{live}/api/v1/channels/{channel['id']}/rotate", headers=auth(token_for("admin")),
                        json={"secrets": ["webhook_url"]})
    assert answer.status_code == 200
    run_jobs()
    assert sandbox.state.webhook_url(sandbox.token) == answer.json()["webhook_url"]
    assert httpx.post(f"{live}{hook_path(channel)}", json=load("incoming_text")).status_code == 404


def test_rotating_a_resont_webhook_url_moves_every_account_of_the_connection(client, token_for, resont):
    """Resont posts every account's webhooks to one URL: rotating it for one channel moves all."""
    assert len(resont) >= 2 and len({c["webhook_url"] for c in resont}) == 1
    admin = auth(token_for("admin"))
    rotated = client.post(f"/api/v1/channels/{resont[0]['id']}/rotate", headers=admin,
                          json={"secrets": ["webhook_url"]}).get_json()
    assert rotated["webhook_url"] != resont[0]["webhook_url"]
    now = {c["id"]: c["webhook_url"] for c in client.get("/api/v1/channels", headers=admin).get_json()["data"]}
    assert {now[c["id"]] for c in resont} == {rotated["webhook_url"]}
    assert post(client, resont[0], {"event": "comment_created"}).status_code == 404
