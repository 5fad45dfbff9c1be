"""Polling: every polled channel is fetched from where it left off, at least once a minute.

Polling is also the reconciliation for providers that send webhooks: an item whose webhook never
came is found by the next pass and stored once (store is idempotent).
"""
from __future__ import annotations

import logging

from sqlalchemy import select

import workers
from inbox.connectors import connector_class, connector_for
from inbox.connectors.base import AuthError, ProviderError
from inbox.db import session_scope
from inbox.ingest import store
from models import Channel, ChannelStatus, utcnow

from .outbound import store_credentials

log = logging.getLogger(__name__)


def polled_channel_ids() -> list[int]:
    with session_scope() as session:
        channels = session.scalars(select(Channel).where(Channel.status != ChannelStatus.DISABLED)).all()
        return [c.id for c in channels if connector_class(c.provider).polled]


def poll_all() -> int:
    """The cron entry point: queue one poll per polled channel (a poll already queued is not doubled)."""
    queued = 0
    for channel_id in polled_channel_ids():
        if workers.enqueue_poll(channel_id) is not None:
            queued += 1
    return queued


def poll_channel(channel_id: int) -> str:
    with session_scope() as session:
        channel = session.get(Channel, channel_id)
        if channel is None or channel.status == ChannelStatus.DISABLED:
            return "skipped"
        connector, state = connector_for(channel), dict(channel.sync_state or {})
    try:
        result = connector.fetch(state)
    except ProviderError as exc:
        _record_error(channel_id, exc)
        return f"failed: {exc.code}"
    with session_scope() as session:
        channel = session.get(Channel, channel_id)
        store.apply(session, channel, result.items)
        channel.sync_state = result.state
        channel.last_sync_at, channel.last_sync_error = utcnow(), None
        if result.credentials:
            store_credentials(channel, result.credentials)
        if result.token_expires_at:
            channel.token_expires_at = result.token_expires_at
        if channel.status == ChannelStatus.NEEDS_ATTENTION:
            channel.status, channel.last_error = ChannelStatus.ACTIVE, None   # it works again
    if result.items:
        workers.request_rules()   # after the commit: the new messages' rule runs
    return f"stored {len(result.items)} items"


def _record_error(channel_id: int, exc: ProviderError) -> None:
    """The next pass retries; credentials that were refused flag the channel for an admin."""
    with session_scope() as session:
        channel = session.get(Channel, channel_id)
        channel.last_sync_error = exc.message
        if isinstance(exc, AuthError):
            channel.status, channel.last_error = ChannelStatus.NEEDS_ATTENTION, exc.message
    log.warning("poll of channel %s failed: %s", channel_id, exc.message)
