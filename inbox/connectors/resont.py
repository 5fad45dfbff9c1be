"""Resont REST API (shared/specs/resont-api.txt): comments, DMs and support tickets on many networks.

One Resont login holds several social accounts (Instagram, Telegram, Aparat, ...). Each account
becomes one channel of ours; the channel's ``settings["account_id"]`` says which one, and every
list we read is filtered to it. Two ways to authenticate, both as documented:

* token mode — ``{base}/token/v1/...?token=TOKEN`` (the token from the Resont profile page);
* OAuth2 mode — ``{base}/v1/...?access_token=...``, refreshed with the refresh token at
  ``{root}/web/oauth/token`` shortly before it expires and once on a 401.

Polling is the baseline (token mode has no webhooks at all): ``fetch`` walks the newest-first
cursor lists ``/comment`` and ``/conversation`` until it reaches what it saw last time, and the
page-numbered ``/ticket`` list. Webhooks (``comment_created`` / ``message_created``, OAuth with
``offline_access`` only) make new items arrive sooner; both paths produce the same external ids,
so whichever comes second changes nothing.
"""
from __future__ import annotations

import hashlib
import json
import logging
import mimetypes
import re
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx

from models import TicketKind, utcnow

from .base import (TIMEOUT, USER_AGENT, ActionRejected, ActionResult, Author, AuthError, ConnectResult,
                   FetchResult, InboundItem, PostRecord, ProviderError, ReplyRejected, RetryableError, Target,
                   UncertainError, WebhookError, call)

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.resont.com/token/v1"
# account: /account; comment: comments and their tags; inbox: conversations; offline_access: a
# refresh token and webhooks ("there must be a valid Refresh token with offline_access access").
OAUTH_SCOPE = "basic offline_access account comment inbox"
OAUTH_FIELDS = ("client_id", "client_secret", "access_token", "refresh_token")
REFRESH_MARGIN = 60                      # seconds: refresh an access token this close to expiry

# The docs give no length limits; these are the strictest of the networks Resont serves
# (Instagram: 2,200 characters per comment, 1,000 per DM). Support tickets: our own cap.
REPLY_LIMITS = {TicketKind.COMMENT: 2200, TicketKind.CONVERSATION: 1000, TicketKind.TICKET: 5000}
TAG_NAME_MAX = 50
TAG_COLORS = ("#e74c3c", "#e67e22", "#f1c40f", "#2ecc71", "#1abc9c", "#3498db", "#9b59b6", "#7f8c8d")
ACTION_KINDS: dict[str, frozenset[str]] = {
    "reply": frozenset({TicketKind.COMMENT, TicketKind.CONVERSATION, TicketKind.TICKET}),
    "like": frozenset({TicketKind.COMMENT, TicketKind.CONVERSATION}),
    "unlike": frozenset({TicketKind.COMMENT, TicketKind.CONVERSATION}),
    "delete": frozenset({TicketKind.COMMENT}),
    # Resont support tickets have no tags: tagging one stays ours (perform does nothing).
    "tag": frozenset({TicketKind.COMMENT, TicketKind.CONVERSATION, TicketKind.TICKET}),
    "close": frozenset({TicketKind.TICKET}),
}

# Polling bounds. The first pass backfills a little history; later passes read until they reach
# what they saw, at most INCREMENTAL_PAGES pages, and resume an unfinished walk next time.
BACKFILL_PAGES = 3
INCREMENTAL_PAGES = 10
TICKET_PAGES = 3
BACKFILL_MESSAGES = 50                   # per conversation seen for the first time
OVERLAP = timedelta(minutes=2)           # re-read this far behind the newest item seen
SEEN_MAX = 500                           # ids remembered inside the overlap window
KNOWN_MAX = 1000                         # conversations / tickets remembered
COMMENT_WITH = "socialUser,accountPost,account"
MESSAGE_WITH = "socialUser"
ATTACHMENT_MAX_BYTES = 25 * 1024 * 1024
CLOSED_WORDS = ("close", "بسته", "закрыт")

DOCS_TEXT = {  # the docs' own words for each status (shown when the answer carries no message)
    400: "Error validating the request",
    401: "The access_token sent has expired.",
    403: "Unable to access the desired page.",
    404: "The requested page could not be found.",
    429: "The api usage limit for this device has expired.",
    500: "Internal server error.",
}


# ---------------------------------------------------------------------------------------- URLs

def oauth_root(base_url: str) -> str:
    """The host part the OAuth pages hang from: base_url without ``/token/vN`` or ``/vN``.

    The contract says ``{scheme://host}/web/oauth/...``; stripping the version suffix gives the same
    for the production host and still works when a sandbox is mounted under a path prefix.
    """
    return re.sub(r"/(?:token/)?v\d+$", "", base_url.strip().rstrip("/"))


def api_base(base_url: str, mode: str) -> str:
    """The API root for a mode: ``/token/vN`` for a token, ``/vN`` for OAuth.

    An admin may paste either documented URL (or just the host); the credentials decide which
    one is right, so a token never goes to the OAuth root or the other way round.
    """
    base = base_url.strip().rstrip("/")
    match = re.search(r"/(token/)?(v\d+)$", base)
    version = match.group(2) if match else "v1"
    root = base[:match.start()] if match else base
    return f"{root}/token/{version}" if mode == "token" else f"{root}/{version}"


def authorize_url(base_url: str, client_id: str, redirect_uri: str, state: str, scope: str = OAUTH_SCOPE) -> str:
    """Where to send the admin to approve our access (``GET /oauth/authorize``, response_type=code)."""
    query = urlencode({"client_id": client_id, "response_type": "code", "scope": scope, "state": state,
                       "redirect_uri": redirect_uri})
    return f"{oauth_root(base_url)}/web/oauth/authorize?{query}"


def exchange_code(base_url: str, client_id: str, client_secret: str, code: str, redirect_uri: str,
                  client: httpx.Client | None = None) -> dict[str, Any]:
    """Trade the authorization code (valid 30 s) for tokens: the credentials dict to store."""
    answer = _token_request(base_url, {"client_id": client_id, "client_secret": client_secret,
                                       "grant_type": "authorization_code", "code": code,
                                       "redirect_uri": redirect_uri}, client)
    if not answer.get("refresh_token"):
        raise AuthError("no_refresh_token", "Resont gave no refresh token: the app needs the offline_access scope")
    return _oauth_credentials({"client_id": client_id, "client_secret": client_secret}, answer)


