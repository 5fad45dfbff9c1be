"""The server never calls where it shouldn't (SSRF), and its error texts never carry what answered.

Every URL a user or an integration sets (a channel's ``base_url``, a custom channel's webhook,
attachment and media URLs) is refused when set and again when called if it is not ``https`` or
resolves to a loopback, private, link-local, unique-local or metadata address, unless
``INBOX_ALLOW_PRIVATE_URLS`` lets it through. ``netguard.resolve`` stands in for DNS here (the
names below exist nowhere); the servers that must stay untouched are real ones on loopback,
counting every connection they accept.
"""
from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from helpers import csrf_of, login, run_jobs
from sqlalchemy import func, select

from inbox import db, netguard
from inbox.connectors.base import ProviderError, Rejected
from inbox.connectors.getloo import GetlooConnector
from inbox.connectors.socialwall import SocialWallConnector
from inbox.replies.service import clean_attachment_url
from models import Channel, Followup, FollowupStatus

PRIVATE_ANSWERS = ["10.1.2.3", "127.0.0.1", "169.254.169.254", "::ffff:127.0.0.1", "fd00::1", "fd00:ec2::254",
                   "100.100.100.200", "::ffff:169.254.169.254", "192.168.0.10", "::1", "0.0.0.0", "224.0.0.1"]
REFUSED = "resolves to a private or reserved address, which this server does not call"
LITERAL_REFUSED = "is a private or reserved address, which this server does not call"
SECRET_BODY = "redis_version:7.2.4 role:master internal-only"


class Listener:
    """A real HTTP server on loopback that counts what reaches it and answers as told."""

    def __init__(self, status: int = 200, location: str | None = None, body: str = "{}"):
        self.hits: list[dict[str, str]] = []
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                listener.hits.append({"path": self.path, "host": self.headers.get("Host", "")})
                self.send_response(status)
                if location:
                    self.send_header("Location", location)
                data = body.encode()
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _answer

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = Listener()
    yield server
    server.stop()


@pytest.fixture
def dns(monkeypatch) -> dict[str, list[str]]:
    """Names -> addresses, standing in for DNS; every lookup is recorded under ``"_asked"``."""
    table: dict[str, list[str]] = {"_asked": []}

    def resolve(host: str, port: int) -> list[str]:
        table["_asked"].append(host)
        if host not in table:
            raise OSError(f"{host}: unknown name")
        return list(table[host])

    monkeypatch.setattr(netguard, "resolve", resolve)
    return table


@pytest.fixture
def strict(app) -> Iterator[None]:
    """No allow list at all, as in production by default (the other tests allow loopback)."""
    netguard.configure("")
    yield
    netguard.configure(os.environ.get("INBOX_ALLOW_PRIVATE_URLS", ""))


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def channels() -> int:
    with db.session_scope() as s:
        return s.scalar(select(func.count()).select_from(Channel))


# -- checked when set ------------------------------------------------------------------------

@pytest.mark.parametrize("address", PRIVATE_ANSWERS)
def test_a_base_url_whose_name_resolves_to_a_private_address_is_refused_when_connecting(
        client, token_for, strict, dns, listener, address):
    dns["provider.example"] = [address]
    response = client.post("/api/v1/channels", headers=auth(token_for("admin")), json={
        "provider": "getloo", "base_url": f"https://provider.example:{listener.port}/insta",
        "credentials": {"token": "t0ken"}})
    assert response.status_code == 422, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert error["code"] == "invalid_base_url"
    assert error["message"] == f"base_url cannot be used: provider.example {REFUSED}."
    assert channels() == 0 and listener.hits == []


@pytest.mark.parametrize("url", ["http://127.0.0.1:{port}/insta", "http://[::1]:{port}/insta",
                                 "https://169.254.169.254:{port}/latest/meta-data", "https://[fd00:ec2::254]/x",
                                 "https://[::ffff:127.0.0.1]:{port}/"])
def test_an_address_literal_base_url_is_refused_before_any_connection_is_made(client, token_for, strict, url):
    """Connecting to the server's own Redis (or anything on loopback) is refused without calling it."""
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    probe.listen(8)
    probe.settimeout(0.2)
    try:
        response = client.post("/api/v1/channels", headers=auth(token_for("admin")), json={
            "provider": "getloo", "base_url": url.format(port=probe.getsockname()[1]),
            "credentials": {"token": "t0ken"}})
        assert response.status_code == 422, response.get_data(as_text=True)
        assert response.get_json()["error"]["code"] == "invalid_base_url"
        with pytest.raises(TimeoutError):
            probe.accept()          # nobody knocked
    finally:
        probe.close()
    assert channels() == 0


