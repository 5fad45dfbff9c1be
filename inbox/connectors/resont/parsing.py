"""Resont's objects -> our items: comments, DM messages, support tickets, posts, webhook bodies.

Pure functions of the documented JSON (no HTTP), shared by webhooks and polling so both paths
produce the same external ids.
"""
from __future__ import annotations

import json
import mimetypes
from typing import Any
from urllib.parse import urlsplit

from inbox.links import http_url
from models import TicketKind

from ..base import Author, InboundItem, PostRecord, Rejected

from .dates import parse_date, when_or_now

CLOSED_WORDS = ("close", "بسته", "закрыт")

# ------------------------------------------------------------------------------ normalising

ID_MAX = 200     # our external id columns


def required_id(obj: dict[str, Any], key: str, what: str) -> str:
    value = obj.get(key)
    if isinstance(value, bool) or value in (None, "") or not str(value).strip():
        raise Rejected("malformed", f"{what}.{key} is missing")
    if not isinstance(value, (str, int)) or len(str(value)) > ID_MAX:
        raise Rejected("malformed", f"{what}.{key} must be a string or a whole number of at most {ID_MAX} digits")
    return str(value).strip()


def text_of(obj: dict[str, Any], key: str, what: str) -> str:
    """A text field: a string or absent (an object here would otherwise be stored as its repr)."""
    value = obj.get(key)
    if value is None:
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise Rejected("malformed", f"{what}.{key} must be a string")
    return value


def checked_date(value: Any, tz: str, what: str):
    """A webhook's date: absent means now; present but unreadable or out of range is refused."""
    if value in (None, ""):
        return when_or_now(None, tz)
    parsed = parse_date(value, tz)
    if parsed is None:
        raise Rejected("malformed", f"{what}.date is not a date we can read (or out of range)")
    return parsed


def opt_id(value: Any) -> str | None:
    if isinstance(value, bool) or value in (None, "", 0, "0"):
        return None
    return str(value)


def truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def _bare(name: Any) -> str:
    return str(name or "").strip().lstrip("@").lower()


def author_of(social_user: Any, social_user_id: Any) -> Author:
    user = social_user[0] if isinstance(social_user, list) and social_user else social_user
    user = user if isinstance(user, dict) else {}
    external = user.get("id") or social_user_id
    if external not in (None, "") and (not isinstance(external, (str, int)) or len(str(external)) > ID_MAX):
        raise Rejected("malformed", "the social user's id must be a string or a whole number")
    return Author(external_id=str(external) if external not in (None, "") else "unknown",
                  username=_short(user.get("username")), name=_short(user.get("name")))


def avatar_of(social_user: Any) -> str | None:
    """The SocialUser's profile image (``image``), for the pane's sidebar as ``avatar_url`` like
    the other connectors keep it: http(s) only, anything else is dropped."""
    user = social_user[0] if isinstance(social_user, list) and social_user else social_user
    return http_url(user.get("image")) if isinstance(user, dict) else None


def _short(value: Any) -> str:
    """A name or username: a string (anything else counts as absent), cut to our 200-character column."""
    return value[:ID_MAX] if isinstance(value, str) else ""


def _own_names(settings: dict[str, Any] | None) -> set[str]:
    settings = settings or {}
    return {n for n in (_bare(settings.get("account_identifier")), _bare(settings.get("account_name"))) if n}


def tag_names(tags: Any) -> tuple[str, ...] | None:
    if not isinstance(tags, list):
        return None
    return tuple(str(t["name"]) for t in tags if isinstance(t, dict) and t.get("name"))


def compact(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v is not None}


