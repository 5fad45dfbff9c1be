"""Per-channel health: is ingestion keeping up, and does the channel need an admin?

``channels_health`` answers for any number of channels in one SQL statement (a correlated
subquery per figure), so the channels page and ``GET /api/v1/channels`` cost the same for 2
channels as for 200.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased, object_session

from inbox.connectors import connector_class
from models import Channel, ChannelStatus, Message, utcnow


def _iso(value):
    return value.isoformat() + "Z" if value else None


def channels_health(session: Session | None, channels: Sequence[Channel]) -> dict[int, dict[str, Any]]:
    """Last sync, ingestion lag (how late the newest item reached us), volume, errors, token expiry,
    for every channel given, keyed by channel id."""
    now = utcnow()
    figures: dict[int, tuple[int, datetime | None, datetime | None]] = {}
    ids = [c.id for c in channels if c.id is not None]
    if session is not None and ids:
        recent, live = aliased(Message), aliased(Message)
        hour = (select(func.count()).select_from(recent)
                .where(recent.channel_id == Channel.id, recent.received_at >= now - timedelta(hours=1))
                .correlate(Channel).scalar_subquery())
        # Live items only: history backfilled on connect is old by nature and says nothing of lag.
        newest = (select(live.id).where(live.channel_id == Channel.id, live.created_at >= Channel.created_at)
                  .order_by(live.received_at.desc(), live.id.desc()).limit(1)
                  .correlate(Channel).scalar_subquery())
        rows = session.execute(
            select(Channel.id, hour.label("items_last_hour"), Message.received_at, Message.created_at)
            .outerjoin(Message, Message.id == newest)
            .where(Channel.id.in_(ids))).all()
        figures = {row[0]: (row[1] or 0, row[2], row[3]) for row in rows}
    return {c.id: _health(c, now, *figures.get(c.id, (0, None, None))) for c in channels}


def channel_health(channel: Channel) -> dict[str, Any]:
    """One channel's health (``channels_health`` for lists)."""
    return channels_health(object_session(channel), [channel])[channel.id]


def _health(channel: Channel, now: datetime, items_last_hour: int, received_at: datetime | None,
            created_at: datetime | None) -> dict[str, Any]:
    lag = max((received_at - created_at).total_seconds(), 0.0) if received_at and created_at else None
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
