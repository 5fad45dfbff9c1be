"""The whole SocialHub protocol over HTTPS, against an integration written from SocialHub's docs.

The integration (``sandbox/socialhub_integration.py``) is served over TLS on loopback with a
self-signed certificate made here. The product verifies certificates (no ``verify=False``
anywhere): it trusts this one only when told to through ``SSL_CERT_FILE``, which httpx honours,
as an operator would for an integration with a private CA.
"""
from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import threading
import time

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from helpers import run_jobs
from rq import SimpleWorker
from sqlalchemy import select
from werkzeug.serving import make_server

import workers
from inbox import db
from models import ActionState, Channel, ChannelStatus, Direction, Followup, FollowupStatus, Message
from sandbox.socialhub_integration import SocialHubIntegration, create_app


def self_signed(tmp_path) -> tuple[str, str]:
    """A certificate for 127.0.0.1 that is its own CA (what Python's strict verification accepts)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "integration.test")])
    now = dt.datetime.now(dt.UTC)
    public = key.public_key()
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                        x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "integration.pem", tmp_path / "integration.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_path), str(key_path)


@pytest.fixture
def https_integration(tmp_path, monkeypatch):
    """(integration, its https root, its certificate file); SSL_CERT_FILE is left unset."""
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    cert, key = self_signed(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    integration = SocialHubIntegration()
    server = make_server("127.0.0.1", 0, create_app(integration), threaded=True, ssl_context=context)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield integration, f"https://127.0.0.1:{server.server_port}", cert
    integration.drain()
    integration.reset()
    server.shutdown()


@pytest.fixture
def channel(live, token_for) -> dict:
    response = httpx.post(f"{live}/api/v1/channels", headers={"Authorization": f"Bearer {token_for('admin')}"}, json={
        "provider": "custom", "name": "Shop over TLS", "settings": {"manifest": {"inbox": {"ticketActions": [
            {"id": "reply-comment", "type": "reply", "label": "Reply"}]}}}})
    assert response.status_code == 201, response.text
    return {**response.json(), "api": f"{live}/api2"}


def manifest(channel) -> dict:
    return httpx.get(f"{channel['api']}/public", params={"accesstoken": channel["access_token"]}).json()["manifest"]


def reply(client, token_for, ticket_id: str, text: str) -> int:
    response = client.post(f"/api/v1/tickets/{int(ticket_id)}/actions/reply", json={"text": text},
                           headers={"Authorization": f"Bearer {token_for('agent')}"})
    assert response.status_code == 202, response.get_data(as_text=True)
    return response.get_json()["id"]


def followup_state(followup_id: int) -> tuple[str, str, str | None]:
    with db.session_scope() as s:
        followup = s.get(Followup, followup_id)
        return followup.status, followup.actions[0].state, followup.error


def test_an_untrusted_certificate_fails_the_test_request_and_nothing_is_saved(https_integration, channel):
    integration, root, _ = https_integration
    answer = integration.register("shop", channel["api"], channel["access_token"], f"{root}/webhook/shop")
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["code"] == "WebhookValidationError" and "certificate" in body["data"].lower()
    assert integration.requests == [] and manifest(channel)["webhook"] is None


def test_the_protocol_end_to_end_over_https(https_integration, channel, client, token_for, monkeypatch):
    integration, root, cert = https_integration
    monkeypatch.setenv("SSL_CERT_FILE", cert)           # the operator trusts the integration's CA

    # 1. The test request: signed, events empty, challenge solved -> saved.
    answer = integration.register("shop", channel["api"], channel["access_token"], f"{root}/webhook/shop")
    assert answer.status_code == 200, answer.text
    [test_request] = integration.requests
    assert test_request["verified"] and test_request["payload"]["events"] == {}
    assert manifest(channel)["webhook"]["url"] == f"{root}/webhook/shop"

    status, ticket = integration.push_ticket(channel["api"], channel["access_token"], "question-q_0000000001",
                                             "Hello, can someone help me?", "Jork Schrank")
    assert status == 201, ticket

    # 2. A reply event, verified by the integration, then confirmed with /success.
    integration.auto_confirm = True
    first = reply(client, token_for, ticket["_id"], "Hello! Sure, how can we assist you?")
    run_jobs()
    integration.drain()
    [event] = [e["event"] for e in integration.events]
    assert integration.requests[-1]["verified"] and event["type"] == "reply"
    assert event["payload"]["text"] == "Hello! Sure, how can we assist you?"
    [callback] = integration.callbacks
    assert callback["kind"] == "success" and callback["status"] == 201, callback
    assert followup_state(first)[:2] == (FollowupStatus.DELIVERED, ActionState.SENT)
    with db.session_scope() as s:
        [echo] = s.scalars(select(Message).filter_by(direction=Direction.OUT)).all()
        assert echo.ticket_id == int(ticket["_id"]) and echo.text == "Hello! Sure, how can we assist you?"

    # 3. The integration could not post it: /reset with its reason.
    integration.reset_next("The interaction has been deleted on the network")
    second = reply(client, token_for, ticket["_id"], "Are you still there?")
    run_jobs()
    integration.drain()
    assert integration.callbacks[-1]["kind"] == "reset" and integration.callbacks[-1]["status"] == 201
    assert followup_state(second) == (FollowupStatus.FAILED, ActionState.FAILED,
                                      "The interaction has been deleted on the network")

    # 4. A non-2xx answer is retried, with the same event, until it is accepted.
    integration.auto_confirm = False
    integration.fail_next(502)
    third = reply(client, token_for, ticket["_id"], "Third time lucky")
    run_jobs()
    assert followup_state(third)[:2] == (FollowupStatus.QUEUED, ActionState.QUEUED)
    time.sleep(2.2)
    SimpleWorker([workers.queue(n) for n in workers.QUEUE_NAMES], connection=workers.connection()).work(
        burst=True, with_scheduler=True, logging_level="WARNING")
    assert followup_state(third)[:2] == (FollowupStatus.SENT, ActionState.SENT)
    assert [r["status"] for r in integration.requests[-2:]] == [502, 200]

    # 5. A 2xx with a wrong challenge: the webhook is removed and the channel needs attention.
    integration.wrong_challenge_next()
    fourth = reply(client, token_for, ticket["_id"], "One more thing")
    run_jobs()
    assert followup_state(fourth)[:2] == (FollowupStatus.FAILED, ActionState.FAILED)
    assert manifest(channel)["webhook"] is None
    with db.session_scope() as s:
        flagged = s.get(Channel, channel["id"])
        assert flagged.status == ChannelStatus.NEEDS_ATTENTION and "X-SocialHub-Challenge" in flagged.last_error
