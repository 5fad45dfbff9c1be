"""Store normalised items idempotently: the same event applied twice changes nothing.

The unique constraints on ``(channel_id, external_id)`` are the last line of defence against
concurrent duplicates; ``get_or_create`` turns a lost race into a read of the winner's row.

A drain (workers.ingest) applies many events in one transaction and passes a ``Memo``: the
interactors, tickets and messages its batch refers to are read with one query each instead of
one per event. Rows the memo knows to be absent are inserted without a savepoint of their own;
if another writer inserted one meanwhile, the IntegrityError rolls back the caller's savepoint
for the event and the caller applies it again without the memo (``Memo.clear``).
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from inbox.connectors.base import DeliveryReport, InboundItem, PostRecord
from models import (Channel, Direction, History, Interactor, Message, OutboundAction, Post, RuleRun, Tag, Ticket,
                    TicketStatus, utcnow)

T = TypeVar("T")


class NotYetKnown(Exception):
    """A delivery report for a send we have not recorded yet (it may still be committing): retry later."""


_ABSENT = object()


class Memo:
    """What one transaction has read or written of a channel's rows, by (model, external id).

    Only valid while nothing it holds has been rolled back: ``clear`` it after any rollback.
    """

    def __init__(self) -> None:
        self.rows: dict[tuple[type, str], Any] = {}
        self.newest: datetime | None = None   # channel bookkeeping, written once per batch (note_activity)

    def prefetch(self, session: Session, channel_id: int, items: Iterable[object]) -> None:
        """Read, in one query per model, every row the items refer to; remember the missing ones too."""
        wanted: dict[type, set[str]] = {Interactor: set(), Ticket: set(), Message: set()}
        for item in items:
            if isinstance(item, InboundItem):
                wanted[Message].add(item.message_external_id)
                wanted[Ticket].add(item.ticket_external_id)
                if item.parent_ticket_external_id:
                    wanted[Ticket].add(item.parent_ticket_external_id)
                if item.direction != Direction.OUT:
                    wanted[Interactor].add(item.author.external_id)
        for model, ids in wanted.items():
            ids -= {i for (m, i) in self.rows if m is model}
            if not ids:
                continue
            for row in session.scalars(select(model).where(model.channel_id == channel_id,
                                                           model.external_id.in_(ids))):
                self.rows[(model, row.external_id)] = row
            for missing in ids:
                self.rows.setdefault((model, missing), None)

    def get(self, model: type[T], external_id: str) -> T | None | object:
        """The row, None when known to be absent, ``_ABSENT`` when the memo does not know."""
        return self.rows.get((model, external_id), _ABSENT)

    def clear(self) -> None:
        self.rows.clear()


def _find(session: Session, model: type[T], channel_id: int, external_id: str, memo: Memo | None) -> T | None:
    if memo is not None:
        known = memo.get(model, external_id)
        if known is not _ABSENT:
            return known   # type: ignore[return-value]
    return session.scalars(select(model).filter_by(channel_id=channel_id, external_id=external_id)).first()


def _get_or_create_by_external_id(session: Session, model: type[T], channel_id: int, external_id: str,
                                  defaults: dict[str, Any], memo: Memo | None, flush: bool = True) -> tuple[T, bool]:
    """get_or_create for a channel's row; with a memo that knows the row is absent, a plain insert
    (flushed at once when the caller needs its id, else with the rest of the transaction)."""
    if memo is None or memo.get(model, external_id) is _ABSENT:
        return get_or_create(session, model, {"channel_id": channel_id, "external_id": external_id}, defaults)
    found = memo.get(model, external_id)
    if found is not None:
        return found, False   # type: ignore[return-value]
    obj = model(channel_id=channel_id, external_id=external_id, **defaults)
    session.add(obj)
    if flush:
        session.flush()       # a duplicate raises here or at the next flush (see the module docstring)
    memo.rows[(model, external_id)] = obj
    return obj, True


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


def apply(session: Session, channel: Channel, items: list[InboundItem | DeliveryReport | PostRecord],
          memo: Memo | None = None) -> list[int]:
    """Apply every item; returns the ids of tickets that received a new message.

    Posts go first so the comments in the same batch find their post context. With a memo, the
    channel's bookkeeping is left to one ``note_activity`` per batch (one UPDATE, not one per event).
    """
    touched: list[int] = []
    for post in (i for i in items if isinstance(i, PostRecord)):
        store_post(session, channel, post)
    # Oldest first, so parents exist before replies and the preview ends on the newest text.
    inbound = sorted((i for i in items if isinstance(i, InboundItem)), key=lambda i: i.created_at)
    for item in inbound:
        ticket_id = store_item(session, channel, item, memo)
        if ticket_id is not None:
            touched.append(ticket_id)
    for report in (i for i in items if isinstance(i, DeliveryReport)):
        apply_delivery(session, channel, report)
    newest = max(i.created_at for i in inbound) if inbound else None
    if memo is None:
        note_activity(channel, newest)
    elif newest is not None:
        memo.newest = max(memo.newest or newest, newest)
    return touched


def note_activity(channel: Channel, newest: datetime | None) -> None:
    """The channel's health bookkeeping: when it last heard from the provider, its newest item."""
    if newest is not None:
        channel.newest_item_at = max(channel.newest_item_at or newest, newest)
    channel.last_event_at = utcnow()


