"""Full-text search of the queue: every message of a ticket, its author, notes and tags.

``restrict`` narrows a ticket query to the matches of the search box's text; ``highlight`` marks
the matched words in a text the page shows (a Jinja filter: ``{{ text|highlight }}``).
"""
from __future__ import annotations

from markupsafe import Markup, escape
from sqlalchemy import Select

from models import Ticket


def restrict(query: Select, q: str, *, me: int | None = None) -> Select:   # noqa: ARG001
    """Tickets whose text contains ``q`` (substring; full-text search replaces this)."""
    escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return query.where(Ticket.text.ilike(f"%{escaped}%", escape="\\"))


def highlight(text: str) -> Markup:
    """``text`` escaped, with the current request's search words marked (none yet)."""
    return Markup(escape(text))
