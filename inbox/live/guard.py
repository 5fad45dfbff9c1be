"""The send-time guard: something arrived on the ticket while the reply was being written.

Why a thread position and not the ticket's ``version``: the version also moves for triage (a tag,
a priority), which the composer's existing 409 already handles by showing the pane afresh; the
guard is about what the person answering has not READ yet — a new inbound message, someone
else's reply, suggestion or note — and it keeps their text. The composer carries the position it
was opened at (``seen``: the newest message id and followup id of the ticket, both indexed by
ticket); sending compares it with the thread now. Something new from someone else answers with
the composer again, the text kept, what arrived shown, and "Send anyway" carrying the new
position (and the current version), so sending again sends — unless yet more arrived meanwhile.

The user's own followups (a note they just added beside the composer) never stop them, and
neither do outbound messages (our own replies as the network echoes them back). A form without
``seen`` (an older page, another client) is not guarded; the JSON API has its own ``version``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from inbox.db import get_session
from models import Direction, Followup, Message, Ticket

from . import bp


@dataclass(frozen=True)
class Position:
    message_id: int
    followup_id: int

    def __str__(self) -> str:
        return f"{self.message_id}.{self.followup_id}"

    @classmethod
    def parse(cls, value: str | None) -> "Position | None":
        """``None`` for a missing or malformed value: such a form is simply not guarded."""
        message, _, followup = (value or "").partition(".")
        if not (message.isdigit() and followup.isdigit() and len(message) <= 10 and len(followup) <= 10):
            return None
        return cls(int(message), int(followup))


def position(session: Session, ticket_id: int) -> Position:
    """Where the ticket's thread is now: two lookups on the ticket_id indexes."""
    message = session.scalar(select(func.max(Message.id)).where(Message.ticket_id == ticket_id)) or 0
    followup = session.scalar(select(func.max(Followup.id)).where(Followup.ticket_id == ticket_id)) or 0
    return Position(message, followup)


def arrived_since(session: Session, ticket: Ticket, user: Any, seen_value: str | None) -> list[tuple[str, Any]]:
    """What arrived on ``ticket`` after the composer's position ``seen`` from someone other than
    ``user``, oldest first, as ``("message", Message)`` / ``("followup", Followup)`` pairs."""
    seen = Position.parse(seen_value)
    if seen is None:
        return []
    messages = session.scalars(select(Message).where(
        Message.ticket_id == ticket.id, Message.id > seen.message_id, Message.direction == Direction.IN)
        .order_by(Message.id).limit(20)).all()
    followups = session.scalars(select(Followup).where(
        Followup.ticket_id == ticket.id, Followup.id > seen.followup_id,
        (Followup.author_id != user.id) | Followup.author_id.is_(None)).order_by(Followup.id).limit(20)).all()
    items = [("message", m) for m in messages] + [("followup", f) for f in followups]
    return sorted(items, key=lambda pair: pair[1].created_at)


@bp.app_template_global()
def thread_position(ticket: Ticket) -> str:
    """For the composer's hidden ``seen`` field."""
    return str(position(get_session(), ticket.id))


def ask(ticket: Ticket, text: str, attachment_url: str | None, arrived: list[tuple[str, Any]], *,
        action: str = "send", archive: bool = False):
    """The composer again (409, which htmx swaps): the text kept, what arrived, "Send anyway" with
    the position and version of now. Nothing was written."""
    from flask import render_template

    session = get_session()
    session.rollback()
    return render_template("replies/_composer.html", ticket=ticket, text=text, error=None,
                           attachment_url=attachment_url or "", arrived=arrived, arrived_action=action,
                           arrived_archive=archive, seen_position=str(position(session, ticket.id))), 409
