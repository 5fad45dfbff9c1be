"""What every provider sandbox repeats, and the one control API they all share.

Each sandbox is a ``ProviderSandbox``: its state lives in memory behind one ``RLock`` (the
sandbox app serves requests from threads), ``reset()`` puts the documented demo data back
(``seed``), every call of the provider's API is recorded in ``requests``, the next calls of an
endpoint can be made to fail (``fail_next``) or to answer late (``delay_next``), and the
provider's webhooks are POSTed with ``post_json`` (outside the lock, recorded in ``posted``).

The control API is the same for every provider, under ``<prefix>/_sandbox/``; it is how the
sandbox page, the demo seeding and the demo traffic drive any sandbox without knowing which
one it is:

* ``POST incoming {kind, text, ...}`` — a person on the network writes (a DM, a comment, a wall
  post, a failed post, a custom ticket: each sandbox lists its ``kinds``);
* ``GET requests`` — what our app sent the provider (newest last);
* ``POST fail {name, status, times?, message?, retry_after?, delay?}`` — the next calls of an
  endpoint fail (with a ``Retry-After`` header of ``retry_after`` seconds, after ``delay`` seconds);
* ``POST reset`` — back to the demo data.

Nothing here imports the product: the sandboxes are written from the providers' documents.
"""
from __future__ import annotations

import random
import threading
import time
from collections import deque
from typing import Any, ClassVar, NamedTuple

import httpx
from flask import Blueprint, g, has_request_context, jsonify, redirect, request

WEBHOOK_TIMEOUT = 5.0
INJECTED = "sandbox: injected failure"
# Who writes in the demo, and what they write when the page or the demo traffic leaves the text empty.
PEOPLE = [("5601", "olga.s", "Ольга С."), ("5602", "tom_h", "Tom H."), ("5603", "reza.m", "رضا م.")]
LINES = ["Привет! Есть доставка в Казань?", "Is this still on sale? 😍", "قیمت این مدل چنده؟",
         "Можно оплатить при получении?", "Do you have this in XL?", "ممنون از پاسخ سریع‌تون 🙏"]


class Failure(NamedTuple):
    """One injected failure: ``status`` and ``message`` as before (index 0 and 1), plus the
    ``Retry-After`` seconds to send with it and how long to wait before answering."""

    status: int
    message: str | None
    retry_after: float | None = None
    delay: float = 0.0


def answer_late(seconds: float) -> None:
    """Wait ``seconds`` before the current answer leaves (after the view, outside the lock)."""
    if seconds and has_request_context():
        g.sandbox_delay = getattr(g, "sandbox_delay", 0.0) + seconds


def _apply_fault_extras(response):
    """After any sandbox view: the injected ``Retry-After`` header and late answer, once."""
    retry_after = g.pop("sandbox_retry_after", None)
    if retry_after is not None:
        response.headers["Retry-After"] = f"{retry_after:g}"
    delay = g.pop("sandbox_delay", 0.0)
    if delay:
        time.sleep(delay)
    return response