def test_the_channels_page_says_why_a_private_base_url_is_refused(client, users, strict, dns):
    dns["provider.example"] = ["10.0.0.8"]
    login(client, "admin")
    response = client.post("/settings/channels", data={
        "csrf_token": csrf_of(client, "/settings/channels"), "provider": "getloo", "name": "Shop",
        "base_url": "https://provider.example/insta", "token": "t0ken"})
    assert response.status_code == 422
    assert f"provider.example {REFUSED}" in response.get_data(as_text=True)
    assert channels() == 0


def test_http_is_refused_for_a_public_provider(client, token_for, strict, dns):
    dns["provider.example"] = ["93.184.216.34"]
    response = client.post("/api/v1/channels", headers=auth(token_for("admin")), json={
        "provider": "getloo", "base_url": "http://provider.example/insta", "credentials": {"token": "t0ken"}})
    assert response.status_code == 422
    assert response.get_json()["error"]["message"] == \
        "base_url cannot be used: provider.example may only be called over https."


@pytest.mark.parametrize("address", ["10.0.0.7", "127.0.0.1", "169.254.169.254", "::ffff:127.0.0.1", "fd00::1"])
def test_an_integration_cannot_point_its_webhook_at_a_private_address(
        client, token_for, strict, dns, listener, address):
    """PATCH /api2/public/manifest answers SocialHub's 422 shape, sends no test request, stores nothing."""
    dns["hooks.example"] = [address]
    created = client.post("/api/v1/channels", headers=auth(token_for("admin")),
                          json={"provider": "custom", "name": "Shop"}).get_json()
    response = client.patch("/api2/public/manifest", query_string={"accesstoken": created["access_token"]},
                            json={"webhook": {"url": f"https://hooks.example:{listener.port}/h", "secret": "s" * 40}})
    assert response.status_code == 422, response.get_data(as_text=True)
    body = response.get_json()
    assert body["code"] == "WebhookValidationError"
    assert body["message"] == "Error: The WebHook's address is not allowed"
    assert body["data"] == f"Error: hooks.example {REFUSED}"
    assert listener.hits == []
    with db.session_scope() as s:
        assert s.get(Channel, created["id"]).settings.get("webhook_url") is None


def test_a_custom_channels_webhook_url_setting_is_checked_at_connect_and_on_patch(client, token_for, strict, dns):
    dns["hooks.example"] = ["10.9.8.7"]
    headers = auth(token_for("admin"))
    refused = client.post("/api/v1/channels", headers=headers, json={
        "provider": "custom", "settings": {"webhook_url": "https://hooks.example/h"}})
    assert refused.status_code == 422
    assert refused.get_json()["error"] == {"code": "invalid_webhook_url",
                                           "message": f"webhook_url cannot be used: hooks.example {REFUSED}."}
    created = client.post("/api/v1/channels", headers=headers, json={"provider": "custom"}).get_json()
    patched = client.patch(f"/api/v1/channels/{created['id']}", headers=headers,
                           json={"settings": {"webhook_url": "https://hooks.example/h"}})
    assert patched.status_code == 422 and patched.get_json()["error"]["code"] == "invalid_webhook_url"


def test_a_template_reply_actions_templates_url_is_checked_when_set(client, token_for, strict, dns):
    """The server GETs it when an agent picks a template: the same rule as the webhook."""
    dns["templates.example"] = ["169.254.169.254"]
    path = "manifest.inbox.ticketActions[0].config.templates.url"
    manifest = {"inbox": {"ticketActions": [{"id": "t", "type": "template_reply", "label": "T",
                                             "config": {"templates": {"url": "https://templates.example/t"}}}]}}
    headers = auth(token_for("admin"))
    refused = client.post("/api/v1/channels", headers=headers,
                          json={"provider": "custom", "settings": {"manifest": manifest}})
    assert refused.status_code == 422
    assert refused.get_json()["error"] == {"code": "invalid_manifest",
                                           "message": f"{path} cannot be used: templates.example {REFUSED}."}
    created = client.post("/api/v1/channels", headers=headers, json={"provider": "custom"}).get_json()
    patched = client.patch("/api2/public/manifest", query_string={"accesstoken": created["access_token"]},
                           json=manifest)
    assert patched.status_code == 400
    assert patched.get_json()["message"] == f"{path} cannot be used: templates.example {REFUSED}"


