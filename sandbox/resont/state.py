"""In-memory simulator of the Resont REST API (see /work/shared/specs/resont-api.txt).

Why it exists: the Resont connector must be exercised over real HTTP without a Resont login.
This blueprint serves what the docs describe, under ``/sandbox/resont``:

* ``/token/v1/...?token=`` (token mode) and ``/v1/...?access_token=`` (OAuth mode);
* ``/web/oauth/authorize`` (approves at once: 302 back to ``redirect_uri`` with ``code`` and
  ``state``) and ``/web/oauth/token`` (``authorization_code`` and ``refresh_token`` grants);
* answers in the documented shapes: plain objects and arrays, ``Paginate`` (``data`` +
  ``paging{total,page,totalPage,next,prev}``), ``CursorPagination`` (``data`` +
  ``paging{total,after,before}``, newest first), field expansion with ``with=a(b),c``, and
  errors as ``{"error": ErrorResponse}`` with a ``trace_id``;
* the provider's side of webhooks: ``comment_created`` / ``message_created`` bodies
  ``{type, user_id, payload}`` POSTed to the webhook URL registered for an OAuth client.

Where the docs are silent the sandbox picks one plausible behaviour (noted inline); dates are
``YYYY-MM-DD HH:MM:SS`` in the user's time zone (``/me/user``'s ``timezone``).

State lives in the module-level ``SANDBOX`` behind an ``RLock`` (the demo serves it from one
threaded process); webhook POSTs happen outside the lock. Tests drive it directly: ``reset()``,
``fail_next()``, ``add_comment()`` / ``add_message()`` (no webhook), ``emit_comment()`` /
``emit_message()`` (with webhook), ``requests`` and ``writes`` (what the connector did).
"""
from __future__ import annotations

import math
import re
import secrets
import time
from copy import deepcopy
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from flask import Blueprint, jsonify, redirect, request

from ..base import ProviderSandbox

bp = Blueprint("resont", __name__, url_prefix="/sandbox/resont")

SANDBOX_TOKEN = "RSNT-demo-7f3a9c2e41b84d0f"
EMPTY_TOKEN = "RSNT-empty-0000000000000000"      # a Resont login with no social accounts
SANDBOX_CLIENT_ID = "inbox-demo-client"
SANDBOX_CLIENT_SECRET = "inbox-demo-secret-3c9d"
DEMO_USER_ID, EMPTY_USER_ID = 501, 502
ACCESS_TOKEN_TTL = 3600            # the docs say a month; short here so refreshing gets exercised
CODE_TTL = 30                      # "The life of this code is 30 seconds."
PAGE_SIZE = 20
COMMENT_MAX = 2200                 # the docs name no limit; Instagram's
MESSAGE_MAX = 1000
ATTACHMENT_MAX = 10 * 1024 * 1024
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"
DOCS_TEXT = {400: "Error validating the request", 401: "The access_token sent has expired.",
             403: "Unable to access the desired page.", 404: "The requested page could not be found.",
             429: "The api usage limit for this device has expired.", 500: "Internal server error."}
TICKET_STATUS = {1: "Open", 2: "Answered", 3: "Customer reply", 4: "Closed"}
# Which OAuth scope each part of the API needs (tickets and /me: "basic").
Ctx = dict[str, Any]      # one call's context: user_id, params, files, query, url, expand
SCOPES = {"account": "account", "comment": "comment", "comment-tag": "comment", "conversation": "inbox",
          "conversation-tag": "inbox", "ticket": "basic", "me": "basic"}


class ApiError(Exception):
    """An answer in the documented ErrorResponse shape."""

    def __init__(self, status: int, message: str | None = None):
        super().__init__(message)
        self.status, self.message = status, message or DOCS_TEXT.get(status, DOCS_TEXT[500])

    def body(self) -> dict[str, Any]:
        kind = "ValidationException" if self.status == 400 else "HttpException"
        return {"error": {"message": self.message, "type": kind, "trace_id": secrets.token_hex(12)}}


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def parse_with(value: str | None) -> dict[str, dict]:
    """``account(meta),socialUser,accountPost`` -> {"account": {"meta": {}}, "socialUser": {}, ...}."""
    result: dict[str, dict] = {}
    text, i = value or "", 0

    def parse_list(end: str | None) -> dict[str, dict]:
        nonlocal i
        found: dict[str, dict] = {}
        while i < len(text):
            match = re.match(r"\s*([A-Za-z_][\w]*)\s*", text[i:])
            if not match:
                i += 1
                continue
            i += match.end()
            children: dict[str, dict] = {}
            if i < len(text) and text[i] == "(":
                i += 1
                children = parse_list(")")
            found[match.group(1)] = children
            if i < len(text) and text[i] == ",":
                i += 1
            elif end and i < len(text) and text[i] == end:
                i += 1
                return found
        return found

    result.update(parse_list(None))
    return result