def comment_item(comment: dict[str, Any], tz: str = "UTC", settings: dict[str, Any] | None = None) -> InboundItem:
    """One Comment -> one comment ticket. Our own reply (seen again by polling) becomes an
    outgoing message of the comment it answers instead of a ticket of its own."""
    cid = required_id(comment, "id", "comment")
    parent = opt_id(comment.get("from"))
    author = author_of(comment.get("socialUser"), comment.get("social_user_id"))
    own = bool(author.username) and _bare(author.username) in _own_names(settings)
    common = {"ticket_kind": TicketKind.COMMENT, "message_external_id": f"comment:{cid}", "author": author,
              "text": text_of(comment, "text", "comment"), "created_at": checked_date(comment.get("date"), tz, "comment"),
              "message_kind": "comment"}
    if own and parent:
        return InboundItem(ticket_external_id=f"comment:{parent}", direction="out", **common)
    post_id = opt_id(comment.get("post_id"))
    data = compact({
        "comment_id": cid, "account_id": opt_id(comment.get("account_id")),
        "network_comment_id": opt_id(comment.get("comment_id")), "post_id": post_id,
        "parent_id": opt_id(comment.get("parent_id")), "social_user_id": opt_id(comment.get("social_user_id")),
        "username": author.username or None, "avatar_url": None if own else avatar_of(comment.get("socialUser")),
        "liked": truthy(comment.get("like")),
        "can_reply": _flag(comment, "can_reply"), "can_delete": _flag(comment, "can_delete"),
        "can_like": _flag(comment, "can_like"), "social": comment.get("social"),
    })
    tags = tag_names(comment.get("tags"))
    if tags is not None:
        data["tags"] = list(tags)
    return InboundItem(ticket_external_id=f"comment:{cid}", ticket_data=data, tags=tags,
                       parent_ticket_external_id=f"comment:{parent}" if parent else None,
                       post_external_id=post_id, direction="out" if own else "in", **common)


def _flag(obj: dict[str, Any], key: str) -> bool | None:
    return truthy(obj[key]) if key in obj and obj[key] is not None else None


MEDIA_KINDS = {"image": "image", "video": "video", "audio": "audio"}


def _media(message: dict[str, Any]) -> tuple[str, str | None, str | None]:
    """(message kind, media url, media type): ``media`` is refined by the file's extension."""
    kind = str(message.get("type") or "text")
    url = http_url(message.get("attachment"))       # a javascript: or data: link is dropped
    mime = mimetypes.guess_type(urlsplit(url).path)[0] if url else None
    if kind == "media":
        kind = MEDIA_KINDS.get((mime or "").split("/")[0], "file")
    return kind, url, mime


def message_item(message: dict[str, Any], tz: str = "UTC", settings: dict[str, Any] | None = None,
                 participants: set[str] | None = None) -> InboundItem:
    """One Message -> an entry of its conversation ticket (``conversation:{conversation_id}``).

    Ours when its author is the account itself (by username), or, where the conversation's
    participants are known, when its author is not one of them.
    """
    mid = required_id(message, "id", "message")
    conversation = required_id(message, "conversation_id", "message")
    author = author_of(message.get("socialUser"), message.get("social_user_id"))
    own = (bool(author.username) and _bare(author.username) in _own_names(settings)) or bool(
        participants and str(message.get("social_user_id")) not in participants)
    kind, url, mime = _media(message)
    reactions = message.get("reactions") if isinstance(message.get("reactions"), list) else []
    liked = any(isinstance(r, dict) and truthy(r.get("is_owner")) for r in reactions)
    data = {} if own else compact({
        "conversation_id": conversation, "account_id": opt_id(message.get("account_id")),
        "social_user_id": opt_id(message.get("social_user_id")), "username": author.username or None,
        "avatar_url": avatar_of(message.get("socialUser")), "liked": liked, "liked_message_id": mid if liked else None})
    return InboundItem(ticket_kind=TicketKind.CONVERSATION, ticket_external_id=f"conversation:{conversation}",
                       message_external_id=f"message:{mid}", author=author, text=text_of(message, "text", "message"),
                       created_at=checked_date(message.get("date"), tz, "message"), message_kind=kind, media_url=url,
                       media_type=mime, ticket_data=data, direction="out" if own else "in")


