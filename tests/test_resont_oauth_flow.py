"""Connecting Resont from the settings page: token mode, and the OAuth round trip through the
sandbox's consent page (served on loopback), with the state check and inline errors."""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import select

from helpers import csrf_of, login, run_jobs
from inbox import crypto, db
from sandbox.resont import SANDBOX, SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, SANDBOX_TOKEN
from models import Channel, Message, Ticket, TicketKind, TicketStatus

CONNECT = "/settings/resont/connect"


@pytest.fixture
def resont_root(_sandbox_server):
    SANDBOX.reset()
    yield f"{_sandbox_server.url}/sandbox/resont"
    SANDBOX.reset()


@pytest.fixture
def admin(app, client, users):
    """Logged in as admin."""
    login(client, "admin")
    return client


def channels() -> list[Channel]:
    with db.session_scope() as s:
        rows = s.scalars(select(Channel).where(Channel.provider == "resont").order_by(Channel.id)).all()
        s.expunge_all()
        return rows


def post_form(client, **fields):
    return client.post(CONNECT, data={"csrf_token": csrf_of(client, CONNECT), **fields})


def test_the_page_offers_both_modes(admin):
    page = admin.get(CONNECT)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'name="token"' in html and 'name="client_id"' in html and 'name="client_secret"' in html
    assert html.count('name="csrf_token"') >= 2


def test_agents_cannot_connect(app, client, users):
    if "resont_oauth" not in app.blueprints:
        from inbox.settings.resont_oauth import bp

        app.register_blueprint(bp)
    login(client, "agent")
    assert client.get(CONNECT).status_code == 403


def test_token_mode_connects_one_channel_per_account_and_subscribes_them(admin, resont_root):
    response = post_form(admin, mode="token", token=SANDBOX_TOKEN, base_url=f"{resont_root}/token/v1")
    assert response.status_code == 302 and response.headers["Location"].endswith("/settings/channels")
    made = channels()
    assert [(c.account_ref, c.network) for c in made] == [("101", "instagram"), ("102", "telegram"), ("103", "aparat")]
    assert len({c.webhook_url for c in made}) == 1
    assert crypto.decrypt_json(made[0].credentials_encrypted) == {"token": SANDBOX_TOKEN}
    assert made[2].info["relogin_reason"]
    run_jobs()
    subscribed = [r["params"]["account_ids"] for r in SANDBOX.requests if r.get("name") == "comment.subscribe"]
    assert sorted(subscribed) == [["101"], ["102"], ["103"]]
    assert "Connected" in admin.get("/settings/channels").get_data(as_text=True)


def test_a_bad_token_is_shown_on_the_form(admin, resont_root):
    response = post_form(admin, mode="token", token="wrong", base_url=f"{resont_root}/token/v1")
    assert response.status_code == 422
    assert "401" in response.get_data(as_text=True) and channels() == []


def test_an_empty_token_is_shown_on_the_form(admin):
    response = post_form(admin, mode="token", token=" ")
    assert response.status_code == 422 and "token" in response.get_data(as_text=True)


def test_unreachable_resont_is_a_502_on_the_form(admin):
    response = post_form(admin, mode="token", token="t", base_url="http://127.0.0.1:9/token/v1")
    assert response.status_code == 502 and "Could not reach" in response.get_data(as_text=True)


def test_connecting_the_same_accounts_again_reconnects_them_in_place(admin, resont_root):
    post_form(admin, mode="token", token=SANDBOX_TOKEN, base_url=f"{resont_root}/token/v1")
    before = {c.id: c.webhook_url for c in channels()}
    again = post_form(admin, mode="token", token=SANDBOX_TOKEN, base_url=f"{resont_root}/token/v1")
    assert again.status_code == 302
    page = admin.get("/settings/channels").get_data(as_text=True)
    assert "Reconnected" in page and "Connected " not in page
    assert {c.id: c.webhook_url for c in channels()} == before and len(before) > 1


def start_oauth(client, root: str, secret: str = SANDBOX_CLIENT_SECRET) -> str:
    """POST the OAuth form, let the sandbox approve; returns the callback path with its query."""
    response = post_form(client, mode="oauth", client_id=SANDBOX_CLIENT_ID, client_secret=secret,
                         base_url=f"{root}/v1")
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith(f"{root}/web/oauth/authorize?")
    query = parse_qs(urlsplit(location).query)
    assert query["redirect_uri"] == ["http://localhost/settings/resont/callback"]
    assert query["client_id"] == [SANDBOX_CLIENT_ID] and "client_secret" not in query
    back = httpx.get(location, follow_redirects=False)
    assert back.status_code == 302
    parts = urlsplit(back.headers["location"])
    return f"{parts.path}?{parts.query}"


