"""Outbound jobs: send what agents asked for, at most once.

The action row is claimed with one conditional UPDATE (QUEUED -> SENDING) before the provider
is called. A job that finds its action already SENDING knows an earlier attempt died mid-call:
the provider may have accepted it, so the action becomes UNKNOWN and is never sent again
automatically; the agent sees that and decides.
"""
from __future__ import annotations

import logging

from datetime import datetime, timezone

from rq import get_current_job
from sqlalchemy import select, update

from inbox.connectors import connector_for
from inbox.connectors.base import AuthError, ProviderError, Target
from inbox.crypto import decrypt_json, encrypt_json
from inbox.db import session_scope
from models import (ActionState, Channel, ChannelStatus, Direction, FollowupStatus, History, Message,
                    OutboundAction, Ticket, utcnow)

log = logging.getLogger(__name__)

DIED_MID_CALL = ("A worker stopped while this was being sent, so it may or may not have reached "
                 "the network. Check on the network before sending it again.")


def claim(action_id: int) -> str:
    """QUEUED -> SENDING in one statement; returns the state the action was found in."""
    with session_scope() as session:
        result = session.execute(
            update(OutboundAction)
            .where(OutboundAction.id == action_id, OutboundAction.state == ActionState.QUEUED)
            .values(state=ActionState.SENDING, attempts=OutboundAction.attempts + 1, updated_at=utcnow()))
        if result.rowcount == 1:
            action = session.get(OutboundAction, action_id)
            if action.followup is not None:
                action.followup.advance(FollowupStatus.SENDING)
            return ActionState.QUEUED
        action = session.get(OutboundAction, action_id)
        if action is None:
            return "missing"
        if action.state == ActionState.SENDING:
            settle(action, ActionState.UNKNOWN, FollowupStatus.UNKNOWN, "worker_died", DIED_MID_CALL)
        return action.state


def run_action(action_id: int) -> str:
    if claim(action_id) != ActionState.QUEUED:
        return "not sent: already handled"
    with session_scope() as session:
        action = session.get(OutboundAction, action_id)
        channel = session.get(Channel, action.channel_id)
        connector, kind = connector_for(channel), action.kind
        # "_delivery_id" lets a provider dedupe a retried request (custom channels' event uuid).
        params = {**action.request, "_delivery_id": action.idempotency_key, "_action_id": action.id,
                  "_channel_id": channel.id}
        target = target_of(session, channel, session.get(Ticket, action.ticket_id) if action.ticket_id else None)
    try:
        result = connector.perform(kind, target, params)
    except ProviderError as exc:
        if exc.uncertain:   # it may have been carried out: never sent again automatically
            return _fail(action_id, ActionState.UNKNOWN, FollowupStatus.UNKNOWN, exc)
        if exc.retryable and _retries_left():
            _release(action_id, exc)
            raise
        return _fail(action_id, ActionState.FAILED, FollowupStatus.FAILED, exc)
    with session_scope() as session:
        # A provider may call back (delivered / failed) while we were calling it: never overwrite
        # its word. FOR UPDATE makes this read wait for a callback's transaction in flight
        # (PostgreSQL; SQLite's writers are serialised anyway), so the check below sees its result.
        action = session.get(OutboundAction, action_id, with_for_update=True)
        if action.state == ActionState.SENDING:
            action.state, action.error, action.error_code = ActionState.SENT, None, None
        action.external_id = action.external_id or result.external_id
        action.sent_at = action.sent_at or utcnow()
        action.response = {**result.data, **(action.response or {})}
        if action.followup is not None:
            action.followup.advance(FollowupStatus.SENT)
        elif action.ticket_id is not None:
            # The network's new state of the item (liked, hidden, deleted ...), shown in the pane.
            ticket = session.get(Ticket, action.ticket_id)
            ticket.data = {**ticket.data, **result.data}
            session.add(History(ticket_id=ticket.id, action=f"{action.kind}_done", data={"action_id": action.id}))
        if result.credentials:
            store_credentials(session.get(Channel, action.channel_id), result.credentials)
    return "sent"


def target_of(session, channel: Channel, ticket: Ticket | None) -> Target:
    """What the connector needs to know about the ticket an action is on (plain data, no ORM)."""
    if ticket is None:
        return Target(channel_settings=dict(channel.settings))
    latest = session.scalars(select(Message.external_id).where(
        Message.ticket_id == ticket.id, Message.direction == Direction.IN)
        .order_by(Message.created_at.desc(), Message.id.desc()).limit(1)).first()
    return Target(kind=ticket.kind, ticket_id=ticket.id, external_id=ticket.external_id, data=dict(ticket.data),
                  channel_settings=dict(channel.settings), message_external_id=latest)


def store_credentials(channel: Channel, credentials: dict) -> None:
    """Refreshed OAuth tokens replace the stored ones (encrypted)."""
    channel.credentials_encrypted = encrypt_json({**decrypt_json(channel.credentials_encrypted), **credentials})
    expires = credentials.get("expires_at")
    if isinstance(expires, (int, float)):
        channel.token_expires_at = datetime.fromtimestamp(expires, timezone.utc).replace(tzinfo=None)


def _retries_left() -> bool:
    job = get_current_job()
    return bool(job and job.retries_left)


def _release(action_id: int, exc: ProviderError) -> None:
    """Nothing was accepted (429, 5xx, unreachable): put the action back for RQ's retry."""
    with session_scope() as session:
        action = session.get(OutboundAction, action_id)
        action.state, action.error_code, action.error = ActionState.QUEUED, exc.code, exc.message
        if action.followup is not None:
            action.followup.status = FollowupStatus.QUEUED
            action.followup.error = f"{exc.message} (attempt {action.attempts})"


def _fail(action_id: int, state: ActionState, status: FollowupStatus, exc: ProviderError) -> str:
    with session_scope() as session:
        action = session.get(OutboundAction, action_id)
        settle(action, state, status, exc.code, exc.message, exc.trace_id)
        if isinstance(exc, AuthError):
            channel = session.get(Channel, action.channel_id)
            channel.status, channel.last_error = ChannelStatus.NEEDS_ATTENTION, exc.message
            # e.g. a custom channel's webhook that failed its challenge is removed from the manifest
            changes = getattr(exc, "settings_changes", None)
            if changes:
                channel.settings = {**(channel.settings or {}), **changes}
    return state


def settle(action: OutboundAction, state: ActionState, status: FollowupStatus, code: str, message: str,
           trace_id: str | None = None) -> None:
    """Give an action (and its followup) its final word; shared with the sweep of dead workers."""
    action.state, action.error_code, action.error, action.trace_id = state, code, message, trace_id
    if action.followup is not None:
        action.followup.status, action.followup.error = status, message
        action.followup.status_at = utcnow()