@pytest.mark.parametrize("address", ["10.1.1.1", "169.254.169.254", "fd00::1"])
def test_attachment_and_media_urls_on_private_addresses_are_refused(app, strict, dns, address):
    dns["files.example"] = [address]
    with pytest.raises(Rejected) as refused:
        clean_attachment_url("getloo", "conversation", "https://files.example/a.png")
    assert refused.value.code == "invalid_attachment_url"
    assert refused.value.message == f"The attachment cannot be used: files.example {REFUSED}."
    with pytest.raises(Rejected) as media:
        SocialWallConnector.validate_action("inject", None, {"text": "hi", "media_url": "https://files.example/a.png"})
    assert media.value.code == "invalid_media_url"
    assert media.value.message == f"The media URL cannot be used: files.example {REFUSED}."


def test_an_attachment_url_on_a_public_address_is_accepted(app, strict, dns):
    dns["files.example"] = ["93.184.216.34"]
    assert clean_attachment_url("getloo", "conversation", "https://files.example/a.png") == \
        "https://files.example/a.png"


# -- checked when called ---------------------------------------------------------------------

@pytest.mark.parametrize("address", PRIVATE_ANSWERS)
def test_each_private_answer_is_refused_when_called(app, strict, dns, listener, address):
    dns["provider.example"] = [address]
    connector = GetlooConnector(f"https://provider.example:{listener.port}/insta", {"token": "t0ken"})
    with pytest.raises(ProviderError) as refused:
        connector.get_info()
    assert refused.value.code == "address_not_allowed"
    assert refused.value.message == f"provider.example {REFUSED}"
    assert not refused.value.retryable and not refused.value.uncertain
    assert listener.hits == []


def test_one_bad_address_among_good_ones_refuses_the_name(app, strict, dns, listener):
    dns["provider.example"] = ["93.184.216.34", "127.0.0.1"]
    with pytest.raises(ProviderError) as refused:
        GetlooConnector(f"https://provider.example:{listener.port}/insta", {"token": "t"}).get_info()
    assert refused.value.code == "address_not_allowed" and listener.hits == []


def test_a_webhook_whose_name_turns_to_loopback_after_it_was_set_is_refused_when_called(
        client, token_for, strict, dns, listener):
    """DNS rebinding: public when the admin set it, loopback when the worker calls it."""
    dns["hooks.rebind.example"] = ["93.184.216.34"]
    created = client.post("/api/v1/channels", headers=auth(token_for("admin")), json={
        "provider": "custom", "name": "Shop",
        "settings": {"webhook_url": f"https://hooks.rebind.example:{listener.port}/h"}})
    assert created.status_code == 201, created.get_data(as_text=True)
    token = created.get_json()["access_token"]
    pushed = client.post("/api2/public/inbox/tickets", query_string={"accesstoken": token}, json={"interaction": {
        "networkItemId": "item-000001", "message": "Where is my order?", "createdTime": "2024-05-01T10:00:00Z",
        "interactor": {"interactorId": "user-1", "name": "Ann"}}})
    assert pushed.status_code == 201, pushed.get_data(as_text=True)
    dns["hooks.rebind.example"] = ["127.0.0.1"]
    reply = client.post(f"/api/v1/tickets/{int(pushed.get_json()['_id'])}/actions/reply",
                        headers=auth(token_for("agent")), json={"text": "On its way"})
    assert reply.status_code == 202, reply.get_data(as_text=True)
    run_jobs()
    assert listener.hits == []
    with db.session_scope() as s:
        followup = s.scalars(select(Followup)).one()
        assert followup.status == FollowupStatus.FAILED
        assert followup.error == f"hooks.rebind.example {REFUSED}"


