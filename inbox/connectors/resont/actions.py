"""Outbound actions on Resont: replies, like / unlike, delete, tags and closing a ticket.

``validate_reply`` / ``validate_action`` refuse before queueing what Resont would refuse;
``perform`` runs in a worker and calls the documented endpoint for the action and item kind.
"""
from __future__ import annotations

import mimetypes
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from inbox.netguard import UnsafeURL
from models import TicketKind

from ..base import (ActionResult, CannotAsk, ProviderError, Rejected, ReplyContext, ReplyLimits, Target,
                    address_not_allowed, host_of)

from .client import check_ok
from .dates import parse_date
from .parsing import author_of, int_key, opt_id, truthy

# The docs give no length limits; these are the strictest of the networks Resont serves
# (Instagram: 2,200 characters per comment, 1,000 per DM). Support tickets: our own cap.
REPLY_LIMITS = {TicketKind.COMMENT: 2200, TicketKind.CONVERSATION: 1000, TicketKind.TICKET: 5000}
TAG_NAME_MAX = 50
ACTION_KINDS: dict[str, frozenset[str]] = {
    "reply": frozenset({TicketKind.COMMENT, TicketKind.CONVERSATION, TicketKind.TICKET}),
    "like": frozenset({TicketKind.COMMENT, TicketKind.CONVERSATION}),
    "unlike": frozenset({TicketKind.COMMENT, TicketKind.CONVERSATION}),
    "delete": frozenset({TicketKind.COMMENT}),
    # Resont support tickets have no tags: tagging one stays ours (perform does nothing).
    "tag": frozenset({TicketKind.COMMENT, TicketKind.CONVERSATION, TicketKind.TICKET}),
    "close": frozenset({TicketKind.TICKET}),
}
ATTACHMENT_MAX_BYTES = 25 * 1024 * 1024
# Resont's dates have whole seconds, and its clock is not ours: an item dated this much before
# our attempt began may still be the one it created.
CLOCK_SLACK = timedelta(seconds=5)
RECONCILE_PAGES = 5          # comment replies are paged; ours is among the newest
# Doing these again changes nothing (the tag set is replaced, a deleted comment is a 404 that
# counts as done, a closed ticket stays closed): "not found" is the safe answer.
IDEMPOTENT = frozenset({"tag", "delete", "close"})


