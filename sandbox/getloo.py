"""The Getloo Insta API, served from memory (see shared/specs/getloo-insta-api.ru.txt).

Why it exists: the real connector must be exercised over real HTTP without a paid Getloo
account. This blueprint serves the documented API (``{base}/{TOKEN}/{METHOD}``, bodies
``{"result": ..., "channel": ..., "error": ...}``, codes 200/400/401/402) and plays the provider's
side of the webhooks (incoming messages/comments, delivery statuses).

It depends on nothing of the product (no DB, no Redis): all state lives in the module-level
``SANDBOX`` (see sandbox/base.py for what every sandbox shares). Network I/O (webhook POSTs,
injected delays) always happens outside the lock.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, jsonify, request

from .base import INJECTED, ProviderSandbox

bp = Blueprint("getloo", __name__, url_prefix="/sandbox/getloo")

DEMO_TOKEN = "DEMO1-AKFH5-H390S-HDRJS-Y5U43"
UNPAID_TOKEN = "DEMO2-UNPAID-0000-0000-00000"
# Which HTTP verbs each documented method accepts ("getInfo (GET, POST)", "sendMsg (POST)", ...).
METHODS: dict[str, tuple[str, ...]] = {
    "getInfo": ("GET", "POST"),
    "sendMsg": ("POST",),
    "getUrl": ("GET",),
    "getWebHook": ("GET",),
    "setWebHook": ("POST",),
}
# Delivery status -> documented event name.
STATUS_EVENTS = {
    "pending": "whatsappSuccess",
    "delivered": "reportActionReceived",
    "read": "reportActionExecuted",
    "fail": "errorActionFail",
}
MAX_CAPTION, MAX_OPTIONS, MAX_OPTION_LEN = 1000, 13, 20
# "device.comment_id ... По нему можно дать ответ в direct клиенту в течении 24 часов 1 раз".
COMMENT_REPLY_WINDOW = timedelta(hours=24)
# "Поддерживаемые типы ... файлов" (images .jpg .png .ico .bmp; voice mp3 acc m4a wav mp4; video mp4),
# judged by the URL's extension (the sandbox fetches nothing; a URL without one passes).
FILE_EXTENSIONS = frozenset({"jpg", "jpeg", "png", "ico", "bmp", "mp3", "aac", "acc", "m4a", "wav", "mp4"})


@dataclass
class Account:
    token: str
    channel_id: str
    user_id: str
    username: str
    paid: bool = True
    authorized: bool = True
    webhook: str | None = None


def _now() -> str:
    """ISO 8601 with an explicit offset, like the docs' ``2022-12-07T12:29:21+03:00``."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _is_http_url(value: Any) -> bool:
    if not isinstance(value, str) or not value or any(c.isspace() for c in value):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _fail(error: str, status: int = 400, **extra: Any) -> tuple[dict, int]:
    return {"result": {"success": False}, **extra, "error": error}, status


