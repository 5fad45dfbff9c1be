"""Channel jobs: the provider calls that follow a connect (webhook registration, backfill)."""
from __future__ import annotations

import workers
from inbox.connectors import connector_class, connector_for
from inbox.connectors.base import AuthError, ProviderError
from inbox.db import session_scope
from models import Channel, ChannelStatus, utcnow


def setup_channel(channel_id: int) -> str:
    with session_scope() as session:
        channel = session.get(Channel, channel_id)
        if channel is None or channel.status == ChannelStatus.DISABLED:
            return "skipped"
        connector, webhook_url = connector_for(channel), channel.webhook_url
        polled = connector_class(channel.provider).polled
    if polled:
        workers.enqueue_poll(channel_id)   # backfill recent history now, not at the next minute
    try:
        connector.setup(webhook_url)
    except ProviderError as exc:
        with session_scope() as session:
            channel = session.get(Channel, channel_id)
            channel.last_error = f"Webhook registration failed: {exc.message}"
            if isinstance(exc, AuthError) or not exc.retryable:
                channel.status = ChannelStatus.NEEDS_ATTENTION
        if exc.retryable:
            raise
        return "failed"
    with session_scope() as session:
        channel = session.get(Channel, channel_id)
        channel.webhook_registered_at, channel.last_error = utcnow(), None
        if channel.status == ChannelStatus.NEEDS_ATTENTION:
            channel.status = ChannelStatus.ACTIVE
    return "registered"
