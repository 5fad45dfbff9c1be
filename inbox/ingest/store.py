"""Store normalised items idempotently: the same event applied twice changes nothing.

The unique constraints on ``(channel_id, external_id)`` are the last line of defence against
concurrent duplicates; ``get_or_create`` turns a lost race into a read of the winner's row.
"""
from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from inbox.connectors.base import DeliveryReport, InboundItem, PostRecord
from models import (Channel, Direction, History, Interactor, Message, OutboundAction, Post, Tag, Ticket,
                    TicketStatus, utcnow)

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


def apply(session: Session, channel: Channel, items: list[InboundItem | DeliveryReport | PostRecord]) -> list[int]:
    """Apply every item; returns the ids of tickets that received a new message.

    Posts go first so the comments in the same batch find their post context.
    """
    touched: list[int] = []
    for post in (i for i in items if isinstance(i, PostRecord)):
        store_post(session, channel, post)
    # Oldest first, so parents exist before replies and the preview ends on the newest text.
    inbound = sorted((i for i in items if isinstance(i, InboundItem)), key=lambda i: i.created_at)
    for item in inbound:
        ticket_id = store_item(session, channel, item)
        if ticket_id is not None:
            touched.append(ticket_id)
    for report in (i for i in items if isinstance(i, DeliveryReport)):
        apply_delivery(session, channel, report)
    if inbound:
        newest = max(i.created_at for i in inbound)
        channel.newest_item_at = max(channel.newest_item_at or newest, newest)
    channel.last_event_at = utcnow()
    return touched


def store_post(session: Session, channel: Channel, record: PostRecord) -> Post:
    """Insert or refresh a post: its status moves (scheduled -> executed / failed) over time."""
    post, _ = get_or_create(session, Post, {"channel_id": channel.id, "external_id": record.external_id}, {})
    post.text, post.status, post.url, post.network = record.text, record.status, record.url, record.network
    post.due_at, post.executed_at, post.failed_at, post.failure = (record.due_at, record.executed_at,
                                                                   record.failed_at, record.failure)
    post.data = dict(record.data)
    return post


def store_item(session: Session, channel: Channel, item: InboundItem) -> int | None:
    """Store one message in its ticket; None when the message was already there (a replay).

    A replay still refreshes what the provider may have changed since: tags and closed state.
    """
    known = session.scalars(select(Message).filter_by(channel_id=channel.id,
                                                      external_id=item.message_external_id)).first()
    if known is not None:
        ticket = session.get(Ticket, known.ticket_id)
        sync_tags(session, ticket, item.tags)
        _apply_closed(session, ticket, item)
        return None
    outgoing = item.direction == Direction.OUT
    interactor = None
    if not outgoing:   # our own replies, seen again, are not written by an interactor
        interactor, _ = get_or_create(session, Interactor,
                                      {"channel_id": channel.id, "external_id": item.author.external_id},
                                      {"username": item.author.username, "name": item.author.name})
        # Usernames can change; keep the latest the network showed us.
        interactor.username = item.author.username or interactor.username
        interactor.name = item.author.name or interactor.name
    parent_id = None
    if item.parent_ticket_external_id:
        parent_id = session.scalars(select(Ticket.id).filter_by(
            channel_id=channel.id, external_id=item.parent_ticket_external_id)).first()
    ticket, created = get_or_create(
        session, Ticket, {"channel_id": channel.id, "external_id": item.ticket_external_id},
        {"kind": item.ticket_kind, "network": item.network or channel.network, "interactor_id": interactor.id if interactor else None,
         "text": item.text, "last_activity_at": item.created_at, "data": dict(item.ticket_data),
         "parent_id": parent_id, "post_external_id": item.post_external_id})
    if ticket.interactor_id is None and interactor is not None:
        ticket.interactor_id = interactor.id
    message, new = get_or_create(
        session, Message, {"channel_id": channel.id, "external_id": item.message_external_id},
        {"ticket_id": ticket.id, "direction": Direction.OUT if outgoing else Direction.IN,
         "kind": item.message_kind, "text": item.text, "media_url": item.media_url, "media_type": item.media_type,
         "interactor_id": interactor.id if interactor else None, "created_at": item.created_at})
    if not new:
        return None
    sync_tags(session, ticket, item.tags)
    if outgoing:   # our own reply seen again by polling: part of the thread, not new activity
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
    _apply_closed(session, ticket, item)
    return ticket.id


def _apply_closed(session: Session, ticket: Ticket, item: InboundItem) -> None:
    """The provider closed it (a resolved support ticket): archive it here too."""
    if item.closed and ticket.status != TicketStatus.ARCHIVED:
        ticket.status = TicketStatus.ARCHIVED
        session.add(History(ticket_id=ticket.id, action="archived", data={"by": "provider"}))


def sync_tags(session: Session, ticket: Ticket, names: tuple[str, ...] | None) -> None:
    """Make the ticket's tags the provider's (None: the provider said nothing about tags)."""
    if names is None:
        return
    wanted = {n.strip() for n in names if n and n.strip()}
    if {t.name for t in ticket.tags} == wanted:
        return
    tags = []
    for name in sorted(wanted):
        tag, _ = get_or_create(session, Tag, {"name": name[:80]}, {})
        tags.append(tag)
    ticket.tags = tags
    session.add(History(ticket_id=ticket.id, action="tagged", data={"by": "provider", "tags": sorted(wanted)}))


def apply_delivery(session: Session, channel: Channel, report: DeliveryReport) -> None:
    action = session.scalars(select(OutboundAction).filter_by(
        channel_id=channel.id, external_id=report.external_id, kind="reply")).first()
    if action is None or action.followup is None:
        raise NotYetKnown(f"no outbound action with external id {report.external_id}")
    error = "The provider reported that delivery failed" if report.status == "failed" else None
    action.followup.advance(report.status, error)
