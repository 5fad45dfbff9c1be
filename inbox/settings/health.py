"""Per-channel health: is ingestion keeping up, and does the channel need an admin?"""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import object_session

from inbox.connectors import connector_class
from models import Channel, ChannelStatus, Message, utcnow


def _iso(value):
    return value.isoformat() + "Z" if value else None


def channel_health(channel: Channel) -> dict[str, Any]:
    """Last sync, ingestion lag (how late the newest item reached us), volume, errors, token expiry."""
    session = object_session(channel)
    now = utcnow()
    items_last_hour, lag = 0, None
    if session is not None and channel.id is not None:
        items_last_hour = session.scalar(select(func.count()).select_from(Message).where(
            Message.channel_id == channel.id, Message.received_at >= now - timedelta(hours=1))) or 0
        # Live items only: history backfilled on connect is old by nature and says nothing of lag.
        newest = session.execute(select(Message.received_at, Message.created_at).where(
            Message.channel_id == channel.id, Message.created_at >= channel.created_at)
            .order_by(Message.received_at.desc()).limit(1)).first()
        if newest is not None:
            lag = max((newest.received_at - newest.created_at).total_seconds(), 0.0)
    cls = connector_class(channel.provider)
    expires_in = (channel.token_expires_at - now).total_seconds() if channel.token_expires_at else None
    return {
        "status": channel.status,
        "needs_attention": channel.status == ChannelStatus.NEEDS_ATTENTION,
        "polled": cls.polled,
        "webhooks": cls.webhooks,
        "last_sync_at": _iso(channel.last_sync_at),
        "last_event_at": _iso(channel.last_event_at),
        "ingestion_lag_seconds": lag,
        "items_last_hour": items_last_hour,
        "last_error": channel.last_sync_error or channel.last_error,
        "token_expires_at": _iso(channel.token_expires_at),
        "token_expires_in_seconds": expires_in,
    }