def test_a_redirect_to_loopback_is_refused_on_the_hop(app, strict, dns):
    """Only the redirecting host is allowed (by name); the hop to 127.0.0.1 is checked and refused."""
    target = Listener()
    redirector = Listener(status=302, location=f"http://127.0.0.1:{target.port}/")
    try:
        netguard.configure("redirector.test")
        dns["redirector.test"] = ["127.0.0.1"]
        with netguard.guarded_client(timeout=5) as client:
            with pytest.raises(netguard.UnsafeURL) as refused:
                client.get(f"http://redirector.test:{redirector.port}/file.png", follow_redirects=True)
        assert str(refused.value) == f"127.0.0.1 {LITERAL_REFUSED}"
        assert len(redirector.hits) == 1 and target.hits == []
        with netguard.guarded_client(timeout=5) as client:    # https to it is refused for its address
            with pytest.raises(netguard.UnsafeURL, match=LITERAL_REFUSED):
                client.get(f"https://127.0.0.1:{target.port}/")
        assert target.hits == []
    finally:
        target.stop()
        redirector.stop()


def test_resonts_attachment_download_refuses_a_redirect_to_loopback(app, strict, dns):
    """The one client that follows redirects (Resont takes a file, so we fetch the attachment)."""
    from inbox.connectors.base import Target
    from inbox.connectors.resont import ResontConnector

    target = Listener()
    redirector = Listener(status=302, location=f"http://127.0.0.1:{target.port}/latest/meta-data")
    try:
        netguard.configure("files.test")
        dns["files.test"] = ["127.0.0.1"]
        connector = ResontConnector("https://api.resont.example/token/v1", {"token": "t"})
        with pytest.raises(ProviderError) as refused:
            connector.perform("reply", Target(kind="conversation", external_id="conversation:5",
                                              data={"conversation_id": "5"}),
                              {"text": "Here it is", "attachment_url": f"http://files.test:{redirector.port}/a.pdf"})
        assert refused.value.code == "address_not_allowed" and not refused.value.retryable
        assert refused.value.message == f"127.0.0.1 {LITERAL_REFUSED}"
        assert len(redirector.hits) == 1 and target.hits == []
    finally:
        target.stop()
        redirector.stop()


def test_the_connection_goes_to_the_address_that_was_checked(app, dns, listener):
    """The name is resolved once, by the check; the socket connects to that address (the system's
    DNS, which knows no ``.invalid`` name, is never asked) and the Host header keeps the name."""
    dns["pinned.invalid"] = ["127.0.0.1"]        # 127.0.0.1 is in the tests' allow list
    with netguard.guarded_client(timeout=5) as client:
        response = client.get(f"http://pinned.invalid:{listener.port}/hello")
    assert response.status_code == 200
    assert dns["_asked"] == ["pinned.invalid"]
    assert listener.hits == [{"path": "/hello", "host": f"pinned.invalid:{listener.port}"}]


def test_the_allow_list_lets_exactly_the_listed_hosts_and_networks_through(app, dns):
    netguard.configure("10.0.0.0/8,internal.test")
    try:
        dns.update({"a.test": ["10.2.3.4"], "b.test": ["192.168.1.1"], "internal.test": ["192.168.0.1"],
                    "public.test": ["93.184.216.34"], "mixed.test": ["10.2.3.4", "93.184.216.34"]})
        for url in ("https://a.test/", "http://a.test/", "https://internal.test/", "http://internal.test/",
                    "https://public.test/", "https://10.200.0.1/", "http://10.200.0.1/"):
            netguard.check_url(url)
        for url, why in (("https://b.test/", REFUSED), ("https://127.0.0.1/", LITERAL_REFUSED),
                         ("http://public.test/", "over https"), ("http://mixed.test/", "over https"),
                         ("ftp://a.test/", "Only https://"), ("http://127.0.0.1/", LITERAL_REFUSED),
                         ("http://11.0.0.1/", "over https")):
            with pytest.raises(netguard.UnsafeURL, match=why):
                netguard.check_url(url)
        for bad in ("10.0.0.0/33", "two words"):
            with pytest.raises(ValueError, match="INBOX_ALLOW_PRIVATE_URLS"):
                netguard.configure(bad)
        netguard.configure("", demo=True)       # INBOX_DEMO=1: loopback only
        netguard.check_url("http://127.0.0.1:5001/")
        netguard.check_url("http://localhost:5001/")
        with pytest.raises(netguard.UnsafeURL):
            netguard.check_url("https://a.test/")
    finally:
        netguard.configure(os.environ.get("INBOX_ALLOW_PRIVATE_URLS", ""))


# -- error text never carries what answered ----------------------------------------------------

