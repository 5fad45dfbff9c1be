"""What changed for one open queue page since its last poll.

Why polling with a conditional request (and not server-sent events): a poll every few seconds is
an ordinary short request that any number of gunicorn processes answer, through any proxy, with
no connection held per idle browser; the idle answer is a 304 whose cost is ONE index lookup and
ONE Redis round trip (measured in tests/bench/test_live_poll_bench.py).

The ETag of a page is a hash of:
- the global change marker ``max(ticket.updated_at)`` (``ix_ticket_updated``: one index lookup).
  Every writer changes it: ORM flushes (``TimestampMixin.updated_at`` has ``onupdate``), Core
  ``update(Ticket)`` statements (bulk work, ``triage.bump_version``: SQLAlchemy applies the
  column's ``onupdate`` to them too), ingestion (``Ticket.touch``), rules and workers, in any
  process. A note, a suggestion or a reply raises the ticket's version, so it counts too;
- the presence on the rows shown and the open ticket (read in the same Redis pipeline the full
  answer uses), so someone starting to reply refreshes the page without any ticket changing;
- the request itself (the view's filters, the rows shown and their versions, the viewer).

One known gap, bounded: two transactions whose ``updated_at`` were taken in one order and committed
in the other can leave the marker unchanged by the later commit; the client drops its ETag every
few polls (``static/live.js``), so such a change shows up within a few polls instead of never.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from inbox import visibility
from inbox.queue import counters
from inbox.queue.queries import MAX_ID, FilterError, Filters, decode_cursor, ticket_page
from models import Ticket

from .people import Person, people_on

NEW_CAP = 99          # "99+ new": the count is of the view's first page, not of the whole queue
MAX_ROWS = 300        # rows on screen a poll may ask about (a few pages of infinite scroll)


class BadPoll(ValueError):
    pass


@dataclass
class Screen:
    """What the browser shows: the top row's position, the rows with their versions, the open ticket."""
    top: tuple[datetime, int] | None = None
    rows: dict[int, int] = field(default_factory=dict)
    open_ticket: int | None = None

    @classmethod
    def from_args(cls, args) -> "Screen":
        top = None
        if args.get("top"):
            try:
                top = decode_cursor(args["top"])
            except FilterError as exc:
                raise BadPoll("top must be a cursor this server gave out") from exc
        rows: dict[int, int] = {}
        for part in (args.get("rows") or "").split(","):
            if not part:
                continue
            ident, _, version = part.partition(":")
            if not (ident.isdigit() and version.isdigit() and 1 <= int(ident) <= MAX_ID and int(version) <= MAX_ID):
                raise BadPoll("rows must be id:version pairs separated by commas")
            rows[int(ident)] = int(version)
            if len(rows) > MAX_ROWS:
                raise BadPoll(f"rows may name at most {MAX_ROWS} tickets")
        open_ticket = args.get("open") or None
        if open_ticket is not None and not (open_ticket.isdigit() and 1 <= int(open_ticket) <= MAX_ID):
            raise BadPoll("open must be a ticket id")
        return cls(top=top, rows=rows, open_ticket=int(open_ticket) if open_ticket else None)


def marker(session: Session) -> str:
    """The global change marker: the newest ``ticket.updated_at`` (one lookup on ix_ticket_updated)
    and the newest failed or unknown send — the folder numbers' marker (``inbox.queue.counters``),
    so a send that fails refreshes the open pages' "Failed sends" though no ticket changed."""
    return counters.marker(session)


def etag(session: Session, user: Any, query: str, here: dict[int, list[Person]]) -> str:
    presence_part = ";".join(f"{t}={','.join(f'{p.user_id}{p.state[0]}' for p in people)}"
                             for t, people in sorted(here.items()))
    raw = f"{marker(session)}|{user.id}|{query}|{presence_part}"
    return hashlib.blake2b(raw.encode(), digest_size=12).hexdigest()


def presence_for(session: Session, user: Any, screen: Screen) -> dict[int, list[Person]]:
    """Who else is on the shown rows and the open ticket, only for tickets ``user`` sees (the
    client names the ids; the check runs only for the few tickets someone is on)."""
    ids = list(screen.rows) + ([screen.open_ticket] if screen.open_ticket else [])
    here = people_on(ids, user.id)
    clause = visibility.visible_tickets(user)
    if here and clause is not None:
        seen = set(session.scalars(select(Ticket.id).where(Ticket.id.in_(list(here)), clause)))
        here = {t: people for t, people in here.items() if t in seen}
    return here


def new_count(session: Session, filters: Filters, user: Any, screen: Screen) -> int:
    """How many items of the view's first page are newer than the top row shown (capped at 100;
    the page says "99+"). An item that moved up because something new happened in it counts.
    Most changes are to rows further down, so the view's newest item is looked at first (one row)."""
    def first(limit: int) -> list[Ticket]:
        return ticket_page(session, replace(filters, cursor=None, limit=limit), viewer=user, categories=False)[0]

    head = first(1)
    if not head or (screen.top is not None and (head[0].last_activity_at, head[0].id) <= screen.top):
        return 0
    page = first(NEW_CAP + 1)
    if screen.top is None:
        return len(page)
    return sum(1 for t in page if (t.last_activity_at, t.id) > screen.top)


def changed_rows(session: Session, user: Any, screen: Screen) -> list[Ticket]:
    """The shown rows whose version moved on, as the viewer may see them now (a ticket that left
    their sight is left out: they learn nothing of it)."""
    if not screen.rows:
        return []
    query = visibility.restrict(select(Ticket.id, Ticket.version).where(Ticket.id.in_(list(screen.rows))),
                                visibility.visible_tickets(user))
    changed = [ident for ident, version in session.execute(query) if screen.rows.get(ident) != version]
    if not changed:
        return []
    return list(session.scalars(select(Ticket).where(Ticket.id.in_(changed)).options(
        selectinload(Ticket.interactor), selectinload(Ticket.channel), selectinload(Ticket.assignee),
        selectinload(Ticket.team), selectinload(Ticket.tags), selectinload(Ticket.categories))
        .order_by(Ticket.last_activity_at.desc(), Ticket.id.desc())))
