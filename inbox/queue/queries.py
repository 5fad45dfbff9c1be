"""The queue's read side, shared by the pages and the JSON API.

Keyset pagination on (last_activity_at, id), matching ix_ticket_activity, so page 1000 costs
what page 1 costs.
"""
from __future__ import annotations

import base64
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import and_, false, select, tuple_, union
from sqlalchemy.orm import Session, joinedload, selectinload

from inbox import visibility
from models import (PENDING_SUGGESTION, Followup, Ticket, TicketKind, TicketStatus, ticket_mentions,
                    ticket_categories, ticket_tags)

SENTIMENTS = ("positive", "neutral", "negative")
MAX_LIMIT = 100
MAX_ID = 2**31 - 1      # our 32-bit keys: a larger filter value overflowed SQLite (a 500)
TEXT_ARG_MAX = 200      # q and network


class FilterError(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field, self.message = field, message


@dataclass(frozen=True)
class Filters:
    status: str | None = None
    kind: str | None = None
    channel_id: int | None = None
    network: str | None = None
    assignee: str | None = None     # "me", "none" or a user id (digits)
    priority: bool | None = None
    sentiment: str | None = None
    mentions: str | None = None     # "me": tickets with a note that @mentions the viewer
    me: int | None = None            # who "me" is (the viewer); not a query argument
    team: int | None = None          # tickets handed to this team (ticket.team_id)
    tag: int | None = None
    category: int | None = None
    q: str | None = None
    failed: bool = False            # "Failed sends": a network action failed or its outcome is unknown
    awaiting: bool = False          # "Awaiting approval": a suggested reply waits for a decision
    suggested_by: str | None = None  # "me": tickets with a pending suggestion the viewer wrote
    folder: str | None = None       # the folder the filters came from (a built-in slug or a folder id)
    folder_args: tuple = ()          # that folder's own arguments (left out of as_args: the folder says them)
    cursor: str | None = None
    limit: int = 50

    def as_args(self) -> dict[str, str]:
        """The filters as query arguments (without the cursor), for links and the address bar: the
        folder, and what narrows it."""
        found = self.effective_args()
        if self.folder:
            base = dict(self.folder_args)
            found = {"folder": self.folder, **{k: v for k, v in found.items() if base.get(k) != v}}
        return found

    def effective_args(self) -> dict[str, str]:
        """Every filter in force as query arguments, the folder's included (what a saved folder keeps)."""
        keys = ("status", "kind", "channel_id", "network", "assignee", "mentions", "sentiment", "team", "tag", "category",
                "q")
        found = {k: str(getattr(self, k)) for k in keys if getattr(self, k) not in (None, "")}
        if self.priority is not None:
            found["priority"] = "1" if self.priority else "0"
        if self.failed:
            found["failed"] = "1"
        if self.awaiting:
            found["awaiting"] = "1"
        if self.suggested_by:
            found["suggested_by"] = self.suggested_by
        return found

    @classmethod
    def from_args(cls, args, me: int | None = None, folder: str | None = None,
                  folder_args: dict[str, str] | None = None) -> "Filters":
        """Parse query arguments; bad values raise FilterError (a 400, never a 500). ``me`` is the
        viewer's id, for ``assignee=me``. ``folder_args`` (a folder's own arguments, already
        resolved by ``inbox.queue.folder_service``) are the base the request's arguments narrow."""
        if folder_args:
            merged = dict(folder_args)
            merged.update({k: v for k, v in args.items() if k != "folder"})
            args = merged
        def as_int(name: str) -> int | None:
            value = args.get(name)
            if value in (None, ""):
                return None
            try:
                number = int(value)
            except ValueError:
                raise FilterError(name, f"{name} must be a whole number") from None
            if name != "limit" and not 1 <= number <= MAX_ID:
                raise FilterError(name, f"{name} must be between 1 and {MAX_ID}")
            return number

        status, kind = args.get("status") or None, args.get("kind") or None
        if status and status not in {s.value for s in TicketStatus}:
            raise FilterError("status", f"status must be one of {', '.join(s.value for s in TicketStatus)}")
        if kind and kind not in {k.value for k in TicketKind}:
            raise FilterError("kind", f"kind must be one of {', '.join(k.value for k in TicketKind)}")
        limit = as_int("limit") or 50
        if not 1 <= limit <= MAX_LIMIT:
            raise FilterError("limit", f"limit must be between 1 and {MAX_LIMIT}")
        cursor = args.get("cursor") or None
        if cursor:
            decode_cursor(cursor)
        for name in ("q", "network"):
            if len(args.get(name) or "") > TEXT_ARG_MAX:
                raise FilterError(name, f"{name} must be at most {TEXT_ARG_MAX} characters")
        assignee = args.get("assignee") or None
        if assignee not in (None, "me", "none"):
            assignee = str(as_int("assignee"))
        mentions = args.get("mentions") or None
        if mentions not in (None, "me"):
            raise FilterError("mentions", "mentions must be me")
        priority = args.get("priority") or None
        if priority not in (None, "0", "1", "true", "false"):
            raise FilterError("priority", "priority must be 1 or 0")
        sentiment = args.get("sentiment") or None
        if sentiment not in (None, "none", *SENTIMENTS):
            raise FilterError("sentiment", f"sentiment must be one of {', '.join(SENTIMENTS)} or none")
        failed = args.get("failed") or None
        if failed not in (None, "0", "1", "true", "false"):
            raise FilterError("failed", "failed must be 1 or 0")
        awaiting = args.get("awaiting") or None
        if awaiting not in (None, "0", "1", "true", "false"):
            raise FilterError("awaiting", "awaiting must be 1 or 0")
        suggested_by = args.get("suggested_by") or None
        if suggested_by not in (None, "me"):
            raise FilterError("suggested_by", "suggested_by must be me")
        return cls(status=status, kind=kind, channel_id=as_int("channel_id"), network=args.get("network") or None,
                   assignee=assignee, mentions=mentions, me=me, sentiment=sentiment,
                   priority=None if priority is None else priority in ("1", "true"), team=as_int("team"), tag=as_int("tag"), category=as_int("category"), q=(args.get("q") or "").strip() or None,
                   failed=failed in ("1", "true"), awaiting=awaiting in ("1", "true"), suggested_by=suggested_by,
                   folder=folder, folder_args=tuple(sorted((folder_args or {}).items())), cursor=cursor, limit=limit)


def encode_cursor(ticket: Ticket) -> str:
    return base64.urlsafe_b64encode(f"{ticket.last_activity_at.isoformat()}|{ticket.id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        at, _, ident = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        parsed, number = datetime.fromisoformat(at), int(ident)
        if not 1 <= number <= MAX_ID:
            raise ValueError("id out of range")
        return parsed, number
    except (ValueError, UnicodeDecodeError):
        raise FilterError("cursor", "cursor is not one this server gave out") from None


def ticket_match(filters: Filters, *, viewer: Any):
    """``select(Ticket)`` narrowed to what ``filters`` match and ``viewer`` sees (no order, no
    cursor): the page below, and the custom folders' capped counts, share it."""
    query = select(Ticket)
    query = visibility.restrict(query, visibility.visible_tickets(viewer))
    if filters.team:
        query = query.where(Ticket.team_id == filters.team)
    if filters.status:
        query = query.where(Ticket.status == filters.status)
    if filters.kind:
        query = query.where(Ticket.kind == filters.kind)
    if filters.channel_id:
        query = query.where(Ticket.channel_id == filters.channel_id)
    if filters.network:
        query = query.where(Ticket.network == filters.network)
    if filters.assignee == "none":
        query = query.where(Ticket.assignee_id.is_(None))
    elif filters.assignee == "me":
        query = query.where(Ticket.assignee_id == (filters.me or 0))
    elif filters.assignee:
        query = query.where(Ticket.assignee_id == int(filters.assignee))
    if filters.mentions == "me":
        # A join on ticket_mention (one row per ticket whose notes mention the viewer, with the
        # ticket's status and activity copied by triggers: models/mention.py), so the page can be
        # read in its own order: ix_ticket_mention_order, the viewer's open tickets newest first.
        held = ticket_mentions.c
        query = query.join(ticket_mentions, and_(held.ticket_id == Ticket.id, held.user_id == (filters.me or 0)))
        if filters.status:
            query = query.where(held.status == filters.status)
    if filters.priority is not None:
        query = query.where(Ticket.priority == filters.priority)
    if filters.sentiment == "none":
        query = query.where(Ticket.sentiment.is_(None))
    elif filters.sentiment:
        query = query.where(Ticket.sentiment == filters.sentiment)
    if filters.tag:
        # A join, so the page can be read in ticket_tag's own order (ix_ticket_tag_order: the tag's
        # tickets newest first) — see order_columns.
        query = query.join(ticket_tags, and_(ticket_tags.c.ticket_id == Ticket.id, ticket_tags.c.tag_id == filters.tag))
    if filters.category:
        # The node and its subtree (a recursive CTE inside this one query).
        from inbox.settings.taxonomy import subtree_select

        query = query.where(Ticket.id.in_(select(ticket_categories.c.ticket_id)
                                          .where(ticket_categories.c.category_id.in_(subtree_select(filters.category)))))
    if filters.failed:
        # Failed sends: an action waiting for a person (Retry, or Mark as sent / Send again). The
        # flag outbound_action's triggers keep, in the form ix_ticket_failed_activity is written in
        # ("= true", as for awaiting): one index range in the queue's order.
        query = query.where(Ticket.has_failed_send == True)  # noqa: E712
    if filters.awaiting:
        # "= true" (not "IS true"): the form the partial index ix_ticket_awaiting_activity is written in.
        query = query.where(Ticket.has_pending_suggestion == True)  # noqa: E712
    if filters.suggested_by == "me":
        # ix_followup_suggested_author: the viewer's pending suggestions, a range of a partial index.
        query = query.where(Ticket.id.in_(select(Followup.ticket_id).where(
            PENDING_SUGGESTION, Followup.author_id == (filters.me or 0))))
    if filters.q:
        from inbox import search

        query = search.restrict(query, filters.q, me=filters.me)
    return query


def order_columns(filters: Filters):
    """The columns the page is ordered and cut by: the ticket's activity and id, or — on a tag's
    page, on the viewer's mentions — their copies in ticket_tag or ticket_mention, equal by
    construction (triggers keep them), which one index holds in order for that tag or viewer."""
    if filters.tag:
        return ticket_tags.c.last_activity_at, ticket_tags.c.ticket_id
    if filters.mentions == "me":
        return ticket_mentions.c.last_activity_at, ticket_mentions.c.ticket_id
    return Ticket.last_activity_at, Ticket.id


def ticket_page(session: Session, filters: Filters, *, viewer: Any,
                categories: bool = True) -> tuple[list[Ticket], str | None]:
    """One page of the queue as ``viewer`` may see it (``inbox.visibility``: a sub-select in the
    same statement); what a row shows (and the API's ticket shape) is loaded with it, so a page
    costs the same number of queries whatever its size and its filters.

    The channel, assignee and team come in the page's own statement (joins on the primary keys of
    small tables, after the index has picked and ordered the page's rows): a separate ``SELECT … IN``
    each cost about 1 ms a page. The author (a large table), the tags and, for the API,
    ``categories`` come with one ``SELECT … IN`` each."""
    options = [selectinload(Ticket.interactor), joinedload(Ticket.channel), joinedload(Ticket.assignee),
               joinedload(Ticket.team), selectinload(Ticket.tags)]
    if categories:
        options.append(selectinload(Ticket.categories))
    if filters.category and not filters.q and not _narrowed_elsewhere(filters):
        query = _subtree_page(session, filters, viewer=viewer).options(*options)
    else:
        query = ticket_match(filters, viewer=viewer).options(*options)
        order_at, order_id = order_columns(filters)
        if filters.cursor:
            at, ident = decode_cursor(filters.cursor)
            # A row-value comparison: both databases make it the end of the index range, so page
            # 10,000 reads what page 1 reads. (The equivalent "a < x OR (a = x AND b < y)" was
            # walked from the top on SQLite: 71 ms at page 10,000 of a million tickets.)
            query = query.where(tuple_(order_at, order_id) < tuple_(at, ident))
        query = query.order_by(order_at.desc(), order_id.desc()).limit(filters.limit + 1)
    rows = list(session.scalars(query))
    more = len(rows) > filters.limit
    rows = rows[:filters.limit]
    return rows, (encode_cursor(rows[-1]) if more and rows else None)


def _narrowed_elsewhere(filters: Filters) -> bool:
    """A filter with an ordered index of its own (a priority, an assignee, a tag, a channel ...):
    walking that index in the queue's order and checking the subtree reads little, and PostgreSQL
    planned the per-category branches badly with it (root + priority at 200,000 tickets: 7 ms one
    statement, 38–60 ms in branches)."""
    return bool(filters.priority or filters.assignee or filters.tag or filters.sentiment or filters.channel_id
                or filters.team or filters.kind or filters.mentions or filters.failed or filters.awaiting
                or filters.suggested_by)


def _subtree_page(session: Session, filters: Filters, *, viewer: Any):
    """The page of a category filter: the category and its subtree, newest first, at most
    ``limit + 1`` rows.

    Why not ``ticket_match``'s ``IN (subtree)`` with an ORDER BY: a subtree's tickets are spread
    over ~20 categories, no index holds them in the queue's order, so the database collected and
    sorted every match (25 ms at 200,000 tickets, linear in the data). Each category alone IS in
    the queue's order in ``ix_ticket_category_order`` (category, its copy of the ticket's
    ``last_activity_at``, ticket): so the subtree's ids are read first (one small query) and each
    category contributes its own next ``limit + 1`` rows — one index range, stopped by a LIMIT,
    with every other filter, the visibility rule and the cursor applied inside it — and only
    those few rows are merged. UNION, not UNION ALL: a ticket filed in two categories of the
    subtree comes once (its copies carry the same ``last_activity_at``). One branch per category
    rather than PostgreSQL's LATERAL: SQLite has none, and one form keeps both databases alike.
    The cursor is a row-value comparison, which both databases turn into the index range's end.

    Not with a search (``q``): the search picks its own plan (``inbox.search``: drive from the
    full-text index, or walk the queue's order probing a match list built once); in ~20 branches
    SQLite built that list ~20 times (root category and a common word at 200,000 tickets: 57 ms
    against 38 ms for the one sorted statement), so a search keeps ``ticket_match``'s form."""
    from inbox.settings.taxonomy import subtree_select

    ids = list(session.scalars(subtree_select(filters.category)))
    if not ids:
        return select(Ticket).where(false())
    matched = ticket_match(replace(filters, category=None), viewer=viewer)
    held = ticket_categories.c
    branches = []
    for category_id in ids:
        branch = matched.join(ticket_categories, held.ticket_id == Ticket.id).where(held.category_id == category_id)
        if filters.cursor:
            branch = branch.where(tuple_(held.last_activity_at, held.ticket_id) < tuple_(*decode_cursor(filters.cursor)))
        branch = (branch.with_only_columns(held.ticket_id, held.last_activity_at)
                  .order_by(held.last_activity_at.desc(), held.ticket_id.desc()).limit(filters.limit + 1).subquery())
        # Wrapped: SQLite allows no ORDER BY/LIMIT on a compound's own members.
        branches.append(select(branch.c.ticket_id, branch.c.last_activity_at))
    page = union(*branches).subquery("subtree_page")
    return (select(Ticket).join(page, page.c.ticket_id == Ticket.id)
            .order_by(page.c.last_activity_at.desc(), page.c.ticket_id.desc()).limit(filters.limit + 1))


# Bulk work's name for the same thing ("all matching this filter").
matching = ticket_match