def test_an_unreachable_provider_is_named_by_host_not_by_the_transport_error(client, token_for):
    """Loopback allowed (the tests' list): a closed port answers in our words, not '[Errno 111] ...'."""
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    response = client.post("/api/v1/channels", headers=auth(token_for("admin")), json={
        "provider": "getloo", "base_url": f"http://127.0.0.1:{port}/insta", "credentials": {"token": "t0ken"}})
    assert response.status_code == 502
    assert response.get_json()["error"] == {"code": "provider_unreachable",
                                            "message": "Could not reach the provider at 127.0.0.1"}


def test_a_non_json_error_body_is_never_quoted(client, token_for):
    """Something that is not the provider (say a Redis port, an internal admin page) answers text."""
    server = Listener(status=401, body=SECRET_BODY)
    try:
        response = client.post("/api/v1/channels", headers=auth(token_for("admin")), json={
            "provider": "getloo", "base_url": f"http://127.0.0.1:{server.port}/insta",
            "credentials": {"token": "t0ken"}})
        assert 400 <= response.status_code < 500
        assert "redis_version" not in response.get_data(as_text=True)
        for provider, credentials, settings in (
                ("socialposts", {"token": "t"}, {"brand": "b3ad887b-a14e-4bff-b618-a2edb675d19b"}),
                ("socialwall", {"api_key": "k"}, {"wall_id": "1"}),
                ("resont", {"token": "t"}, {})):
            before = len(server.hits)
            answer = client.post("/api/v1/channels", headers=auth(token_for("admin")), json={
                "provider": provider, "base_url": f"http://127.0.0.1:{server.port}",
                "credentials": credentials, "settings": settings})
            assert len(server.hits) > before, provider          # it did reach the server
            assert 400 <= answer.status_code < 500, (provider, answer.get_data(as_text=True))
            assert "redis_version" not in answer.get_data(as_text=True), provider
    finally:
        server.stop()


def test_the_integrations_error_body_never_reaches_network_error(client, token_for):
    """A custom webhook answering 400 with a body: the reply's error says the status only."""
    server = Listener(status=400, body=SECRET_BODY)
    try:
        created = client.post("/api/v1/channels", headers=auth(token_for("admin")), json={
            "provider": "custom", "settings": {"webhook_url": f"http://127.0.0.1:{server.port}/h"}}).get_json()
        pushed = client.post("/api2/public/inbox/tickets", query_string={"accesstoken": created["access_token"]},
                             json={"interaction": {"networkItemId": "item-000002", "message": "Hi",
                                                   "createdTime": "2024-05-01T10:00:00Z",
                                                   "interactor": {"interactorId": "u-2", "name": "Bo"}}})
        reply = client.post(f"/api/v1/tickets/{int(pushed.get_json()['_id'])}/actions/reply",
                            headers=auth(token_for("agent")), json={"text": "Hello"})
        assert reply.status_code == 202
        run_jobs()
        assert len(server.hits) == 1
        with db.session_scope() as s:
            followup = s.scalars(select(Followup)).one()
            action = followup.actions[0]
            texts = [followup.error or "", action.error or ""]
        assert "The integration answered HTTP 400" in texts
        assert not any("redis_version" in t for t in texts)
    finally:
        server.stop()


def test_check_url_refuses_what_is_not_a_url(app):
    for url in ("javascript:alert(1)", "file:///etc/passwd", "gopher://127.0.0.1:6379/_INFO", "https://"):
        with pytest.raises(netguard.UnsafeURL):
            netguard.check_url(url)


def test_the_tests_allow_list_reaches_the_app(app):
    assert app.config["INBOX_ALLOW_PRIVATE_URLS"] == os.environ["INBOX_ALLOW_PRIVATE_URLS"]
    assert netguard.allowed().allows_host("127.0.0.1") and not netguard.allowed().allows_host("10.0.0.1")


def test_the_demo_alone_lets_the_server_call_loopback_and_nothing_else(db_url, redis_url):
    """``make run`` sets INBOX_DEMO=1 without an allow list: create_app configures loopback only."""
    from app import create_app

    try:
        create_app({"TESTING": True, "DATABASE_URL": db_url, "REDIS_URL": redis_url, "INBOX_DEMO": True,
                    "INBOX_ALLOW_PRIVATE_URLS": ""})
        netguard.check_url("http://127.0.0.1:5001/sandbox/getloo")
        with pytest.raises(netguard.UnsafeURL, match=LITERAL_REFUSED):
            netguard.check_url("https://10.0.0.1/")
    finally:
        netguard.configure(os.environ.get("INBOX_ALLOW_PRIVATE_URLS", ""))