class ResontSandbox(ProviderSandbox):
    """The provider's state: users, accounts, items, OAuth grants, recorded calls, faults, webhooks."""

    provider, title, prefix = "resont", "Resont (Instagram, Telegram, Aparat accounts)", "/sandbox/resont"
    kinds = ("message", "comment")

    # ---------------------------------------------------------------------------------- state
    def seed(self) -> None:
        """The demo data; no grants, default page size."""
        self.page_size = PAGE_SIZE
        self.access_token_ttl = ACCESS_TOKEN_TTL
        self.webhook_expand_social_user = True
        self.writes: list[dict[str, Any]] = []
        self._last_tick = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(seconds=1)
        self.users: dict[int, dict[str, Any]] = {
            DEMO_USER_ID: {"token": SANDBOX_TOKEN, "name": "Brand Team", "email": "team@brand.example",
                           "timezone": "UTC", "language": "fa"},
            EMPTY_USER_ID: {"token": EMPTY_TOKEN, "name": "Empty", "email": "empty@brand.example",
                            "timezone": "UTC", "language": "en"},
        }
        self.clients: dict[str, dict[str, Any]] = {
            SANDBOX_CLIENT_ID: {"secret": SANDBOX_CLIENT_SECRET, "webhook_url": None, "redirect_uri": None}}
        self.codes: dict[str, dict[str, Any]] = {}
        self.access_tokens: dict[str, dict[str, Any]] = {}
        self.refresh_tokens: dict[str, dict[str, Any]] = {}
        self.files: dict[str, tuple[bytes, str]] = {}
        self._sequences: dict[int, int] = {}
        self._seed()

    def _seed(self) -> None:
        """Demo data: an Instagram, a Telegram and an Aparat account (the last needs a re-login)."""
        self.accounts = {
            101: {"id": 101, "user_id": DEMO_USER_ID, "identifier": "brand.shop", "name": "Brand Shop · فروشگاه",
                  "type": "instagram", "login_required": 0, "relogin_reason": None, "date": _utc(2023, 4, 2, 9, 15),
                  "comment_subscribe": 0, "direct_subscribe": 0, "profile_url": "https://www.instagram.com/brand.shop/",
                  "info": "Official store", "insights_order": 1, "meta": {}, "own": 9101},
            102: {"id": 102, "user_id": DEMO_USER_ID, "identifier": "brand_channel", "name": "Brand Channel 📣",
                  "type": "telegram", "login_required": 0, "relogin_reason": None, "date": _utc(2023, 6, 11, 14, 0),
                  "comment_subscribe": 0, "direct_subscribe": 0, "profile_url": "https://t.me/brand_channel",
                  "info": "News and offers", "insights_order": 2,
                  "meta": {"botusername": "brand_support_bot", "botapikey": "123456:AAH-sandbox-secret"}, "own": 9102},
            103: {"id": 103, "user_id": DEMO_USER_ID, "identifier": "brand_tv", "name": "Brand TV (آپارات)",
                  "type": "aparat", "login_required": 1,
                  "relogin_reason": "رمز عبور حساب تغییر کرده است؛ لطفاً دوباره وارد شوید.",
                  "date": _utc(2023, 9, 1, 8, 30), "comment_subscribe": 0, "direct_subscribe": 0,
                  "profile_url": "https://www.aparat.com/brand_tv", "info": "", "insights_order": 3, "meta": {},
                  "own": 9103},
        }
        people = [(7001, "sara.ahmadi", "سارا احمدی", "instagram"), (7002, "ivan_petrov", "Иван Петров", "telegram"),
                  (7003, "emily.j", "Emily Johnson", "instagram"), (7004, "golbahar_99", "گل‌بهار 🌸", "instagram"),
                  (7005, "mehdi.k", "مهدی کریمی", "telegram"), (7006, "olga.smirnova", "Ольга Смирнова", "instagram"),
                  (9101, "brand.shop", "Brand Shop", "instagram"), (9102, "brand_channel", "Brand Channel", "telegram"),
                  (9103, "brand_tv", "Brand TV", "aparat")]
        self.social_users = {i: {"id": i, "username": u, "name": n, "social": s,
                                 "image": f"https://cdn.resont.example/avatars/{i}.jpg"} for i, u, n, s in people}
        self.posts = {
            301: {"id": 301, "type": "image", "post_id": "3301234567890123456", "account_id": 101,
                  "image": "https://cdn.resont.example/posts/301.jpg", "date": _utc(2024, 11, 1, 10, 0),
                  "content": "کالکشن جدید پاییزه رسید 🍂 New autumn collection is here!",
                  "like_count": 152, "social_user_id": 9101, "permalink": "https://www.instagram.com/p/CxAutumn01/"},
            302: {"id": 302, "type": "video", "post_id": "3301234567890123999", "account_id": 101,
                  "image": "https://cdn.resont.example/posts/302.jpg", "date": _utc(2024, 11, 3, 18, 30),
                  "content": "Скидки до 50% только в эти выходные! 🔥", "like_count": 98, "social_user_id": 9101,
                  "permalink": "https://www.instagram.com/p/CxSale50/"},
            303: {"id": 303, "type": "text", "post_id": "812", "account_id": 102, "image": None,
                  "date": _utc(2024, 11, 4, 7, 0), "content": "📣 ساعات کاری پشتیبانی در تعطیلات اعلام شد",
                  "like_count": 40, "social_user_id": 9102, "permalink": "https://t.me/brand_channel/812"},
        }
        self.comment_tags = {11: {"id": 11, "name": "VIP", "color": "#f1c40f", "user_id": DEMO_USER_ID},
                             12: {"id": 12, "name": "شکایت", "color": "#e74c3c", "user_id": DEMO_USER_ID},
                             13: {"id": 13, "name": "вопрос", "color": "#3498db", "user_id": DEMO_USER_ID}}
        self.conversation_tags = {21: {"id": 21, "name": "سفارش", "color": "#2ecc71", "user_id": DEMO_USER_ID},
                                  22: {"id": 22, "name": "follow-up", "color": "#9b59b6", "user_id": DEMO_USER_ID}}
        self.comments: dict[int, dict[str, Any]] = {}
        for cid, account, post, user, text, minutes, parent, extra in [
            (1001, 101, 301, 7001, "سلام، این مانتو سایز بزرگ هم دارد؟ 😍", 0, None, {"tag_ids": [11]}),
            (1002, 101, 301, 7003, "Love it! Do you ship to Germany? 🇩🇪", 25, None, {}),
            (1003, 101, 301, 9101, "@sara.ahmadi سلام! بله، تا سایز XXL موجود است 🌷", 40, 1001, {}),
            (1004, 101, 302, 7004, "قیمت‌ها خیلی خوبه 👌🔥", 95, None, {}),
            (1005, 101, 302, 7003, "Agreed!! 😂", 110, 1004, {}),
            (1006, 102, 303, 7002, "Спасибо за информацию! А в субботу вы работаете?", 130, None, {"tag_ids": [13]}),
            (1007, 102, 303, 7005, "ممنون 🙏", 150, None, {"like": 1}),
            (1008, 101, 302, 7006, "Где можно купить офлайн? 🏬", 170, None, {}),
        ]:
            self._put_comment(cid, account, post, user, text, _utc(2024, 11, 5, 8, 0) + timedelta(minutes=minutes),
                              parent, **extra)
        self.conversations: dict[int, dict[str, Any]] = {}
        self.messages: dict[int, dict[str, Any]] = {}
        base = _utc(2024, 11, 5, 12, 0)
        for conv, account, user, tags, script in [
            (2001, 101, 7001, [21], [(7001, "سلام وقت بخیر 🌹", 0), (7001, "سفارش ۴۸۲۱ من کی ارسال میشه؟", 1),
                                     (9101, "سلام سارا جان، فردا ارسال می‌شود 📦", 12),
                                     (7001, "", 15, "https://cdn.resont.example/media/receipt-4821.jpg")]),
            (2002, 102, 7002, [], [(7002, "Здравствуйте! Бот не отвечает на команду /start 🤖", 30),
                                   (9102, "Добрый день! Уже исправили, попробуйте ещё раз.", 44),
                                   (7002, "Работает, спасибо! 👍", 50)]),
            (2003, 101, 7003, [22], [(7003, "Hi! Is the autumn coat available in beige? 🧥", 70)]),
        ]:
            self.conversations[conv] = {"id": conv, "conversation_id": 880000 + conv, "account_id": account,
                                        "participants": [user], "tag_ids": tags, "status": 0,
                                        "last_seen_message_id": None, "last_seen_time": None}
            for line in script:
                sender, text, minutes = line[:3]
                self._put_message(conv, sender, text, base + timedelta(minutes=minutes),
                                  attachment=line[3] if len(line) > 3 else None)
        self.departments = [{"id": 1, "name": "پشتیبانی فنی / Technical"}, {"id": 2, "name": "مالی / Billing"}]
        self.tickets: dict[int, dict[str, Any]] = {
            4001: {"id": 4001, "user_id": DEMO_USER_ID, "title": "اتصال مجدد حساب آپارات", "status": 2,
                   "department_id": 1, "rate": None, "date": _utc(2024, 11, 2, 9, 0)},
            4002: {"id": 4002, "user_id": DEMO_USER_ID, "title": "Invoice for October", "status": 4,
                   "department_id": 2, "rate": 5, "date": _utc(2024, 10, 28, 15, 0)},
        }
        self.metas: dict[int, dict[str, Any]] = {}
        for mid, ticket, staff, text, at in [
            (5001, 4001, False, "حساب آپارات ما مدام قطع می‌شود، لطفاً بررسی کنید.", _utc(2024, 11, 2, 9, 0)),
            (5002, 4001, True, "سلام، در حال بررسی هستیم. Please log in to the account once more.", _utc(2024, 11, 2, 11, 0)),
            (5003, 4002, False, "Could you send the October invoice?", _utc(2024, 10, 28, 15, 0)),
            (5004, 4002, True, "Sent to your email ✅", _utc(2024, 10, 28, 16, 0)),
        ]:
            self.metas[mid] = {"id": mid, "ticket_id": ticket, "content": text, "date": at, "attachment": None,
                               "report": None, "staff": staff}

    def _next_id(self, table: dict[int, Any]) -> int:
        """Ids are never reused, even after a delete (like a database sequence)."""
        key = id(table)
        self._sequences[key] = max(self._sequences.get(key, 0), max(table, default=0)) + 1
        return self._sequences[key]

    def _tick(self) -> datetime:
        """Now, but strictly after the previous new item: cursors are dates with 1 s resolution."""
        now = datetime.now(timezone.utc).replace(microsecond=0)
        self._last_tick = max(now, self._last_tick + timedelta(seconds=1))
        return self._last_tick

    def _put_comment(self, cid: int, account_id: int, post_id: int | None, social_user_id: int, text: str,
                     at: datetime, parent: int | None = None, tag_ids: list[int] | None = None,
                     like: int = 0) -> dict[str, Any]:
        account = self.accounts[account_id]
        parent_row = self.comments.get(parent) if parent else None
        comment = {"id": cid, "comment_id": f"1790{cid:013d}", "text": text, "date": at, "can_delete": 1,
                   "can_reply": 1, "can_like": 1, "status": 1, "like": like,
                   "post_id": self.posts[post_id]["post_id"] if post_id else None, "post_ref": post_id,
                   "parent_id": parent_row["comment_id"] if parent_row else None, "from": parent,
                   "social_user_id": social_user_id, "account_id": account_id, "user_id": account["user_id"],
                   "social": account["type"], "tag_ids": list(tag_ids or [])}
        self.comments[cid] = comment
        return comment

    def _put_message(self, conversation_id: int, social_user_id: int, text: str, at: datetime,
                     attachment: str | None = None, mid: int | None = None) -> dict[str, Any]:
        conversation = self.conversations[conversation_id]
        mid = mid or (self._next_id(self.messages) if self.messages else 3001)
        message = {"id": mid, "message_id": 6600000 + mid, "conversation_id": conversation_id,
                   "type": "media" if attachment else "text", "attachment": attachment, "text": text, "date": at,
                   "can_delete": 1, "can_reaction": 1, "social_user_id": social_user_id, "reactions": [],
                   "account_id": conversation["account_id"]}
        self.messages[mid] = message
        return message

    # ------------------------------------------------------------------------ test controls
    def fail_next(self, path_or_name: str, status: int, times: int = 1, message: str | None = None) -> None:
        """The next ``times`` matching calls answer ``status`` (ErrorResponse) and do nothing.

        Match by route name (``comment.reply``, ``oauth.token``), by path (``comment/1001/reply``)
        or by ``"PUT comment/1001/like"``."""
        key = path_or_name.strip()
        super().fail_next(key if " " in key else key.strip("/"), status, times, message)

    def inject_failure(self, name: str, status: int, times: int, message: str) -> None:
        self.fail_next(name, status, times, message)

    def take_api_failure(self, method: str, path: str, name: str) -> ApiError | None:
        failure = self.take_failure(name, path, f"{method} {path}")
        return ApiError(failure[0], failure[1]) if failure else None

    def incoming(self, kind: str, data: dict[str, Any]) -> dict[str, Any]:
        """A person writes to a demo account. With ``webhook`` the subscribed OAuth clients get it at
        once; otherwise (token mode has no webhooks) it waits for the next poll."""
        _user_id, _username, _name, text = self.someone(data)
        account_id = _int(data.get("account_id") or 101)
        if account_id not in self.accounts:
            raise LookupError(f"no account {account_id}")
        extra = {k: _int(data[k]) for k in ("social_user_id", "conversation_id", "post_id", "parent") if data.get(k)}
        webhook = str(data.get("webhook", "")).lower() in ("1", "true", "on")
        if kind == "comment":
            return (self.emit_comment(account_id, text, **extra) if webhook
                    else self.add_comment(account_id, text, **extra))
        return (self.emit_message(text, account_id=account_id, **extra) if webhook
                else self.add_message(text, account_id=account_id, **extra))

    def demo_channel(self, root: str) -> list[dict[str, Any]]:
        return [{"provider": "resont", "base_url": f"{root}{self.prefix}/token/v1",
                 "credentials": {"token": SANDBOX_TOKEN}}]

    def set_webhook_url(self, client_id: str, url: str | None) -> None:
        """What a developer does in Resont's client settings: where webhooks of this client go."""
        with self.lock:
            self.clients[client_id]["webhook_url"] = url

    def add_client(self, client_id: str, secret: str, redirect_uri: str | None = None) -> None:
        with self.lock:
            self.clients[client_id] = {"secret": secret, "webhook_url": None, "redirect_uri": redirect_uri}

    def expire_access_tokens(self) -> None:
        """Every issued access token is expired from now on (the client does not know yet)."""
        with self.lock:
            for grant in self.access_tokens.values():
                grant["expires_at"] = time.time() - 1

    def revoke_refresh_tokens(self) -> None:
        with self.lock:
            self.refresh_tokens.clear()

    def issue_tokens(self, user_id: int = DEMO_USER_ID, client_id: str = SANDBOX_CLIENT_ID,
                     scope: str = "basic offline_access account comment inbox", ttl: int | None = None) -> dict[str, Any]:
        """Tokens as if the user had approved (for tests that start from stored credentials)."""
        with self.lock:
            return self._grant(client_id, user_id, scope, ttl)

    def _grant(self, client_id: str, user_id: int, scope: str, ttl: int | None = None) -> dict[str, Any]:
        ttl = self.access_token_ttl if ttl is None else ttl
        access = "at-" + secrets.token_urlsafe(18)
        self.access_tokens[access] = {"client_id": client_id, "user_id": user_id, "scope": scope,
                                      "expires_at": time.time() + ttl}
        answer: dict[str, Any] = {"access_token": access, "expires_in": ttl, "token_type": "access_token",
                                  "scope": scope}
        if "offline_access" in scope.split():
            refresh = "rt-" + secrets.token_urlsafe(24)
            self.refresh_tokens[refresh] = {"client_id": client_id, "user_id": user_id, "scope": scope}
            answer["refresh_token"] = refresh
            answer["refresh_token_expires"] = (datetime.now(timezone.utc) + timedelta(days=365)).strftime(DATE_FORMAT)
        return answer

    def set_ticket_status(self, ticket_id: int, status: int) -> None:
        with self.lock:
            self.tickets[ticket_id]["status"] = status

    def add_ticket_reply(self, ticket_id: int, content: str, staff: bool = True) -> dict[str, Any]:
        """Resont's support answers a ticket (no webhook exists for tickets)."""
        with self.lock:
            mid = self._next_id(self.metas)
            self.metas[mid] = {"id": mid, "ticket_id": ticket_id, "content": content, "date": self._tick(),
                               "attachment": None, "report": None, "staff": staff}
            if staff and self.tickets[ticket_id]["status"] != 4:
                self.tickets[ticket_id]["status"] = 2
            return self._render_meta(self.metas[mid])

    def add_ticket(self, title: str, content: str, department_id: int = 1, user_id: int = DEMO_USER_ID) -> dict:
        with self.lock:
            tid = self._next_id(self.tickets)
            self.tickets[tid] = {"id": tid, "user_id": user_id, "title": title, "status": 1,
                                 "department_id": department_id, "rate": None, "date": self._tick()}
            self.add_ticket_reply(tid, content, staff=False)
            return self._render_ticket(self.tickets[tid])

    def add_comment(self, account_id: int, text: str, *, social_user_id: int = 7001, post_id: int | None = None,
                    parent: int | None = None, at: datetime | None = None) -> dict[str, Any]:
        """A new comment Resont has collected, WITHOUT a webhook (only polling can find it).
        Returns the Comment as the API shows it."""
        with self.lock:
            if account_id not in self.accounts:
                raise LookupError(f"unknown account {account_id}")
            if post_id is None:
                post_id = max((p for p, row in self.posts.items() if row["account_id"] == account_id), default=None)
            comment = self._put_comment(self._next_id(self.comments), account_id, post_id, social_user_id, text,
                                        at or self._tick(), parent)
            return self._render_comment(comment, {})

    def add_message(self, text: str, *, conversation_id: int | None = None, account_id: int = 101,
                    social_user_id: int = 7001, attachment: str | None = None,
                    at: datetime | None = None) -> dict[str, Any]:
        """A new direct message, WITHOUT a webhook; a conversation is opened when there is none
        between the account and that person. ``social_user_id`` may be the account's own id."""
        with self.lock:
            if conversation_id is None:
                conversation_id = next((c["id"] for c in self.conversations.values()
                                        if c["account_id"] == account_id and social_user_id in c["participants"]),
                                       None)
            if conversation_id is None:
                conversation_id = self._next_id(self.conversations)
                self.conversations[conversation_id] = {
                    "id": conversation_id, "conversation_id": 880000 + conversation_id, "account_id": account_id,
                    "participants": [social_user_id], "tag_ids": [], "status": 0, "last_seen_message_id": None,
                    "last_seen_time": None}
            message = self._put_message(conversation_id, social_user_id, text, at or self._tick(), attachment)
            return self._render_message(message, {})

    def own_social_user_id(self, account_id: int) -> int:
        return self.accounts[account_id]["own"]

    # ---------------------------------------------------------------------------- webhooks
    def webhook_targets(self, account_id: int, flag: str) -> list[str]:
        """Clients' webhook URLs that get events of this account: the client holds a refresh
        token with offline_access for the account's user (as the docs require) and the account is
        subscribed (``comment_subscribe`` / ``direct_subscribe``)."""
        with self.lock:
            account = self.accounts[account_id]
            if not account[flag]:
                return []
            clients = {g["client_id"] for g in self.refresh_tokens.values()
                       if g["user_id"] == account["user_id"] and "offline_access" in g["scope"].split()}
            return [self.clients[c]["webhook_url"] for c in sorted(clients) if self.clients[c]["webhook_url"]]

    def emit_comment(self, account_id: int, text: str, *, url: str | None = None, **kwargs: Any) -> dict[str, Any]:
        """Add a comment and POST ``comment_created`` to the subscribed clients (or to ``url``).
        Returns the webhook body. LookupError when nobody would receive it."""
        targets = [url] if url else self.webhook_targets(account_id, "comment_subscribe")
        if not targets:
            raise LookupError(f"no webhook receives comments of account {account_id}: subscribe it and set a "
                              "client's webhook URL (set_webhook_url), or pass url=")
        comment = self.add_comment(account_id, text, **kwargs)
        with self.lock:
            payload = self._render_comment(self.comments[comment["id"]], self._webhook_with())
        return self._deliver("comment_created", account_id, payload, targets)

    def emit_message(self, text: str, *, url: str | None = None, account_id: int = 101,
                     **kwargs: Any) -> dict[str, Any]:
        """Add a direct message and POST ``message_created`` to the subscribed clients (or ``url``)."""
        if kwargs.get("conversation_id"):
            with self.lock:
                account_id = self.conversations[kwargs["conversation_id"]]["account_id"]
        targets = [url] if url else self.webhook_targets(account_id, "direct_subscribe")
        if not targets:
            raise LookupError(f"no webhook receives messages of account {account_id}: subscribe it and set a "
                              "client's webhook URL (set_webhook_url), or pass url=")
        message = self.add_message(text, account_id=account_id, **kwargs)
        with self.lock:
            payload = self._render_message(self.messages[message["id"]], self._webhook_with())
        return self._deliver("message_created", account_id, payload, targets)

    def _webhook_with(self) -> dict[str, dict]:
        # The docs say only "the payload is a Comment / Message"; we add the author (socialUser)
        # by default because a webhook consumer cannot show a bare numeric user id.
        return {"socialUser": {}} if self.webhook_expand_social_user else {}

    def _deliver(self, kind: str, account_id: int, payload: dict[str, Any], targets: list[str]) -> dict[str, Any]:
        with self.lock:
            body = {"type": kind, "user_id": self.accounts[account_id]["user_id"], "payload": payload}
        for url in targets:
            self.post_raw(url, body)
        return body

    def post_raw(self, url: str, body: Any) -> int:
        """POST any JSON body to a URL (outside the lock); 0 if unreachable. Recorded in ``posted``."""
        return self.post_json(url, body)

    # ---------------------------------------------------------------------------- rendering
    def _fmt(self, value: datetime | None, user_id: int = DEMO_USER_ID) -> str | None:
        if value is None:
            return None
        zone = ZoneInfo(self.users.get(user_id, {}).get("timezone") or "UTC")
        return value.astimezone(zone).strftime(DATE_FORMAT)

    def _parse(self, value: Any, user_id: int) -> datetime:
        try:
            parsed = datetime.fromisoformat(str(value).strip())
        except ValueError as exc:
            raise ApiError(400, f"The value {value!r} is not a valid date.") from exc
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=ZoneInfo(self.users[user_id].get("timezone") or "UTC"))
        return parsed.astimezone(timezone.utc)

    def _render_account(self, account: dict[str, Any], expand: dict[str, dict]) -> dict[str, Any]:
        out = {k: account[k] for k in ("id", "identifier", "name", "login_required", "relogin_reason", "type",
                                       "comment_subscribe", "profile_url", "info", "insights_order",
                                       "direct_subscribe")}
        out["date"] = self._fmt(account["date"], account["user_id"])
        if "meta" in expand:
            out["meta"] = dict(account["meta"])
        return out

    def _render_social_user(self, social_user_id: int | None) -> dict[str, Any] | None:
        user = self.social_users.get(social_user_id) if social_user_id else None
        return dict(user) if user else None

    def _render_post(self, post: dict[str, Any]) -> dict[str, Any]:
        account = self.accounts[post["account_id"]]
        comments = sum(1 for c in self.comments.values() if c["post_ref"] == post["id"])
        return {"id": post["id"], "type": post["type"], "post_id": post["post_id"], "image": post["image"],
                "content": post["content"], "date": self._fmt(post["date"], account["user_id"]),
                "like_count": post["like_count"], "comment_count": comments, "social_user_id": post["social_user_id"],
                "user_id": account["user_id"], "account_id": post["account_id"], "permalink": post["permalink"],
                "social": account["type"]}

    def _render_comment(self, comment: dict[str, Any], expand: dict[str, dict]) -> dict[str, Any]:
        out = {k: comment[k] for k in ("id", "comment_id", "text", "can_delete", "can_reply", "can_like", "status",
                                       "like", "post_id", "parent_id", "social_user_id", "account_id", "user_id",
                                       "social", "from")}
        out["date"] = self._fmt(comment["date"], comment["user_id"])
        out["tags"] = [dict(self.comment_tags[t]) for t in comment["tag_ids"] if t in self.comment_tags]
        parent = self.comments.get(comment["from"]) if comment["from"] else None
        out["parentName"] = self.social_users[parent["social_user_id"]]["username"] if parent else None
        if "account" in expand:
            out["account"] = self._render_account(self.accounts[comment["account_id"]], expand["account"])
        if "socialUser" in expand:
            out["socialUser"] = self._render_social_user(comment["social_user_id"])
        if "accountPost" in expand:
            post = self.posts.get(comment["post_ref"])
            out["accountPost"] = self._render_post(post) if post else None
        return out

    def _conversation_messages(self, conversation_id: int) -> list[dict[str, Any]]:
        return sorted((m for m in self.messages.values() if m["conversation_id"] == conversation_id),
                      key=lambda m: (m["date"], m["id"]))

    def _conversation_date(self, conversation: dict[str, Any]) -> datetime:
        messages = self._conversation_messages(conversation["id"])
        return messages[-1]["date"] if messages else _utc(2000, 1, 1)

    def _render_conversation(self, conversation: dict[str, Any], expand: dict[str, dict]) -> dict[str, Any]:
        account = self.accounts[conversation["account_id"]]
        messages = self._conversation_messages(conversation["id"])
        out = {"id": conversation["id"], "conversation_id": conversation["conversation_id"],
               "update_date": self._fmt(self._conversation_date(conversation), account["user_id"]),
               "participants": [{"social_user_id": p, "socialUser": [self._render_social_user(p)]}
                                for p in conversation["participants"]],
               "account_id": conversation["account_id"],
               "last_message": messages[-1]["text"] if messages else None,
               "last_seen_message_id": conversation["last_seen_message_id"],
               "last_seen_time": conversation["last_seen_time"],
               "tags": [dict(self.conversation_tags[t]) for t in conversation["tag_ids"]
                        if t in self.conversation_tags],
               "status": conversation["status"]}
        if "account" in expand:
            out["account"] = self._render_account(account, expand["account"])
        return out

    def _render_message(self, message: dict[str, Any], expand: dict[str, dict]) -> dict[str, Any]:
        account = self.accounts[message["account_id"]]
        out = {k: message[k] for k in ("id", "message_id", "conversation_id", "type", "attachment", "text",
                                       "can_delete", "can_reaction", "social_user_id", "account_id")}
        out["date"] = self._fmt(message["date"], account["user_id"])
        out["reactions"] = [{"social_user_id": r, "is_owner": r == account["own"],
                             "socialUser": [self._render_social_user(r)]} for r in message["reactions"]]
        if "socialUser" in expand:
            out["socialUser"] = self._render_social_user(message["social_user_id"])
        if "account" in expand:
            out["account"] = self._render_account(account, expand["account"])
        return out

    def _render_ticket(self, ticket: dict[str, Any]) -> dict[str, Any]:
        return {"id": ticket["id"], "title": ticket["title"], "status": ticket["status"],
                "date": self._fmt(ticket["date"], ticket["user_id"]), "department_id": ticket["department_id"],
                "status_name": TICKET_STATUS[ticket["status"]], "rate": ticket["rate"]}

    def _render_meta(self, meta: dict[str, Any]) -> dict[str, Any]:
        ticket = self.tickets[meta["ticket_id"]]
        user = ({"name": "Resont Support", "firstname": "Resont", "lastname": "Support", "isAdmin": "1"}
                if meta["staff"] else {"name": self.users[ticket["user_id"]]["name"], "firstname": "Brand",
                                       "lastname": "Team", "isAdmin": "0"})
        return {"id": meta["id"], "content": meta["content"], "date": self._fmt(meta["date"], ticket["user_id"]),
                "ticket_id": meta["ticket_id"], "attachment": meta["attachment"], "report": meta["report"],
                "user": user}

    # ------------------------------------------------------------------------- pagination
    def _cursor(self, rows: list[dict[str, Any]], key: str, ctx: Ctx) -> dict[str, Any]:
        """CursorPagination, newest first. ``after=D``: items older than D (the next page);
        ``before=D``: items newer than D; both: the window between (see the docs)."""
        params, user_id = ctx["params"], ctx["user_id"]
        after = self._parse(params["after"], user_id) if params.get("after") else None
        before = self._parse(params["before"], user_id) if params.get("before") else None
        ordered = sorted(rows, key=lambda r: (r[key], r["id"]), reverse=True)
        chosen = [r for r in ordered if (after is None or r[key] < after) and (before is None or r[key] > before)]
        page = chosen[:self.page_size]
        more = len(chosen) > len(page)
        return {"data": page, "paging": {
            "total": len(ordered),
            "after": self._link(ctx, after=self._fmt(page[-1][key], user_id)) if more else None,
            "before": self._link(ctx, before=self._fmt(page[0][key], user_id)) if page else None}}

    def _paginate(self, rows: list[Any], ctx: Ctx) -> dict[str, Any]:
        try:
            page = int(ctx["params"].get("page") or 1)
        except (TypeError, ValueError) as exc:
            raise ApiError(400, "The page must be an integer.") from exc
        pages = max(1, math.ceil(len(rows) / self.page_size))
        page = max(1, page)
        chunk = rows[(page - 1) * self.page_size: page * self.page_size]
        return {"data": chunk, "paging": {
            "total": len(rows), "page": page, "totalPage": pages,
            "next": self._link(ctx, page=page + 1) if page < pages else None,
            "prev": self._link(ctx, page=page - 1) if page > 1 else None}}

    @staticmethod
    def _link(ctx: Ctx, **changes: Any) -> str:
        """The "page address": this URL with the cursor changed; never the caller's token."""
        query = {k: v for k, v in ctx["query"].items()
                 if k not in ("after", "before", "page", "token", "access_token")}
        query.update({k: v for k, v in changes.items() if v is not None})
        return f"{ctx['url']}?{urlencode(query)}"

    # ---------------------------------------------------------------------------- the API
    def handle(self, mode: str, version: int, path: str, method: str, query: dict[str, Any],
               params: dict[str, Any], files: dict[str, tuple[str, bytes, str]], url: str) -> tuple[Any, int]:
        """Serve one API call; returns (JSON body, HTTP status)."""
        path = path.strip("/")
        with self.lock:
            record: dict[str, Any] = {"mode": mode, "method": method, "path": path, "query": dict(query),
                                      "params": deepcopy(params), "at": time.time(),
                                      "files": {k: {"filename": f[0], "size": len(f[1]), "content_type": f[2]}
                                                for k, f in files.items()}}
            self.requests.append(record)
            try:
                name, handler, ids = self._route(method, path)
                record["name"] = name
                failure = self.take_api_failure(method, path, name)
                if failure:
                    raise failure
                user_id = self._authenticate(mode, version, query, path)
                record["user_id"] = user_id
                ctx = {"user_id": user_id, "params": params, "files": files, "query": query, "url": url,
                       "expand": parse_with(params.get("with"))}
                body, status = handler(ctx, *ids), 200
            except ApiError as exc:
                body, status = exc.body(), exc.status
            record["status"] = status
            return body, status

    def _authenticate(self, mode: str, version: int, query: dict[str, Any], path: str) -> int:
        """The docs: the token (or access_token) goes in the query string; nothing else counts."""
        if version != 1:
            raise ApiError(404)
        if mode == "token":
            user = next((uid for uid, u in self.users.items() if u["token"] == query.get("token")), None)
            if user is None:
                raise ApiError(401, "The token sent is not valid.")
            return user
        grant = self.access_tokens.get(str(query.get("access_token") or ""))
        if grant is None or grant["expires_at"] <= time.time():
            raise ApiError(401)
        needed = SCOPES.get(path.split("/", 1)[0], "basic")
        if needed != "basic" and needed not in grant["scope"].split():
            raise ApiError(403, f"This access token lacks the {needed!r} scope.")
        return grant["user_id"]

    def _route(self, method: str, path: str) -> tuple[str, Any, tuple[int, ...]]:
        for verb, pattern, name in ROUTES:
            match = re.fullmatch(pattern, path)
            if match and verb == method:
                return name, getattr(self, "_h_" + name.replace(".", "_")), tuple(int(g) for g in match.groups())
        raise ApiError(404)

    # -- lookups
    def _own_account(self, ctx: Ctx, account_id: Any) -> dict[str, Any]:
        account = self.accounts.get(_int(account_id))
        if account is None or account["user_id"] != ctx["user_id"]:
            raise ApiError(404)
        return account

    def _comment(self, ctx: Ctx, cid: int) -> dict[str, Any]:
        comment = self.comments.get(cid)
        if comment is None or comment["user_id"] != ctx["user_id"]:
            raise ApiError(404)
        return comment

    def _conversation(self, ctx: Ctx, cid: int) -> dict[str, Any]:
        conversation = self.conversations.get(cid)
        if conversation is None or self.accounts[conversation["account_id"]]["user_id"] != ctx["user_id"]:
            raise ApiError(404)
        return conversation

    def _ticket(self, ctx: Ctx, tid: int) -> dict[str, Any]:
        ticket = self.tickets.get(tid)
        if ticket is None or ticket["user_id"] != ctx["user_id"]:
            raise ApiError(404)
        return ticket

    def _write(self, kind: str, **details: Any) -> None:
        self.writes.append({"kind": kind, "at": time.time(), **details})

    # -- accounts and the user
    def _h_account_list(self, ctx: Ctx) -> Any:
        return [self._render_account(a, ctx["expand"]) for a in sorted(self.accounts.values(), key=lambda a: a["id"])
                if a["user_id"] == ctx["user_id"]]

    def _h_account_detail(self, ctx: Ctx, account_id: int) -> Any:
        return self._render_account(self._own_account(ctx, account_id), ctx["expand"])

    def _h_me_user(self, ctx: Ctx) -> Any:
        user = self.users[ctx["user_id"]]
        return {"email": user["email"], "user_type": "legal", "name": user["name"], "timezone": user["timezone"],
                "language": user["language"], "dateformat": "Y-m-d", "timeformat": "H:i:s", "package_id": 3,
                "has_webservice": "1"}

    # -- comments
    def _h_comment_list(self, ctx: Ctx) -> Any:
        params = ctx["params"]
        rows = [c for c in self.comments.values() if c["user_id"] == ctx["user_id"]]
        if params.get("tag"):
            wanted = {_int(t) for t in _as_list(params["tag"])}
            rows = [c for c in rows if wanted & set(c["tag_ids"])]
        if params.get("status"):
            rows = [c for c in rows if str(c["status"]) == str(params["status"])]
        if params.get("search"):
            rows = [c for c in rows if str(params["search"]).lower() in c["text"].lower()]
        for key, keep in (("date_from", lambda d, x: d >= x), ("date_to", lambda d, x: d <= x)):
            if params.get(key):
                bound = self._parse(params[key], ctx["user_id"])
                rows = [c for c in rows if keep(c["date"], bound)]
        page = self._cursor(rows, "date", ctx)
        page["data"] = [self._render_comment(c, ctx["expand"]) for c in page["data"]]
        return page

    def _h_comment_detail(self, ctx: Ctx, cid: int) -> Any:
        return self._render_comment(self._comment(ctx, cid), ctx["expand"])

    def _h_comment_replies(self, ctx: Ctx, cid: int) -> Any:
        self._comment(ctx, cid)
        rows = sorted((c for c in self.comments.values() if c["from"] == cid), key=lambda c: (c["date"], c["id"]))
        page = self._paginate(rows, ctx)
        page["data"] = [self._render_comment(c, ctx["expand"]) for c in page["data"]]
        return page

    def _h_comment_post(self, ctx: Ctx, cid: int) -> Any:
        post = self.posts.get(self._comment(ctx, cid)["post_ref"])
        if post is None:
            raise ApiError(404)
        return self._render_post(post)

    def _h_comment_user(self, ctx: Ctx, social_user_id: int) -> Any:
        user = self._render_social_user(social_user_id)
        if user is None:
            raise ApiError(404)
        return user

    def _h_comment_reply(self, ctx: Ctx, cid: int) -> Any:
        parent = self._comment(ctx, cid)
        text, username = str(ctx["params"].get("comment") or ""), str(ctx["params"].get("username") or "")
        if not text.strip():
            raise ApiError(400, "The comment field is required.")
        if len(text) > COMMENT_MAX:
            raise ApiError(400, f"The comment may not be greater than {COMMENT_MAX} characters.")
        if not username.strip():
            raise ApiError(400, "The username field is required.")
        if username.lstrip("@") != self.social_users[parent["social_user_id"]]["username"]:
            raise ApiError(400, "The username does not match the author of the comment.")
        if not parent["can_reply"]:
            raise ApiError(403, "This comment cannot be replied to.")
        account = self.accounts[parent["account_id"]]
        reply = self._put_comment(self._next_id(self.comments), account["id"], parent["post_ref"], account["own"],
                                  text, self._tick(), cid)
        self._write("comment.reply", comment_id=cid, reply_id=reply["id"], comment=text, username=username,
                    account_id=account["id"])
        return self._render_comment(reply, ctx["expand"])

    def _h_comment_like(self, ctx: Ctx, cid: int) -> Any:
        comment = self._comment(ctx, cid)
        if not comment["can_like"]:
            raise ApiError(400, "This comment cannot be liked.")
        comment["like"] = 0 if comment["like"] else 1
        self._write("comment.like", comment_id=cid, liked=bool(comment["like"]), account_id=comment["account_id"])
        return {"success": True}

    def _h_comment_tag(self, ctx: Ctx, cid: int) -> Any:
        comment = self._comment(ctx, cid)
        ids = [_int(t) for t in _as_list(ctx["params"].get("tag"))]
        if any(t not in self.comment_tags for t in ids):
            raise ApiError(400, "The selected tag is invalid.")
        comment["tag_ids"] = ids
        self._write("comment.tag", comment_id=cid, tag_ids=ids, account_id=comment["account_id"])
        return self._render_comment(comment, ctx["expand"])

    def _h_comment_delete(self, ctx: Ctx, cid: int) -> Any:
        comment = self._comment(ctx, cid)
        if not comment["can_delete"]:
            raise ApiError(403, "This comment cannot be deleted.")
        del self.comments[cid]
        self._write("comment.delete", comment_id=cid, account_id=comment["account_id"])
        return {"success": True}

    def _subscribe(self, ctx: Ctx, flag: str, kind: str) -> dict[str, bool]:
        ids = _as_list(ctx["params"].get("account_ids"))
        if not ids:
            raise ApiError(400, "The account ids field is required.")
        accounts = [self.accounts.get(_int(i)) for i in ids]
        if any(a is None or a["user_id"] != ctx["user_id"] for a in accounts):
            raise ApiError(400, "The selected account ids is invalid.")
        for account in accounts:
            account[flag] = 1
        self._write(kind, account_ids=[a["id"] for a in accounts])
        return {"success": True}

    def _h_comment_subscribe(self, ctx: Ctx) -> Any:
        return self._subscribe(ctx, "comment_subscribe", "comment.subscribe")

    # -- tags (comment-tag and conversation-tag behave alike)
    def _tags(self, kind: str) -> dict[int, dict[str, Any]]:
        return self.comment_tags if kind == "comment" else self.conversation_tags

    def _tag_list(self, ctx: Ctx, kind: str) -> list[dict[str, Any]]:
        return [dict(t) for t in sorted(self._tags(kind).values(), key=lambda t: t["id"])
                if t["user_id"] == ctx["user_id"]]

    def _tag_save(self, ctx: Ctx, kind: str, tag_id: int | None = None) -> dict[str, Any]:
        name = str(ctx["params"].get("name") or "").strip()
        if not name:
            raise ApiError(400, "The name field is required.")
        color = str(ctx["params"].get("color") or "#888888")
        if not re.fullmatch(r"#[0-9a-fA-F]{6}", color):
            raise ApiError(400, "The color must be a HEX color code.")
        table = self._tags(kind)
        if tag_id is None:
            tag_id = max(self._next_id(self.comment_tags), self._next_id(self.conversation_tags), 31)
        elif tag_id not in table:
            raise ApiError(404)
        table[tag_id] = {"id": tag_id, "name": name, "color": color, "user_id": ctx["user_id"]}
        self._write(f"{kind}_tag.save", tag_id=tag_id, name=name, color=color)
        return dict(table[tag_id])

    def _tag_detail(self, ctx: Ctx, kind: str, tag_id: int) -> dict[str, Any]:
        tag = self._tags(kind).get(tag_id)
        if tag is None or tag["user_id"] != ctx["user_id"]:
            raise ApiError(404)
        return dict(tag)

    def _tag_delete(self, ctx: Ctx, kind: str, tag_id: int) -> dict[str, bool]:
        self._tag_detail(ctx, kind, tag_id)
        del self._tags(kind)[tag_id]
        self._write(f"{kind}_tag.delete", tag_id=tag_id)
        return {"success": True}

    def _h_comment_tag_list(self, ctx: Ctx) -> Any:
        return self._tag_list(ctx, "comment")

    def _h_comment_tag_create(self, ctx: Ctx) -> Any:
        return self._tag_save(ctx, "comment")

    def _h_comment_tag_detail(self, ctx: Ctx, tag_id: int) -> Any:
        return self._tag_detail(ctx, "comment", tag_id)

    def _h_comment_tag_edit(self, ctx: Ctx, tag_id: int) -> Any:
        return self._tag_save(ctx, "comment", tag_id)

    def _h_comment_tag_delete(self, ctx: Ctx, tag_id: int) -> Any:
        return self._tag_delete(ctx, "comment", tag_id)

    def _h_conversation_tag_list(self, ctx: Ctx) -> Any:
        return self._tag_list(ctx, "conversation")

    def _h_conversation_tag_create(self, ctx: Ctx) -> Any:
        return self._tag_save(ctx, "conversation")

    def _h_conversation_tag_detail(self, ctx: Ctx, tag_id: int) -> Any:
        return self._tag_detail(ctx, "conversation", tag_id)

    def _h_conversation_tag_edit(self, ctx: Ctx, tag_id: int) -> Any:
        return self._tag_save(ctx, "conversation", tag_id)

    def _h_conversation_tag_delete(self, ctx: Ctx, tag_id: int) -> Any:
        return self._tag_delete(ctx, "conversation", tag_id)

    # -- conversations
    def _h_conversation_list(self, ctx: Ctx) -> Any:
        params = ctx["params"]
        rows = [dict(c, update_date=self._conversation_date(c)) for c in self.conversations.values()
                if self.accounts[c["account_id"]]["user_id"] == ctx["user_id"]]
        if params.get("tag"):
            wanted = {_int(t) for t in _as_list(params["tag"])}
            rows = [c for c in rows if wanted & set(c["tag_ids"])]
        if params.get("status") not in (None, ""):
            rows = [c for c in rows if str(c["status"]) == str(params["status"])]
        if params.get("search"):
            needle = str(params["search"]).lower()
            rows = [c for c in rows if any(needle in m["text"].lower() for m in self._conversation_messages(c["id"]))]
        page = self._cursor(rows, "update_date", ctx)
        page["data"] = [self._render_conversation(self.conversations[c["id"]], ctx["expand"]) for c in page["data"]]
        return page

    def _h_conversation_detail(self, ctx: Ctx, cid: int) -> Any:
        return self._render_conversation(self._conversation(ctx, cid), ctx["expand"])

    def _h_conversation_messages(self, ctx: Ctx, cid: int) -> Any:
        self._conversation(ctx, cid)
        rows = self._conversation_messages(cid)
        for key, keep in (("date_from", lambda d, x: d >= x), ("date_to", lambda d, x: d <= x)):
            if ctx["params"].get(key):
                bound = self._parse(ctx["params"][key], ctx["user_id"])
                rows = [m for m in rows if keep(m["date"], bound)]
        return [self._render_message(m, ctx["expand"]) for m in rows]

    def _message(self, ctx: Ctx, mid: int) -> dict[str, Any]:
        message = self.messages.get(mid)
        if message is None or self.accounts[message["account_id"]]["user_id"] != ctx["user_id"]:
            raise ApiError(404)
        return message

    def _h_conversation_message(self, ctx: Ctx, mid: int) -> Any:
        return self._render_message(self._message(ctx, mid), ctx["expand"])

    def _h_conversation_reply(self, ctx: Ctx, cid: int) -> Any:
        conversation = self._conversation(ctx, cid)
        content = str(ctx["params"].get("content") or "")
        upload = ctx["files"].get("attachment")
        if not content.strip() and upload is None:
            raise ApiError(400, "The content field is required when attachment is not present.")
        if len(content) > MESSAGE_MAX:
            raise ApiError(400, f"The content may not be greater than {MESSAGE_MAX} characters.")
        attachment = None
        if upload is not None:
            filename, data, content_type = upload
            if not data or len(data) > ATTACHMENT_MAX:
                raise ApiError(400, "The attachment must be a file of at most 10 MB.")
            key = secrets.token_hex(8)
            self.files[key] = (data, content_type)
            attachment = f"{ctx['url'].split('/sandbox/resont/')[0]}/sandbox/resont/files/{key}/{filename}"
        account = self.accounts[conversation["account_id"]]
        message = self._put_message(cid, account["own"], content, self._tick(), attachment)
        self._write("conversation.reply", conversation_id=cid, message_id=message["id"], content=content,
                    attachment=(ctx["files"]["attachment"][0], len(ctx["files"]["attachment"][1]),
                                ctx["files"]["attachment"][2]) if upload else None, account_id=account["id"])
        return self._render_message(message, ctx["expand"])

    def _h_conversation_reaction(self, ctx: Ctx, mid: int) -> Any:
        message = self._message(ctx, mid)
        if ctx["params"].get("type") != "like":
            raise ApiError(400, "The selected type is invalid.")
        if not message["can_reaction"]:
            raise ApiError(400, "This message cannot get a reaction.")
        own = self.accounts[message["account_id"]]["own"]
        if own in message["reactions"]:
            message["reactions"].remove(own)
        else:
            message["reactions"].append(own)
        self._write("conversation.reaction", message_id=mid, type="like", liked=own in message["reactions"],
                    account_id=message["account_id"])
        return {"success": True}

    def _h_conversation_tag(self, ctx: Ctx, cid: int) -> Any:
        conversation = self._conversation(ctx, cid)
        ids = [_int(t) for t in _as_list(ctx["params"].get("tag"))]
        if any(t not in self.conversation_tags for t in ids):
            raise ApiError(400, "The selected tag is invalid.")
        conversation["tag_ids"] = ids
        self._write("conversation.tag", conversation_id=cid, tag_ids=ids, account_id=conversation["account_id"])
        return self._render_conversation(conversation, ctx["expand"])

    def _h_conversation_subscribe(self, ctx: Ctx) -> Any:
        return self._subscribe(ctx, "direct_subscribe", "conversation.subscribe")

    # -- tickets
    def _h_ticket_list(self, ctx: Ctx) -> Any:
        rows = sorted((t for t in self.tickets.values() if t["user_id"] == ctx["user_id"]),
                      key=lambda t: t["id"], reverse=True)
        page = self._paginate(rows, ctx)
        page["data"] = [self._render_ticket(t) for t in page["data"]]
        return page

    def _h_ticket_departments(self, ctx: Ctx) -> Any:
        return [dict(d) for d in self.departments]

    def _h_ticket_create(self, ctx: Ctx) -> Any:
        # The docs list "content" twice (title and text); we take ``title`` for the first.
        title = str(ctx["params"].get("title") or "").strip()
        content = str(ctx["params"].get("content") or "").strip()
        if not title or not content:
            raise ApiError(400, "The title and content fields are required.")
        if _int(ctx["params"].get("department_id")) not in {d["id"] for d in self.departments}:
            raise ApiError(400, "The selected department id is invalid.")
        ticket = self.add_ticket(title, content, _int(ctx["params"]["department_id"]), ctx["user_id"])
        self._write("ticket.create", ticket_id=ticket["id"])
        return ticket

    def _h_ticket_detail(self, ctx: Ctx, tid: int) -> Any:
        return self._render_ticket(self._ticket(ctx, tid))

    def _h_ticket_meta(self, ctx: Ctx, tid: int) -> Any:
        self._ticket(ctx, tid)
        return [self._render_meta(m) for m in sorted(self.metas.values(), key=lambda m: m["id"])
                if m["ticket_id"] == tid]

    def _h_ticket_reply(self, ctx: Ctx, tid: int) -> Any:
        ticket = self._ticket(ctx, tid)
        content = str(ctx["params"].get("content") or "")
        if not content.strip():
            raise ApiError(400, "The content field is required.")
        mid = self._next_id(self.metas)
        self.metas[mid] = {"id": mid, "ticket_id": tid, "content": content, "date": self._tick(),
                           "attachment": None, "report": None, "staff": False}
        ticket["status"] = 3
        self._write("ticket.reply", ticket_id=tid, meta_id=mid, content=content)
        return self._render_ticket(ticket)

    def _h_ticket_close(self, ctx: Ctx, tid: int) -> Any:
        ticket = self._ticket(ctx, tid)
        ticket["status"] = 4
        self._write("ticket.close", ticket_id=tid)
        return {"success": True}

    # ------------------------------------------------------------------------------- OAuth
    def authorize(self, params: dict[str, Any]) -> tuple[str | None, ApiError | None]:
        """Approve at once as the demo user: the redirect target, or the error to answer."""
        with self.lock:
            self.requests.append({"mode": "web", "method": "GET", "path": "oauth/authorize", "name": "oauth.authorize",
                                  "query": dict(params), "params": dict(params), "files": {}, "at": time.time()})
            failure = self.take_api_failure("GET", "oauth/authorize", "oauth.authorize")
            if failure:
                return None, failure
            client = self.clients.get(str(params.get("client_id") or ""))
            if client is None:
                return None, ApiError(400, "The client id is invalid.")
            for field in ("response_type", "scope", "state"):
                if not params.get(field):
                    return None, ApiError(400, f"The {field.replace('_', ' ')} field is required.")
            target = str(params.get("redirect_uri") or client["redirect_uri"] or "")
            if not target or (client["redirect_uri"] and not target.startswith(client["redirect_uri"])):
                return None, ApiError(400, "The redirect uri is invalid.")
            scope, state = str(params["scope"]), str(params["state"])
            if params["response_type"] == "code":
                code = secrets.token_urlsafe(16)
                self.codes[code] = {"client_id": params["client_id"], "user_id": DEMO_USER_ID, "scope": scope,
                                    "redirect_uri": params.get("redirect_uri"), "expires_at": time.time() + CODE_TTL}
                query = {"code": code, "state": state}
            elif params["response_type"] == "token":
                answer = self._grant(str(params["client_id"]), DEMO_USER_ID, scope)
                answer.pop("refresh_token", None)
                answer.pop("refresh_token_expires", None)
                query = {**answer, "state": state}
            else:
                return None, ApiError(400, "The selected response type is invalid.")
            return f"{target}{'&' if '?' in target else '?'}{urlencode(query)}", None

    def token(self, params: dict[str, Any]) -> tuple[dict[str, Any], int]:
        with self.lock:
            record = {"mode": "web", "method": "POST", "path": "oauth/token", "name": "oauth.token", "query": {},
                      "params": dict(params), "files": {}, "at": time.time()}
            self.requests.append(record)
            try:
                failure = self.take_api_failure("POST", "oauth/token", "oauth.token")
                if failure:
                    raise failure
                body, status = self._token(params), 200
            except ApiError as exc:
                body, status = exc.body(), exc.status
            record["status"] = status
            return body, status

    def _token(self, params: dict[str, Any]) -> dict[str, Any]:
        for field in ("client_id", "client_secret", "grant_type"):
            if not params.get(field):
                raise ApiError(400, f"The {field.replace('_', ' ')} field is required.")
        client = self.clients.get(str(params["client_id"]))
        if client is None or client["secret"] != params["client_secret"]:
            raise ApiError(401, "The client credentials are invalid.")
        if params["grant_type"] == "authorization_code":
            grant = self.codes.pop(str(params.get("code") or ""), None)
            if grant is None or grant["client_id"] != params["client_id"] or grant["expires_at"] < time.time():
                raise ApiError(400, "The authorization code is invalid or has expired.")
            if grant["redirect_uri"] and grant["redirect_uri"] != params.get("redirect_uri"):
                raise ApiError(400, "The redirect uri does not match the one of the authorization request.")
            self._write("oauth.code", client_id=params["client_id"])
            return self._grant(str(params["client_id"]), grant["user_id"], grant["scope"])
        if params["grant_type"] == "refresh_token":
            grant = self.refresh_tokens.get(str(params.get("refresh_token") or ""))
            if grant is None or grant["client_id"] != params["client_id"]:
                raise ApiError(400, "The refresh token is invalid.")
            self._write("oauth.refresh", client_id=params["client_id"])
            answer = self._grant(grant["client_id"], grant["user_id"], grant["scope"].replace("offline_access", ""))
            answer["scope"] = grant["scope"]      # the docs' refresh answer: no new refresh_token
            return answer
        raise ApiError(400, "The selected grant type is invalid.")


