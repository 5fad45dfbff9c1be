"""RQ queues and the enqueue helpers. Jobs are plain functions taking ids (see the modules here).

Queues are separate per direction so a flood of incoming events cannot hold back an agent's
reply: ``outbound`` is listed first, so a worker takes replies before ingestion work.
"""
from __future__ import annotations

import logging

from redis import Redis
from rq import Queue, Retry
from rq.exceptions import DuplicateJobError
from rq.job import Job
from rq.rate_limit import RateLimit

# At most this many calls in flight per provider (across all workers): protects each API.
PROVIDER_CONCURRENCY = {"getloo": 4, "resont": 4, "socialwall": 2, "socialposts": 2, "custom": 8}

OUTBOUND, INGEST, DEFAULT = "outbound", "ingest", "default"
QUEUE_NAMES = (OUTBOUND, INGEST, DEFAULT)

_redis: Redis | None = None


def init(connection: Redis) -> None:
    global _redis
    _redis = connection


def connection() -> Redis:
    if _redis is None:
        raise RuntimeError("workers.init() has not been called")
    return _redis


def queue(name: str) -> Queue:
    return Queue(name, connection=connection())


def enqueue_event(raw_event_id: int) -> Job:
    """Process one stored webhook body. Retried: a delivery report may precede our own commit."""
    return queue(INGEST).enqueue(
        "workers.ingest.process_event", raw_event_id, job_id=f"ingest-{raw_event_id}",
        retry=Retry(max=5, interval=[1, 5, 30, 120, 600]), result_ttl=600)


def enqueue_send(action_id: int, provider: str | None = None) -> Job:
    """Run one outbound action. The job id is derived from the action, so the sweeper can tell
    whether a job for it is still alive; the action row decides whether anything is sent."""
    if provider is None:
        provider = _provider_of_action(action_id)
    return queue(OUTBOUND).enqueue(
        "workers.outbound.run_action", action_id, job_id=f"send-{action_id}", job_timeout=90,
        retry=Retry(max=4, interval=[2, 10, 60, 300]), result_ttl=600,
        rate_limit=RateLimit(key=f"provider-{provider}", concurrency=PROVIDER_CONCURRENCY.get(provider, 2)))


def send_soon(action_id: int) -> None:
    """Queue a committed action from a web request. If Redis is unreachable the row stays QUEUED
    and the sweep (every minute, and at worker start) queues it: the request still succeeds."""
    try:
        enqueue_send(action_id)
    except Exception:
        logging.getLogger(__name__).exception("could not enqueue outbound action %s", action_id)


def _provider_of_action(action_id: int) -> str:
    from inbox.db import session_scope
    from models import Channel, OutboundAction

    with session_scope() as session:
        action = session.get(OutboundAction, action_id)
        channel = session.get(Channel, action.channel_id) if action else None
        return channel.provider if channel else "unknown"


def enqueue_poll(channel_id: int) -> Job | None:
    """One poll of a channel on the inbound queue; None when one is already waiting (unique job)."""
    try:
        return queue(INGEST).enqueue("workers.poll.poll_channel", channel_id, job_id=f"poll-{channel_id}",
                                     unique=True, job_timeout=300, result_ttl=0, failure_ttl=60)
    except DuplicateJobError:
        return None


def enqueue_channel_setup(channel_id: int) -> Job:
    """Provider calls that follow a connect (webhook registration ...)."""
    return queue(OUTBOUND).enqueue(
        "workers.channels.setup_channel", channel_id,
        retry=Retry(max=4, interval=[2, 10, 60, 300]), result_ttl=600)


LIVE_JOB_STATES = {"queued", "started", "scheduled", "deferred"}


def job_is_live(job_id: str) -> bool:
    """Whether RQ still holds a pending or running job under this id."""
    try:
        return Job.fetch(job_id, connection=connection()).get_status(refresh=False) in LIVE_JOB_STATES
    except Exception:   # NoSuchJobError and friends: nothing alive
        return False