class GetlooSandbox(ProviderSandbox):
    """The provider's state: accounts, recorded calls, injected faults and webhook emission."""

    provider, title, prefix = "getloo", "Getloo Insta API (Instagram)", "/sandbox/getloo"
    kinds = ("message", "comment")

    # ----------------------------------------------------------------- state
    def seed(self) -> None:
        """Two demo accounts (one unpaid), nothing sent, deliveries reported automatically."""
        self.accounts: dict[str, Account] = {}
        self.sent: list[dict] = []
        # token -> comment id -> {"at": when it was written (UTC), "replied": its one private reply went}
        self.comment_ids: dict[str, dict[str, dict[str, Any]]] = {}
        self.auto_delivery = True
        self.delivery_delays: tuple[float, float, float] = (0.5, 1.5, 4.0)
        self.add_account(DEMO_TOKEN, username="brand_shop", user_id="17841400000000001", channel_id="235")
        self.add_account(UNPAID_TOKEN, username="unpaid_shop", user_id="17841400000000002", channel_id="236", paid=False)

    def add_account(self, token: str, *, username: str, user_id: str, paid: bool = True,
                    authorized: bool = True, channel_id: str | None = None) -> Account:
        with self.lock:
            channel_id = channel_id or str(235 + len(self.accounts))
            account = Account(token, channel_id, str(user_id), username, paid, authorized)
            self.accounts[token] = account
            return account

    def fail_next(self, method: str, status: int, times: int = 1, error: str | None = INJECTED, *,
                  retry_after: float | None = None, delay: float = 0.0) -> None:
        """The next ``times`` calls of ``method`` answer ``status`` (with ``error``) without doing anything
        (with a ``Retry-After`` header and late, when asked: see ``ProviderSandbox.fail_next``)."""
        super().fail_next(method, status, times, error, retry_after=retry_after, delay=delay)

    # ------------------------------------------------------------- control
    def incoming(self, kind: str, data: dict[str, Any]) -> dict[str, Any]:
        """A customer writes to the demo account (or ``data["token"]``'s): the documented webhook."""
        token = str(data.get("token") or DEMO_TOKEN)
        user_id, username, name, text = self.someone(data)
        common = {"user_id": user_id, "username": username, "profile_name": name}
        self.webhook_url(token)
        if kind == "comment":
            payload = self.build_comment(token, comment_id=str(data.get("comment_id") or secrets.token_hex(8)),
                                         text=text, **common)
        else:
            payload = self.build_message(token, text=text, type=data.get("type", "text"), href=data.get("href"),
                                         **common)
        return {"payload": payload, "status": self.post_raw(token, payload)}

    def request_log(self) -> list[dict[str, Any]]:
        with self.lock:
            return [{"method": r["http_method"], "path": r["method"], "status": r.get("status"),
                     "at": r["at"]} for r in self.requests]

    def demo_channel(self, root: str) -> list[dict[str, Any]]:
        return [{"provider": "getloo", "name": "Brand Shop (Instagram)", "base_url": f"{root}{self.prefix}",
                 "credentials": {"token": DEMO_TOKEN}}]

    # ------------------------------------------------------------------- API
    def handle(self, token: str, method: str, http_method: str, params: dict) -> tuple[dict, int, float]:
        """Serve one documented API call; returns (body, http status, seconds to sleep before answering)."""
        with self.lock:
            # "received": epoch seconds at arrival, finer than "at" (``make bench`` times replies by it).
            record = {"token": token, "method": method, "http_method": http_method,
                      "params": params, "at": _now(), "received": time.time()}
            self.requests.append(record)
            failure = self.take_failure(method)
            if failure:
                body: tuple[dict, int] = _fail(failure[1], failure[0])
            else:
                body = self._dispatch(token, method, http_method, params)
            record["status"] = body[1]
            return body[0], body[1], self.take_delay(method, body[1])

    def _dispatch(self, token: str, method: str, http_method: str, params: dict) -> tuple[dict, int]:
        account = self.accounts.get(token)
        if account is None:
            return _fail("invalid token", 401)
        if not (account.paid and account.authorized):
            why = "not paid" if not account.paid else "not authorized"
            channel = {"id": account.channel_id, "user_id": account.user_id,
                       "username": account.username, "status": False}
            return _fail(f"no active channels: channel {account.channel_id} is {why}", 402, channel=channel)
        if method not in METHODS:
            return _fail(f"unknown method {method!r}; expected one of {', '.join(METHODS)}")
        if http_method not in METHODS[method]:
            return _fail(f"{method} must be called with {' or '.join(METHODS[method])}, not {http_method}")
        ok = {"success": True}
        if method == "getInfo":
            return {"result": ok, "channel": {"id": account.channel_id, "user_id": account.user_id,
                                              "username": account.username, "status": True}, "error": None}, 200
        if method == "getUrl":
            return {"result": ok, "channel": {"id": account.channel_id, "user_id": account.user_id,
                                              "username": account.username,
                                              "url": f"https://ig.me/m/{account.username}"}, "error": None}, 200
        if method == "setWebHook":
            url = params.get("url")
            if not _is_http_url(url):
                return _fail("parameter 'url' is required and must be an http(s):// URL")
            account.webhook = url
        if method in ("getWebHook", "setWebHook"):
            return {"result": ok, "channel": {"id": account.channel_id, "webhook": account.webhook}, "error": None}, 200
        return self._send(account, params)

    def _send(self, account: Account, params: dict) -> tuple[dict, int]:
        comments = self.comment_ids.get(account.token, {})
        error = _validate_send(params, comments)
        if error:
            return _fail(error)
        comment = comments.get(str(params["user_id"]))
        if comment is not None:
            comment["replied"] = True
        queue_id = secrets.token_hex(20)
        self.sent.append({"token": account.token, "queue_id": queue_id, "username": params["username"],
                          "user_id": str(params["user_id"]), "caption": params.get("caption") or None,
                          "file": params.get("file") or None, "options": _options(params.get("options"))})
        if self.auto_delivery:
            args = (queue_id, self._generation, self.delivery_delays)
            threading.Thread(target=self._auto_deliver, args=args, daemon=True).start()
        return {"result": {"success": True, "queue_id": queue_id}, "error": None}, 200

    # -------------------------------------------------------------- webhooks
    def _auto_deliver(self, queue_id: str, generation: int, delays: tuple[float, ...]) -> None:
        """Delays are offsets from acceptance, so (0.5, 1.5, 4.0) means read 4 s after sendMsg."""
        start = time.monotonic()
        for offset, status in zip(delays, ("pending", "delivered", "read")):
            time.sleep(max(0.0, start + offset - time.monotonic()))
            if generation != self._generation:
                return
            try:
                self.deliver(queue_id, status)
            except LookupError:
                pass  # no webhook registered: the provider has nowhere to report

    def deliver(self, queue_id: str, status: str) -> int:
        """POST one documented delivery status for a sent message; returns our webhook's HTTP status
        (0 if it could not be reached). Raises LookupError for an unknown queue_id or no webhook."""
        if status not in STATUS_EVENTS:
            raise ValueError(f"status must be one of {', '.join(STATUS_EVENTS)}")
        with self.lock:
            msg = next((m for m in self.sent if m["queue_id"] == queue_id), None)
            if msg is None:
                raise LookupError(f"unknown queue_id {queue_id}")
            account = self.accounts[msg["token"]]
        payload = {"event": {"name": STATUS_EVENTS[status], "properties": {"queueId": queue_id, "status": status},
                             "createdAt": _now()}, "device": {"profileName": account.username}}
        return self.post_raw(account.token, payload)

    def build_message(self, token: str, *, user_id: str, username: str, profile_name: str, text: str | None = None,
                      type: str = "text", href: str | None = None, mime_type: str | None = None,
                      filename: str | None = None, created_at: str | None = None) -> dict:
        """The documented ``incomingMessage`` payload (not sent). Raises ValueError on bad input."""
        content: dict[str, Any] = {}
        if type == "text":
            if not text:
                raise ValueError("a text message needs 'text'")
            content["body"] = text
        elif type in ("image", "video"):
            if not _is_http_url(href):
                raise ValueError(f"an {type} message needs an http(s) 'href'")
            if text:
                content["body"] = text
            content["mimeType"] = mime_type or ("image/jpeg" if type == "image" else "video/mp4")
            content["filename"] = filename or urlsplit(href).path.rsplit("/", 1)[-1] or f"file.{type}"
            content["href"] = href
        else:
            raise ValueError("type must be text, image or video")
        return {"event": {"name": "incomingMessage",
                          "properties": {"queueId": secrets.token_hex(20), "type": type, "content": content},
                          "createdAt": created_at or _now()},
                "device": {"user_id": str(user_id), "username": username, "profileName": profile_name}}

    def build_comment(self, token: str, *, user_id: str, comment_id: str, username: str, profile_name: str,
                      text: str, created_at: str | None = None) -> dict:
        """The documented ``incomingComment`` payload; remembers comment_id and when it was written,
        so that a reply to it is held to the docs: text only, once, within 24 hours."""
        with self.lock:
            self.comment_ids.setdefault(token, {})[str(comment_id)] = {"at": _when(created_at), "replied": False}
        return {"event": {"name": "incomingComment",
                          "properties": {"queueId": secrets.token_hex(20), "type": "comment",
                                         "content": {"body": text}},
                          "createdAt": created_at or _now()},
                "device": {"user_id": str(user_id), "comment_id": str(comment_id), "username": username,
                           "profileName": profile_name}}

    def emit_message(self, token: str, *, user_id: str, username: str, profile_name: str, text: str | None = None,
                     type: str = "text", href: str | None = None, mime_type: str | None = None,
                     filename: str | None = None, created_at: str | None = None) -> dict:
        """Build an ``incomingMessage`` and POST it to the account's webhook; returns the payload."""
        self.webhook_url(token)  # fail before building, so nothing is half-done
        payload = self.build_message(token, user_id=user_id, username=username, profile_name=profile_name,
                                     text=text, type=type, href=href, mime_type=mime_type, filename=filename,
                                     created_at=created_at)
        self.post_raw(token, payload)
        return payload

    def emit_comment(self, token: str, *, user_id: str, comment_id: str, username: str, profile_name: str,
                     text: str, created_at: str | None = None) -> dict:
        """Build an ``incomingComment`` and POST it to the account's webhook; returns the payload."""
        self.webhook_url(token)
        payload = self.build_comment(token, user_id=user_id, comment_id=comment_id, username=username,
                                     profile_name=profile_name, text=text, created_at=created_at)
        self.post_raw(token, payload)
        return payload

    def post_raw(self, token: str, payload: dict) -> int:
        """POST any dict to the account's webhook (e.g. to replay a payload); 0 if unreachable."""
        return self.post_json(self.webhook_url(token), payload)

    def webhook_url(self, token: str) -> str:
        """The account's registered webhook; LookupError if the token is unknown or none is set."""
        with self.lock:
            account = self.accounts.get(token)
            if account is None:
                raise LookupError(f"unknown token {token}")
            if not account.webhook:
                raise LookupError(f"account {token} has no webhook set (call setWebHook first)")
            return account.webhook