class ProviderSandbox:
    """One provider's side: state, lock, request log, faults, seeding and webhooks."""

    provider: ClassVar[str]             # the product's provider name, e.g. "getloo"
    title: ClassVar[str]                # shown on the sandbox page
    prefix: ClassVar[str]               # URL prefix in the sandbox app, e.g. "/sandbox/getloo"
    kinds: ClassVar[tuple[str, ...]]    # what ``incoming`` can produce

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._generation = 0            # bumped by reset() so stale background threads stay silent
        self.reset()

    # ------------------------------------------------------------------------------ state
    def reset(self) -> None:
        """Back to the demo data: nothing recorded, no faults."""
        with self.lock:
            self._generation += 1
            self.requests: list[dict[str, Any]] = []
            self.posted: list[dict[str, Any]] = []          # every webhook POST we made
            self.webhook_errors: list[dict[str, Any]] = []
            self._failures: dict[str, deque[Failure]] = {}
            self._delays: dict[str, deque[float]] = {}
            self.seed()

    def seed(self) -> None:
        """Put the provider's demo data in place (called under the lock by ``reset``)."""

    # ------------------------------------------------------------------------------ faults
    def fail_next(self, name: str, status: int, times: int = 1, message: str | None = INJECTED, *,
                  retry_after: float | None = None, delay: float = 0.0) -> None:
        """The next ``times`` calls of endpoint ``name`` answer ``status`` (with ``message``) and do nothing.

        ``retry_after`` adds a ``Retry-After`` header (seconds, as a busy provider sends with 429 or
        503); ``delay`` answers that many seconds late (a request a dying client never hears about)."""
        with self.lock:
            self._failures.setdefault(name, deque()).extend([Failure(status, message, retry_after, delay)] * times)

    def delay_next(self, name: str, seconds: float) -> None:
        """The next successful call of ``name`` does its work, then waits before answering (so a client
        timing out can be tested against a provider that did the work anyway)."""
        with self.lock:
            self._delays.setdefault(name, deque()).append(seconds)

    def inject_failure(self, name: str, status: int, times: int, message: str, *,
                       retry_after: float | None = None, delay: float = 0.0) -> None:
        """What ``POST _sandbox/fail`` does (a sandbox whose faults are not per endpoint overrides it)."""
        self.fail_next(name, status, times, message, retry_after=retry_after, delay=delay)

    def take_failure(self, *names: str) -> Failure | None:
        """The injected failure for the first of ``names`` that has one (consumed), else None.

        Its ``Retry-After`` header and delay are applied to the current answer by the control
        blueprint's after-request hook, so every sandbox that honours ``fail_next`` sends them."""
        with self.lock:
            for name in names:
                if self._failures.get(name):
                    failure = self._failures[name].popleft()
                    if has_request_context():
                        if failure.retry_after is not None:
                            g.sandbox_retry_after = failure.retry_after
                        answer_late(failure.delay)
                    return failure
            return None

    def take_delay(self, name: str, status: int) -> float:
        with self.lock:
            delays = self._delays.get(name)
            return delays.popleft() if delays and status == 200 else 0.0

    # ------------------------------------------------------------------------------ webhooks
    def post_json(self, url: str, body: Any, headers: dict[str, str] | None = None) -> int:
        """POST a webhook body (outside the lock); the HTTP status, or 0 when unreachable."""
        entry: dict[str, Any] = {"url": url, "body": body, "at": time.time()}
        try:
            entry["status"] = httpx.post(url, json=body, headers=headers, timeout=WEBHOOK_TIMEOUT).status_code
        except httpx.HTTPError as exc:
            entry["status"], entry["error"] = 0, repr(exc)
            with self.lock:
                self.webhook_errors.append(entry)
        with self.lock:
            self.posted.append(entry)
        return entry["status"]

    # ------------------------------------------------------------------------------ control
    def incoming(self, kind: str, data: dict[str, Any]) -> dict[str, Any]:
        """A person on the network writes. ValueError on bad input, LookupError when the sandbox
        has nowhere to deliver it (e.g. no webhook registered yet)."""
        raise NotImplementedError

    def request_log(self) -> list[dict[str, Any]]:
        """What our app sent the provider, in one shape: method, path, status, at (epoch seconds)."""
        with self.lock:
            return [{"method": r.get("method") or r.get("http_method"), "path": r.get("path") or r.get("name") or "",
                     "status": r.get("status"), "at": r.get("at")} for r in self.requests]

    def demo_channel(self, root: str) -> list[dict[str, Any]]:
        """The ``POST /api/v1/channels`` bodies that connect the demo account(s) at ``root`` (the
        sandbox app's URL): what the sandbox page shows as demo credentials."""
        return []

    @staticmethod
    def someone(data: dict[str, Any]) -> tuple[str, str, str, str]:
        """(user id, username, name, text): who writes and what, random where the caller left it out."""
        user_id, username, name = random.choice(PEOPLE)
        text = str(data.get("text") or "").strip() or random.choice(LINES)
        return (str(data.get("user_id") or user_id), str(data.get("username") or username),
                str(data.get("name") or data.get("profile_name") or name), text)


def _body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if isinstance(data, dict):
        return data
    return {k: v for k, v in request.form.items() if v != ""}


def _answer(body: dict[str, Any], status: int):
    """JSON for programs; a plain form on the sandbox page gets sent back to the page."""
    if request.form and not request.is_json:
        return redirect(f"/?provider={request.blueprint.split('_')[0]}&status={status}#log", code=303)
    return jsonify(body), status


def control_blueprint(sandbox: ProviderSandbox) -> Blueprint:
    """The control API of one sandbox, under ``<prefix>/_sandbox/`` (static paths, so they win over
    the provider's own ``<token>/<method>``-style routes)."""
    bp = Blueprint(f"{sandbox.provider}_control", __name__, url_prefix=f"{sandbox.prefix}/_sandbox")
    bp.after_app_request(_apply_fault_extras)    # idempotent: each extra is taken off ``g`` once

    @bp.post("/incoming")
    def incoming():
        data = _body()
        kind = str(data.get("kind") or sandbox.kinds[0])
        if kind not in sandbox.kinds:
            return _answer({"error": f"kind must be one of {', '.join(sandbox.kinds)}"}, 400)
        try:
            return _answer({"item": sandbox.incoming(kind, data)}, 201)
        except (ValueError, LookupError) as exc:
            return _answer({"error": str(exc)}, 409 if isinstance(exc, LookupError) else 400)

    @bp.get("/requests")
    def requests():
        return jsonify(requests=sandbox.request_log())

    @bp.post("/fail")
    def fail():
        data = _body()
        try:
            status, times = int(data.get("status", 500)), int(data.get("times", 1))
            retry_after = None if data.get("retry_after") in (None, "") else float(data["retry_after"])
            delay = float(data.get("delay") or 0)
        except (TypeError, ValueError):
            return _answer({"error": "status and times must be integers, retry_after and delay numbers"}, 400)
        if not data.get("name") or not 100 <= status <= 599 or times < 1:
            return _answer({"error": "name, a status from 100 to 599 and times >= 1 are required"}, 400)
        if not (retry_after is None or 0 <= retry_after <= 86400) or not 0 <= delay <= 300:
            return _answer({"error": "retry_after must be 0 to 86400 seconds and delay 0 to 300"}, 400)
        sandbox.inject_failure(str(data["name"]), status, times, str(data.get("message") or INJECTED),
                               retry_after=retry_after, delay=delay)
        return _answer({"name": data["name"], "status": status, "times": times, "retry_after": retry_after,
                        "delay": delay}, 200)

    @bp.post("/reset")
    def reset():
        sandbox.reset()
        return _answer({"reset": sandbox.provider}, 200)

    return bp