def ticket_closed(ticket: dict[str, Any]) -> bool:
    """The docs list ``status`` (integer) and ``status_name`` but not their values: a ticket is
    closed when its status name says so (English, Persian or Russian)."""
    name = str(ticket.get("status_name") or "").lower()
    return any(word in name for word in CLOSED_WORDS)


def ticket_items(ticket: dict[str, Any], metas: list[dict[str, Any]], tz: str = "UTC") -> list[InboundItem]:
    """A Resont support ticket and its messages (TicketMeta). Resont's staff write in; we wrote out."""
    tid = required_id(ticket, "id", "ticket")
    closed = ticket_closed(ticket)
    data = compact({"ticket_id": tid, "title": ticket.get("title"), "department_id": opt_id(ticket.get("department_id")),
                     "status": ticket.get("status"), "status_name": ticket.get("status_name"), "closed": closed})
    items = []
    for meta in metas:
        user = meta.get("user") if isinstance(meta.get("user"), dict) else {}
        staff = truthy(user.get("isAdmin"))
        name = str(user.get("name") or " ".join(filter(None, (user.get("firstname"), user.get("lastname")))) or "")
        author = Author("resont:support", "resont", name or "Resont support") if staff else \
            Author("resont:me", "", name)
        url = http_url(meta.get("attachment"))
        items.append(InboundItem(
            ticket_kind=TicketKind.TICKET, ticket_external_id=f"ticket:{tid}",
            message_external_id=f"ticketmeta:{required_id(meta, 'id', 'ticket meta')}", author=author,
            text=str(meta.get("content") or ""), created_at=when_or_now(meta.get("date"), tz),
            media_url=url, media_type=mimetypes.guess_type(url)[0] if url else None,
            ticket_data=data, direction="in" if staff else "out", closed=closed))
    return items


def post_record(post: dict[str, Any], key: str | None, tz: str = "UTC") -> PostRecord | None:
    """An AccountPost (from ``with=accountPost``), keyed like the comments that point at it."""
    key = key or opt_id(post.get("post_id")) or opt_id(post.get("id"))
    if not key:
        return None
    return PostRecord(external_id=key, text=str(post.get("content") or ""), status="published",
                      url=http_url(post.get("permalink")), network=post.get("social") or None,
                      executed_at=parse_date(post.get("date"), tz),
                      data=compact({"resont_post_id": opt_id(post.get("id")), "post_id": opt_id(post.get("post_id")),
                                     "type": post.get("type"), "image": http_url(post.get("image")),
                                     "like_count": post.get("like_count"), "comment_count": post.get("comment_count"),
                                     "account_id": opt_id(post.get("account_id"))}))


def webhook_body(payload: Any) -> tuple[str, dict[str, Any]]:
    """``{type, user_id, payload}``; a payload sent as a JSON string is decoded."""
    if not isinstance(payload, dict):
        raise Rejected("malformed", "Expected a JSON object {type, user_id, payload}")
    kind, body = payload.get("type"), payload.get("payload")
    if not isinstance(kind, str) or not kind:
        raise Rejected("malformed", "'type' is missing")
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError as exc:
            raise Rejected("malformed", "'payload' is a string but not JSON") from exc
    if not isinstance(body, dict):
        raise Rejected("malformed", "'payload' must be an object")
    return kind, body


def account_info(account: dict[str, Any]) -> dict[str, Any]:
    """The Account for the channel page, minus secrets (a Telegram bot's API key in ``meta``)."""
    info = dict(account)
    if isinstance(info.get("meta"), dict):
        info["meta"] = {k: v for k, v in info["meta"].items() if "apikey" not in k.lower()}
    if truthy(info.get("login_required")) and not info.get("relogin_reason"):
        info["relogin_reason"] = "Resont asks you to log in to this account again."
    return info


def int_key(value: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0
