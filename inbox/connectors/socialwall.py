"""SocialWall Pro Get and Create Content API (shared/specs/socialwall-pro-content-api.txt).

A wall gathers accepted posts from many networks (Instagram, Twitter, web messages ...). We poll
it: ``GET {base}/api/event/{wallId}/messages/{number}`` on the first pass, then
``GET {base}/api/event/{wallId}/messages/last/{messageId}/{number}`` from the newest message seen.
The docs warn that the answer may include ``{messageId}`` itself and that the caller must check
what it already received, so every pass dedupes against the cursor and the ids seen recently.

The one write is Create Content: ``POST {base}/api/event/inject/{wallId}`` with the key in the
``x-api-key`` header and ``{"text", "avatarName", "realName"?, "mediaUrl"?}``. Errors come as
``{"error": true, "message": "..."}``; the docs give no HTTP statuses for them, so the body's
message decides what they mean, and it reaches the agent verbatim.
"""
from __future__ import annotations

import mimetypes
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from inbox.links import http_url
from inbox.netguard import UnsafeURL, check_url, guarded_client
from models import TicketKind, utcnow

from .base import (TIMEOUT, USER_AGENT, ActionResult, AuthError, Author, ConnectResult, Connector,
                   FetchResult, InboundItem, ProviderError, Rejected, Target, call, retry_after)

DEFAULT_BASE_URL = "https://tool.socialwallpro.com"
FIRST_SYNC = 50          # messages fetched on the first pass (the last N accepted ones)
PAGE_SIZE = 50           # {number} asked for on incremental passes
MAX_PAGES = 20           # a pass stops after this many pages; the next pass continues from the cursor
RECENT_IDS = 200         # ids remembered across passes, to drop repeats the server sends again
DEFAULT_AVATAR_NAME = "inbox"   # avatarName is mandatory; used when neither the request nor settings give one

# Every documented error message -> (our code, is it about the key / wall, i.e. needs an admin).
ERRORS: dict[str, tuple[str, bool]] = {
    "Mandatory field missing": ("mandatory_field_missing", False),
    "The media URL provided isn't a valid URL": ("invalid_media_url", False),
    "Request malformed": ("request_malformed", False),
    "API Key is incorrect": ("invalid_api_key", True),
    "API Key is missing (from header or query string)": ("missing_api_key", True),
    "You can't use that event": ("event_forbidden", True),
    "Event not found": ("event_not_found", True),
    "You can't use that event (event is stopped)": ("event_stopped", False),
}
GET_CONTENT_REFUSED = ("SocialWall Pro did not return the wall's messages: is the Get Content API enabled "
                       "on your account (Premium)?")
VIDEO_EXTENSIONS = (".mp4", ".mov", ".m4v", ".webm", ".avi", ".mkv")


def wall_ticket_id(message_id: str) -> str:
    return f"wall:{message_id}"


def is_http_url(value: Any) -> bool:
    """What "a valid URL" means for mediaUrl: an absolute http(s) URL without spaces."""
    if not isinstance(value, str) or not value or any(c.isspace() for c in value):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


