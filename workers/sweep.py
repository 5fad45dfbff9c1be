"""Find work that fell between the cracks: rows committed whose job never ran or never finished.

Runs when a worker starts, every minute from the RQ cron schedule (``workers.cron``), and on
``flask --app app sweep``. Everything it does is safe to repeat.
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

import workers
from inbox.db import session_scope
from models import ActionState, FollowupStatus, OutboundAction, RawEvent, RawEventStatus, utcnow

from .outbound import DIED_MID_CALL, settle

STALE_AFTER = timedelta(seconds=60)
SENDING_DEAD_AFTER = timedelta(minutes=10)   # well past the send job's 90 s timeout


def requeue_stranded(stale_after: timedelta = STALE_AFTER) -> dict[str, int]:
    """Returns what it did: ``events`` counts the channels whose pending events got a new drain."""
    now, counts = utcnow(), {"events": 0, "actions": 0, "unknown": 0}
    with session_scope() as session:
        # Pending (and due) for a while: its drain never ran, or died mid-way.
        channel_ids = session.scalars(select(RawEvent.channel_id).distinct().where(
            RawEvent.status == RawEventStatus.RECEIVED, RawEvent.channel_id.is_not(None),
            func.coalesce(RawEvent.retry_at, RawEvent.received_at) <= now - stale_after)).all()
        action_ids = session.scalars(select(OutboundAction.id).where(
            OutboundAction.state == ActionState.QUEUED, OutboundAction.updated_at <= now - stale_after)).all()
        for action in session.scalars(select(OutboundAction).where(
                OutboundAction.state == ActionState.SENDING, OutboundAction.updated_at <= now - SENDING_DEAD_AFTER)):
            if not workers.job_is_live(f"send-{action.id}"):
                settle(action, ActionState.UNKNOWN, FollowupStatus.UNKNOWN, "worker_died", DIED_MID_CALL)
                counts["unknown"] += 1
        for event in session.scalars(select(RawEvent).where(   # their channel was deleted
                RawEvent.status == RawEventStatus.RECEIVED, RawEvent.channel_id.is_(None))):
            event.status, event.error, event.processed_at = (RawEventStatus.IGNORED, "the channel no longer exists",
                                                             now)
    for channel_id in channel_ids:
        if workers.ensure_drain(channel_id):
            counts["events"] += 1
    for action_id in action_ids:
        if not workers.job_is_live(f"send-{action_id}"):
            workers.enqueue_send(action_id)
            counts["actions"] += 1
    return counts


def sweep_job() -> dict[str, int]:
    """The scheduled form of the sweep."""
    return requeue_stranded()