class Outbound:
    """The outbound half of ``ResontConnector`` (needs ``ResontClient``'s requests)."""

    @staticmethod
    def validate_reply(ticket_kind: str, text: str) -> str:
        text = (text or "").strip()
        if not text:
            raise Rejected("empty_reply", "Write a reply first.")
        limit = REPLY_LIMITS.get(ticket_kind, min(REPLY_LIMITS.values()))
        if len(text) > limit:
            raise Rejected("reply_too_long", f"Replies to this {ticket_kind} via Resont take at most "
                                                  f"{limit} characters (this one has {len(text)}).")
        return text

    @classmethod
    def reply_limits(cls, ticket_kind: str, ticket_data: dict[str, Any], context: ReplyContext) -> ReplyLimits:
        """What Resont takes: nothing on a closed support ticket or on a comment Resont marks
        ``can_reply: 0``; otherwise text of the length above, and a file on a DM.

        The docs name no reply window and no file types; the size limit is per Resont plan
        (``StorageInfo.max_file_size``), so it is met when the worker downloads the file.
        """
        limit = REPLY_LIMITS.get(ticket_kind, min(REPLY_LIMITS.values()))
        if ticket_kind == TicketKind.TICKET and truthy(ticket_data.get("closed")):
            return ReplyLimits(can_reply=False, code="ticket_closed", max_length=limit,
                               reason="This Resont support ticket is closed: Resont takes no more replies to it.")
        if ticket_kind == TicketKind.COMMENT and ticket_data.get("can_reply") is False:
            return ReplyLimits(can_reply=False, code="reply_not_allowed", max_length=limit,
                               reason="Resont says this comment cannot be replied to.")
        return ReplyLimits(max_length=limit, attachments=ticket_kind in getattr(cls, "ATTACHMENT_KINDS", frozenset()))

    @staticmethod
    def validate_action(kind: str, ticket_kind: str | None, params: dict[str, Any]) -> None:
        if kind not in ACTION_KINDS:
            raise Rejected("unsupported_action", f"Resont cannot {kind}.")
        if ticket_kind not in ACTION_KINDS[kind]:
            raise Rejected("not_applicable", f"{kind.capitalize()} does not apply to a Resont "
                                                   f"{ticket_kind or 'channel'}.")
        if kind == "reply":
            _validate_reply_params(ticket_kind, params)
        if kind == "tag":
            tags = params.get("tags")
            if not isinstance(tags, list) or not all(isinstance(t, str) and t.strip() for t in tags):
                raise Rejected("invalid_tags", "tags must be a list of tag names")
            if any(len(t.strip()) > TAG_NAME_MAX for t in tags):
                raise Rejected("invalid_tags", f"Resont tag names take at most {TAG_NAME_MAX} characters")

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

    def reconcile(self, kind: str, target: Target, params: dict[str, Any], since: datetime) -> ActionResult | None:
        """Resont lists a comment's replies, a conversation's messages and a ticket's messages: our
        reply is the one with our text dated after the attempt began. Its list is authoritative, so
        not finding it means it was not accepted. A comment's like is read back from the comment."""
        if kind in IDEMPOTENT:
            return None
        after = since - CLOCK_SLACK
        text = str(params.get("text") or "").strip()
        if kind == "reply" and target.kind == TicketKind.COMMENT:
            cid = _target_id(target, "comment_id", "comment")
            found = self._find_ours(f"comment/{quote(cid, safe='')}/replies", "text", text, after, paged=True)
            return ActionResult(external_id=f"comment:{found['id']}") if found else None
        if kind == "reply" and target.kind == TicketKind.CONVERSATION:
            cid = _target_id(target, "conversation_id", "conversation")
            found = self._find_ours(f"conversation/{quote(cid, safe='')}/messages", "text", text, after)
            return ActionResult(external_id=f"message:{found['id']}") if found else None
        if kind == "reply" and target.kind == TicketKind.TICKET:
            tid = _target_id(target, "ticket_id", "ticket")
            found = next((m for m in self.ticket_meta(tid) if not truthy((m.get("user") or {}).get("isAdmin"))
                          and _same(m, "content", text, after, self.tz)), None)
            return ActionResult(external_id=f"ticketmeta:{found['id']}") if found else None
        if kind in ("like", "unlike") and target.kind == TicketKind.COMMENT:
            liked = truthy(self.comment(_target_id(target, "comment_id", "comment")).get("like"))
            return ActionResult(data={"liked": liked}) if liked == (kind == "like") else None
        raise CannotAsk("cannot_ask", f"Resont cannot tell whether a {kind} of a {target.kind} was done")

    def _find_ours(self, path: str, field: str, text: str, after: datetime, paged: bool = False) -> dict | None:
        """The first item of the list at ``path`` whose ``field`` is ``text`` and dated after ``after``."""
        params: dict[str, Any] = {}
        for page_no in range(1, RECONCILE_PAGES + 1):
            answer = self.request("GET", path, params=params)
            rows = answer if isinstance(answer, list) else (answer or {}).get("data") if isinstance(answer, dict) else []
            found = next((r for r in rows or [] if isinstance(r, dict) and _same(r, field, text, after, self.tz)),
                         None)
            paging = answer.get("paging") if isinstance(answer, dict) and isinstance(answer.get("paging"), dict) else {}
            if found or not paged or not paging.get("next"):
                return found
            params = {"page": str(page_no + 1)}
        return None

    def _reply_comment(self, kind: str, target: Target, params: dict[str, Any]) -> ActionResult:
        """``POST /comment/:id/reply`` {comment, username}: username is the commenter's; a
        webhook body has only their id, so it is looked up once when we do not have it."""
        cid = _target_id(target, "comment_id", "comment")
        username = str(target.data.get("username") or "")
        if not username:
            username = author_of(self.comment(cid).get("socialUser"), None).username
        created = self.request("POST", f"comment/{quote(cid, safe='')}/reply",
                               data={"comment": params["text"], "username": username})
        new_id = opt_id(created.get("id")) if isinstance(created, dict) else None
        return ActionResult(external_id=f"comment:{new_id}" if new_id else None, data={"username": username})

    def _reply_conversation(self, kind: str, target: Target, params: dict[str, Any]) -> ActionResult:
        """``POST /conversation/:id/reply`` {content, attachment?}; a file goes as multipart."""
        cid = _target_id(target, "conversation_id", "conversation")
        files = None
        if params.get("attachment_url"):
            files = {"attachment": self._download(str(params["attachment_url"]))}
        created = self.request("POST", f"conversation/{quote(cid, safe='')}/reply",
                               data={"content": params.get("text") or ""}, files=files)
        new_id = opt_id(created.get("id")) if isinstance(created, dict) else None
        return ActionResult(external_id=f"message:{new_id}" if new_id else None)

    def _reply_ticket(self, kind: str, target: Target, params: dict[str, Any]) -> ActionResult:
        """``POST /ticket/:id/meta`` {content}. Its answer is the Ticket, not the new message, so
        the message id is looked up afterwards (best effort: the reply is already sent)."""
        tid = _target_id(target, "ticket_id", "ticket")
        files = {"attachment": self._download(str(params["attachment_url"]))} if params.get("attachment_url") else None
        self.request("POST", f"ticket/{quote(tid, safe='')}/meta", data={"content": params["text"]}, files=files)
        try:
            ours = [m for m in self.ticket_meta(tid) if not truthy((m.get("user") or {}).get("isAdmin"))
                    and str(m.get("content") or "").strip() == params["text"].strip()]
        except ProviderError:
            ours = []
        last = max(ours, key=lambda m: int_key(str(m.get("id"))), default=None)
        return ActionResult(external_id=f"ticketmeta:{last['id']}" if last else None)

    def _like_comment(self, kind: str, target: Target, params: dict[str, Any]) -> ActionResult:
        """``PUT /comment/:id/like`` toggles, so it is only called when the state must change."""
        want = kind == "like"
        if truthy(target.data.get("liked")) == want:
            return ActionResult(data={"liked": want})
        cid = _target_id(target, "comment_id", "comment")
        check_ok(self.request("PUT", f"comment/{quote(cid, safe='')}/like"), f"{kind} the comment")
        return ActionResult(data={"liked": want})

    def _like_message(self, kind: str, target: Target, params: dict[str, Any]) -> ActionResult:
        """``PUT /conversation/message/:messageId/reaction`` {type: like} on the latest inbound
        message (like), or on the message we liked (unlike: the reaction toggles too)."""
        liked_id = opt_id(target.data.get("liked_message_id"))
        if kind == "like":
            message_id = _strip(target.message_external_id, "message:") or opt_id(target.data.get("last_message_id"))
            if not message_id:
                raise ProviderError("no_message", "There is no message in this conversation to like")
            if liked_id == message_id:
                return ActionResult(data={"liked": True, "liked_message_id": message_id})
        else:
            message_id = liked_id
            if not message_id:
                return ActionResult(data={"liked": False, "liked_message_id": None})
        check_ok(self.request("PUT", f"conversation/message/{quote(message_id, safe='')}/reaction",
                         data={"type": "like"}), f"{kind} the message")
        return ActionResult(data={"liked": kind == "like", "liked_message_id": message_id if kind == "like" else None})

    def _delete_comment(self, kind: str, target: Target, params: dict[str, Any]) -> ActionResult:
        """``DELETE /comment/:id``. A 404 means it is already gone, which is what was asked."""
        cid = _target_id(target, "comment_id", "comment")
        try:
            check_ok(self.request("DELETE", f"comment/{quote(cid, safe='')}"), "delete the comment")
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
        check_ok(self.request("PUT", f"ticket/{quote(tid, safe='')}/close"), "close the ticket")
        return ActionResult(data={"closed": True})

    def _download(self, url: str) -> tuple[str, bytes, str]:
        """Fetch an attachment to upload it (the docs take a File, not a URL).

        Through the connector's guarded client, so each redirect hop is checked like the URL."""
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
        except UnsafeURL as exc:
            raise address_not_allowed(exc) from exc
        except httpx.HTTPError as exc:
            raise ProviderError("attachment_unreachable", f"Could not download the attachment from {host_of(url)}",
                                retryable=True) from exc
        name = urlsplit(url).path.rsplit("/", 1)[-1] or "attachment"
        return name, body, ctype or mimetypes.guess_type(name)[0] or "application/octet-stream"


def _validate_reply_params(ticket_kind: str, params: dict[str, Any]) -> None:
    attachment = params.get("attachment_url")
    if attachment:
        if ticket_kind == TicketKind.COMMENT:
            raise Rejected("no_attachments", "Resont comment replies are text only")
        if urlsplit(str(attachment)).scheme not in ("http", "https"):
            raise Rejected("invalid_attachment", "attachment_url must be an http(s) URL")
        if not str(params.get("text") or "").strip():
            return
    Outbound.validate_reply(ticket_kind, str(params.get("text") or ""))


def _same(item: dict[str, Any], field: str, text: str, after: datetime, tz: str) -> bool:
    """Our text, dated at or after ``after`` (an undated item counts: the text decides)."""
    if str(item.get(field) or "").strip() != text:
        return False
    when = parse_date(item.get("date"), tz)
    return when is None or when >= after


def _target_id(target: Target, key: str, prefix: str) -> str:
    value = opt_id(target.data.get(key)) or _strip(target.external_id, f"{prefix}:")
    if not value:
        raise ProviderError("missing_id", f"This ticket carries no Resont {prefix} id")
    return value


def _strip(value: str | None, prefix: str) -> str | None:
    if not value:
        return None
    return value.removeprefix(prefix)