class SocialWallConnector(Connector):
    provider = "socialwall"
    network = default_network = "socialwall"
    DEFAULT_BASE_URL = DEFAULT_BASE_URL
    credential_fields = ("api_key",)
    polled = True                       # Get Content is pull-only; the docs name no webhooks
    webhooks = False                   # pull-only
    ACTIONS: frozenset[str] = frozenset()
    CHANNEL_ACTIONS = frozenset({"inject"})

    def __init__(self, base_url: str, credentials: dict[str, Any], settings: dict[str, Any] | None = None,
                 client: httpx.Client | None = None):
        self.base_url = base_url.rstrip("/")
        self.api_key = str(credentials["api_key"])
        self.settings = dict(settings or {})
        self.client = client or guarded_client(timeout=TIMEOUT, headers={"User-Agent": USER_AGENT})

    # -- settings -------------------------------------------------------------------------------

    @property
    def wall_id(self) -> str:
        """The wall this channel reads and injects into; required, checked when it is first needed."""
        wall_id = str(self.settings.get("wall_id") or "").strip()
        if not wall_id:
            raise ProviderError("missing_settings",
                                "SocialWall Pro needs settings.wall_id: the id in your wall's URL in the tool "
                                "(e.g. 9074 in …/event/9074)")
        return wall_id

    def _url(self, *parts: str) -> str:
        return "/".join([self.base_url, "api", "event", *(quote(p, safe="") for p in parts)])

    # -- the documented calls ----------------------------------------------------------------

    def _request(self, method: str, url: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """One call with the key in the ``x-api-key`` header; documented errors become ours.

        The docs pin the key's header for Create Content; Get Content is an account feature too,
        so the same header goes on every call (a server that does not need it ignores it).
        """
        response = call(self.client, method, url, json=body, headers={"x-api-key": self.api_key})
        data = _json_object(response)
        if response.status_code == 429 or response.status_code >= 500:
            raise ProviderError("provider_busy", f"SocialWall Pro answered {response.status_code}; will retry",
                                 status=response.status_code, retryable=True, retry_after=retry_after(response))
        if data is not None and data.get("error") is True:
            raise documented_error(data.get("message"), response.status_code)
        if data is not None and data.get("result") is False:
            cls = AuthError if response.status_code in (401, 403) else ProviderError
            raise cls("get_content_refused", _message(data) or GET_CONTENT_REFUSED, status=response.status_code)
        if response.status_code >= 400 or data is None:
            detail = f": {data['message']}" if data and isinstance(data.get("message"), str) else ""
            cls = AuthError if response.status_code in (401, 403) else ProviderError
            raise cls("unexpected_answer", f"SocialWall Pro answered {response.status_code}{detail}",
                      status=response.status_code)
        return data

    def get_messages(self, number: int) -> list[dict[str, Any]]:
        """``GET api/event/{wallId}/messages/{number}``: the last ``number`` accepted messages."""
        return self._messages(self._url(self.wall_id, "messages", str(number)))

    def get_messages_after(self, message_id: str, number: int) -> list[dict[str, Any]]:
        """``GET api/event/{wallId}/messages/last/{messageId}/{number}``: messages following
        ``message_id`` (possibly including it: the caller dedupes)."""
        return self._messages(self._url(self.wall_id, "messages", "last", message_id, str(number)))

    def _messages(self, url: str) -> list[dict[str, Any]]:
        data = self._request("GET", url)
        messages = data.get("messages")
        if data.get("result") is not True or not isinstance(messages, list):
            raise ProviderError("get_content_refused", _message(data) or GET_CONTENT_REFUSED)
        return [m for m in messages if isinstance(m, dict) and message_id_of(m)]

    def inject(self, *, text: str, avatar_name: str, real_name: str | None = None,
               media_url: str | None = None) -> list[Any]:
        """``POST api/event/inject/{wallId}``; returns the ``injected`` wall ids.

        The docs spell the media field ``mediaUrl`` in both JSON examples and ``mediaURL`` in both
        parameter tables, so it is sent under both names (same value): either reading works.
        """
        body: dict[str, Any] = {"text": text, "avatarName": avatar_name}
        if real_name:
            body["realName"] = real_name
        if media_url:
            body["mediaUrl"] = body["mediaURL"] = media_url
        data = self._request("POST", self._url("inject", self.wall_id), body)
        injected = data.get("injected")
        return injected if isinstance(injected, list) else []

    # -- what the inbox asks of every connector ---------------------------------------------

    def connect(self) -> list[ConnectResult]:
        """Verify the wall (Get Content, last 1) and the key (a Create Content probe) now.

        Get Content may not check the key on a real server, so the key is also tried on the
        inject endpoint with an empty body: the docs make ``avatarName`` mandatory, so nothing
        can be injected and the answer tells whether key and wall are accepted
        ("Mandatory field missing") or not (the key / wall messages). A stopped wall can still
        be read, so it connects, with injection marked unavailable.
        """
        wall_id = self.wall_id
        latest = self.get_messages(1)
        inject_status = self._probe_inject()
        info = {"wall_id": wall_id, "inject": inject_status,
                "latest_message_id": message_id_of(latest[0]) if latest else None}
        return [ConnectResult(account_ref=f"wall:{wall_id}", name=f"SocialWall {wall_id}", network=self.network,
                              info=info, settings={"wall_id": wall_id})]

    def _probe_inject(self) -> str:
        try:
            self._request("POST", self._url("inject", self.wall_id), {})
        except ProviderError as exc:   # "Mandatory field missing": key and wall were accepted
            if isinstance(exc, AuthError) or exc.retryable:
                raise
            return "stopped" if exc.code == "event_stopped" else "available"
        return "available"

    def setup(self, webhook_url: str) -> None:
        """Nothing to register: SocialWall Pro has no webhooks, the channel is polled."""

    def fetch(self, state: dict[str, Any]) -> FetchResult:
        """One pass: the last ``FIRST_SYNC`` messages at first, then pages after the cursor."""
        last_id = state.get("last_id")
        recent = [str(i) for i in state.get("recent_ids") or []]
        if last_id:
            messages = self._pages_after(str(last_id), set(recent))
        else:
            messages = dedupe(self.get_messages(FIRST_SYNC), set())
        messages.sort(key=order_key)
        new_ids = [message_id_of(m) for m in messages]
        new_state = {**state, "last_id": new_ids[-1] if new_ids else last_id,
                     "recent_ids": (recent + new_ids)[-RECENT_IDS:]}
        items = [self.to_item(m, self.wall_id) for m in messages]
        return FetchResult(items=items, state=new_state)

    def _pages_after(self, cursor: str, seen: set[str]) -> list[dict[str, Any]]:
        """Follow ``messages/last/{cursor}/{n}`` while pages come back full of new messages."""
        found: list[dict[str, Any]] = []
        seen = seen | {cursor}
        for _ in range(MAX_PAGES):
            page = self.get_messages_after(cursor, PAGE_SIZE)
            new = dedupe(page, seen)
            found += new
            seen |= {message_id_of(m) for m in new}
            if len(page) < PAGE_SIZE or not new:
                break
            cursor = message_id_of(max(new, key=order_key))
        return found

    @staticmethod
    def validate_reply(ticket_kind: str, text: str) -> str:
        raise Rejected("replies_unsupported",
                            "SocialWall Pro has no replies: post to the wall with the channel's inject action.")

    @staticmethod
    def validate_action(kind: str, ticket_kind: str | None, params: dict[str, Any]) -> None:
        """Refuse what the API would refuse, before it is queued (text, avatarName, mediaUrl)."""
        if kind != "inject":
            raise Rejected("unsupported_action", f"SocialWall Pro cannot {kind}")
        if not str(params.get("text") or "").strip():
            raise Rejected("missing_text", "Write the message's text first.")
        for field in ("avatar_name", "real_name"):
            if params.get(field) is not None and not isinstance(params[field], str):
                raise Rejected(f"invalid_{field}", f"{field} must be a string")
        media_url = params.get("media_url")
        if media_url not in (None, "") and not is_http_url(media_url):
            raise Rejected("invalid_media_url", "The media URL must be a full http(s):// address "
                                 "(SocialWall Pro: \"The media URL provided isn't a valid URL\").")
        if media_url:
            try:   # the wall fetches it: no private address, like every URL a user sets
                check_url(media_url)
            except UnsafeURL as exc:
                raise Rejected("invalid_media_url", f"The media URL cannot be used: {exc.message}.") from exc

    def perform(self, kind: str, target: Target, params: dict[str, Any]) -> ActionResult:
        """``inject``: Create Content in this channel's wall; the answer lists the wall ids."""
        if kind != "inject":
            raise ProviderError("unsupported_action", f"SocialWall Pro cannot {kind}")
        settings = {**target.channel_settings, **self.settings}
        avatar_name = str(params.get("avatar_name") or settings.get("avatar_name") or DEFAULT_AVATAR_NAME)
        injected = self.inject(text=str(params.get("text") or "").strip(), avatar_name=avatar_name,
                               real_name=params.get("real_name") or None, media_url=params.get("media_url") or None)
        return ActionResult(data={"injected": injected, "avatar_name": avatar_name})

    # -- webhooks: none -------------------------------------------------------------------------

    @classmethod
    def parse(cls, payload: Any, settings: dict[str, Any] | None = None) -> list[InboundItem]:
        raise Rejected("no_webhooks", "SocialWall Pro sends no webhooks; this channel is polled")

    # -- documented message -> inbound item -------------------------------------------------

    @classmethod
    def to_item(cls, message: dict[str, Any], wall_id: str) -> InboundItem:
        """One accepted wall message as a ``wall_post`` ticket of its own."""
        message_id = message_id_of(message)
        network = origin_network(message)
        avatar = message.get("avatarMediaJson") if isinstance(message.get("avatarMediaJson"), dict) else {}
        screen_name = str(avatar.get("twitterUserScreenName") or "")
        user_id = avatar.get("twitterUserId")
        author = Author(external_id=f"{network}:{user_id if user_id not in (None, 0, '0', '') else screen_name}",
                        username=screen_name, name=str(avatar.get("twitterUserName") or screen_name))
        media = [u for u in (media_url_of(m) for m in message.get("mediaJsons") or [] if isinstance(m, dict)) if u]
        media_type = guess_media_type(media[0]) if media else None
        kind = "text" if not media else ("video" if (media_type or "").startswith("video/") else "image")
        tags = message.get("tags") if isinstance(message.get("tags"), dict) else {}
        data = {"origin_network": network, "grab_origin": message.get("grabOrigin"), "wall_id": str(wall_id),
                "message_id": message_id, "username": screen_name, "avatar_url": media_url_of(avatar),
                "media": media, "tags": sorted(str(v) for v in tags.values()), "lang": message.get("lang"),
                "in_reply_to": message.get("inReplyStringMessageId")}
        return InboundItem(
            ticket_kind=TicketKind.WALL_POST, ticket_external_id=wall_ticket_id(message_id),
            message_external_id=wall_ticket_id(message_id), author=author, text=str(message.get("text") or ""),
            created_at=from_millis(message.get("creationDate")), message_kind=kind,
            media_url=media[0] if media else None, media_type=media_type, ticket_data=data, network=network)

    @classmethod
    def parse_messages(cls, body: Any, wall_id: str) -> list[InboundItem]:
        """A whole Get Content answer (``{"result": true, "messages": [...]}``) as items, oldest first."""
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            raise ValueError("expected {\"result\": true, \"messages\": [...]}")
        messages = sorted(dedupe([m for m in body["messages"] if isinstance(m, dict)], set()), key=order_key)
        return [cls.to_item(m, wall_id) for m in messages]


# -- helpers ------------------------------------------------------------------------------------

def documented_error(message: Any, status: int | None) -> ProviderError:
    """A ``{"error": true, "message": ...}`` body as our error, keeping the message verbatim.

    Key and wall problems need an admin (AuthError: the channel is flagged); the rest are about
    this one request. An undocumented message still reaches the agent as it is.
    """
    text = message if isinstance(message, str) and message.strip() else "SocialWall Pro refused the request"
    code, needs_admin = ERRORS.get(text.strip(), ("provider_error", False))
    cls = AuthError if needs_admin else ProviderError
    return cls(code, text, status=status)


def _message(data: dict[str, Any]) -> str | None:
    value = data.get("message")
    return value if isinstance(value, str) and value.strip() else None


def _json_object(response: httpx.Response) -> dict[str, Any] | None:
    try:
        data = response.json()
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def message_id_of(message: dict[str, Any]) -> str:
    """``stringMessageId`` (the numeric ids overflow JSON numbers, hence the string form)."""
    for key in ("stringMessageId", "messageId", "stringTweetId"):
        value = message.get(key)
        if value not in (None, ""):
            return str(value)
    return ""


def order_key(message: dict[str, Any]) -> tuple[int, int, int]:
    """Wall order: when the message was accepted (``moderatedAt``), else created; ties by id."""
    created = _int(message.get("creationDate"))
    accepted = _int(message.get("moderatedAt")) or created
    digits = message_id_of(message)
    return accepted, created, int(digits) if digits.isdigit() else 0


def dedupe(messages: list[dict[str, Any]], seen: set[str]) -> list[dict[str, Any]]:
    """Drop messages already received (the docs leave this to the caller) and repeats in one answer."""
    out, ids = [], set(seen)
    for message in messages:
        message_id = message_id_of(message)
        if message_id and message_id not in ids:
            ids.add(message_id)
            out.append(message)
    return out


def origin_network(message: dict[str, Any]) -> str:
    """The network the wall grabbed the message from (``type``: instagram, twitter ...), as the
    ticket's ``network``: agents filter the queue by it; the provider stays ``socialwall``."""
    value = message.get("type") or message.get("grabOrigin") or "web"
    return (str(value).strip().lower().replace(" ", "_") or "web")[:30]


def media_url_of(media: dict[str, Any]) -> str | None:
    """SocialWall's own copy (``relativeMediaURL``, often protocol-relative) outlives the network's
    signed CDN link, so it comes first; ``originalURL`` is the fallback."""
    for key in ("relativeMediaURL", "originalURL"):
        value = media.get(key)
        if isinstance(value, str) and value.strip():
            value = value.strip()
            url = http_url(f"https:{value}" if value.startswith("//") else value)
            if url:      # a javascript: or data: link is dropped
                return url
    return None


def guess_media_type(url: str) -> str | None:
    path = urlsplit(url).path.lower()
    if path.endswith(VIDEO_EXTENSIONS):
        return mimetypes.guess_type(path)[0] or "video/mp4"
    return mimetypes.guess_type(path)[0] or "image/jpeg"


def from_millis(value: Any) -> datetime:
    """``creationDate`` is epoch milliseconds; stored as naive UTC."""
    millis = _int(value)
    if not millis:
        return utcnow()
    try:
        return datetime.fromtimestamp(millis / 1000, UTC).replace(tzinfo=None)
    except (OverflowError, OSError, ValueError):    # beyond the years a datetime holds
        return utcnow()


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):   # OverflowError: int(inf)
        return 0
