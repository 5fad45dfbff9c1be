"""Polling Resont: walk the newest-first lists until what was seen last time, and remember where.

``fetch`` reads ``/comment`` and ``/conversation`` (cursor lists) and, on the channel that carries
them, the page-numbered ``/ticket`` list. The state saved per channel holds, for each list, the
newest date seen (``hw``), the ``id@date`` tokens inside the overlap window (``seen``) and an
unfinished walk to resume (``walk``), so a pass never reads everything again.
"""
from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from ..base import FetchResult, InboundItem, PostRecord

from .client import to_page
from .dates import parse_date, when_or_now
from .parsing import (comment_item, compact, int_key, message_item, opt_id, post_record, tag_names, ticket_closed,
                      ticket_items)

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


class Polling:
    """The polling half of ``ResontConnector`` (needs ``ResontClient``'s requests)."""

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
        return self.account_id is None or opt_id(obj.get("account_id")) == self.account_id

    def _fetch_comments(self, mark: dict[str, Any]) -> list[Any]:
        comments = [c for c in self._walk("comment", {"with": COMMENT_WITH}, mark, "date") if self._mine(c)]
        comments.sort(key=lambda c: (when_or_now(c.get("date"), self.tz), str(c.get("id"))))
        posts: dict[str, PostRecord] = {}
        items: list[Any] = []
        for comment in comments:
            post = comment.get("accountPost")
            if isinstance(post, dict):
                record = post_record(post, opt_id(comment.get("post_id")), self.tz)
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
        mark["known"] = sorted(known, key=int_key)[-KNOWN_MAX:]
        if newest is not None:
            messages_mark["hw"] = newest.isoformat()
            messages_mark["seen"] = _prune(seen | tokens, newest, self.tz)
        items.sort(key=lambda i: (i.created_at, int_key(i.message_external_id.split(":", 1)[1])))
        return items

    def _conversation_items(self, conversation: dict[str, Any], messages: list[dict[str, Any]]) -> list[InboundItem]:
        participants = _participants(conversation)
        tags = tag_names(conversation.get("tags"))
        items = []
        for message in messages:
            item = message_item(message, self.tz, self.settings, participants)
            items.append(_with_conversation(item, conversation, tags) if item.direction == "in" else item)
        return items

    def _messages(self, conversation_id: str) -> list[dict[str, Any]]:
        """``GET /conversation/:id/messages`` (a plain array), sorted oldest first."""
        answer = self.request("GET", f"conversation/{quote(conversation_id, safe='')}/messages",
                              params={"with": MESSAGE_WITH})
        messages = to_page(answer, cursor=False).data
        messages.sort(key=lambda m: (when_or_now(m.get("date"), self.tz), int_key(str(m.get("id")))))
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
                if _token(obj, date_key) not in seen and opt_id(obj.get("id")):
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
            mark["known"] = dict(sorted(known.items(), key=lambda kv: int_key(kv[0]))[-KNOWN_MAX:])
        return items

    def _ticket_update(self, ticket: dict[str, Any], known: dict[str, dict[str, Any]]) -> list[InboundItem]:
        tid = opt_id(ticket.get("id"))
        if tid is None:
            return []
        before = known.get(tid)
        closed = ticket_closed(ticket)
        if before and before.get("closed") and closed:
            return []
        metas = sorted(self.ticket_meta(tid), key=lambda m: int_key(str(m.get("id"))))
        last = int(before.get("meta") or 0) if before else 0
        new = [m for m in metas if int_key(str(m.get("id"))) > last]
        if closed and before and not before.get("closed") and not new and metas:
            new = metas[-1:]          # nothing new to say, but the ticket was closed: carry that
        known[tid] = {"closed": closed, "meta": max([last] + [int_key(str(m.get("id"))) for m in metas])}
        return ticket_items(ticket, new, self.tz)


def _participants(conversation: dict[str, Any]) -> set[str]:
    found = set()
    for p in conversation.get("participants") or []:
        if isinstance(p, dict) and opt_id(p.get("social_user_id")):
            found.add(str(p["social_user_id"]))
    return found


def _with_conversation(item: InboundItem, conversation: dict[str, Any], tags: tuple[str, ...] | None) -> InboundItem:
    """Add what the conversation itself says (its tags, status) to an inbound message."""
    data = {**item.ticket_data, "status": conversation.get("status")}
    if tags is not None:
        data["tags"] = list(tags)
    return replace(item, ticket_data=compact(data), tags=tags)


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
