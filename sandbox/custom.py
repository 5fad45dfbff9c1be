"""An example custom-channel INTEGRATION: the other side of ``/api2/public`` and our webhooks.

Why it exists: custom channels have no provider to simulate. What the demo and the tests need
is a third party that behaves like a well-written SocialHub integration: it receives signed
deliveries at ``POST /sandbox/custom/webhook[/<key>]``, verifies the signature on the raw body,
dedupes on ``X-Inbox-Delivery``, and reports each reply's outcome back through our public API
(``/replies/{rid}/success`` or ``/reset/{aid}``) from a background thread, as an integration
that answers fast and works asynchronously would. It also pushes tickets over HTTP
(``push_ticket``), which is how the demo creates live traffic.

Everything lives in memory in ``SANDBOX`` under an ``RLock`` (the demo serves it from one
threaded process); network I/O always happens outside the lock. An *installation* (a key) holds
what a real integration stores per channel: the webhook secret, the channel's access token and
the API base it was configured with (our ``.../api2``).
"""
from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from flask import Blueprint, jsonify, request

from .base import ProviderSandbox

bp = Blueprint("custom", __name__, url_prefix="/sandbox/custom")

# The delivery scheme, from docs/custom-channels.md (written here again: an integration has no
# access to the inbox's code).
SIGNATURE_HEADER = "X-Inbox-Signature"
DELIVERY_HEADER = "X-Inbox-Delivery"
SIGNATURE_PREFIX = "sha256="


def sign(secret: str, body: bytes) -> str:
    """``sha256=<hex HMAC-SHA256 of the raw body>``, keyed with the channel's webhook secret."""
    return SIGNATURE_PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(secret: str, body: bytes, header: str | None) -> bool:
    """Check the raw body as received (before parsing), in constant time."""
    if not secret or not isinstance(header, str) or not header.startswith(SIGNATURE_PREFIX):
        return False
    return hmac.compare_digest(sign(secret, body).encode(), header.strip().encode())

DEFAULT_KEY = "default"
HTTP_TIMEOUT = 10.0
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


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass
class Installation:
    """What an integration keeps per connected channel."""

    key: str
    secret: str
    access_token: str | None = None
    api_base: str | None = None     # our API2 root, e.g. http://127.0.0.1:5000/api2