def _int(value: Any) -> int:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return -1


def _as_list(value: Any) -> list[Any]:
    """``a[]=1&a[]=2``, a JSON list, or ``a=1,2``."""
    if value in (None, ""):
        return []
    if isinstance(value, list):
        return [v for v in value if v not in (None, "")]
    return [v for v in str(value).split(",") if v.strip()]


ROUTES: list[tuple[str, str, str]] = [
    ("GET", r"account", "account.list"),
    ("GET", r"account/(\d+)", "account.detail"),
    ("GET", r"me/user", "me.user"),
    ("GET", r"comment", "comment.list"),
    ("POST", r"comment/subscribe", "comment.subscribe"),
    ("GET", r"comment/user/(\d+)", "comment.user"),
    ("GET", r"comment/(\d+)", "comment.detail"),
    ("GET", r"comment/(\d+)/replies", "comment.replies"),
    ("GET", r"comment/(\d+)/post", "comment.post"),
    ("POST", r"comment/(\d+)/reply", "comment.reply"),
    ("PUT", r"comment/(\d+)/like", "comment.like"),
    ("POST", r"comment/(\d+)/tag", "comment.tag"),
    ("DELETE", r"comment/(\d+)", "comment.delete"),
    ("GET", r"comment-tag", "comment_tag.list"),
    ("POST", r"comment-tag", "comment_tag.create"),
    ("GET", r"comment-tag/(\d+)", "comment_tag.detail"),
    ("POST", r"comment-tag/(\d+)", "comment_tag.edit"),
    ("DELETE", r"comment-tag/(\d+)", "comment_tag.delete"),
    ("GET", r"conversation", "conversation.list"),
    ("POST", r"conversation/subscribe", "conversation.subscribe"),
    ("GET", r"conversation/message/(\d+)", "conversation.message"),
    ("PUT", r"conversation/message/(\d+)/reaction", "conversation.reaction"),
    ("GET", r"conversation/(\d+)", "conversation.detail"),
    ("GET", r"conversation/(\d+)/messages", "conversation.messages"),
    ("POST", r"conversation/(\d+)/reply", "conversation.reply"),
    ("POST", r"conversation/(\d+)/tag", "conversation.tag"),
    ("GET", r"conversation-tag", "conversation_tag.list"),
    ("POST", r"conversation-tag", "conversation_tag.create"),
    ("GET", r"conversation-tag/(\d+)", "conversation_tag.detail"),
    ("POST", r"conversation-tag/(\d+)", "conversation_tag.edit"),
    ("DELETE", r"conversation-tag/(\d+)", "conversation_tag.delete"),
    ("GET", r"ticket", "ticket.list"),
    ("POST", r"ticket", "ticket.create"),
    ("GET", r"ticket/departments", "ticket.departments"),
    ("GET", r"ticket/(\d+)", "ticket.detail"),
    ("GET", r"ticket/(\d+)/meta", "ticket.meta"),
    ("POST", r"ticket/(\d+)/meta", "ticket.reply"),
    ("PUT", r"ticket/(\d+)/close", "ticket.close"),
]

