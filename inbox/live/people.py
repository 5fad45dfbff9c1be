"""Presence as the page shows it: names and initials of the others on a ticket.

Template globals: ``row_presence(t, page)`` reads
the presence of EVERY row of the page on its first call (one Redis pipeline, one query for the
names) and answers the rest from ``flask.g``; ``pane_presence(ticket)`` does the same for the pane.
The viewer is never shown to themself.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from flask import g
from flask_login import current_user
from sqlalchemy import select

from inbox.db import get_session
from models import User

from . import bp, presence


@dataclass(frozen=True)
class Person:
    user_id: int
    name: str
    state: str

    @property
    def initials(self) -> str:
        parts = [p for p in self.name.replace("@", " ").replace(".", " ").split() if p]
        return "".join(p[0] for p in parts[:2]).upper() or "?"

    @property
    def sentence(self) -> str:
        return f"{self.name} is {'replying…' if self.state == 'replying' else 'viewing'}"


def people_on(ticket_ids: Iterable[int], viewer_id: int | None) -> dict[int, list[Person]]:
    """Who else is on each ticket: one Redis pipeline, one query for the names."""
    here = presence.read(ticket_ids)
    user_ids = {h.user_id for entries in here.values() for h in entries if h.user_id != viewer_id}
    if not user_ids:
        return {}
    names = {uid: (name or email) for uid, name, email in get_session().execute(
        select(User.id, User.name, User.email).where(User.id.in_(user_ids), User.active.is_(True)))}
    found: dict[int, list[Person]] = {}
    for ticket_id, entries in here.items():
        people = [Person(h.user_id, names[h.user_id], h.state) for h in entries if h.user_id in names]
        if people:
            found[ticket_id] = people
    return found


def _cache() -> dict[int, list[Person]]:
    if "live_presence" not in g:
        g.live_presence = {}
        g.live_presence_loaded = set()
    return g.live_presence


def _ensure(ticket_ids: Iterable[int]) -> dict[int, list[Person]]:
    cache = _cache()
    loaded = g.live_presence_loaded
    missing = [i for i in ticket_ids if i not in loaded]
    if missing:
        viewer = getattr(current_user, "id", None)
        cache.update(people_on(missing, viewer))
        loaded.update(missing)
    return cache


@bp.app_template_global()
def row_presence(ticket: Any, page: Iterable[Any] = ()) -> list[Person]:
    """The others on this row's ticket. The first row of a page reads every row of ``page`` at
    once; the other rows find theirs already read (one lookup each, not a pass over the page)."""
    cache = _cache()
    if ticket.id not in g.live_presence_loaded:
        _ensure([t.id for t in page] + [ticket.id])
    return cache.get(ticket.id, [])


@bp.app_template_global()
def pane_presence(ticket: Any) -> list[Person]:
    return _ensure([ticket.id]).get(ticket.id, [])