class CustomSandbox(ProviderSandbox):
    """The integration's state: installations, what arrived, injected faults, callbacks made."""

    provider, title, prefix = "custom", "Custom channel: an example integration", "/sandbox/custom"
    kinds = ("ticket",)

    # ----------------------------------------------------------------- state
    def seed(self) -> None:
        """Forget everything: no installations, nothing received, no faults, auto-confirm off."""
        self.installations: dict[str, Installation] = {}
        self.received: list[dict[str, Any]] = []     # deliveries processed (once per delivery id)
        self.attempts: list[dict[str, Any]] = []     # every POST, with the status we answered
        self.callbacks: list[dict[str, Any]] = []    # calls we made back to the inbox
        self.seen: set[str] = set()
        self._webhook_failures: deque[int] = deque()
        self._resets: deque[str] = deque()
        self._threads: list[threading.Thread] = []
        self.auto_confirm = False
        self.confirm_delay = 0.0

    @property
    def secrets(self) -> dict[str, str]:
        """key -> webhook secret (read-only view; use ``configure`` to change one)."""
        with self.lock:
            return {key: inst.secret for key, inst in self.installations.items()}

    def configure(self, key: str = DEFAULT_KEY, *, secret: str, access_token: str | None = None,
                  api_base: str | None = None) -> Installation:
        with self.lock:
            installation = Installation(key, secret, access_token, api_base.rstrip("/") if api_base else None)
            self.installations[key] = installation
            return installation

    def install(self, api_base: str, access_token: str, key: str = DEFAULT_KEY) -> Installation:
        """Set up like a real integration: ask ``GET {api_base}/public`` for the channel's webhook secret."""
        response = httpx.get(f"{api_base.rstrip('/')}/public", params={"accesstoken": access_token},
                             timeout=HTTP_TIMEOUT)
        response.raise_for_status()
        secret = (response.json().get("manifest") or {}).get("webhook", {}).get("secret")
        if not secret:
            raise LookupError("the channel's manifest carries no webhook secret")
        return self.configure(key, secret=secret, access_token=access_token, api_base=api_base)

    def fail_next(self, status: int, times: int = 1) -> None:  # type: ignore[override]
        """The next ``times`` validly signed deliveries are answered ``status`` and not processed."""
        with self.lock:
            self._webhook_failures.extend([status] * times)

    def inject_failure(self, name: str, status: int, times: int, message: str) -> None:
        self.fail_next(status, times)      # an integration has one endpoint: its webhook

    def incoming(self, kind: str, data: dict[str, Any]) -> dict[str, Any]:
        """A customer writes through the integration: a ticket pushed to ``/api2/public``."""
        _user_id, _username, name, text = self.someone({"text": data.get("message"), **data})
        key = str(data.get("key") or "demo")
        with self.lock:
            installation = self.installations.get(key)
        if installation is None or not installation.api_base or not installation.access_token:
            raise LookupError(f"no configured installation {key!r}: connect a custom channel first")
        status, body = self.push_ticket(installation.api_base, installation.access_token,
                                        str(data.get("network_item_id") or f"sandbox-{secrets.token_hex(8)}"),
                                        text, data.get("interactor") or name)
        if status >= 400:
            raise ValueError(f"the inbox answered {status}: {body}")
        return {"status": status, "response": body}

    def request_log(self) -> list[dict[str, Any]]:
        with self.lock:
            return [{"method": "POST", "path": f"webhook/{a['key']}", "status": a.get("status"), "at": a["at"]}
                    for a in self.attempts]

    def reset_next(self, reason: str) -> None:
        """The next reply is accepted (2xx) but then reported failed through ``/reset/reply``."""
        with self.lock:
            self._resets.append(reason)

    def drain(self, timeout: float = 10.0) -> None:
        """Wait for the callbacks in flight (tests call this before asserting on them)."""
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                alive = [t for t in self._threads if t.is_alive()]
                self._threads = alive
            if not alive or time.monotonic() > deadline:
                return
            alive[0].join(max(0.0, deadline - time.monotonic()))

    # -------------------------------------------------------------- webhook
    def handle(self, key: str, raw: bytes, signature: str | None, delivery_id: str | None) -> tuple[dict, int]:
        """Receive one delivery the way an integration should; returns (body, status)."""
        with self.lock:
            installation = self.installations.get(key)
            entry: dict[str, Any] = {"key": key, "delivery_id": delivery_id, "at": _now()}
            self.attempts.append(entry)
            if installation is None:
                entry["status"] = 404
                return {"error": f"no integration installed under {key!r}"}, 404
            if not verify_signature(installation.secret, raw, signature):
                entry["status"] = 401
                return {"error": "invalid signature"}, 401
            if not delivery_id:
                entry["status"] = 400
                return {"error": f"missing {DELIVERY_HEADER}"}, 400
            try:
                payload = json.loads(raw)
            except ValueError:
                entry["status"] = 400
                return {"error": "body is not JSON"}, 400
            if self._webhook_failures:
                entry["status"] = self._webhook_failures.popleft()
                return {"error": "sandbox: injected failure"}, entry["status"]
            entry["status"] = 200
            if delivery_id in self.seen:
                entry["duplicate"] = True
                return {"ok": True, "duplicate": True}, 200
            self.seen.add(delivery_id)
            self.received.append({"key": key, "delivery_id": delivery_id, "signature": signature,
                                  "body": raw.decode(), "payload": payload, "at": entry["at"]})
            follow_up = None
            if payload.get("type") == "reply":
                if self._resets:
                    follow_up = ("reset", self._resets.popleft())
                elif self.auto_confirm:
                    follow_up = ("success", None)
            if follow_up is not None:
                thread = threading.Thread(target=self._call_back, daemon=True,
                                          args=(self._generation, installation, payload, *follow_up))
                self._threads.append(thread)
                thread.start()
            return {"ok": True}, 200

    def _call_back(self, generation: int, installation: Installation, payload: dict, kind: str,
                   reason: str | None) -> None:
        """Tell the inbox how the reply went, after the webhook was answered (as integrations do)."""
        time.sleep(self.confirm_delay)
        if generation != self._generation or not installation.api_base or not installation.access_token:
            return
        ticket_id = (payload.get("ticket") or {}).get("_id")
        rid = payload.get("replyId")
        base = f"{installation.api_base}/public/inbox/tickets/{ticket_id}"
        if kind == "success":
            path = f"{base}/replies/{rid}/success"
            body: dict[str, Any] = {"interaction": {
                "networkItemId": f"sandbox-reply-{secrets.token_hex(8)}", "type": "COMMENT",
                "url": f"https://integration.example/items/{rid}", "createdTime": _now()}}
        else:
            path, body = f"{base}/reset/reply", {"followupId": rid, "reason": reason}
        record: dict[str, Any] = {"kind": kind, "url": path, "body": body, "at": _now()}
        try:
            response = httpx.post(path, params={"accesstoken": installation.access_token}, json=body,
                                  timeout=HTTP_TIMEOUT)
            record["status"], record["response"] = response.status_code, response.text[:2000]
        except httpx.HTTPError as exc:
            record["status"], record["response"] = 0, repr(exc)
        with self.lock:
            if generation == self._generation:
                self.callbacks.append(record)

    # ------------------------------------------------------------ pushing
    @staticmethod
    def push_ticket(api_base: str, access_token: str, network_item_id: str, message: str,
                    interactor: dict[str, Any] | str | None = None, **interaction: Any) -> tuple[int, dict]:
        """Create a ticket through our public API over HTTP; returns (status, JSON body).

        ``interactor`` may be SocialHub's object or just a display name; extra keyword arguments
        (``url``, ``createdTime``, ``pictures`` ...) go into the interaction as they are.
        """
        if isinstance(interactor, str):
            interactor = {"interactorId": "user-" + hashlib.sha1(interactor.encode()).hexdigest()[:12], "name": interactor}
        body = {"interaction": {"networkItemId": network_item_id, "message": message, "createdTime": _now(),
                                **({"interactor": interactor} if interactor else {}), **interaction}}
        response = httpx.post(f"{api_base.rstrip('/')}/public/inbox/tickets", params={"accesstoken": access_token},
                              json=body, timeout=HTTP_TIMEOUT)
        try:
            data = response.json()
        except ValueError:
            data = {"message": response.text}
        return response.status_code, data

    def push_demo(self, api_base: str, access_token: str) -> list[int]:
        """Push the multilingual demo tickets; 409s on a restart are expected (they exist already)."""
        return [self.push_ticket(api_base, access_token, item_id, text, who)[0]
                for item_id, text, who in DEMO_TICKETS]


