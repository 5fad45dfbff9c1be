"""An example SocialHub custom-channel integration, written from SocialHub's public documentation.

It is the other side of a custom channel: it knows nothing of our code (only flask, httpx and
the standard library), and does what ``docs/webhooks.md``, ``docs/inbox/ticket-api.md``,
``docs/general/manifest-api.md`` and ``docs/misc/signature-code-examples.md`` of
socialhubio/socialhub-dev tell an integration to do, against any SocialHub-compatible API root
(``https://app.socialhub.io/api2`` or ours, ``<inbox>/api2``):

- it registers its webhook with ``PATCH /manifest {webhook: {url, secret}}`` using a secret of
  its own, answering the test request that follows;
- it verifies ``X-SocialHub-Timestamp`` / ``X-SocialHub-Signature`` exactly as the docs'
  Python example does (``verify_webhook_signature``) and answers every request at once with
  ``X-SocialHub-Challenge``, then handles the events in a background thread;
- for a ``reply`` / ``template_reply`` event it calls back ``/replies/:followupId/success`` (when
  ``auto_confirm`` is on) or ``/reset/:actionId`` (when told to fail); a ``button`` needs no
  success call;
- it serves the templates of a ``template_reply`` action (signed GET ``?channelId=``);
- it pushes tickets with ``POST /inbox/tickets``.

Test hooks make it misbehave on purpose: answer a status (``fail_next``), answer 2xx with a
wrong challenge (``wrong_challenge_next``), or report a reply failed (``reset_next``).
``blueprint(integration)`` mounts it in any Flask app; ``create_app()`` serves it alone.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from flask import Blueprint, Flask, jsonify, request, url_for

HTTP_TIMEOUT = 10.0
MAX_AGE_SECONDS = 300
# Templates this integration offers for template_reply actions (the docs' example, plus one).
TEMPLATES = [
    {"name": "Test Greeting", "networkId": "test_greeting",
     "variables": {"firstName": {"type": "string", "minLength": 2, "maxLength": 12}},
     "text": {"en": "Hello {{firstName}}", "de": "Hallo {{firstName}}", "fr": "Bienvenue {{firstName}}"}},
    {"name": "Order shipped", "networkId": "order_shipped",
     "variables": {"orderId": {"type": "string", "minLength": 1, "maxLength": 20}},
     "text": {"en": "Your order {{orderId}} is on its way.", "de": "Ihre Bestellung {{orderId}} ist unterwegs.",
              "fr": "Votre commande {{orderId}} est en route."}},
]
# Live traffic for the demo: (networkItemId, message, interactor). Several languages and scripts.
DEMO_TICKETS: list[tuple[str, str, dict[str, str]]] = [
    ("shop-ticket-1001", "Bonjour ! Ma commande n°4821 n'est toujours pas arrivée.",
     {"interactorId": "cust-fr-001", "name": "Camille Dubois"}),
    ("shop-ticket-1002", "Hallo, kann ich meine Bestellung noch ändern? Größe M statt L, bitte.",
     {"interactorId": "cust-de-007", "name": "Jonas Müller"}),
    ("shop-ticket-1003", "سلام، سفارش من کی می‌رسد؟ کد پیگیری ندارم.",
     {"interactorId": "cust-fa-019", "name": "نگار احمدی"}),
    ("shop-ticket-1004", "Здравствуйте! Можно ли вернуть товар без чека?",
     {"interactorId": "cust-ru-042", "name": "Ольга Смирнова"}),
    ("shop-ticket-1005", "Hi! Still waiting for my refund 🙏 any news?",
     {"interactorId": "cust-en-100", "name": "Sam Carter"}),
]


# -- the docs' signature check (docs/misc/signature-code-examples.md, "Python") -------------------

class SocialHubSignatureError(Exception):
    pass


class SocialHubSignatureTimestampError(SocialHubSignatureError):
    pass


def verify_webhook_signature(secret: str, req_timestamp: int, req_raw_body: bytes, req_signature: str,
                             ignore_time: bool = False) -> str:
    """Verify X-SocialHub-Timestamp / X-SocialHub-Signature and return the challenge
    (the docs' example by uberspace.de, CC-0 / MIT), with a constant-time comparison."""
    req_age = abs(time.time() - req_timestamp / 1000)
    if req_age > MAX_AGE_SECONDS and not ignore_time:
        raise SocialHubSignatureTimestampError()
    challenge = hashlib.sha256(str(req_timestamp).encode() + b";" + secret.encode("ascii")).hexdigest()
    signature_hmac = hmac.new(challenge.encode(), digestmod=hashlib.sha256)
    signature_hmac.update(req_raw_body)
    if not hmac.compare_digest(signature_hmac.hexdigest(), req_signature):
        raise SocialHubSignatureError()
    return challenge


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Installation:
    """What an integration keeps per channel: its secret, the channel's token and the API root."""

    key: str
    secret: str
    access_token: str | None = None
    api_base: str | None = None      # e.g. https://app.socialhub.io/api2, or <inbox>/api2


@dataclass
class Faults:
    statuses: deque = field(default_factory=deque)       # answer these statuses, unprocessed
    wrong_challenges: int = 0                            # answer 200 with a wrong challenge
    resets: deque = field(default_factory=deque)         # report these replies failed


class SocialHubIntegration:
    """The integration's state: installations, requests received, callbacks made, faults to inject."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._generation = 0          # bumped by reset() so stale callback threads stay silent
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self._generation += 1
            self.installations: dict[str, Installation] = {}
            self.requests: list[dict[str, Any]] = []    # every webhook request, with our answer
            self.events: list[dict[str, Any]] = []      # ticket_action events accepted (once per uuid)
            self.callbacks: list[dict[str, Any]] = []   # calls made back to the API
            self.template_requests: list[dict[str, Any]] = []
            self.seen: set[str] = set()
            self.faults = Faults()
            self._threads: list[threading.Thread] = []
            self.auto_confirm = False
            self.confirm_delay = 0.0

    # ----------------------------------------------------------------- setup
    def configure(self, key: str, *, secret: str, access_token: str | None = None,
                  api_base: str | None = None) -> Installation:
        with self.lock:
            installation = Installation(key, secret, access_token, api_base.rstrip("/") if api_base else None)
            self.installations[key] = installation
            return installation

    def register(self, key: str, api_base: str, access_token: str, webhook_url: str,
                 secret: str | None = None) -> httpx.Response:
        """Register the webhook as the docs say: our own secret, then ``PATCH /manifest``.

        The installation is kept before the PATCH, since the API sends the test request to our
        webhook while the PATCH waits. Returns the PATCH's answer (200, or 422 when the test failed).
        """
        secret = secret or secrets.token_hex(32)
        self.configure(key, secret=secret, access_token=access_token, api_base=api_base)
        return httpx.patch(f"{api_base.rstrip('/')}/public/manifest", params={"accesstoken": access_token},
                           json={"webhook": {"url": webhook_url, "secret": secret}}, timeout=HTTP_TIMEOUT)

    def fail_next(self, status: int, times: int = 1) -> None:
        with self.lock:
            self.faults.statuses.extend([status] * times)

    def wrong_challenge_next(self, times: int = 1) -> None:
        with self.lock:
            self.faults.wrong_challenges += times

    def reset_next(self, reason: str) -> None:
        with self.lock:
            self.faults.resets.append(reason)

    def drain(self, timeout: float = 10.0) -> None:
        """Wait for the event handling in flight (tests call this before asserting on callbacks)."""
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                self._threads = [t for t in self._threads if t.is_alive()]
                alive = list(self._threads)
            if not alive or time.monotonic() > deadline:
                return
            alive[0].join(max(0.0, deadline - time.monotonic()))

    # -------------------------------------------------------------- webhook
    def handle(self, key: str, raw: bytes, timestamp: str | None,
               signature: str | None) -> tuple[dict[str, Any], int, str | None]:
        """One webhook request: (JSON body, status, challenge to answer or None)."""
        with self.lock:
            entry: dict[str, Any] = {"key": key, "at": _now(), "timestamp": timestamp, "signature": signature,
                                     "body": raw.decode("utf-8", "replace")}
            self.requests.append(entry)
            installation = self.installations.get(key)
            if installation is None:
                entry["status"] = 404
                return {"error": f"no installation {key!r}"}, 404, None
            if not timestamp or not signature or not timestamp.isdigit():
                entry["status"] = 401
                return {"error": "SocialHub headers missing from request"}, 401, None
            try:
                challenge = verify_webhook_signature(installation.secret, int(timestamp), raw, signature)
            except SocialHubSignatureTimestampError:
                entry["status"] = 401
                return {"error": "Request timestamp is not valid"}, 401, None
            except SocialHubSignatureError:
                entry["status"] = 401
                return {"error": "Request signature is not valid"}, 401, None
            entry["verified"] = True
            try:
                payload = json.loads(raw)
            except ValueError:
                entry["status"] = 400
                return {"error": "body is not JSON"}, 400, challenge
            entry["payload"] = payload
            if self.faults.statuses:
                entry["status"] = self.faults.statuses.popleft()
                return {"error": "injected failure"}, entry["status"], challenge
            if self.faults.wrong_challenges:
                self.faults.wrong_challenges -= 1
                entry["status"], entry["wrong_challenge"] = 200, True
                return {}, 200, "0" * 64
            entry["status"] = 200
            events = payload.get("events") or {}
            accepted = []
            for event in events.get("ticket_action", []):
                if event.get("uuid") in self.seen:
                    continue              # a retried delivery: handled once
                self.seen.add(event.get("uuid"))
                accepted.append(event)
                self.events.append({"key": key, "event": event, "envelope": {k: v for k, v in payload.items()
                                                                           if k != "events"}})
            # Unknown event types are logged and discarded, as the docs ask.
            if accepted:
                thread = threading.Thread(target=self._process, daemon=True,
                                          args=(self._generation, installation, accepted))
                self._threads.append(thread)
                thread.start()
            return {}, 200, challenge

    def _process(self, generation: int, installation: Installation, events: list[dict[str, Any]]) -> None:
        """Carry the actions out "on the network", then tell the API how it went."""
        time.sleep(self.confirm_delay)
        for event in events:
            with self.lock:
                reason = self.faults.resets.popleft() if self.faults.resets else None
                confirm = self.auto_confirm
            payload = event.get("payload") or {}
            base = f"/public/inbox/tickets/{event.get('ticketId')}"
            if reason is not None:
                body: dict[str, Any] = {"reason": reason}
                if payload.get("followupId"):
                    body["followupId"] = payload["followupId"]
                self._call_back(generation, installation, "reset", f"{base}/reset/{event.get('actionId')}", body)
            elif confirm and event.get("type") in ("reply", "template_reply"):
                self._call_back(generation, installation, "success",
                                f"{base}/replies/{payload.get('followupId')}/success",
                                {"interaction": {"networkItemId": f"reply-{secrets.token_hex(8)}", "type": "COMMENT",
                                                 "url": f"https://integration.example/items/{payload.get('followupId')}",
                                                 "createdTime": _now()}})

    def _call_back(self, generation: int, installation: Installation, kind: str, path: str, body: dict) -> None:
        if generation != self._generation or not installation.api_base or not installation.access_token:
            return
        record: dict[str, Any] = {"kind": kind, "path": path, "body": body, "at": _now()}
        try:
            response = httpx.post(installation.api_base + path, params={"accesstoken": installation.access_token},
                                  json=body, timeout=HTTP_TIMEOUT)
            record["status"], record["response"] = response.status_code, response.text[:2000]
        except httpx.HTTPError as exc:
            record["status"], record["response"] = 0, repr(exc)
        with self.lock:
            if generation == self._generation:
                self.callbacks.append(record)

    def templates(self, key: str, channel_id: str | None, timestamp: str | None,
                  signature: str | None) -> tuple[Any, int]:
        """The templates endpoint: signed like a webhook request, over the (empty) GET body."""
        with self.lock:
            installation = self.installations.get(key)
            self.template_requests.append({"key": key, "channelId": channel_id, "at": _now()})
        if installation is None:
            return {"error": f"no installation {key!r}"}, 404
        try:
            verify_webhook_signature(installation.secret, int(timestamp or 0), b"", signature or "")
        except (SocialHubSignatureError, ValueError):
            return {"error": "Request signature is not valid"}, 401
        return TEMPLATES, 200

    # ------------------------------------------------------------ pushing
    @staticmethod
    def push_ticket(api_base: str, access_token: str, network_item_id: str, message: str,
                    interactor: dict[str, Any] | str | None = None, **interaction: Any) -> tuple[int, dict]:
        """``POST /inbox/tickets``; returns (status, JSON body). ``interactor`` may be just a name."""
        if isinstance(interactor, str):
            interactor = {"interactorId": "user-" + hashlib.sha1(interactor.encode()).hexdigest()[:12],
                          "name": interactor}
        body = {"interaction": {"networkItemId": network_item_id, "message": message, "createdTime": _now(),
                                **({"interactor": interactor} if interactor else {}), **interaction}}
        response = httpx.post(f"{api_base.rstrip('/')}/public/inbox/tickets", params={"accesstoken": access_token},
                              json=body, timeout=HTTP_TIMEOUT)
        try:
            data = response.json()
        except ValueError:
            data = {"message": response.text}
        return response.status_code, data


push_ticket = SocialHubIntegration.push_ticket


def blueprint(integration: SocialHubIntegration, name: str = "socialhub_integration",
              url_prefix: str = "") -> Blueprint:
    """The integration's routes: its webhook and templates, and a small control API for demos/tests."""
    bp = Blueprint(name, __name__, url_prefix=url_prefix or None)

    @bp.post("/webhook/<key>")
    def webhook(key: str):
        body, status, challenge = integration.handle(key, request.get_data(),
                                                     request.headers.get("X-SocialHub-Timestamp"),
                                                     request.headers.get("X-SocialHub-Signature"))
        response = jsonify(body)
        response.status_code = status
        if challenge is not None:
            response.headers["X-SocialHub-Challenge"] = challenge     # the solved challenge
        return response

    @bp.get("/templates/<key>")
    def templates(key: str):
        body, status = integration.templates(key, request.args.get("channelId"),
                                             request.headers.get("X-SocialHub-Timestamp"),
                                             request.headers.get("X-SocialHub-Signature"))
        return jsonify(body), status

    @bp.post("/_sandbox/<key>/install")
    def install(key: str):
        """``{api_base, access_token, webhook_url?}``: register this integration for a channel
        (its webhook URL defaults to this app's own) and confirm replies automatically."""
        data = request.get_json(silent=True) or {}
        if not all(isinstance(data.get(k), str) and data[k] for k in ("api_base", "access_token")):
            return jsonify(error="api_base and access_token are required"), 400
        url = data.get("webhook_url") or url_for(f"{name}.webhook", key=key, _external=True)
        try:
            answer = integration.register(key, data["api_base"], data["access_token"], url)
        except httpx.HTTPError as exc:
            return jsonify(error=f"install failed: {exc}"), 502
        if answer.status_code != 200:
            return jsonify(error="the API refused the webhook", status=answer.status_code, response=answer.text), 502
        integration.auto_confirm = True
        return jsonify(installed=key, webhook_url=url), 201

    @bp.get("/_sandbox/<key>/received")
    def received(key: str):
        with integration.lock:
            return jsonify(events=[e for e in integration.events if e["key"] == key],
                           requests=[r for r in integration.requests if r["key"] == key],
                           callbacks=list(integration.callbacks))

    @bp.post("/_sandbox/<key>/push")
    def push(key: str):
        """Play a customer writing through the integration: ``{message, network_item_id?, interactor?}``."""
        data = request.get_json(silent=True) or {}
        with integration.lock:
            installation = integration.installations.get(key)
        if installation is None or not installation.api_base or not installation.access_token:
            return jsonify(error=f"no configured installation {key!r}"), 404
        if not isinstance(data.get("message"), str) or not data["message"].strip():
            return jsonify(error="message is required"), 400
        status, body = push_ticket(installation.api_base, installation.access_token,
                                   str(data.get("network_item_id") or f"sandbox-{secrets.token_hex(8)}"),
                                   data["message"], data.get("interactor") or "Sandbox customer")
        return jsonify(status=status, response=body), 200 if status < 500 else 502

    return bp


def create_app(integration: SocialHubIntegration | None = None) -> Flask:
    """The integration served on its own (e.g. over HTTPS in a test)."""
    app = Flask(__name__)
    app.extensions["socialhub_integration"] = integration or SocialHubIntegration()
    app.register_blueprint(blueprint(app.extensions["socialhub_integration"]))
    return app