def _token_request(base_url: str, form: dict[str, str], client: httpx.Client | None) -> dict[str, Any]:
    """POST form fields to ``/web/oauth/token``. A refusal (4xx) is an AuthError: someone must
    connect again; a busy or broken server (429, 5xx, unreachable) is retryable."""
    own = client is None
    client = client or _new_client()
    try:
        try:
            response = call(client, "POST", f"{oauth_root(base_url)}/web/oauth/token", data=form)
        except UncertainError as exc:   # asking for a token twice is harmless
            raise RetryableError(exc.code, exc.message) from exc
    finally:
        if own:
            client.close()
    data = _json(response)
    if response.status_code == 429 or response.status_code >= 500:
        raise RetryableError("oauth_unavailable", f"Resont's token endpoint answered {response.status_code}",
                             status=response.status_code)
    if response.status_code != 200 or not isinstance(data, dict) or not data.get("access_token"):
        message, _, trace_id = _error_info(data)
        raise AuthError("oauth_refused", "Resont refused the token request"
                        + (f": {message}" if message else f" ({response.status_code})"),
                        status=response.status_code, trace_id=trace_id)
    return data


def _oauth_credentials(base: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
    """Stored credentials from a token answer; the refresh answer has no refresh_token: keep ours."""
    creds = {**base, "access_token": str(answer["access_token"])}
    if answer.get("refresh_token"):
        creds["refresh_token"] = str(answer["refresh_token"])
    if answer.get("refresh_token_expires"):
        creds["refresh_token_expires"] = answer["refresh_token_expires"]
    try:
        creds["expires_at"] = int(time.time()) + int(answer["expires_in"])
    except (KeyError, TypeError, ValueError):
        creds.pop("expires_at", None)
    return creds


def _new_client() -> httpx.Client:
    return httpx.Client(timeout=TIMEOUT, headers={"User-Agent": USER_AGENT, "Accept": "application/json"})


# ----------------------------------------------------------------------------- answers, errors

def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _error_info(data: Any) -> tuple[str, str, str | None]:
    """(message, type, trace_id) from an ErrorResponse, wherever the server put it.

    The docs say errors come "in the form of an array with error index"; we accept
    ``{"error": {...}}``, ``{"error": [{...}]}``, a bare object, and Laravel-style ``errors``.
    """
    error = data.get("error", data) if isinstance(data, dict) else data
    if isinstance(error, list):
        error = next((e for e in error if isinstance(e, dict)), {"message": "; ".join(map(str, error))})
    if isinstance(error, str):
        error = {"message": error}
    if not isinstance(error, dict):
        return "", "", None
    message = str(error.get("message") or error.get("error_description") or "")
    details = error.get("errors") if isinstance(error.get("errors"), dict) else None
    if details and not message:
        message = " ".join(str(m) for msgs in details.values() for m in (msgs if isinstance(msgs, list) else [msgs]))
    trace = error.get("trace_id") or (data.get("trace_id") if isinstance(data, dict) else None)
    return message, str(error.get("type") or ""), str(trace) if trace else None


def _raise_for(response: httpx.Response, data: Any) -> None:
    """Map an HTTP status to our errors, keeping Resont's message and trace_id (for its support)."""
    status = response.status_code
    if 200 <= status < 300:
        return
    message, _, trace_id = _error_info(data)
    docs = DOCS_TEXT.get(status, DOCS_TEXT[500])
    kw = {"status": status, "trace_id": trace_id}
    if status == 400:
        raise ProviderError("validation", message or docs, **kw)
    if status == 401:
        raise AuthError("unauthorized", f"Resont refused the credentials (401): {message or docs}", **kw)
    if status == 403:
        raise ProviderError("forbidden", f"Resont does not allow this (403): {message or docs}", **kw)
    if status == 404:
        raise ProviderError("not_found", f"Resont does not know this item (404): {message or docs}", **kw)
    if status == 429:
        raise RetryableError("rate_limited", f"Resont's rate limit was reached (429): {message or docs}", **kw)
    if status >= 500:
        raise RetryableError("provider_error", f"Resont failed ({status}): {message or docs}", **kw)
    raise ProviderError("unexpected_answer", f"Resont answered {status}: {message or 'no details'}", **kw)


def _unwrap(data: Any) -> Any:
    """A lone ``{"data": ...}`` envelope around a plain answer is taken off; pages keep theirs."""
    if isinstance(data, dict) and "data" in data and "paging" not in data \
            and set(data) <= {"data", "success", "status", "message"}:
        return data["data"]
    return data


def _ok(answer: Any, what: str) -> None:
    """A BooleanResponse must say success: true; anything else means nothing was done."""
    if isinstance(answer, dict) and answer.get("success") is False:
        raise ProviderError("not_successful", f"Resont did not {what}")


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a Paginate or CursorPagination answer, and the parameters of the next one."""

    data: list[dict[str, Any]]
    next: dict[str, str] | None


def _page(answer: Any, cursor: bool, page: int = 1) -> Page:
    if isinstance(answer, list):               # a plain array: everything in one go
        return Page([d for d in answer if isinstance(d, dict)], None)
    if not isinstance(answer, dict) or not isinstance(answer.get("data"), list):
        raise ProviderError("unexpected_answer", "Resont answered a list request without a data array")
    paging = answer.get("paging") if isinstance(answer.get("paging"), dict) else {}
    data = [d for d in answer["data"] if isinstance(d, dict)]
    if cursor:
        return Page(data, _link_params(paging.get("after"), "after") if data else None)
    try:
        more = page < int(paging.get("totalPage") or 0)
    except (TypeError, ValueError):
        more = bool(paging.get("next"))
    return Page(data, {"page": str(page + 1)} if more and data else None)


def _link_params(value: Any, name: str) -> dict[str, str] | None:
    """The docs call ``after`` "the next page address": a URL or a bare cursor value. We take the
    cursor from it and keep sending our own auth, ``with`` and filters."""
    if value in (None, "", False):
        return None
    text = str(value)
    if "://" in text or text.startswith("/") or "?" in text:
        query = parse_qs(urlsplit(text).query)
        if name in query:
            return {name: query[name][0]}
        kept = {k: v[0] for k, v in query.items() if k not in ("token", "access_token")}
        return kept or None
    return {name: text}


# ----------------------------------------------------------------------------------- dates

_PERSIAN_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")


def jalali_to_gregorian(jy: int, jm: int, jd: int) -> tuple[int, int, int]:
    """Solar Hijri to Gregorian: Resont shows dates in the user's date format, which may be Jalali."""
    jy += 1595
    days = -355668 + 365 * jy + (jy // 33) * 8 + ((jy % 33) + 3) // 4 + jd
    days += (jm - 1) * 31 if jm < 7 else (jm - 7) * 30 + 186
    gy = 400 * (days // 146097)
    days %= 146097
    if days > 36524:
        days -= 1
        gy += 100 * (days // 36524)
        days %= 36524
        if days >= 365:
            days += 1
    gy += 4 * (days // 1461)
    days %= 1461
    if days > 365:
        gy += (days - 1) // 365
        days = (days - 1) % 365
    gd = days + 1
    leap = (gy % 4 == 0 and gy % 100 != 0) or gy % 400 == 0
    for gm, length in enumerate((31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31), start=1):
        if gd <= length:
            return gy, gm, gd
        gd -= length
    return gy, 12, 31


def parse_date(value: Any, tz: str = "UTC") -> datetime | None:
    """A Resont date as naive UTC, or None. Dates without an offset are in the user's time zone
    (``/me/user``'s ``timezone``, kept in the channel settings); epoch numbers are UTC."""
    if isinstance(value, bool) or value in (None, ""):
        return None
    if isinstance(value, (int, float)) or (isinstance(value, str) and value.strip().isdigit()):
        seconds = float(value)
        seconds = seconds / 1000 if seconds > 1e11 else seconds
        return datetime.fromtimestamp(seconds, timezone.utc).replace(tzinfo=None)
    if not isinstance(value, str):
        return None
    text = value.strip().translate(_PERSIAN_DIGITS).replace("/", "-")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.year < 1700:          # a Jalali date (e.g. 1403-01-01 = 2024-03-20)
        try:
            parsed = parsed.replace(*jalali_to_gregorian(parsed.year, parsed.month, parsed.day))
        except ValueError:
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=_zone(tz))
    return parsed.astimezone(timezone.utc).replace(tzinfo=None)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _when(value: Any, tz: str) -> datetime:
    return parse_date(value, tz) or utcnow()


# ------------------------------------------------------------------------------ normalising

def _id(obj: dict[str, Any], key: str, what: str) -> str:
    value = obj.get(key)
    if isinstance(value, bool) or value in (None, "") or not str(value).strip():
        raise WebhookError("malformed", f"{what}.{key} is missing")
    return str(value).strip()


def _opt_id(value: Any) -> str | None:
    if isinstance(value, bool) or value in (None, "", 0, "0"):
        return None
    return str(value)


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def _bare(name: Any) -> str:
    return str(name or "").strip().lstrip("@").lower()


def _author(social_user: Any, social_user_id: Any) -> Author:
    user = social_user[0] if isinstance(social_user, list) and social_user else social_user
    user = user if isinstance(user, dict) else {}
    external = user.get("id") or social_user_id
    return Author(external_id=str(external) if external not in (None, "") else "unknown",
                  username=str(user.get("username") or ""), name=str(user.get("name") or ""))


def _own_names(settings: dict[str, Any] | None) -> set[str]:
    settings = settings or {}
    return {n for n in (_bare(settings.get("account_identifier")), _bare(settings.get("account_name"))) if n}


def _tag_names(tags: Any) -> tuple[str, ...] | None:
    if not isinstance(tags, list):
        return None
    return tuple(str(t["name"]) for t in tags if isinstance(t, dict) and t.get("name"))


def _compact(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v is not None}


def comment_item(comment: dict[str, Any], tz: str = "UTC", settings: dict[str, Any] | None = None) -> InboundItem:
    """One Comment -> one comment ticket. Our own reply (seen again by polling) becomes an
    outgoing message of the comment it answers instead of a ticket of its own."""
    cid = _id(comment, "id", "comment")
    parent = _opt_id(comment.get("from"))
    author = _author(comment.get("socialUser"), comment.get("social_user_id"))
    own = bool(author.username) and _bare(author.username) in _own_names(settings)
    common = {"ticket_kind": TicketKind.COMMENT, "message_external_id": f"comment:{cid}", "author": author,
              "text": str(comment.get("text") or ""), "created_at": _when(comment.get("date"), tz),
              "message_kind": "comment"}
    if own and parent:
        return InboundItem(ticket_external_id=f"comment:{parent}", direction="out", **common)
    post_id = _opt_id(comment.get("post_id"))
    data = _compact({
        "comment_id": cid, "account_id": _opt_id(comment.get("account_id")),
        "network_comment_id": _opt_id(comment.get("comment_id")), "post_id": post_id,
        "parent_id": _opt_id(comment.get("parent_id")), "social_user_id": _opt_id(comment.get("social_user_id")),
        "username": author.username or None, "liked": _truthy(comment.get("like")),
        "can_reply": _flag(comment, "can_reply"), "can_delete": _flag(comment, "can_delete"),
        "can_like": _flag(comment, "can_like"), "social": comment.get("social"),
    })
    tags = _tag_names(comment.get("tags"))
    if tags is not None:
        data["tags"] = list(tags)
    return InboundItem(ticket_external_id=f"comment:{cid}", ticket_data=data, tags=tags,
                       parent_ticket_external_id=f"comment:{parent}" if parent else None,
                       post_external_id=post_id, direction="out" if own else "in", **common)


def _flag(obj: dict[str, Any], key: str) -> bool | None:
    return _truthy(obj[key]) if key in obj and obj[key] is not None else None


MEDIA_KINDS = {"image": "image", "video": "video", "audio": "audio"}


def _media(message: dict[str, Any]) -> tuple[str, str | None, str | None]:
    """(message kind, media url, media type): ``media`` is refined by the file's extension."""
    kind = str(message.get("type") or "text")
    url = message.get("attachment") or None
    mime = mimetypes.guess_type(urlsplit(str(url)).path)[0] if url else None
    if kind == "media":
        kind = MEDIA_KINDS.get((mime or "").split("/")[0], "file")
    return kind, str(url) if url else None, mime


def message_item(message: dict[str, Any], tz: str = "UTC", settings: dict[str, Any] | None = None,
                 participants: set[str] | None = None) -> InboundItem:
    """One Message -> an entry of its conversation ticket (``conversation:{conversation_id}``).

    Ours when its author is the account itself (by username), or, where the conversation's
    participants are known, when its author is not one of them.
    """
    mid = _id(message, "id", "message")
    conversation = _id(message, "conversation_id", "message")
    author = _author(message.get("socialUser"), message.get("social_user_id"))
    own = (bool(author.username) and _bare(author.username) in _own_names(settings)) or bool(
        participants and str(message.get("social_user_id")) not in participants)
    kind, url, mime = _media(message)
    reactions = message.get("reactions") if isinstance(message.get("reactions"), list) else []
    liked = any(isinstance(r, dict) and _truthy(r.get("is_owner")) for r in reactions)
    data = {} if own else _compact({
        "conversation_id": conversation, "account_id": _opt_id(message.get("account_id")),
        "social_user_id": _opt_id(message.get("social_user_id")), "username": author.username or None,
        "liked": liked, "liked_message_id": mid if liked else None})
    return InboundItem(ticket_kind=TicketKind.CONVERSATION, ticket_external_id=f"conversation:{conversation}",
                       message_external_id=f"message:{mid}", author=author, text=str(message.get("text") or ""),
                       created_at=_when(message.get("date"), tz), message_kind=kind, media_url=url,
                       media_type=mime, ticket_data=data, direction="out" if own else "in")


def ticket_closed(ticket: dict[str, Any]) -> bool:
    """The docs list ``status`` (integer) and ``status_name`` but not their values: a ticket is
    closed when its status name says so (English, Persian or Russian)."""
    name = str(ticket.get("status_name") or "").lower()
    return any(word in name for word in CLOSED_WORDS)


def ticket_items(ticket: dict[str, Any], metas: list[dict[str, Any]], tz: str = "UTC") -> list[InboundItem]:
    """A Resont support ticket and its messages (TicketMeta). Resont's staff write in; we wrote out."""
    tid = _id(ticket, "id", "ticket")
    closed = ticket_closed(ticket)
    data = _compact({"ticket_id": tid, "title": ticket.get("title"), "department_id": _opt_id(ticket.get("department_id")),
                     "status": ticket.get("status"), "status_name": ticket.get("status_name"), "closed": closed})
    items = []
    for meta in metas:
        user = meta.get("user") if isinstance(meta.get("user"), dict) else {}
        staff = _truthy(user.get("isAdmin"))
        name = str(user.get("name") or " ".join(filter(None, (user.get("firstname"), user.get("lastname")))) or "")
        author = Author("resont:support", "resont", name or "Resont support") if staff else \
            Author("resont:me", "", name)
        url = meta.get("attachment") or None
        items.append(InboundItem(
            ticket_kind=TicketKind.TICKET, ticket_external_id=f"ticket:{tid}",
            message_external_id=f"ticketmeta:{_id(meta, 'id', 'ticket meta')}", author=author,
            text=str(meta.get("content") or ""), created_at=_when(meta.get("date"), tz),
            media_url=str(url) if url else None, media_type=mimetypes.guess_type(str(url))[0] if url else None,
            ticket_data=data, direction="in" if staff else "out", closed=closed))
    return items


def post_record(post: dict[str, Any], key: str | None, tz: str = "UTC") -> PostRecord | None:
    """An AccountPost (from ``with=accountPost``), keyed like the comments that point at it."""
    key = key or _opt_id(post.get("post_id")) or _opt_id(post.get("id"))
    if not key:
        return None
    return PostRecord(external_id=key, text=str(post.get("content") or ""), status="published",
                      url=post.get("permalink") or None, network=post.get("social") or None,
                      executed_at=parse_date(post.get("date"), tz),
                      data=_compact({"resont_post_id": _opt_id(post.get("id")), "post_id": _opt_id(post.get("post_id")),
                                     "type": post.get("type"), "image": post.get("image"),
                                     "like_count": post.get("like_count"), "comment_count": post.get("comment_count"),
                                     "account_id": _opt_id(post.get("account_id"))}))


def _webhook_body(payload: Any) -> tuple[str, dict[str, Any]]:
    """``{type, user_id, payload}``; a payload sent as a JSON string is decoded."""
    if not isinstance(payload, dict):
        raise WebhookError("malformed", "Expected a JSON object {type, user_id, payload}")
    kind, body = payload.get("type"), payload.get("payload")
    if not isinstance(kind, str) or not kind:
        raise WebhookError("malformed", "'type' is missing")
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError as exc:
            raise WebhookError("malformed", "'payload' is a string but not JSON") from exc
    if not isinstance(body, dict):
        raise WebhookError("malformed", "'payload' must be an object")
    return kind, body


# ------------------------------------------------------------------------------ the connector

class ResontConnector:
    provider = "resont"
    default_network = "instagram"
    DEFAULT_BASE_URL = DEFAULT_BASE_URL
    credential_fields = ("token",)          # or OAUTH_FIELDS: see check_credentials
    polled = True
    webhooks = True                   # OAuth clients post comment_created / message_created
    ACTIONS = frozenset({"reply", "like", "unlike", "delete", "tag", "close"})
    # A DM reply's multipart ``attachment`` (content optional beside it); a ticket's meta needs content.
    ATTACHMENT_KINDS = frozenset({TicketKind.CONVERSATION})
    CHANNEL_ACTIONS: frozenset[str] = frozenset()

    def __init__(self, base_url: str, credentials: dict[str, Any], settings: dict[str, Any] | None = None,
                 client: httpx.Client | None = None):
        self.credentials = self.check_credentials(credentials)
        self.mode = "oauth" if "access_token" in self.credentials else "token"
        self.given_base_url = base_url or DEFAULT_BASE_URL
        self.base_url = api_base(self.given_base_url, self.mode)
        self.settings = dict(settings or {})
        self.account_id = _opt_id(self.settings.get("account_id"))
        self.tz = str(self.settings.get("timezone") or "UTC")
        self.client = client or _new_client()
        self.refreshed = False

    # -- credentials ------------------------------------------------------------------------

    @staticmethod
    def check_credentials(credentials: Any) -> dict[str, Any]:
        """``{token}`` or ``{client_id, client_secret, access_token, refresh_token, expires_at?}``."""
        if not isinstance(credentials, dict):
            raise ValueError("Resont credentials must be an object")
        given = {k: v for k, v in credentials.items() if v not in (None, "") and str(v).strip()}
        oauth = [f for f in OAUTH_FIELDS if f in given]
        if oauth:
            missing = [f for f in OAUTH_FIELDS if f not in given]
            if missing:
                raise ValueError(f"Resont OAuth credentials need {', '.join(OAUTH_FIELDS)}; "
                                 f"missing: {', '.join(missing)}")
            if "token" in given:
                raise ValueError("Give either a Resont token or OAuth credentials, not both")
            clean: dict[str, Any] = {f: str(given[f]).strip() for f in OAUTH_FIELDS}
            if "expires_at" in given:
                try:
                    clean["expires_at"] = int(float(given["expires_at"]))
                except (TypeError, ValueError) as exc:
                    raise ValueError("expires_at must be a time in epoch seconds") from exc
            if "refresh_token_expires" in given:
                clean["refresh_token_expires"] = given["refresh_token_expires"]
            return clean
        if "token" in given:
            return {"token": str(given["token"]).strip()}
        raise ValueError("Resont needs a token (from your Resont profile) or OAuth credentials: "
                         + ", ".join(OAUTH_FIELDS))

    @property
    def new_credentials(self) -> dict[str, Any] | None:
        """The credentials to store, when a refresh replaced the tokens during this call."""
        return dict(self.credentials) if self.refreshed else None

    @property
    def token_expires_at(self) -> datetime | None:
        expires = self.credentials.get("expires_at")
        if not isinstance(expires, (int, float)):
            return None
        return datetime.fromtimestamp(expires, timezone.utc).replace(tzinfo=None)

    def refresh(self) -> None:
        """``POST /oauth/token`` with grant_type=refresh_token. A refusal is an AuthError (the
        channel needs an admin); an unreachable or failing server is retryable."""
        try:
            answer = _token_request(self.given_base_url, {
                "client_id": self.credentials["client_id"], "client_secret": self.credentials["client_secret"],
                "grant_type": "refresh_token", "refresh_token": self.credentials["refresh_token"]}, self.client)
        except AuthError as exc:
            raise AuthError("refresh_failed", f"Resont refused to refresh the access token: {exc.message}. "
                            "Connect the account again.", status=exc.status, trace_id=exc.trace_id) from exc
        self.credentials = _oauth_credentials(self.credentials, answer)
        self.refreshed = True

    def _expiring(self) -> bool:
        expires = self.credentials.get("expires_at")
        return self.mode == "oauth" and isinstance(expires, (int, float)) and expires - time.time() < REFRESH_MARGIN

    # -- transport ----------------------------------------------------------------------------

    def request(self, method: str, path: str, *, params: dict[str, Any] | None = None,
                data: dict[str, Any] | None = None, files: dict[str, Any] | None = None) -> Any:
        """One documented call; the token goes in the query string as the docs say
        (``token`` or ``access_token``). On a 401 in OAuth mode: refresh once, retry once."""
        if self._expiring():
            self.refresh()
        response = self._send(method, path, params, data, files)
        if response.status_code == 401 and self.mode == "oauth" and not self.refreshed:
            self.refresh()
            response = self._send(method, path, params, data, files)
        body = _json(response)
        _raise_for(response, body)
        if body is None and response.content.strip():
            raise ProviderError("unexpected_answer", "Resont answered something that is not JSON",
                                status=response.status_code)
        return _unwrap(body)

    def _send(self, method: str, path: str, params: dict[str, Any] | None, data: dict[str, Any] | None,
              files: dict[str, Any] | None) -> httpx.Response:
        auth = {"token": self.credentials["token"]} if self.mode == "token" else \
            {"access_token": self.credentials["access_token"]}
        query = {**(params or {}), **auth}
        return call(self.client, method, f"{self.base_url}/{path.lstrip('/')}", params=query, data=data, files=files)

    def _list(self, path: str, params: dict[str, Any], *, cursor: bool, page: int = 1) -> Page:
        return _page(self.request("GET", path, params=params), cursor, page)

    # -- the documented endpoints we use --------------------------------------------------------

    def accounts(self) -> list[dict[str, Any]]:
        """``GET /account?with=meta``: "the array of Account" (a paged answer is read too)."""
        return _page(self.request("GET", "account", params={"with": "meta"}), cursor=False).data

    def account(self, account_id: str) -> dict[str, Any]:
        return self.request("GET", f"account/{quote(account_id, safe='')}")

    def user_timezone(self) -> str:
        """``/me/user``'s timezone: Resont writes dates in it. UTC when it cannot be had."""
        try:
            user = self.request("GET", "me/user")
        except ProviderError as exc:
            if isinstance(exc, AuthError) or exc.retryable:
                raise
            return "UTC"
        name = str(user.get("timezone") or "UTC") if isinstance(user, dict) else "UTC"
        return name if _zone(name).key == name else "UTC"

    def subscribe(self, what: str, account_ids: list[str]) -> None:
        """``POST /comment/subscribe`` or ``/conversation/subscribe`` with ``account_ids[]``."""
        _ok(self.request("POST", f"{what}/subscribe", data={"account_ids[]": account_ids}),
            f"subscribe the account to {what}s")

    def comment(self, comment_id: str) -> dict[str, Any]:
        return self.request("GET", f"comment/{quote(comment_id, safe='')}", params={"with": "socialUser"})

    def tags(self, kind: str) -> list[dict[str, Any]]:
        """``GET /comment-tag`` or ``/conversation-tag``."""
        answer = self.request("GET", f"{kind}-tag")
        return [t for t in (answer if isinstance(answer, list) else []) if isinstance(t, dict)]

    def create_tag(self, kind: str, name: str) -> dict[str, Any]:
        """``POST /comment-tag`` {name, color}. The docs list no input for ``POST /conversation-tag``
        (surely an omission: a tag needs a name), so it gets the same fields."""
        return self.request("POST", f"{kind}-tag", data={"name": name, "color": _tag_color(name)})

    def ticket_meta(self, ticket_id: str) -> list[dict[str, Any]]:
        answer = self.request("GET", f"ticket/{quote(ticket_id, safe='')}/meta")
        return _page(answer, cursor=False).data

    # -- what the inbox asks of every connector -------------------------------------------------

    def connect(self) -> list[ConnectResult]:
        """One channel per Resont account (the first one also carries the support tickets)."""
        accounts = sorted(self.accounts(), key=lambda a: str(a.get("id")))
        tz = self.user_timezone() if accounts else "UTC"
        results = []
        for index, account in enumerate(a for a in accounts if _opt_id(a.get("id"))):
            account_id = str(account["id"])
            results.append(ConnectResult(
                account_ref=account_id, network=str(account.get("type") or "resont").lower(),
                name=str(account.get("name") or account.get("identifier") or f"Resont account {account_id}"),
                info=_account_info(account),
                settings={"account_id": account_id, "account_identifier": account.get("identifier"),
                          "account_name": account.get("name"), "timezone": tz, "support_tickets": index == 0},
                credentials=self.new_credentials, token_expires_at=self.token_expires_at if self.refreshed else None))
        return results

    def setup(self, webhook_url: str) -> None:
        """Subscribe the account to comments and DMs.

        Resont sends webhooks to the URL registered with the OAuth client (not a parameter of
        any call), so ``webhook_url`` must be entered there by the admin. With OAuth we always
        subscribe (that is what makes Resont send webhooks). A token has no webhooks; we still
        subscribe accounts that are not (it makes Resont collect their comments and DMs, which
        polling reads) but a refusal there is only logged: polling goes on regardless.
        """
        if not self.account_id:
            return
        account = self.account(self.account_id) if self.mode == "token" else {}
        for what, flag in (("comment", "comment_subscribe"), ("conversation", "direct_subscribe")):
            if self.mode == "token" and _truthy(account.get(flag)):
                continue
            try:
                self.subscribe(what, [self.account_id])
            except ProviderError as exc:
                if self.mode == "oauth" or isinstance(exc, AuthError) or exc.retryable:
                    raise
                log.warning("Resont refused to subscribe account %s to %ss: %s", self.account_id, what, exc.message)

    # -- webhooks -----------------------------------------------------------------------------

    @classmethod
    def route(cls, payload: Any) -> str | None:
        """The account a webhook body is for (``payload.account_id``): one URL serves them all."""
        try:
            _, body = _webhook_body(payload)
        except WebhookError:
            return None
        return _opt_id(body.get("account_id"))

    @classmethod
    def parse(cls, payload: Any, settings: dict[str, Any] | None = None) -> list[InboundItem]:
        """``comment_created`` (a Comment) and ``message_created`` (a Message) -> items; other
        well-formed types are ignored. ``settings`` (the channel's, optional) tell dates' time zone
        and which author is the account itself."""
        kind, body = _webhook_body(payload)
        tz = str((settings or {}).get("timezone") or "UTC")
        if kind == "comment_created":
            _id(body, "account_id", "payload")
            return [comment_item(body, tz, settings)]
        if kind == "message_created":
            _id(body, "account_id", "payload")
            return [message_item(body, tz, settings)]
        return []

    # -- polling ------------------------------------------------------------------------------

    def fetch(self, state: dict[str, Any]) -> FetchResult:
        """One polling pass: new comments (+ their posts), changed conversations' new messages,
        and, on the channel that carries them, support tickets. ``state`` is our resume point."""
        state = json.loads(json.dumps(state or {}))      # never mutate the caller's copy
        items: list[Any] = []
        items += self._fetch_comments(state.setdefault("comments", {}))
        items += self._fetch_conversations(state.setdefault("conversations", {}), state.setdefault("messages", {}))
        if self.settings.get("support_tickets"):
            items += self._fetch_tickets(state.setdefault("tickets", {}))
        return FetchResult(items=items, state=state, credentials=self.new_credentials,
                           token_expires_at=self.token_expires_at if self.refreshed else None)

    def _mine(self, obj: dict[str, Any]) -> bool:
        return self.account_id is None or _opt_id(obj.get("account_id")) == self.account_id

    def _fetch_comments(self, mark: dict[str, Any]) -> list[Any]:
        comments = [c for c in self._walk("comment", {"with": COMMENT_WITH}, mark, "date") if self._mine(c)]
        comments.sort(key=lambda c: (_when(c.get("date"), self.tz), str(c.get("id"))))
        posts: dict[str, PostRecord] = {}
        items: list[Any] = []
        for comment in comments:
            post = comment.get("accountPost")
            if isinstance(post, dict):
                record = post_record(post, _opt_id(comment.get("post_id")), self.tz)
                if record is not None:
                    posts.setdefault(record.external_id, record)
            items.append(comment_item(comment, self.tz, self.settings))
        return [*posts.values(), *items]

    def _fetch_conversations(self, mark: dict[str, Any], messages_mark: dict[str, Any]) -> list[InboundItem]:
        """Conversations whose ``update_date`` moved, then their messages newer than the last pass
        (all of the latest BACKFILL_MESSAGES for a conversation we have not seen before)."""
        changed = [c for c in self._walk("conversation", {}, mark, "update_date") if self._mine(c)]
        known = set(mark.get("known") or [])
        since = parse_date(messages_mark.get("hw"))
        seen = set(messages_mark.get("seen") or [])
        items: list[InboundItem] = []
        newest, tokens = since, set()
        for conversation in changed:
            cid = str(conversation["id"])
            messages = self._messages(cid)
            fresh = since is None or cid not in known
            candidates = messages[-BACKFILL_MESSAGES:] if fresh else [m for m in messages if _after(m, since, self.tz)]
            items += self._conversation_items(conversation, [m for m in candidates if _token(m, "date") not in seen])
            for message in messages:
                when = parse_date(message.get("date"), self.tz)
                newest = when if when and (newest is None or when > newest) else newest
                tokens.add(_token(message, "date"))
            known.add(cid)
        mark["known"] = sorted(known, key=_int_key)[-KNOWN_MAX:]
        if newest is not None:
            messages_mark["hw"] = newest.isoformat()
            messages_mark["seen"] = _prune(seen | tokens, newest, self.tz)
        items.sort(key=lambda i: (i.created_at, _int_key(i.message_external_id.split(":", 1)[1])))
        return items

    def _conversation_items(self, conversation: dict[str, Any], messages: list[dict[str, Any]]) -> list[InboundItem]:
        participants = _participants(conversation)
        tags = _tag_names(conversation.get("tags"))
        items = []
        for message in messages:
            item = message_item(message, self.tz, self.settings, participants)
            items.append(_with_conversation(item, conversation, tags) if item.direction == "in" else item)
        return items

    def _messages(self, conversation_id: str) -> list[dict[str, Any]]:
        """``GET /conversation/:id/messages`` (a plain array), sorted oldest first."""
        answer = self.request("GET", f"conversation/{quote(conversation_id, safe='')}/messages",
                              params={"with": MESSAGE_WITH})
        messages = _page(answer, cursor=False).data
        messages.sort(key=lambda m: (_when(m.get("date"), self.tz), _int_key(str(m.get("id")))))
        return messages

    def _walk(self, path: str, params: dict[str, Any], mark: dict[str, Any], date_key: str) -> list[dict[str, Any]]:
        """Read a newest-first CursorPagination list down to what the last pass saw.

        ``mark`` keeps ``hw`` (the newest date seen), ``seen`` (what was seen within OVERLAP of it,
        as ``id@date``) and ``walk`` (where an unfinished walk goes on). The first pass reads
        BACKFILL_PAGES; later ones up to INCREMENTAL_PAGES, and if that is not enough to reach
        known ground the next pass continues from there, so nothing in between is skipped.
        """
        first = "hw" not in mark
        hw = parse_date(mark.get("hw"))
        seen = set(mark.get("seen") or [])
        walk = mark.get("walk") or {}
        cursor: dict[str, str] | None = walk.get("after")
        newest = parse_date(walk.get("newest")) if walk.get("newest") else None
        found: list[dict[str, Any]] = []
        complete = False
        for _ in range(BACKFILL_PAGES if first else INCREMENTAL_PAGES):
            page = self._list(path, {**params, **(cursor or {})}, cursor=True)
            for obj in page.data:
                when = parse_date(obj.get(date_key), self.tz)
                if when is not None and (newest is None or when > newest):
                    newest = when
                if hw is not None and when is not None and when < hw - OVERLAP:
                    complete = True
                    break
                if _token(obj, date_key) not in seen and _opt_id(obj.get("id")):
                    found.append(obj)
            if complete or page.next is None:
                complete = True
                break
            cursor = page.next
        _remember(mark, found, seen, newest, date_key, self.tz, complete or first, cursor)
        return found

    def _fetch_tickets(self, mark: dict[str, Any]) -> list[InboundItem]:
        """``GET /ticket`` (Paginate) and, for new, open or newly closed tickets, their messages
        (``GET /ticket/:id/meta``). A ticket has no "updated" date, so open ones are re-read."""
        known: dict[str, dict[str, Any]] = mark.setdefault("known", {})
        items: list[InboundItem] = []
        page_no, params = 1, {}
        for _ in range(TICKET_PAGES):
            page = self._list("ticket", params, cursor=False, page=page_no)
            for ticket in page.data:
                items += self._ticket_update(ticket, known)
            if page.next is None:
                break
            params, page_no = page.next, page_no + 1
        if len(known) > KNOWN_MAX:
            mark["known"] = dict(sorted(known.items(), key=lambda kv: _int_key(kv[0]))[-KNOWN_MAX:])
        return items

    def _ticket_update(self, ticket: dict[str, Any], known: dict[str, dict[str, Any]]) -> list[InboundItem]:
        tid = _opt_id(ticket.get("id"))
        if tid is None:
            return []
        before = known.get(tid)
        closed = ticket_closed(ticket)
        if before and before.get("closed") and closed:
            return []
        metas = sorted(self.ticket_meta(tid), key=lambda m: _int_key(str(m.get("id"))))
        last = int(before.get("meta") or 0) if before else 0
        new = [m for m in metas if _int_key(str(m.get("id"))) > last]
        if closed and before and not before.get("closed") and not new and metas:
            new = metas[-1:]          # nothing new to say, but the ticket was closed: carry that
        known[tid] = {"closed": closed, "meta": max([last] + [_int_key(str(m.get("id"))) for m in metas])}
        return ticket_items(ticket, new, self.tz)

    # -- outbound -------------------------------------------------------------------------------

    @staticmethod
    def validate_reply(ticket_kind: str, text: str) -> str:
        text = (text or "").strip()
        if not text:
            raise ReplyRejected("empty_reply", "Write a reply first.")
        limit = REPLY_LIMITS.get(ticket_kind, min(REPLY_LIMITS.values()))
        if len(text) > limit:
            raise ReplyRejected("reply_too_long", f"Replies to this {ticket_kind} via Resont take at most "
                                                  f"{limit} characters (this one has {len(text)}).")
        return text

    @staticmethod
    def validate_action(kind: str, ticket_kind: str | None, params: dict[str, Any]) -> None:
        if kind not in ACTION_KINDS:
            raise ActionRejected("unsupported_action", f"Resont cannot {kind}.")
        if ticket_kind not in ACTION_KINDS[kind]:
            raise ActionRejected("not_applicable", f"{kind.capitalize()} does not apply to a Resont "
                                                   f"{ticket_kind or 'channel'}.")
        if kind == "reply":
            _validate_reply_params(ticket_kind, params)
        if kind == "tag":
            tags = params.get("tags")
            if not isinstance(tags, list) or not all(isinstance(t, str) and t.strip() for t in tags):
                raise ActionRejected("invalid_tags", "tags must be a list of tag names")
            if any(len(t.strip()) > TAG_NAME_MAX for t in tags):
                raise ActionRejected("invalid_tags", f"Resont tag names take at most {TAG_NAME_MAX} characters")

    def perform(self, kind: str, target: Target, params: dict[str, Any]) -> ActionResult:
        handler = {
            ("reply", TicketKind.COMMENT): self._reply_comment,
            ("reply", TicketKind.CONVERSATION): self._reply_conversation,
            ("reply", TicketKind.TICKET): self._reply_ticket,
            ("like", TicketKind.COMMENT): self._like_comment, ("unlike", TicketKind.COMMENT): self._like_comment,
            ("like", TicketKind.CONVERSATION): self._like_message,
            ("unlike", TicketKind.CONVERSATION): self._like_message,
            ("delete", TicketKind.COMMENT): self._delete_comment,
            ("tag", TicketKind.COMMENT): self._tag, ("tag", TicketKind.CONVERSATION): self._tag,
            ("tag", TicketKind.TICKET): lambda *_: ActionResult(),
            ("close", TicketKind.TICKET): self._close_ticket,
        }.get((kind, target.kind))
        if handler is None:
            raise ProviderError("unsupported_action", f"Resont cannot {kind} a {target.kind or 'channel'}")
        result = handler(kind, target, params)
        return ActionResult(external_id=result.external_id, data=result.data, credentials=self.new_credentials)

    def _reply_comment(self, kind: str, target: Target, params: dict[str, Any]) -> ActionResult:
        """``POST /comment/:id/reply`` {comment, username}: username is the commenter's; a
        webhook body has only their id, so it is looked up once when we do not have it."""
        cid = _target_id(target, "comment_id", "comment")
        username = str(target.data.get("username") or "")
        if not username:
            username = _author(self.comment(cid).get("socialUser"), None).username
        created = self.request("POST", f"comment/{quote(cid, safe='')}/reply",
                               data={"comment": params["text"], "username": username})
        new_id = _opt_id(created.get("id")) if isinstance(created, dict) else None
        return ActionResult(external_id=f"comment:{new_id}" if new_id else None, data={"username": username})

    def _reply_conversation(self, kind: str, target: Target, params: dict[str, Any]) -> ActionResult:
        """``POST /conversation/:id/reply`` {content, attachment?}; a file goes as multipart."""
        cid = _target_id(target, "conversation_id", "conversation")
        files = None
        if params.get("attachment_url"):
            files = {"attachment": self._download(str(params["attachment_url"]))}
        created = self.request("POST", f"conversation/{quote(cid, safe='')}/reply",
                               data={"content": params.get("text") or ""}, files=files)
        new_id = _opt_id(created.get("id")) if isinstance(created, dict) else None
        return ActionResult(external_id=f"message:{new_id}" if new_id else None)

    def _reply_ticket(self, kind: str, target: Target, params: dict[str, Any]) -> ActionResult:
        """``POST /ticket/:id/meta`` {content}. Its answer is the Ticket, not the new message, so
        the message id is looked up afterwards (best effort: the reply is already sent)."""
        tid = _target_id(target, "ticket_id", "ticket")
        files = {"attachment": self._download(str(params["attachment_url"]))} if params.get("attachment_url") else None
        self.request("POST", f"ticket/{quote(tid, safe='')}/meta", data={"content": params["text"]}, files=files)
        try:
            ours = [m for m in self.ticket_meta(tid) if not _truthy((m.get("user") or {}).get("isAdmin"))
                    and str(m.get("content") or "").strip() == params["text"].strip()]
        except ProviderError:
            ours = []
        last = max(ours, key=lambda m: _int_key(str(m.get("id"))), default=None)
        return ActionResult(external_id=f"ticketmeta:{last['id']}" if last else None)

    def _like_comment(self, kind: str, target: Target, params: dict[str, Any]) -> ActionResult:
        """``PUT /comment/:id/like`` toggles, so it is only called when the state must change."""
        want = kind == "like"
        if _truthy(target.data.get("liked")) == want:
            return ActionResult(data={"liked": want})
        cid = _target_id(target, "comment_id", "comment")
        _ok(self.request("PUT", f"comment/{quote(cid, safe='')}/like"), f"{kind} the comment")
        return ActionResult(data={"liked": want})

    def _like_message(self, kind: str, target: Target, params: dict[str, Any]) -> ActionResult:
        """``PUT /conversation/message/:messageId/reaction`` {type: like} on the latest inbound
        message (like), or on the message we liked (unlike: the reaction toggles too)."""
        liked_id = _opt_id(target.data.get("liked_message_id"))
        if kind == "like":
            message_id = _strip(target.message_external_id, "message:") or _opt_id(target.data.get("last_message_id"))
            if not message_id:
                raise ProviderError("no_message", "There is no message in this conversation to like")
            if liked_id == message_id:
                return ActionResult(data={"liked": True, "liked_message_id": message_id})
        else:
            message_id = liked_id
            if not message_id:
                return ActionResult(data={"liked": False, "liked_message_id": None})
        _ok(self.request("PUT", f"conversation/message/{quote(message_id, safe='')}/reaction",
                         data={"type": "like"}), f"{kind} the message")
        return ActionResult(data={"liked": kind == "like", "liked_message_id": message_id if kind == "like" else None})

    def _delete_comment(self, kind: str, target: Target, params: dict[str, Any]) -> ActionResult:
        """``DELETE /comment/:id``. A 404 means it is already gone, which is what was asked."""
        cid = _target_id(target, "comment_id", "comment")
        try:
            _ok(self.request("DELETE", f"comment/{quote(cid, safe='')}"), "delete the comment")
        except ProviderError as exc:
            if exc.code != "not_found":
                raise
        return ActionResult(data={"deleted": True})

    def _tag(self, kind: str, target: Target, params: dict[str, Any]) -> ActionResult:
        """``POST /comment/:id/tag`` or ``/conversation/:id/tag`` with ``tag[]`` = Resont tag ids;
        names are matched to Resont's tags (case-insensitively) and missing ones created."""
        what = "comment" if target.kind == TicketKind.COMMENT else "conversation"
        object_id = _target_id(target, f"{what}_id", what)
        names = [n.strip() for n in params.get("tags") or []]
        ids = self._tag_ids(what, names)
        # An empty list cannot be form-encoded as ``tag[]``: an empty ``tag`` clears the tags.
        form = {"tag[]": ids} if ids else {"tag": ""}
        self.request("POST", f"{what}/{quote(object_id, safe='')}/tag", data=form)
        return ActionResult(data={"tags": names, "resont_tag_ids": ids})

    def _tag_ids(self, what: str, names: list[str]) -> list[str]:
        existing = {str(t.get("name") or "").strip().lower(): str(t["id"]) for t in self.tags(what) if t.get("id")}
        ids = []
        for name in dict.fromkeys(names):
            tag_id = existing.get(name.lower())
            if tag_id is None:
                created = self.create_tag(what, name)
                if not isinstance(created, dict) or not created.get("id"):
                    raise ProviderError("unexpected_answer", f"Resont created tag {name!r} but gave no id")
                tag_id = existing[name.lower()] = str(created["id"])
            ids.append(tag_id)
        return ids

    def _close_ticket(self, kind: str, target: Target, params: dict[str, Any]) -> ActionResult:
        tid = _target_id(target, "ticket_id", "ticket")
        _ok(self.request("PUT", f"ticket/{quote(tid, safe='')}/close"), "close the ticket")
        return ActionResult(data={"closed": True})

    def _download(self, url: str) -> tuple[str, bytes, str]:
        """Fetch an attachment to upload it (the docs take a File, not a URL)."""
        if urlsplit(url).scheme not in ("http", "https"):
            raise ProviderError("invalid_attachment", "The attachment must be an http(s) URL")
        try:
            with self.client.stream("GET", url, follow_redirects=True) as response:
                if response.status_code != 200:
                    raise ProviderError("attachment_unavailable",
                                        f"Could not download the attachment ({response.status_code})")
                body = b""
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > ATTACHMENT_MAX_BYTES:
                        raise ProviderError("attachment_too_large", "The attachment is larger than 25 MB")
                ctype = response.headers.get("content-type", "").split(";")[0].strip()
        except httpx.HTTPError as exc:
            raise RetryableError("attachment_unreachable", f"Could not download the attachment: {exc}") from exc
        name = urlsplit(url).path.rsplit("/", 1)[-1] or "attachment"
        return name, body, ctype or mimetypes.guess_type(name)[0] or "application/octet-stream"


# ------------------------------------------------------------------------------------ helpers

def _validate_reply_params(ticket_kind: str, params: dict[str, Any]) -> None:
    attachment = params.get("attachment_url")
    if attachment:
        if ticket_kind == TicketKind.COMMENT:
            raise ActionRejected("no_attachments", "Resont comment replies are text only")
        if urlsplit(str(attachment)).scheme not in ("http", "https"):
            raise ActionRejected("invalid_attachment", "attachment_url must be an http(s) URL")
        if not str(params.get("text") or "").strip():
            return
    try:
        ResontConnector.validate_reply(ticket_kind, str(params.get("text") or ""))
    except ReplyRejected as exc:
        raise ActionRejected(exc.code, exc.message) from exc


def _account_info(account: dict[str, Any]) -> dict[str, Any]:
    """The Account for the channel page, minus secrets (a Telegram bot's API key in ``meta``)."""
    info = dict(account)
    if isinstance(info.get("meta"), dict):
        info["meta"] = {k: v for k, v in info["meta"].items() if "apikey" not in k.lower()}
    if _truthy(info.get("login_required")) and not info.get("relogin_reason"):
        info["relogin_reason"] = "Resont asks you to log in to this account again."
    return info


def _participants(conversation: dict[str, Any]) -> set[str]:
    found = set()
    for p in conversation.get("participants") or []:
        if isinstance(p, dict) and _opt_id(p.get("social_user_id")):
            found.add(str(p["social_user_id"]))
    return found


def _with_conversation(item: InboundItem, conversation: dict[str, Any], tags: tuple[str, ...] | None) -> InboundItem:
    """Add what the conversation itself says (its tags, status) to an inbound message."""
    data = {**item.ticket_data, "status": conversation.get("status")}
    if tags is not None:
        data["tags"] = list(tags)
    return replace(item, ticket_data=_compact(data), tags=tags)


def _token(obj: dict[str, Any], date_key: str) -> str:
    return f"{obj.get('id')}@{obj.get(date_key)}"


def _after(obj: dict[str, Any], since: datetime, tz: str) -> bool:
    when = parse_date(obj.get("date"), tz)
    return when is None or when >= since - OVERLAP


def _remember(mark: dict[str, Any], found: list[dict[str, Any]], seen: set[str], newest: datetime | None,
              date_key: str, tz: str, complete: bool, cursor: dict[str, str] | None) -> None:
    """Save the resume point of a walk (see ``ResontConnector._walk``)."""
    if complete:
        mark.pop("walk", None)
        mark["hw"] = newest.isoformat() if newest is not None else mark.get("hw")
    else:
        mark["walk"] = {"after": cursor, "newest": newest.isoformat() if newest else None}
    seen = seen | {_token(o, date_key) for o in found}
    hw = parse_date(mark.get("hw"))
    mark["seen"] = _prune(seen, hw, tz) if hw is not None else sorted(seen)[-SEEN_MAX:]


def _prune(tokens: set[str], newest: datetime, tz: str) -> list[str]:
    """Keep the ``id@date`` tokens inside the overlap window (those may be read again)."""
    window = newest - OVERLAP
    kept = {t for t in tokens if (parse_date(t.split("@", 1)[1], tz) or newest) >= window}
    return sorted(kept)[-SEEN_MAX:]


def _target_id(target: Target, key: str, prefix: str) -> str:
    value = _opt_id(target.data.get(key)) or _strip(target.external_id, f"{prefix}:")
    if not value:
        raise ProviderError("missing_id", f"This ticket carries no Resont {prefix} id")
    return value


def _strip(value: str | None, prefix: str) -> str | None:
    if not value:
        return None
    return value.removeprefix(prefix)


def _int_key(value: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _tag_color(name: str) -> str:
    return TAG_COLORS[hashlib.sha1(name.lower().encode()).digest()[0] % len(TAG_COLORS)]


Connector = ResontConnector
