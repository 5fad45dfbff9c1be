"""Saved replies: who sees and edits which, checking what people send, and filling in variables.

Shared by the settings page, the composer's ``/`` picker and ``/api/v1/saved-replies``, so each
refuses the same values the same way (``Rejected``: the API answers 422, pages show it inline).
Rules: everyone with ``ViewTemplates`` has personal replies; shared ones are everyone's to use
and only ``EditTemplates`` creates, edits or deletes them (their owner may still edit their own).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from inbox import fields
from models import Channel, SavedReply, Ticket, User, saved_reply_channels


class NotAllowed(Exception):
    """The user may see this reply but not change it (403), or may not make it shared."""


@dataclass
class ReplyValues:
    """A checked create or update: ``None`` for what the update leaves as it is."""

    name: str | None = None
    text: str | None = None
    shared: bool | None = None
    channel_ids: list[int] | None = None


def values(data: dict[str, Any], *, partial: bool) -> ReplyValues:
    """Check a JSON body or a form's values; a full create needs ``name`` and ``text``."""
    found = ReplyValues()
    for key in ("name", "text"):
        if key not in data or data[key] is None:
            if not partial:
                raise fields.Rejected("missing_field", f"{key} is required")
            continue
        limit = fields.NAME_MAX if key == "name" else fields.TEXT_MAX
        value = fields.text(data[key], key, limit).strip()
        if not value:
            raise fields.Rejected("invalid_value", f"{key} must not be empty")
        setattr(found, key, value)
    if data.get("shared") is not None:
        found.shared = fields.flag(data["shared"], "shared")
    if data.get("channel_ids") is not None:
        ids = data["channel_ids"]
        if not isinstance(ids, list):
            raise fields.Rejected("invalid_value", "channel_ids must be a list of channel ids")
        if len(ids) > fields.LIST_MAX:
            raise fields.Rejected("too_many", f"channel_ids may hold at most {fields.LIST_MAX} ids")
        found.channel_ids = sorted({fields.whole_id(i, "channel_ids") for i in ids})
    return found


def _channels(session: Session, ids: list[int]) -> list[Channel]:
    channels = session.scalars(select(Channel).where(Channel.id.in_(ids))).all() if ids else []
    missing = sorted(set(ids) - {c.id for c in channels})
    if missing:
        raise fields.Rejected("unknown_channel", f"No channel {', '.join(map(str, missing))}")
    return list(channels)


def create(session: Session, user: User, checked: ReplyValues) -> SavedReply:
    if checked.shared and not user.can("EditTemplates"):
        raise NotAllowed("Sharing a saved reply needs the EditTemplates permission")
    reply = SavedReply(name=checked.name, text=checked.text, shared=bool(checked.shared), owner_id=user.id,
                       channels=_channels(session, checked.channel_ids or []))
    session.add(reply)
    session.flush()
    return reply


def may_edit(user: User, reply: SavedReply) -> bool:
    return reply.owner_id == user.id or (reply.shared and user.can("EditTemplates"))


def check_may_edit(user: User, reply: SavedReply) -> None:
    """Callers check this before reading the values, so a refusal is a 403 whatever was sent."""
    if not may_edit(user, reply):
        raise NotAllowed("Only its owner, or someone with EditTemplates for a shared one, may change it")


def update(session: Session, user: User, reply: SavedReply, checked: ReplyValues) -> SavedReply:
    check_may_edit(user, reply)
    if checked.shared and not reply.shared and not user.can("EditTemplates"):
        raise NotAllowed("Sharing a saved reply needs the EditTemplates permission")
    if checked.name is not None:
        reply.name = checked.name
    if checked.text is not None:
        reply.text = checked.text
    if checked.shared is not None:
        reply.shared = checked.shared
    if checked.channel_ids is not None:
        reply.channels = _channels(session, checked.channel_ids)
    session.flush()
    return reply


def delete(session: Session, user: User, reply: SavedReply) -> None:
    check_may_edit(user, reply)
    session.delete(reply)
    session.flush()


def visible(session: Session, user: User, *, channel_id: int | None = None, query: str = "") -> list[SavedReply]:
    """The user's own replies and the shared ones, by name; with ``channel_id`` only those usable
    there (no channels = every channel); with ``query`` those whose name or text contains it."""
    statement = (select(SavedReply).where(or_(SavedReply.owner_id == user.id, SavedReply.shared))
                 .options(selectinload(SavedReply.channels)).order_by(SavedReply.name, SavedReply.id))
    if channel_id is not None:
        limited = select(saved_reply_channels.c.saved_reply_id).where(
            saved_reply_channels.c.saved_reply_id == SavedReply.id)
        here = limited.where(saved_reply_channels.c.channel_id == channel_id)
        statement = statement.where(or_(~limited.exists(), here.exists()))
    query = query.strip()
    if query:
        statement = statement.where(or_(SavedReply.name.icontains(query, autoescape=True),
                                        SavedReply.text.icontains(query, autoescape=True)))
    return list(session.scalars(statement).all())


def find_visible(session: Session, user: User, reply_id: int) -> SavedReply | None:
    """A reply the user may see (their own or a shared one); None for others' personal replies."""
    reply = session.get(SavedReply, reply_id) if 1 <= reply_id <= fields.MAX_ID else None
    if reply is None or not (reply.shared or reply.owner_id == user.id):
        return None
    return reply


def usable_on(reply: SavedReply, ticket: Ticket) -> bool:
    return not reply.channels or ticket.channel_id in reply.channel_ids


VARIABLE = re.compile(r"\{\{\s*([a-z_]+\.[a-z_]+)\s*\}\}")


def variables(ticket: Ticket, agent: User) -> dict[str, str]:
    """What each variable stands for on this ticket, for this agent."""
    author = ticket.interactor
    username = (author.username if author else "") or ""
    return {
        "author.name": ((author.name if author else "") or username),
        "author.username": username,
        "agent.name": agent.display_name,
        "channel.name": ticket.channel.name if ticket.channel else "",
    }


def fill(text: str, ticket: Ticket, agent: User) -> str:
    """The text with its variables filled in; unknown ones stay as written, so a typo shows."""
    known = variables(ticket, agent)
    return VARIABLE.sub(lambda m: known.get(m.group(1), m.group(0)), text)


def as_json(reply: SavedReply) -> dict[str, Any]:
    return {"id": reply.id, "name": reply.name, "text": reply.text, "shared": reply.shared,
            "channel_ids": reply.channel_ids}