def _options(value: Any) -> list | None:
    """Options may arrive as a JSON list, repeated form fields, or a JSON-encoded string."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            decoded = json.loads(value) if value.lstrip().startswith("[") else [value]
        except ValueError:
            decoded = [value]
        return decoded if isinstance(decoded, list) else [value]
    return value if isinstance(value, list) else [value]


def _when(created_at: str | None) -> datetime:
    """A comment's ``createdAt`` as an aware UTC time (now when absent or unreadable)."""
    try:
        parsed = datetime.fromisoformat(created_at) if created_at else None
    except ValueError:
        parsed = None
    if parsed is None:
        return datetime.now(timezone.utc)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _validate_send(params: dict, comment_ids: dict[str, dict[str, Any]]) -> str | None:
    """The first violated sendMsg rule as a readable message, or None."""
    username, user_id = params.get("username"), params.get("user_id")
    if not isinstance(username, str) or not username.strip():
        return "parameter 'username' is required"
    if username.startswith("@"):
        return "parameter 'username' must be given without a leading '@'"
    if not isinstance(user_id, (str, int)) or isinstance(user_id, bool) or not str(user_id).strip():
        return "parameter 'user_id' is required"
    caption, file = params.get("caption") or None, params.get("file") or None
    if caption is None and file is None:
        return "one of 'caption' or 'file' is required"
    if caption is not None and not isinstance(caption, str):
        return "parameter 'caption' must be a string"
    if caption is not None and len(caption) > MAX_CAPTION:
        return f"parameter 'caption' is {len(caption)} characters long; the maximum is {MAX_CAPTION}"
    if file is not None and not _is_http_url(file):
        return "parameter 'file' must be an http(s):// URL"
    if file is not None and str(user_id) in comment_ids:
        return "a comment can only be answered with a text message (no 'file')"
    if file is not None:
        name = urlsplit(file).path.rsplit("/", 1)[-1]
        if "." in name and name.rsplit(".", 1)[1].lower() not in FILE_EXTENSIONS:
            return f"file type .{name.rsplit('.', 1)[1]} is not supported (images .jpg .png .ico .bmp, " \
                   "voice mp3 acc m4a wav mp4, video mp4)"
    comment = comment_ids.get(str(user_id))
    if comment is not None and comment["replied"]:
        return "this comment has already been answered: a comment takes one reply in direct"
    if comment is not None and datetime.now(timezone.utc) - comment["at"] >= COMMENT_REPLY_WINDOW:
        return "a comment can be answered in direct only within 24 hours"
    options = _options(params.get("options"))
    if options is not None:
        if len(options) > MAX_OPTIONS:
            return f"parameter 'options' has {len(options)} buttons; the maximum is {MAX_OPTIONS}"
        for i, option in enumerate(options):
            if not isinstance(option, str) or not option:
                return f"options[{i}] must be a non-empty string"
            if len(option) > MAX_OPTION_LEN:
                return f"options[{i}] is {len(option)} characters long; the maximum is {MAX_OPTION_LEN}"
    return None


