"""The Resont sandbox's state (see shared/specs/resont-api.txt): users, accounts, items, OAuth
grants, what our app called, injected faults, and the provider's side of webhooks.

Why it exists: the Resont connector must be exercised over real HTTP without a Resont login.
The routes are in the resource modules beside this one; here is what they share: the demo data,
rendering in the documented shapes (plain objects and arrays, ``Paginate`` with ``data`` +
``paging{total,page,totalPage,next,prev}``, ``CursorPagination`` with ``data`` +
``paging{total,after,before}``, newest first, field expansion with ``with=a(b),c``, errors as
``{"error": ErrorResponse}`` with a ``trace_id``), authentication by ``token`` or
``access_token``, and ``comment_created`` / ``message_created`` webhook bodies ``{type, user_id,
payload}`` POSTed to the webhook URL registered for an OAuth client.

Where the docs are silent the sandbox picks one plausible behaviour (noted inline); dates are
``YYYY-MM-DD HH:MM:SS`` in the user's time zone (``/me/user``'s ``timezone``). Everything happens
under the sandbox's lock; webhook POSTs happen outside it.
"""
from __future__ import annotations

import math
import re
import secrets
import time
from collections.abc import Callable
from copy import deepcopy
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from ..base import ProviderSandbox, answer_late

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
Ctx = dict[str, Any]      # one call's context: user_id, params, files, query, url, expand
Handler = Callable[..., Any]   # (sandbox, ctx, **path ids) -> the JSON body
# Which OAuth scope each part of the API needs (tickets and /me: "basic").
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
            self.put_comment(cid, account, post, user, text, _utc(2024, 11, 5, 8, 0) + timedelta(minutes=minutes),
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
                self.put_message(conv, sender, text, base + timedelta(minutes=minutes),
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

    def next_id(self, table: dict[int, Any]) -> int:
        """Ids are never reused, even after a delete (like a database sequence)."""
        key = id(table)
        self._sequences[key] = max(self._sequences.get(key, 0), max(table, default=0)) + 1
        return self._sequences[key]

    def tick(self) -> datetime:
        """Now, but strictly after the previous new item: cursors are dates with 1 s resolution."""
        now = datetime.now(timezone.utc).replace(microsecond=0)
        self._last_tick = max(now, self._last_tick + timedelta(seconds=1))
        return self._last_tick

    def put_comment(self, cid: int, account_id: int, post_id: int | None, social_user_id: int, text: str,
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

    def put_message(self, conversation_id: int, social_user_id: int, text: str, at: datetime,
                     attachment: str | None = None, mid: int | None = None) -> dict[str, Any]:
        conversation = self.conversations[conversation_id]
        mid = mid or (self.next_id(self.messages) if self.messages else 3001)
        message = {"id": mid, "message_id": 6600000 + mid, "conversation_id": conversation_id,
                   "type": "media" if attachment else "text", "attachment": attachment, "text": text, "date": at,
                   "can_delete": 1, "can_reaction": 1, "social_user_id": social_user_id, "reactions": [],
                   "account_id": conversation["account_id"]}
        self.messages[mid] = message
        return message

    # ------------------------------------------------------------------------ test controls
    def fail_next(self, path_or_name: str, status: int, times: int = 1, message: str | None = None, *,
                  retry_after: float | None = None, delay: float = 0.0) -> None:
        """The next ``times`` matching calls answer ``status`` (ErrorResponse) and do nothing.

        Match by route name (``comment.reply``, ``oauth.token``), by path (``comment/1001/reply``)
        or by ``"PUT comment/1001/like"``. ``retry_after`` and ``delay``: see ``ProviderSandbox.fail_next``."""
        key = path_or_name.strip()
        super().fail_next(key if " " in key else key.strip("/"), status, times, message, retry_after=retry_after,
                          delay=delay)

    def inject_failure(self, name: str, status: int, times: int, message: str, *,
                       retry_after: float | None = None, delay: float = 0.0) -> None:
        self.fail_next(name, status, times, message, retry_after=retry_after, delay=delay)

    def take_api_failure(self, method: str, path: str, name: str) -> ApiError | None:
        failure = self.take_failure(name, path, f"{method} {path}")
        return ApiError(failure[0], failure[1]) if failure else None

    def incoming(self, kind: str, data: dict[str, Any]) -> dict[str, Any]:
        """A person writes to a demo account. With ``webhook`` the subscribed OAuth clients get it at
        once; otherwise (token mode has no webhooks) it waits for the next poll."""
        _user_id, _username, _name, text = self.someone(data)
        account_id = to_int(data.get("account_id") or 101)
        if account_id not in self.accounts:
            raise LookupError(f"no account {account_id}")
        extra = {k: to_int(data[k]) for k in ("social_user_id", "conversation_id", "post_id", "parent") if data.get(k)}
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
            return self.grant(client_id, user_id, scope, ttl)

    def grant(self, client_id: str, user_id: int, scope: str, ttl: int | None = None) -> dict[str, Any]:
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
            mid = self.next_id(self.metas)
            self.metas[mid] = {"id": mid, "ticket_id": ticket_id, "content": content, "date": self.tick(),
                               "attachment": None, "report": None, "staff": staff}
            if staff and self.tickets[ticket_id]["status"] != 4:
                self.tickets[ticket_id]["status"] = 2
            return self.render_meta(self.metas[mid])

    def add_ticket(self, title: str, content: str, department_id: int = 1, user_id: int = DEMO_USER_ID) -> dict:
        with self.lock:
            tid = self.next_id(self.tickets)
            self.tickets[tid] = {"id": tid, "user_id": user_id, "title": title, "status": 1,
                                 "department_id": department_id, "rate": None, "date": self.tick()}
            self.add_ticket_reply(tid, content, staff=False)
            return self.render_ticket(self.tickets[tid])

    def add_comment(self, account_id: int, text: str, *, social_user_id: int = 7001, post_id: int | None = None,
                    parent: int | None = None, at: datetime | None = None) -> dict[str, Any]:
        """A new comment Resont has collected, WITHOUT a webhook (only polling can find it).
        Returns the Comment as the API shows it."""
        with self.lock:
            if account_id not in self.accounts:
                raise LookupError(f"unknown account {account_id}")
            if post_id is None:
                post_id = max((p for p, row in self.posts.items() if row["account_id"] == account_id), default=None)
            comment = self.put_comment(self.next_id(self.comments), account_id, post_id, social_user_id, text,
                                        at or self.tick(), parent)
            return self.render_comment(comment, {})

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
                conversation_id = self.next_id(self.conversations)
                self.conversations[conversation_id] = {
                    "id": conversation_id, "conversation_id": 880000 + conversation_id, "account_id": account_id,
                    "participants": [social_user_id], "tag_ids": [], "status": 0, "last_seen_message_id": None,
                    "last_seen_time": None}
            message = self.put_message(conversation_id, social_user_id, text, at or self.tick(), attachment)
            return self.render_message(message, {})

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
            payload = self.render_comment(self.comments[comment["id"]], self._webhook_with())
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
            payload = self.render_message(self.messages[message["id"]], self._webhook_with())
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

    def parse_date(self, value: Any, user_id: int) -> datetime:
        try:
            parsed = datetime.fromisoformat(str(value).strip())
        except ValueError as exc:
            raise ApiError(400, f"The value {value!r} is not a valid date.") from exc
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=ZoneInfo(self.users[user_id].get("timezone") or "UTC"))
        return parsed.astimezone(timezone.utc)

    def render_account(self, account: dict[str, Any], expand: dict[str, dict]) -> dict[str, Any]:
        out = {k: account[k] for k in ("id", "identifier", "name", "login_required", "relogin_reason", "type",
                                       "comment_subscribe", "profile_url", "info", "insights_order",
                                       "direct_subscribe")}
        out["date"] = self._fmt(account["date"], account["user_id"])
        if "meta" in expand:
            out["meta"] = dict(account["meta"])
        return out

    def render_social_user(self, social_user_id: int | None) -> dict[str, Any] | None:
        user = self.social_users.get(social_user_id) if social_user_id else None
        return dict(user) if user else None

    def render_post(self, post: dict[str, Any]) -> dict[str, Any]:
        account = self.accounts[post["account_id"]]
        comments = sum(1 for c in self.comments.values() if c["post_ref"] == post["id"])
        return {"id": post["id"], "type": post["type"], "post_id": post["post_id"], "image": post["image"],
                "content": post["content"], "date": self._fmt(post["date"], account["user_id"]),
                "like_count": post["like_count"], "comment_count": comments, "social_user_id": post["social_user_id"],
                "user_id": account["user_id"], "account_id": post["account_id"], "permalink": post["permalink"],
                "social": account["type"]}

    def render_comment(self, comment: dict[str, Any], expand: dict[str, dict]) -> dict[str, Any]:
        out = {k: comment[k] for k in ("id", "comment_id", "text", "can_delete", "can_reply", "can_like", "status",
                                       "like", "post_id", "parent_id", "social_user_id", "account_id", "user_id",
                                       "social", "from")}
        out["date"] = self._fmt(comment["date"], comment["user_id"])
        out["tags"] = [dict(self.comment_tags[t]) for t in comment["tag_ids"] if t in self.comment_tags]
        parent = self.comments.get(comment["from"]) if comment["from"] else None
        out["parentName"] = self.social_users[parent["social_user_id"]]["username"] if parent else None
        if "account" in expand:
            out["account"] = self.render_account(self.accounts[comment["account_id"]], expand["account"])
        if "socialUser" in expand:
            out["socialUser"] = self.render_social_user(comment["social_user_id"])
        if "accountPost" in expand:
            post = self.posts.get(comment["post_ref"])
            out["accountPost"] = self.render_post(post) if post else None
        return out

    def conversation_messages(self, conversation_id: int) -> list[dict[str, Any]]:
        return sorted((m for m in self.messages.values() if m["conversation_id"] == conversation_id),
                      key=lambda m: (m["date"], m["id"]))

    def conversation_date(self, conversation: dict[str, Any]) -> datetime:
        messages = self.conversation_messages(conversation["id"])
        return messages[-1]["date"] if messages else _utc(2000, 1, 1)

    def render_conversation(self, conversation: dict[str, Any], expand: dict[str, dict]) -> dict[str, Any]:
        account = self.accounts[conversation["account_id"]]
        messages = self.conversation_messages(conversation["id"])
        out = {"id": conversation["id"], "conversation_id": conversation["conversation_id"],
               "update_date": self._fmt(self.conversation_date(conversation), account["user_id"]),
               "participants": [{"social_user_id": p, "socialUser": [self.render_social_user(p)]}
                                for p in conversation["participants"]],
               "account_id": conversation["account_id"],
               "last_message": messages[-1]["text"] if messages else None,
               "last_seen_message_id": conversation["last_seen_message_id"],
               "last_seen_time": conversation["last_seen_time"],
               "tags": [dict(self.conversation_tags[t]) for t in conversation["tag_ids"]
                        if t in self.conversation_tags],
               "status": conversation["status"]}
        if "account" in expand:
            out["account"] = self.render_account(account, expand["account"])
        return out

    def render_message(self, message: dict[str, Any], expand: dict[str, dict]) -> dict[str, Any]:
        account = self.accounts[message["account_id"]]
        out = {k: message[k] for k in ("id", "message_id", "conversation_id", "type", "attachment", "text",
                                       "can_delete", "can_reaction", "social_user_id", "account_id")}
        out["date"] = self._fmt(message["date"], account["user_id"])
        out["reactions"] = [{"social_user_id": r, "is_owner": r == account["own"],
                             "socialUser": [self.render_social_user(r)]} for r in message["reactions"]]
        if "socialUser" in expand:
            out["socialUser"] = self.render_social_user(message["social_user_id"])
        if "account" in expand:
            out["account"] = self.render_account(account, expand["account"])
        return out

    def render_ticket(self, ticket: dict[str, Any]) -> dict[str, Any]:
        return {"id": ticket["id"], "title": ticket["title"], "status": ticket["status"],
                "date": self._fmt(ticket["date"], ticket["user_id"]), "department_id": ticket["department_id"],
                "status_name": TICKET_STATUS[ticket["status"]], "rate": ticket["rate"]}

    def render_meta(self, meta: dict[str, Any]) -> dict[str, Any]:
        ticket = self.tickets[meta["ticket_id"]]
        user = ({"name": "Resont Support", "firstname": "Resont", "lastname": "Support", "isAdmin": "1"}
                if meta["staff"] else {"name": self.users[ticket["user_id"]]["name"], "firstname": "Brand",
                                       "lastname": "Team", "isAdmin": "0"})
        return {"id": meta["id"], "content": meta["content"], "date": self._fmt(meta["date"], ticket["user_id"]),
                "ticket_id": meta["ticket_id"], "attachment": meta["attachment"], "report": meta["report"],
                "user": user}

    # ------------------------------------------------------------------------- pagination
    def cursor_page(self, rows: list[dict[str, Any]], key: str, ctx: Ctx) -> dict[str, Any]:
        """CursorPagination, newest first. ``after=D``: items older than D (the next page);
        ``before=D``: items newer than D; both: the window between (see the docs)."""
        params, user_id = ctx["params"], ctx["user_id"]
        after = self.parse_date(params["after"], user_id) if params.get("after") else None
        before = self.parse_date(params["before"], user_id) if params.get("before") else None
        ordered = sorted(rows, key=lambda r: (r[key], r["id"]), reverse=True)
        chosen = [r for r in ordered if (after is None or r[key] < after) and (before is None or r[key] > before)]
        page = chosen[:self.page_size]
        more = len(chosen) > len(page)
        return {"data": page, "paging": {
            "total": len(ordered),
            "after": self._link(ctx, after=self._fmt(page[-1][key], user_id)) if more else None,
            "before": self._link(ctx, before=self._fmt(page[0][key], user_id)) if page else None}}

    def paginate(self, rows: list[Any], ctx: Ctx) -> dict[str, Any]:
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
    def call(self, name: str | None, handler: Handler | None, ids: dict[str, int], *, mode: str, method: str,
             path: str, query: dict[str, Any], params: dict[str, Any], files: dict[str, tuple[str, bytes, str]],
             url: str) -> tuple[Any, int]:
        """Serve one documented call (``name``; None: no such endpoint) under the lock: record it,
        apply an injected failure, authenticate, run ``handler``; returns (JSON body, HTTP status)."""
        path = path.strip("/")
        with self.lock:
            record: dict[str, Any] = {"mode": mode, "method": method, "path": path, "query": dict(query),
                                      "params": deepcopy(params), "at": time.time(),
                                      "files": {k: {"filename": f[0], "size": len(f[1]), "content_type": f[2]}
                                                for k, f in files.items()}}
            self.requests.append(record)
            try:
                if name is None or handler is None:
                    raise ApiError(404)
                record["name"] = name
                failure = self.take_api_failure(method, path, name)
                if failure:
                    raise failure
                user_id = self.authenticate(mode, query, path)
                record["user_id"] = user_id
                ctx = {"user_id": user_id, "params": params, "files": files, "query": query, "url": url,
                       "expand": parse_with(params.get("with"))}
                body, status = handler(self, ctx, **ids), 200
            except ApiError as exc:
                body, status = exc.body(), exc.status
            record["status"] = status
            if name is not None:   # delay_next: done, but answered late (after the view, outside the lock)
                answer_late(self.take_delay(name, status))
            return body, status

    def authenticate(self, mode: str, query: dict[str, Any], path: str) -> int:
        """The docs: the token (or access_token) goes in the query string; nothing else counts."""
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

    # -- lookups
    def own_account(self, ctx: Ctx, account_id: Any) -> dict[str, Any]:
        account = self.accounts.get(to_int(account_id))
        if account is None or account["user_id"] != ctx["user_id"]:
            raise ApiError(404)
        return account

    def find_comment(self, ctx: Ctx, cid: int) -> dict[str, Any]:
        comment = self.comments.get(cid)
        if comment is None or comment["user_id"] != ctx["user_id"]:
            raise ApiError(404)
        return comment

    def find_conversation(self, ctx: Ctx, cid: int) -> dict[str, Any]:
        conversation = self.conversations.get(cid)
        if conversation is None or self.accounts[conversation["account_id"]]["user_id"] != ctx["user_id"]:
            raise ApiError(404)
        return conversation

    def find_ticket(self, ctx: Ctx, tid: int) -> dict[str, Any]:
        ticket = self.tickets.get(tid)
        if ticket is None or ticket["user_id"] != ctx["user_id"]:
            raise ApiError(404)
        return ticket

    def write(self, kind: str, **details: Any) -> None:
        self.writes.append({"kind": kind, "at": time.time(), **details})

    def find_message(self, ctx: Ctx, mid: int) -> dict[str, Any]:
        message = self.messages.get(mid)
        if message is None or self.accounts[message["account_id"]]["user_id"] != ctx["user_id"]:
            raise ApiError(404)
        return message


def to_int(value: Any) -> int:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return -1


def as_list(value: Any) -> list[Any]:
    """``a[]=1&a[]=2``, a JSON list, or ``a=1,2``."""
    if value in (None, ""):
        return []
    if isinstance(value, list):
        return [v for v in value if v not in (None, "")]
    return [v for v in str(value).split(",") if v.strip()]


SANDBOX = ResontSandbox()