SANDBOX = CustomSandbox()
push_ticket = CustomSandbox.push_ticket


@bp.post("/webhook")
@bp.post("/webhook/<key>")
def webhook(key: str = DEFAULT_KEY):
    body, status = SANDBOX.handle(key, request.get_data(), request.headers.get(SIGNATURE_HEADER),
                                  request.headers.get(DELIVERY_HEADER))
    return jsonify(body), status


# ---------------------------------------------------------------- control endpoints (demo UI / CLI)
@bp.get("/_sandbox/<key>/received")
def control_received(key: str):
    with SANDBOX.lock:
        return jsonify(received=[d for d in SANDBOX.received if d["key"] == key],
                       callbacks=list(SANDBOX.callbacks))


@bp.post("/_sandbox/<key>/install")
def control_install(key: str):
    """Demo: install the example integration for a channel (``{api_base, access_token}``), fetching its
    webhook secret from our public API as a real integration would, and confirm replies automatically."""
    data = request.get_json(silent=True) or {}
    if not all(isinstance(data.get(k), str) and data[k] for k in ("api_base", "access_token")):
        return jsonify(error="api_base and access_token are required"), 400
    try:
        SANDBOX.install(data["api_base"], data["access_token"], key)
    except Exception as exc:   # our API refused or was unreachable: say so to the caller
        return jsonify(error=f"install failed: {exc}"), 502
    SANDBOX.auto_confirm = True
    return jsonify(installed=key), 201
