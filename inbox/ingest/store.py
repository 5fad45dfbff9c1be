"""Store normalised items idempotently: the same event applied twice changes nothing.

The unique constraints on ``(channel_id, external_id)`` are the last line of defence against
concurrent duplicates; ``get_or_create`` turns a lost race into a read of the winner's row.
"""
from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from inbox.connectors.base import DeliveryReport, InboundItem
from models import (Channel, Direction, History, Interactor, Message, OutboundAction, Ticket, utcnow)

T = TypeVar("T")


class NotYetKnown(Exception):
    """A delivery report for a send we have not recorded yet (it may still be committing): retry later."""


def get_or_create(session: Session, model: type[T], lookup: dict[str, Any], defaults: dict[str, Any]) -> tuple[T, bool]:
    found = session.scalars(select(model).filter_by(**lookup)).first()
    if found is not None:
        return found, False
    try:
        with session.begin_nested():
            obj = model(**lookup, **defaults)
            session.add(obj)
        return obj, True
    except IntegrityError:
        return session.scalars(select(model).filter_by(**lookup)).one(), False


def apply(session: Session, channel: Channel, items: list[InboundItem | DeliveryReport]) -> list[int]:
    """Apply every item; returns the ids of tickets that received a new message."""
    touched: list[int] = []
    for item in items:
        if isinstance(item, DeliveryReport):
            apply_delivery(session, channel, item)
        else:
            ticket_id = store_item(session, channel, item)
            if ticket_id is not None:
                touched.append(ticket_id)
    channel.last_event_at = utcnow()
    return touched


def store_item(session: Session, channel: Channel, item: InboundItem) -> int | None:
    """Store one message in its ticket; None when the message was already there (a replay)."""
    if session.scalars(select(Message.id).filter_by(channel_id=channel.id,
                                                    external_id=item.message_external_id)).first():
        return None
    interactor, _ = get_or_create(session, Interactor,
                                  {"channel_id": channel.id, "external_id": item.author.external_id},
                                  {"username": item.author.username, "name": item.author.name})
    # Usernames can change; keep the latest the network showed us.
    interactor.username = item.author.username or interactor.username
    interactor.name = item.author.name or interactor.name
    ticket, created = get_or_create(
        session, Ticket, {"channel_id": channel.id, "external_id": item.ticket_external_id},
        {"kind": item.ticket_kind, "network": channel.network, "interactor_id": interactor.id,
         "text": item.text, "last_activity_at": item.created_at, "data": dict(item.ticket_data)})
    message, new = get_or_create(
        session, Message, {"channel_id": channel.id, "external_id": item.message_external_id},
        {"ticket_id": ticket.id, "direction": Direction.IN, "kind": item.message_kind, "text": item.text,
         "media_url": item.media_url, "media_type": item.media_type, "interactor_id": interactor.id,
         "created_at": item.created_at})
    if not new:
        return None
    if created:
        session.add(History(ticket_id=ticket.id, action="created", data={"message_id": message.id}))
    elif item.created_at >= ticket.last_activity_at:
        # Out-of-order delivery: only a newer message replaces the preview text.
        ticket.text = item.text or ticket.text
        ticket.data = {**ticket.data, **item.ticket_data}
    was = ticket.status
    ticket.touch(item.created_at)
    if ticket.status != was:
        session.add(History(ticket_id=ticket.id, action="reopened", data={"by": "new_message"}))
    return ticket.id


def apply_delivery(session: Session, channel: Channel, report: DeliveryReport) -> None:
    action = session.scalars(select(OutboundAction).filter_by(
        channel_id=channel.id, external_id=report.external_id)).first()
    if action is None or action.followup is None:
        raise NotYetKnown(f"no outbound action with external id {report.external_id}")
    error = "The provider reported that delivery failed" if report.status == "failed" else None
    action.followup.advance(report.status, error)
