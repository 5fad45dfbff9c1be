"""Internal notes: what teammates tell each other on a ticket, never sent to a network.

A note is a ``Followup`` of type ``note`` (status ``saved``) and has no ``OutboundAction``: nothing
here calls a provider. Only its author edits or deletes it. ``@mentions`` are stored as rows of
``note_mention`` so the "mentions me" filter is one indexed sub-select, not a text search.

Mention rule: ``@`` (not preceded by a letter, digit, ``.`` or ``@``, so e-mail addresses in the
text do not count) followed by an active user's e-mail local part (``@agent`` for
agent@example.test) or their name without spaces (``@AnaLopez``), case-insensitive; a trailing
``.``, ``-`` or ``_`` is punctuation, not part of the handle.
"""
from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from inbox import fields
from inbox.connectors.base import Rejected
from models import Followup, FollowupStatus, FollowupType, History, Ticket, User, utcnow

from . import triage

NOTE_ACTIONS = ("note", "note_edit", "note_delete")
MENTION = re.compile(r"(?<![\w.@])@([\w.+-]*\w)")


class NoteRefused(Rejected):
    """A note that is not there (404) or not the caller's (403). The note routes answer with this
    ``status``; being a ``Rejected``, it is still a 4xx (never a 500) wherever else it surfaces,
    e.g. through the pane's generic action route."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(code, message)
        self.status = status


def handles(user: User) -> set[str]:
    """What ``@`` may be followed by to mention this user (lower case)."""
    found = {user.email.split("@", 1)[0].lower()}
    if user.name and user.name.strip():
        found.add("".join(user.name.split()).lower())
    return found


def mention_handle(user: User) -> str | None:
    """The handle the composer's @autocomplete inserts for this user: one that ``MENTION`` reads back
    whole (the e-mail local part first, it is unique per user; else the name without spaces), or
    None when neither survives the parser (e.g. a local part ending in ``-``)."""
    candidates = [user.email.split("@", 1)[0]]
    if user.name and user.name.strip():
        candidates.append("".join(user.name.split()))
    for handle in candidates:
        match = MENTION.fullmatch("@" + handle)
        if match and match.group(1) == handle:
            return handle
    return None


def mention_choices(users: list[User], me: User) -> list[dict[str, str]]:
    """The teammates the note composer offers after ``@`` (active, not the writer), as
    ``{"name", "handle"}`` for ``static/mentions.js``: a data attribute, no extra request or query."""
    choices = []
    for user in users:
        handle = mention_handle(user) if user.active and user.id != me.id else None
        if handle:
            choices.append({"name": user.display_name, "handle": handle})
    return choices


def mentioned_users(session: Session, text: str) -> list[User]:
    """The active users the text @mentions (one query, however many handles)."""
    wanted = {m.lower() for m in MENTION.findall(text)}
    if not wanted:
        return []
    users = session.scalars(select(User).where(User.active.is_(True)).order_by(User.id)).all()
    return [u for u in users if handles(u) & wanted]


def segments(note: Followup) -> list[tuple[str, bool]]:
    """The note's text cut into (text, is_mention) pieces, so the template highlights mentions of
    real users while autoescaping everything (no HTML is built here)."""
    known = set().union(*(handles(u) for u in note.mentioned)) if note.mentioned else set()
    pieces: list[tuple[str, bool]] = []
    last = 0
    for match in MENTION.finditer(note.text):
        if match.group(1).lower() not in known:
            continue
        pieces.append((note.text[last:match.start()], False))
        pieces.append((match.group(0), True))
        last = match.end()
    pieces.append((note.text[last:], False))
    return [(text, is_mention) for text, is_mention in pieces if text]


def apply(session: Session, ticket: Ticket, user: User, kind: str, params: dict[str, Any],
          via: str | None = None) -> Followup | None:
    """Add, edit or delete a note, with its History row; the caller checked the version and bumps it.
    Returns the note (None once deleted)."""
    if kind == "note":
        note = Followup(ticket_id=ticket.id, type=FollowupType.NOTE, status=FollowupStatus.SAVED,
                        text=_text(params), author_id=user.id)
        note.mentioned = mentioned_users(session, note.text)
        session.add(note)
        session.flush()
        _history(session, ticket, user, "note_added", note, via)
        return note
    note = _own_note(session, ticket, user, params.get("followup_id"))
    if kind == "note_edit":
        note.text = _text(params)
        note.mentioned = mentioned_users(session, note.text)
        note.status_at = utcnow()
        _history(session, ticket, user, "note_edited", note, via)
        return note
    _history(session, ticket, user, "note_deleted", note, via)
    if note in ticket.followups:
        ticket.followups.remove(note)
    session.delete(note)
    return None


def act(session: Session, ticket: Ticket, user: User, kind: str, params: dict[str, Any],
        via: str | None = None) -> Followup | None:
    """One note action as a conditional change: ``version`` checked, then raised, like triage."""
    if kind not in NOTE_ACTIONS:
        raise Rejected("unknown_action", f"Unknown action {kind!r}")
    params = dict(params)
    seen = triage.parse_version(params.pop("version", None))
    fields.params(params)
    triage.check_version(ticket, seen)
    note = apply(session, ticket, user, kind, params, via)
    triage.bump_version(session, ticket)
    return note


def _text(params: dict[str, Any]) -> str:
    text = fields.text(params.get("text", ""), "text")
    if not text.strip():
        raise Rejected("empty_note", "A note needs some text")
    return text.strip()


def _own_note(session: Session, ticket: Ticket, user: User, raw: Any) -> Followup:
    if isinstance(raw, str) and raw.strip().isdigit() and len(raw.strip()) <= 10:   # a pane's form field
        raw = int(raw.strip())
    if raw is None:
        raise Rejected("missing_field", "followup_id is required: the note's id")
    fields.whole_id(raw, "followup_id")
    note = session.get(Followup, raw)
    if note is None or note.ticket_id != ticket.id or note.type != FollowupType.NOTE:
        raise NoteRefused(404, "not_found", f"Ticket {ticket.id} has no note {raw}")
    if note.author_id != user.id:
        raise NoteRefused(403, "not_your_note", "Only a note's author can edit or delete it")
    return note


def _history(session: Session, ticket: Ticket, user: User, action: str, note: Followup, via: str | None) -> None:
    data: dict[str, Any] = {"followup_id": note.id, "mentions": [u.id for u in note.mentioned]}
    if via:
        data["via"] = via
    session.add(History(ticket_id=ticket.id, user_id=user.id, action=action, data=data))