SANDBOX = GetlooSandbox()
_INDEXED = re.compile(r"^(.+)\[(\d*)\]$")  # PHP-style form keys: options[] / options[0]


def _request_params() -> dict:
    """Merge query string < form body < JSON body; repeated or ``key[]`` form fields become lists."""
    params: dict[str, Any] = {}
    for multi in (request.args, request.form):
        layer: dict[str, Any] = {}
        for key in multi:
            values = multi.getlist(key)
            match = _INDEXED.match(key)
            if match:
                layer.setdefault(match.group(1), []).extend(values)
            else:
                layer[key] = values if len(values) > 1 else values[0]
        params.update(layer)
    if request.is_json and request.get_data():  # a bare JSON content-type on a GET is harmless
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            raise ValueError("the JSON body must be an object")
        params.update(data)
    return params


@bp.route("/<token>/<method>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def api(token: str, method: str):
    try:
        params = _request_params()
    except ValueError as exc:
        body, status = _fail(str(exc))
        return jsonify(body), status
    body, status, delay = SANDBOX.handle(token, method, request.method, params)
    if delay:
        time.sleep(delay)
    return jsonify(body), status


# ---------------------------------------------------------------- control endpoints (not Getloo's API)
def _control_account(token: str) -> Account | None:
    with SANDBOX.lock:
        return SANDBOX.accounts.get(token)


@bp.get("/_sandbox/<token>/sent")
def control_sent(token: str):
    with SANDBOX.lock:
        return jsonify({"sent": [m for m in SANDBOX.sent if m["token"] == token]})


@bp.get("/_sandbox/<token>/state")
def control_state(token: str):
    account = _control_account(token)
    if account is None:
        return jsonify({"error": f"unknown token {token}"}), 404
    return jsonify(asdict(account))