SANDBOX = ResontSandbox()
_INDEXED = re.compile(r"^(.+)\[(\d*)\]$")      # PHP-style form keys: account_ids[] / tag[0]


def _request_params() -> dict[str, Any]:
    """Query string < form body < JSON body; ``key[]`` / repeated keys become lists."""
    params: dict[str, Any] = {}
    for multi in (request.args, request.form):
        for key in multi:
            values = multi.getlist(key)
            match = _INDEXED.match(key)
            if match:
                params.setdefault(match.group(1), [])
                if not isinstance(params[match.group(1)], list):
                    params[match.group(1)] = [params[match.group(1)]]
                params[match.group(1)].extend(values)
            else:
                params[key] = values if len(values) > 1 else values[0]
    if request.is_json and request.get_data():
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            raise ApiError(400, "The JSON body must be an object.")
        params.update(data)
    for auth in ("token", "access_token"):
        params.pop(auth, None)
    return params


def _serve(mode: str, version: int, path: str):
    try:
        params = _request_params()
    except ApiError as exc:
        return jsonify(exc.body()), exc.status
    files = {name: (f.filename or name, f.read(), f.mimetype or "application/octet-stream")
             for name, f in request.files.items()}
    query = {k: request.args.get(k) for k in request.args}
    body, status = SANDBOX.handle(mode, version, path, request.method, query, params, files, request.base_url)
    return jsonify(body), status


METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


@bp.route("/token/v<int:version>/<path:path>", methods=METHODS)
def api_token(version: int, path: str):
    return _serve("token", version, path)


@bp.route("/v<int:version>/<path:path>", methods=METHODS)
def api_oauth(version: int, path: str):
    return _serve("oauth", version, path)


@bp.get("/web/oauth/authorize")
def oauth_authorize():
    target, error = SANDBOX.authorize({k: request.args.get(k) for k in request.args})
    if error is not None:
        return jsonify(error.body()), error.status
    return redirect(target, code=302)


@bp.post("/web/oauth/token")
def oauth_token():
    try:
        params = _request_params()
    except ApiError as exc:
        return jsonify(exc.body()), exc.status
    body, status = SANDBOX.token(params)
    return jsonify(body), status


@bp.get("/files/<key>/<name>")
def uploaded_file(key: str, name: str):
    with SANDBOX.lock:
        found = SANDBOX.files.get(key)
    if found is None:
        return jsonify(ApiError(404).body()), 404
    return found[0], 200, {"Content-Type": found[1]}


# ------------------------------------------------------------- control endpoints (not Resont's API)
@bp.post("/_sandbox/clients/<client_id>/webhook")
def control_webhook(client_id: str):
    url = (request.get_json(silent=True) or {}).get("url")
    with SANDBOX.lock:
        if client_id not in SANDBOX.clients:
            return jsonify({"error": f"unknown client {client_id}"}), 404
    SANDBOX.set_webhook_url(client_id, url)
    return jsonify({"client_id": client_id, "webhook_url": url})


@bp.get("/_sandbox/state")
def control_state():
    with SANDBOX.lock:
        return jsonify({"accounts": [SANDBOX._render_account(a, {"meta": {}}) for a in SANDBOX.accounts.values()],
                        "comments": len(SANDBOX.comments), "messages": len(SANDBOX.messages),
                        "tickets": len(SANDBOX.tickets), "writes": SANDBOX.writes[-50:],
                        "requests": len(SANDBOX.requests)})
