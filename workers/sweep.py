"""Find work that fell between the cracks: rows committed whose job never ran or never finished.

Runs when a worker starts, every minute from the RQ cron schedule (``workers.cron``), and on
``flask --app app sweep``. Everything it does is safe to repeat.
"""
from __future__ import annotations

import logging
from datetime import timedelta

from redis import RedisError
from sqlalchemy import func, select

import workers
from inbox.db import session_scope
from models import (ActionState, Channel, ChannelStatus, OutboundAction, RawEvent, RawEventStatus, RuleRun,
                    RuleRunStatus, utcnow)

from .outbound import reconcile_action

log = logging.getLogger(__name__)

STALE_AFTER = timedelta(seconds=60)


def requeue_stranded(stale_after: timedelta = STALE_AFTER) -> dict[str, int]:
    """Returns what it did: ``events`` counts the channels whose pending events got a new drain,
    ``actions`` the outbound actions queued again (stranded, or not found at the provider after an
    interrupted attempt), ``unknown`` those settled as unknown, ``reconciled`` those found sent,
    ``setups`` the channels whose setup (webhook registration, backfill) was queued again.

    A SENDING action is reconciled as soon as its job is not alive: RQ's heartbeats say whether
    the worker running it still beats (``workers.job_is_live``), so a killed worker is noticed
    within about a minute rather than when RQ's own keys expire. Reconciling asks the provider
    (``workers.outbound.reconcile_action``) outside the database transaction.
    """
    now = utcnow()
    counts = {"events": 0, "actions": 0, "unknown": 0, "reconciled": 0, "setups": 0}
    with session_scope() as session:
        # Pending (and due) for a while: its drain never ran, or died mid-way.
        channel_ids = session.scalars(select(RawEvent.channel_id).distinct().where(
            RawEvent.status == RawEventStatus.RECEIVED, RawEvent.channel_id.is_not(None),
            func.coalesce(RawEvent.retry_at, RawEvent.received_at) <= now - stale_after)).all()
        action_ids = session.scalars(select(OutboundAction.id).where(
            OutboundAction.state == ActionState.QUEUED, OutboundAction.updated_at <= now - stale_after)).all()
        sending = session.scalars(select(OutboundAction.id).where(
            OutboundAction.state == ActionState.SENDING, OutboundAction.updated_at <= now - stale_after)).all()
        stranded = [action_id for action_id in sending if not workers.job_is_live(workers.send_job_id(action_id))]
        # Connected, never set up (the enqueue failed, or Redis lost the job): set up again. A
        # setup that failed for good has said so on the channel (last_error) and is not repeated.
        setup_ids = session.scalars(select(Channel.id).where(
            Channel.status == ChannelStatus.ACTIVE, Channel.webhook_registered_at.is_(None),
            Channel.updated_at <= now - stale_after)).all()
        for event in session.scalars(select(RawEvent).where(   # their channel was deleted
                RawEvent.status == RawEventStatus.RECEIVED, RawEvent.channel_id.is_(None))):
            event.status, event.error, event.processed_at = (RawEventStatus.IGNORED, "the channel no longer exists",
                                                             now)
    for action_id in stranded:
        # It re-reads the row: the job may have finished (and settled it) since the list was read.
        try:
            outcome = reconcile_action(action_id)
        except Exception:     # one action's trouble (a bug, the database) must not stop the sweep
            log.exception("could not reconcile action %s; the next sweep tries again", action_id)
            continue
        if outcome == "unknown":
            counts["unknown"] += 1
        elif outcome == "sent":
            counts["reconciled"] += 1
        elif outcome == "requeued":
            workers.enqueue_send(action_id)
            counts["actions"] += 1
    for channel_id in channel_ids:
        if workers.ensure_drain(channel_id):
            counts["events"] += 1
    for action_id in action_ids:
        if not workers.job_is_live(workers.send_job_id(action_id)):
            workers.enqueue_send(action_id)
            counts["actions"] += 1
    for channel_id in setup_ids:
        job_id = workers.setup_job_id(channel_id)
        if workers.job_state(job_id) != "failed" and not workers.job_is_live(job_id):
            workers.enqueue_channel_setup(channel_id)
            counts["setups"] += 1
    return counts


def request_stranded_rules(stale_after: timedelta = STALE_AFTER) -> int:
    """1 when rule runs pending for longer than ``stale_after`` got the rules job again: their job
    never ran (Redis was down, or lost it), or the run raised last time (it is retried until the
    runner gives it up). 0 when none, or when the job the flag names is still alive."""
    with session_scope() as session:
        stranded = session.scalar(select(RuleRun.id).where(
            RuleRun.status == RuleRunStatus.PENDING, RuleRun.created_at <= utcnow() - stale_after).limit(1))
    return int(stranded is not None and workers.ensure_rules())


def sweep_job() -> dict[str, int]:
    """The scheduled form of the sweep; it also wakes snoozed tickets whose wake-up job was lost,
    runs the rules on rule runs left pending, and queues forwarded mail that was never sent."""
    from .mail import requeue_stranded as requeue_mail
    from .triage import wake_due

    from .bulk import requeue_stranded as requeue_bulk

    return {**requeue_stranded(), "woken": wake_due(), "rules": request_stranded_rules(),
            "mail": requeue_mail(), "bulk": requeue_bulk(), "analyzed": refresh_statistics()}


ANALYZE_EVERY = 3600


def refresh_statistics() -> int:
    """SQLite only: refresh the query planner's statistics once an hour (PostgreSQL's autovacuum
    does it there). The queue's and the search's plans depend on them — without them a rare word
    with a status filter read the wrong index first — and a database that grew from empty would
    otherwise keep the statistics of an empty one. ``analysis_limit`` keeps it to a sample (a few
    milliseconds at a million tickets). Returns 1 when it ran."""
    from inbox.db import engine

    if engine().dialect.name != "sqlite":
        return 0
    try:
        if not workers.connection().set("sqlite-analyze", 1, nx=True, ex=ANALYZE_EVERY):
            return 0
    except RedisError:       # Redis down: the next sweep tries again
        return 0
    with engine().begin() as conn:
        conn.exec_driver_sql("PRAGMA analysis_limit = 1000")
        conn.exec_driver_sql("ANALYZE")
    return 1
