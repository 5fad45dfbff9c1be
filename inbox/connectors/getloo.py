"""Getloo Insta API (shared/specs/getloo-insta-api.ru.txt): Instagram DMs and comments.

Every call is ``{base_url}/{TOKEN}/{METHOD}``; answers are ``{"result": {...}, "channel": {...},
"error": ...}`` with HTTP 200, 400 (bad request), 401 (bad token) or 402 (no paid or authorised
channel). Incoming messages, comments and delivery reports arrive by webhook.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx

from inbox.links import http_url
from inbox.netguard import guarded_client
from models import FollowupStatus, TicketKind, to_utc_naive, utcnow

from .base import (TIMEOUT, USER_AGENT, ActionResult, AttachmentRule, AuthError, Author, ConnectResult, Connector,
                   DeliveryReport, FetchResult, InboundItem, ProviderError, Rejected, ReplyContext, ReplyLimits,
                   Target, call, retry_after)

DEFAULT_BASE_URL = "https://api.getloo.ru/insta"
CAPTION_MAX = 1000
# "device.comment_id ... По нему можно дать ответ в direct клиенту в течении 24 часов 1 раз":
# one private (direct) reply per comment, within 24 hours of it.
COMMENT_REPLY_WINDOW = timedelta(hours=24)
MB = 1024 * 1024
# "Поддерживаемые типы и максимальные размеры файлов". The docs write the voice type "acc" (aac is
# meant) and images as ".jpg" (a .jpeg is the same file): both spellings are taken.
ATTACHMENT_RULES = (
    AttachmentRule("image", ("jpg", "jpeg", "png", "ico", "bmp"), 8 * MB),
    AttachmentRule("audio", ("mp3", "aac", "acc", "m4a", "wav", "mp4"), 25 * MB),
    AttachmentRule("video", ("mp4",), 25 * MB),
)
DELIVERY_STATUSES = {"pending": FollowupStatus.SENT, "delivered": FollowupStatus.DELIVERED,
                     "read": FollowupStatus.READ, "fail": FollowupStatus.FAILED}
HTTP_ERRORS = {
    400: ("bad_request", "Getloo refused the request as invalid (400)"),
    401: ("invalid_token", "Getloo rejected the token (401): check it in your Getloo account"),
    402: ("no_active_channel",
          "Getloo has no paid and authorised Instagram channel for this token (402)"),
}


def conversation_id(user_id: str) -> str:
    return f"dm:{user_id}"


def comment_ticket_id(comment_id: str) -> str:
    return f"comment:{comment_id}"


class GetlooConnector(Connector):
    provider = "getloo"
    network = default_network = "instagram"
    DEFAULT_BASE_URL = DEFAULT_BASE_URL
    credential_fields = ("token",)
    polled = False              # Getloo has no list endpoints: webhooks only
    webhooks = True                   # the provider posts to our webhook_url
    ACTIONS = frozenset({"reply"})
    ATTACHMENT_KINDS = frozenset({TicketKind.CONVERSATION})   # sendMsg ``file``; comments take text only
    CHANNEL_ACTIONS: frozenset[str] = frozenset()

    def __init__(self, base_url: str, credentials: dict[str, Any], settings: dict[str, Any] | None = None,
                 client: httpx.Client | None = None):
        self.base_url = base_url.rstrip("/")
        self.token = str(credentials["token"])
        self.client = client or guarded_client(timeout=TIMEOUT, headers={"User-Agent": USER_AGENT})

    # -- the documented methods -------------------------------------------------------------

    def _call(self, http_method: str, method: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        url = f"{self.base_url}/{quote(self.token, safe='')}/{method}"
        response = call(self.client, http_method, url, json=body)
        try:
            data = response.json()
        except ValueError:
            data = {}
        error = data.get("error") if isinstance(data, dict) else None
        if response.status_code in HTTP_ERRORS:
            code, message = HTTP_ERRORS[response.status_code]
            detail = f": {error}" if error else ""
            cls = AuthError if response.status_code in (401, 402) else ProviderError
            raise cls(code, message + detail, status=response.status_code)
        if response.status_code == 429 or response.status_code >= 500:
            raise ProviderError("provider_busy", f"Getloo answered {response.status_code}; will retry",
                                 status=response.status_code, retryable=True, retry_after=retry_after(response))
        if response.status_code != 200 or not isinstance(data, dict):
            detail = f": {error}" if isinstance(error, str) and error else ""
            raise ProviderError("unexpected_answer", f"Getloo answered {response.status_code}{detail}",
                                status=response.status_code)
        if not (data.get("result") or {}).get("success"):
            raise ProviderError("not_successful", f"Getloo: {error or 'the request was not successful'}",
                                status=response.status_code)
        return data

    def get_info(self) -> dict[str, Any]:
        return self._call("GET", "getInfo")

    def get_url(self) -> dict[str, Any]:
        return self._call("GET", "getUrl")

    def get_webhook(self) -> str | None:
        return (self._call("GET", "getWebHook").get("channel") or {}).get("webhook")

    def set_webhook(self, url: str) -> dict[str, Any]:
        return self._call("POST", "setWebHook", {"url": url})

    def send_message(self, *, username: str, user_id: str, caption: str | None = None,
                     file: str | None = None, options: list[str] | None = None) -> str:
        """sendMsg; returns the queue_id that later delivery reports carry."""
        body: dict[str, Any] = {"username": username, "user_id": user_id}
        if caption:
            body["caption"] = caption
        if file:
            body["file"] = file
        if options:
            body["options"] = options
        data = self._call("POST", "sendMsg", body)
        queue_id = (data.get("result") or {}).get("queue_id")
        if not queue_id:
            raise ProviderError("unexpected_answer", "Getloo accepted the message but gave no queue_id")
        return str(queue_id)

    # -- what the inbox asks of every connector ---------------------------------------------

    def connect(self) -> list[ConnectResult]:
        """Check the token now: the admin connecting the channel needs the answer."""
        info = self.get_info()
        channel = info.get("channel") or {}
        if channel.get("status") is False:
            raise AuthError("channel_inactive",
                            "Getloo says this Instagram channel is not paid or not authorised")
        if not channel.get("user_id"):
            raise ProviderError("unexpected_answer", "Getloo's getInfo carried no channel.user_id")
        return [ConnectResult(account_ref=str(channel["user_id"]),
                              name=f"@{channel.get('username') or channel['user_id']}",
                              network=self.network, info=channel)]

    def setup(self, webhook_url: str) -> None:
        self.set_webhook(webhook_url)

    @staticmethod
    def validate_reply(ticket_kind: str, text: str) -> str:
        text = (text or "").strip()
        if not text:
            raise Rejected("empty_reply", "Write a reply first.")
        if len(text) > CAPTION_MAX:
            raise Rejected("reply_too_long",
                                f"Instagram replies via Getloo take at most {CAPTION_MAX} characters "
                                f"(this one has {len(text)}).")
        return text

    @classmethod
    def reply_limits(cls, ticket_kind: str, ticket_data: dict[str, Any], context: ReplyContext) -> ReplyLimits:
        """A DM: captions of at most 1,000 characters, files of the documented types and sizes.

        A comment is answered in direct (sendMsg to its ``comment_id``) once, within 24 hours of
        the comment, and with text only; the window runs from the comment's ``createdAt``.
        """
        if ticket_kind != TicketKind.COMMENT:
            return ReplyLimits(max_length=CAPTION_MAX, attachments=True, attachment_rules=ATTACHMENT_RULES)
        until = context.first_inbound_at + COMMENT_REPLY_WINDOW if context.first_inbound_at else None
        if context.replies:
            return ReplyLimits(can_reply=False, code="private_reply_used", reply_until=until, max_length=CAPTION_MAX,
                               reason="Instagram takes one private reply to a comment, and this comment has had it.")
        if until is not None and context.now >= until:
            return ReplyLimits(can_reply=False, code="reply_window_closed", reply_until=until, max_length=CAPTION_MAX,
                               reason="Instagram takes a private reply to a comment only within 24 hours of it; "
                                      "this comment is older.")
        return ReplyLimits(reply_until=until, max_length=CAPTION_MAX)

    @staticmethod
    def validate_action(kind: str, ticket_kind: str | None, params: dict[str, Any]) -> None:
        if kind != "reply":
            raise Rejected("unsupported_action", f"Getloo cannot {kind}")

    def send_reply(self, ticket_kind: str, ticket_data: dict[str, Any], text: str, file: str | None = None) -> str:
        """A DM goes to the interactor's user id, with a file if given (its URL: Getloo fetches it);
        a comment reply (text only) to the comment id."""
        if ticket_kind == TicketKind.COMMENT:
            if file:
                raise ProviderError("attachment_not_supported", "Getloo answers comments with text only")
            return self.send_message(username=ticket_data.get("username", ""), user_id=ticket_data["comment_id"],
                                     caption=text)
        return self.send_message(username=ticket_data.get("username", ""), user_id=ticket_data["user_id"],
                                 caption=text, file=file)

    def perform(self, kind: str, target: Target, params: dict[str, Any]) -> ActionResult:
        if kind != "reply":
            raise ProviderError("unsupported_action", f"Getloo cannot {kind}")
        return ActionResult(external_id=self.send_reply(target.kind, target.data, params.get("text") or "",
                                                        params.get("attachment_url")))

    def fetch(self, state: dict[str, Any]) -> FetchResult:
        return FetchResult(items=[], state=state)

    # -- webhooks -----------------------------------------------------------------------------

    @classmethod
    def parse(cls, payload: Any, settings: dict[str, Any] | None = None) -> list[InboundItem | DeliveryReport]:
        """Turn one documented webhook body into items; raises Rejected if it is malformed.

        Unknown event names with a well-formed body give an empty list (ignored, not an error).
        """
        if not isinstance(payload, dict) or not isinstance(payload.get("event"), dict):
            raise Rejected("malformed", "Expected a JSON object with an 'event' object")
        event = payload["event"]
        props = event.get("properties")
        device = payload.get("device") or {}
        if not isinstance(props, dict) or not isinstance(device, dict):
            raise Rejected("malformed", "event.properties and device must be objects")
        name = event.get("name")
        queue_id = props.get("queueId")
        if not queue_id or not isinstance(queue_id, str):
            raise Rejected("malformed", "event.properties.queueId is missing")
        at = _parse_time(event.get("createdAt"))
        if name in ("incomingMessage", "incomingComment"):
            return [cls._parse_incoming(name, queue_id, props, device, at)]
        status = props.get("status")
        if status is not None:
            if status not in DELIVERY_STATUSES:
                raise Rejected("malformed", f"Unknown delivery status {status!r}")
            return [DeliveryReport(external_id=queue_id, status=DELIVERY_STATUSES[status], at=at)]
        return []

    @staticmethod
    def _parse_incoming(name: str, queue_id: str, props: dict, device: dict, at: datetime) -> InboundItem:
        user_id = device.get("user_id")
        if not user_id:
            raise Rejected("malformed", "device.user_id is missing")
        if isinstance(user_id, bool) or not isinstance(user_id, (str, int)) or len(str(user_id)) > ID_MAX:
            raise Rejected("malformed", "device.user_id must be a string or a whole number")
        content = props.get("content") or {}
        if not isinstance(content, dict):
            raise Rejected("malformed", "event.properties.content must be an object")
        author = Author(external_id=str(user_id), username=_short(device.get("username")),
                        name=_short(device.get("profileName")))
        text = content.get("body") or ""
        if not isinstance(text, str):     # an object would otherwise be stored as its Python repr
            raise Rejected("malformed", "event.properties.content.body must be a string")
        mime = content.get("mimeType") if isinstance(content.get("mimeType"), str) else None
        if name == "incomingComment":
            comment_id = device.get("comment_id")
            if not comment_id:
                raise Rejected("malformed", "device.comment_id is missing on incomingComment")
            if isinstance(comment_id, bool) or not isinstance(comment_id, (str, int)) or len(str(comment_id)) > ID_MAX:
                raise Rejected("malformed", "device.comment_id must be a string or a whole number")
            return InboundItem(
                ticket_kind=TicketKind.COMMENT, ticket_external_id=comment_ticket_id(str(comment_id)),
                message_external_id=queue_id, author=author, text=text, created_at=at, message_kind="comment",
                ticket_data={"comment_id": str(comment_id), "user_id": str(user_id), "username": author.username})
        kind = str(props.get("type") or "text")
        if kind == "image" and isinstance(mime, str) and mime.startswith("video/"):
            kind = "video"   # the docs' video example is typed "image" with a video mimeType
        return InboundItem(
            ticket_kind=TicketKind.CONVERSATION, ticket_external_id=conversation_id(str(user_id)),
            message_external_id=queue_id, author=author, text=text, created_at=at, message_kind=kind,
            media_url=http_url(content.get("href")), media_type=mime,     # no javascript: / data: links
            ticket_data={"user_id": str(user_id), "username": author.username})


def _parse_time(value: Any) -> datetime:
    """createdAt is ISO 8601 with an offset; the docs' own samples hold "2020-00-00", so fall back."""
    if isinstance(value, str):
        try:
            return to_utc_naive(datetime.fromisoformat(value))
        except (ValueError, OverflowError):     # OverflowError: beyond year 9999 once in UTC
            pass
    return utcnow()


ID_MAX = 200    # our external id columns


def _short(value: Any) -> str:
    """A username or profile name: a string (anything else counts as absent), cut to our column."""
    return value[:ID_MAX] if isinstance(value, str) else ""
