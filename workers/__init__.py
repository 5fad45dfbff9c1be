"""RQ queues and the enqueue helpers. Jobs are plain functions taking ids (see the modules here).

Queues are separate per direction so a flood of incoming events cannot hold back an agent's
reply: ``outbound`` is listed first, so a worker takes replies before ingestion work.
"""
from __future__ import annotations

from redis import Redis
from rq import Queue, Retry
from rq.job import Job

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


def enqueue_send(action_id: int) -> Job:
    """Run one outbound action. The job id is derived from the action, so the sweeper can tell
    whether a job for it is still alive; the action row decides whether anything is sent."""
    return queue(OUTBOUND).enqueue(
        "workers.outbound.run_action", action_id, job_id=f"send-{action_id}", job_timeout=90,
        retry=Retry(max=4, interval=[2, 10, 60, 300]), result_ttl=600)


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
