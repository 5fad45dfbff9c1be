"""What rules see of our rows: an engine ``Item`` from a ticket and one of its messages, and the
``Lookups`` of everything rules refer to (lists, ids, each channel's business hours).

The imperative side of the engine's input: the worker (``inbox.rules.runner``) and the dry run on
the rule editor both build items here, so that a dry run answers what the worker would do.
"""
from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from datetime import timezone

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from inbox.rules import engine, signals
from models import Channel, Direction, Message, Ticket

_LINK = re.compile(r"(?i)\b(?:https?://|www\.)\S+")
_MENTION = re.compile(r"(?<![\w@])@[\w.]+")


def item_for(session: Session, ticket: Ticket, message: Message | None, event: str) -> engine.Item:
    """The item for ``event`` ("created" | "message") on ``message`` (its ticket's latest inbound
    message when None, as the dry run over past tickets has it)."""
    if message is None:
        message = session.scalars(select(Message).where(
            Message.ticket_id == ticket.id, Message.direction == Direction.IN)
            .order_by(Message.created_at.desc(), Message.id.desc()).limit(1)).first()
    channel = ticket.channel or session.get(Channel, ticket.channel_id)
    text = (message.text if message is not None else ticket.text) or ""
    interactor = (message.interactor if message is not None and message.interactor_id else None) \
        or ticket.interactor
    language = signals.detect_language(text)
    # First contact: we hold no earlier message from this author (on this channel: a person is
    # an interactor per channel). By id, the order we stored them in, not the network's clock.
    first_contact = False
    if interactor is not None and message is not None:
        first_contact = not session.scalar(select(exists().where(
            Message.interactor_id == interactor.id, Message.id < message.id)))
    received = message.received_at if message is not None else ticket.last_activity_at
    return engine.Item(
        kind=str(ticket.kind), provider=channel.provider if channel else "",
        network=(ticket.network or (channel.network if channel else "") or "").upper(),
        channel_id=ticket.channel_id, text=text,
        author_id=interactor.external_id if interactor is not None else None,
        author_username=interactor.username if interactor is not None else "",
        author_first_contact=first_contact,
        has_attachment=bool(message is not None and (message.media_url or message.kind in
                                                     ("image", "video", "audio", "file", "sticker"))),
        has_link=bool(_LINK.search(text)),
        language=language, sentiment=signals.sentiment(text, language).upper() if text.strip() else None,
        mentions=_MENTION.findall(text),
        received_at=received.replace(tzinfo=timezone.utc) if received is not None else None,
        event=event, ticket_id=ticket.id, message_id=message.id if message is not None else None)


def lookups(session: Session) -> engine.Lookups:
    """Everything rules may refer to, as it is now (``inbox.settings.rules.lookups``), plus each
    channel's business hours (a channel whose hours cannot be read has none)."""
    from inbox.settings.rules import lookups as rule_lookups

    found = rule_lookups(session)
    hours = {}
    for channel_id, data in session.execute(select(Channel.id, Channel.business_hours)
                                            .where(Channel.business_hours.is_not(None))):
        try:
            hours[channel_id] = engine.BusinessHours.from_dict(data)
        except (KeyError, TypeError, ValueError):
            continue
    found.business_hours = hours
    return found


def parsed_rules(rows: Iterable, found: engine.Lookups) -> tuple[list[engine.Rule], dict]:
    """The engine's rules from stored rows. Ids an action names (a user, a tag, a saved reply) are
    not checked here: one deleted since the rule was saved fails that action at run time, in the
    trace, while the rule's other actions still run. A rule the engine cannot evaluate at all (a
    list it reads was deleted) is left out and reported by id with why, never run half-understood."""
    from inbox.settings.rules import as_json

    found = dataclasses.replace(found, channel_ids=None, category_ids=None, tag_ids=None,
                                user_ids=None, team_ids=None, saved_reply_ids=None)
    rules, broken = [], {}
    for row in rows:
        try:
            rules.append(engine.parse_rule(as_json(row), found))
        except engine.RuleError as exc:
            broken[row.id] = f"{exc.path}: {exc.message}" if exc.path else exc.message
    return rules, broken