def test_oauth_round_trip_connects_with_the_tokens(admin, resont_root):
    callback = start_oauth(admin, resont_root)
    response = admin.get(callback)
    assert response.status_code == 302 and response.headers["Location"].endswith("/settings/channels")
    made = channels()
    assert [c.account_ref for c in made] == ["101", "102", "103"]
    creds = crypto.decrypt_json(made[0].credentials_encrypted)
    assert set(creds) >= {"client_id", "client_secret", "access_token", "refresh_token", "expires_at"}
    assert made[0].base_url == f"{resont_root}/v1"
    [exchange] = [r for r in SANDBOX.requests if r.get("name") == "oauth.token"]
    assert exchange["params"]["grant_type"] == "authorization_code"
    run_jobs()
    assert sorted(r["params"]["account_ids"] for r in SANDBOX.requests if r.get("name") == "conversation.subscribe") \
        == [["101"], ["102"], ["103"]]


def test_the_secret_is_not_readable_in_the_session_cookie(admin, resont_root):
    post_form(admin, mode="oauth", client_id=SANDBOX_CLIENT_ID, client_secret=SANDBOX_CLIENT_SECRET,
              base_url=f"{resont_root}/v1")
    with admin.session_transaction() as session:
        assert SANDBOX_CLIENT_SECRET not in str(dict(session))


def test_a_callback_with_another_state_is_refused(admin, resont_root):
    callback = start_oauth(admin, resont_root)
    forged = callback.replace("state=", "state=x")
    response = admin.get(forged)
    assert response.status_code == 400 and "state does not match" in response.get_data(as_text=True)
    assert channels() == []
    assert admin.get(callback).status_code == 400        # the flow was used up by the forged answer


def test_a_callback_without_a_flow_is_refused(admin):
    response = admin.get("/settings/resont/callback?code=abc&state=def")
    assert response.status_code == 400 and channels() == []


def test_a_refused_code_exchange_is_shown_on_the_form(admin, resont_root):
    callback = start_oauth(admin, resont_root, secret="not-the-secret")
    response = admin.get(callback)
    assert response.status_code == 422
    assert "Resont refused the token request" in response.get_data(as_text=True) and channels() == []


def test_resont_saying_no_is_shown_on_the_form(admin, resont_root):
    callback = start_oauth(admin, resont_root)
    state = parse_qs(urlsplit(callback).query)["state"][0]
    response = admin.get(f"/settings/resont/callback?error=access_denied&state={state}")
    assert response.status_code == 422 and "access_denied" in response.get_data(as_text=True)


def test_webhooks_and_polling_land_in_the_queue(admin, live, resont_root):
    """The whole path: OAuth connect, subscribe (worker), a webhook routed by account, a poll that
    finds what no webhook announced, a closed support ticket archived."""
    callback = start_oauth(admin, resont_root)
    assert admin.get(callback).status_code == 302
    run_jobs()
    made = {c.account_ref: c for c in channels()}
    SANDBOX.set_webhook_url(SANDBOX_CLIENT_ID, made["101"].webhook_url)
    SANDBOX.emit_comment(101, "Сколько стоит доставка? 🚚", social_user_id=7006)
    SANDBOX.emit_comment(102, "ممنون از اطلاع‌رسانی 🙏", social_user_id=7005)
    run_jobs()
    with db.session_scope() as s:
        by_channel = {ref: s.scalars(select(Ticket.text).where(Ticket.channel_id == c.id)).all()
                      for ref, c in made.items()}
    assert "Сколько стоит доставка? 🚚" in by_channel["101"] and "ممنون از اطلاع‌رسانی 🙏" not in by_channel["101"]
    assert "ممنون از اطلاع‌رسانی 🙏" in by_channel["102"] and "Сколько стоит доставка? 🚚" not in by_channel["102"]

    from workers.poll import poll_channel

    SANDBOX.add_message("Is the coat still available? 🧥", conversation_id=2003, social_user_id=7003)
    assert poll_channel(made["101"].id).startswith("stored")
    with db.session_scope() as s:
        tickets = s.scalars(select(Ticket).where(Ticket.channel_id == made["101"].id)).all()
        kinds = {t.external_id: (t.kind, t.status) for t in tickets}
        dm = next(t for t in tickets if t.external_id == "conversation:2003")
        texts = [m.text for m in s.scalars(select(Message).where(Message.ticket_id == dm.id)
                                           .order_by(Message.created_at))]
        reply = s.scalars(select(Message).where(Message.external_id == "comment:1003")).one()
        assert reply.direction == "out"
        assert s.get(Ticket, reply.ticket_id).external_id == "comment:1001"
        channel = s.get(Channel, made["101"].id)
        assert channel.sync_state["comments"]["hw"] and channel.last_sync_error is None
    assert texts[-1] == "Is the coat still available? 🧥"
    assert kinds["ticket:4002"] == (TicketKind.TICKET, TicketStatus.ARCHIVED)
    assert kinds["ticket:4001"] == (TicketKind.TICKET, TicketStatus.OPEN)
    assert "comment:1003" not in kinds                 # our reply is part of 1001's thread
    assert poll_channel(made["102"].id).startswith("stored")