def store_post(session: Session, channel: Channel, record: PostRecord) -> Post:
    """Insert or refresh a post: its status moves (scheduled -> executed / failed) over time."""
    post, _ = get_or_create(session, Post, {"channel_id": channel.id, "external_id": record.external_id}, {})
    post.text, post.status, post.url, post.network = record.text, record.status, record.url, record.network
    post.due_at, post.executed_at, post.failed_at, post.failure = (record.due_at, record.executed_at,
                                                                   record.failed_at, record.failure)
    post.data = dict(record.data)
    return post


def store_item(session: Session, channel: Channel, item: InboundItem, memo: Memo | None = None) -> int | None:
    """Store one message in its ticket; None when the message was already there (a replay).

    A replay still refreshes what the provider may have changed since: tags and closed state.
    """
    known = _find(session, Message, channel.id, item.message_external_id, memo)
    if known is not None:
        ticket = session.get(Ticket, known.ticket_id)
        sync_tags(session, ticket, item.tags)
        _apply_closed(session, ticket, item)
        return None
    outgoing = item.direction == Direction.OUT
    interactor = None
    if not outgoing:   # our own replies, seen again, are not written by an interactor
        interactor, _ = _get_or_create_by_external_id(
            session, Interactor, channel.id, item.author.external_id,
            {"username": item.author.username, "name": item.author.name}, memo)
        # Usernames can change; keep the latest the network showed us.
        interactor.username = item.author.username or interactor.username
        interactor.name = item.author.name or interactor.name
    parent_id = None
    if item.parent_ticket_external_id:
        parent = _find(session, Ticket, channel.id, item.parent_ticket_external_id, memo)
        parent_id = parent.id if parent is not None else None
    ticket, created = _get_or_create_by_external_id(
        session, Ticket, channel.id, item.ticket_external_id,
        {"kind": item.ticket_kind, "network": item.network or channel.network, "interactor_id": interactor.id if interactor else None,
         "text": item.text, "last_activity_at": item.created_at, "data": dict(item.ticket_data),
         "parent_id": parent_id, "post_external_id": item.post_external_id}, memo)
    if ticket.interactor_id is None and interactor is not None:
        ticket.interactor_id = interactor.id
    # Checked above (a replay returned early): only a concurrent writer can still have it.
    message, new = _get_or_create_by_external_id(
        session, Message, channel.id, item.message_external_id,
        {"ticket_id": ticket.id, "direction": Direction.OUT if outgoing else Direction.IN,
         "kind": item.message_kind, "text": item.text, "media_url": item.media_url, "media_type": item.media_type,
         "interactor_id": interactor.id if interactor else None, "created_at": item.created_at}, memo, flush=False)
    if not new:
        return None
    sync_tags(session, ticket, item.tags)
    if outgoing:   # our own reply seen again by polling: part of the thread, not new activity
        return None
    # The rules' work item, in this transaction: committed with the message or not at all.
    session.add(RuleRun(ticket_id=ticket.id, message=message, event="created" if created else "message"))
    if created:
        if message.id is None:
            session.flush()
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
