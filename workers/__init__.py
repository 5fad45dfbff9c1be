"""RQ queues and the enqueue helpers. Jobs are plain functions taking ids (see the modules here).

Queues are separate per direction so a flood of incoming events cannot hold back an agent's
reply: ``outbound`` is listed first, so a worker takes replies before ingestion work.
"""
from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from redis import Redis, RedisError
from rq import Queue, Retry, Worker
from rq.exceptions import DuplicateJobError, NoSuchJobError
from rq.job import Job
from rq.rate_limit import RateLimit

log = logging.getLogger(__name__)

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
    """The one-job-per-event path: process one stored webhook body in its own job.

    The intake no longer uses it (a job per event costs a fork per event in ``flask worker``,
    see request_drain); it stays for ``make bench``, which compares both paths.
    """
    return queue(INGEST).enqueue(
        "workers.ingest.process_event", raw_event_id, job_id=f"ingest-{raw_event_id}",
        retry=Retry(max=5, interval=[1, 5, 30, 120, 600]), result_ttl=600)


DRAIN_FLAG_TTL = 3600   # only a safety net: the drain clears the flag when it starts
# Compare-and-delete: clear the flag only if it still names this job (never a newer one).
_CLEAR_IF = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


def drain_flag(channel_id: int) -> str:
    """The Redis key naming the drain job queued for a channel (absent: none queued)."""
    return f"inbox:drain:{channel_id}"


def request_drain(channel_id: int) -> Job | None:
    """Make sure a drain of the channel's pending raw events starts after this call.

    Call it after the event is committed. The flag holds the id of the drain queued for the
    channel; whoever sets it enqueues that job, everyone else has nothing to do (None). The drain
    clears the flag *before* its first read, so an event committed meanwhile is either read by the
    running drain or its intake finds the flag free and queues the next one: never stranded.
    """
    conn = connection()
    job_id = f"drain-{channel_id}-{uuid.uuid4().hex[:12]}"
    if not conn.set(drain_flag(channel_id), job_id, nx=True, ex=DRAIN_FLAG_TTL):
        return None
    try:
        return _enqueue_drain(channel_id, job_id)
    except Exception:
        clear_drain_flag(channel_id, job_id)   # else the next intakes would wait for the sweep
        raise


def _enqueue_drain(channel_id: int, job_id: str, at: datetime | None = None) -> Job:
    # Retried: a drain that dies on a database outage leaves its rows pending for the next run.
    options = dict(job_id=job_id, job_timeout=900, result_ttl=0, failure_ttl=86400,
                   retry=Retry(max=3, interval=[5, 30, 120]))
    if at is None:
        return queue(INGEST).enqueue("workers.ingest.drain_channel", channel_id, **options)
    return queue(INGEST).enqueue_at(at, "workers.ingest.drain_channel", channel_id, unique=True, **options)


def clear_drain_flag(channel_id: int, job_id: str) -> bool:
    return bool(connection().eval(_CLEAR_IF, 1, drain_flag(channel_id), job_id))


def ensure_drain(channel_id: int) -> bool:
    """For the sweep: queue a drain unless the one the flag names is still waiting to run.

    A drain killed mid-way already cleared the flag; a flag whose job vanished (Redis lost it, or
    the enqueue failed) is stale and replaced. True when a drain was queued.
    """
    flagged = connection().get(drain_flag(channel_id))
    if flagged is not None:
        job_id = flagged.decode()
        if job_is_live(job_id):
            return False
        clear_drain_flag(channel_id, job_id)
    return request_drain(channel_id) is not None


def schedule_drain(channel_id: int, at: datetime) -> None:
    """A drain at ``at`` (naive UTC, as stored) for events that must wait until then.

    One job per channel and second: several rows due at once share it.
    """
    at = at.replace(tzinfo=timezone.utc) if at.tzinfo is None else at   # RQ reads naive as local time
    try:
        _enqueue_drain(channel_id, f"drain-{channel_id}-at-{int(at.timestamp())}", at)
    except DuplicateJobError:
        pass


RULES_FLAG = "inbox:rules"


def request_rules() -> Job | None:
    """Make sure the rules job runs after this call (call it after committing new rule runs).

    One rules job is queued at a time: whoever sets the flag enqueues it, everyone else has
    nothing to do. The job clears the flag before its first read (see ``workers.rules``), so a
    run committed meanwhile is never stranded. Redis down: None, and the sweep catches up (it
    requests the job for runs pending longer than a minute).
    """
    job_id = f"rules-{uuid.uuid4().hex[:12]}"
    try:
        conn = connection()
        if not conn.set(RULES_FLAG, job_id, nx=True, ex=DRAIN_FLAG_TTL):
            return None
        try:
            return queue(DEFAULT).enqueue("workers.rules.run_rules", job_id=job_id, job_timeout=300, result_ttl=0,
                                          failure_ttl=86400, retry=Retry(max=3, interval=[5, 30, 120]))
        except Exception:
            clear_rules_flag(job_id)   # else the next requests would wait for the sweep
            raise
    except QUEUE_DOWN:
        log.warning("queue unreachable: the rules job is left to the sweep", exc_info=True)
        return None


def clear_rules_flag(job_id: str) -> bool:
    return bool(connection().eval(_CLEAR_IF, 1, RULES_FLAG, job_id))


def ensure_rules() -> bool:
    """For the sweep: request the rules job unless the one the flag names is still alive (a flag
    whose job vanished is stale and replaced). True when a job was queued."""
    flagged = connection().get(RULES_FLAG)
    if flagged is not None:
        job_id = flagged.decode()
        if job_is_live(job_id):
            return False
        clear_rules_flag(job_id)
    return request_rules() is not None


def send_job_id(action_id: int) -> str:
    return f"send-{action_id}"


def enqueue_send(action_id: int, provider: str | None = None) -> Job:
    """Run one outbound action. The job id is derived from the action, so the sweeper can tell
    whether a job for it is still alive; the action row decides whether anything is sent.

    A job waiting for its retry ("scheduled") is kept: queueing the action again would call the
    provider before the wait it asked for is over. The retries are the job's own: RQ reschedules
    it (same id) at the time ``workers.outbound`` chose (Retry-After or backoff); the intervals
    here only serve jobs that fail outside a provider call (a database outage, say).
    """
    from .outbound import MAX_ATTEMPTS

    job_id = send_job_id(action_id)
    if job_state(job_id) == "scheduled":
        return Job.fetch(job_id, connection=connection())
    if provider is None:
        provider = _provider_of_action(action_id)
    return queue(OUTBOUND).enqueue(
        "workers.outbound.run_action", action_id, job_id=job_id, job_timeout=90,
        retry=Retry(max=MAX_ATTEMPTS + 2, interval=[2, 10, 60, 300]), result_ttl=600,
        rate_limit=RateLimit(key=f"provider-{provider}", concurrency=PROVIDER_CONCURRENCY.get(provider, 2)))


# What an unreachable queue raises: redis-py's errors, and the socket's own (refused, reset ...).
QUEUE_DOWN = (RedisError, ConnectionError, OSError)
QUEUE_DOWN_NOTICE = "Saved; it will run when the queue is back."


def enqueue_committed(enqueue: Callable[..., object], *args: object) -> bool:
    """Queue work whose rows are already committed; False when the queue is unreachable.

    The caller has saved everything the job needs, so an outage loses nothing: the sweep (every
    minute, and when a worker starts) finds the row and queues it. The request answers that the
    work was saved but not queued yet instead of failing after its commit.
    """
    try:
        enqueue(*args)
    except QUEUE_DOWN:
        log.warning("queue unreachable: %s%r saved, left to the sweep", getattr(enqueue, "__name__", enqueue), args,
                    exc_info=True)
        return False
    return True


def send_soon(action_id: int) -> bool:
    """Queue a committed action from a web request. If Redis is unreachable the row stays QUEUED
    and the sweep queues it: the request still succeeds. True when it was queued now."""
    return enqueue_committed(enqueue_send, action_id)


def setup_soon(channel_ids: list[int]) -> bool:
    """Queue the setup of committed channels; False when any could not be queued (see the sweep)."""
    return all([enqueue_committed(enqueue_channel_setup, channel_id) for channel_id in channel_ids])


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


def setup_job_id(channel_id: int) -> str:
    return f"setup-{channel_id}"


def enqueue_channel_setup(channel_id: int) -> Job:
    """Provider calls that follow a connect (webhook registration ...).

    The job id is derived from the channel so the sweep can tell whether a setup is still on its
    way. One still waiting to run is kept (it reads the channel when it runs, so it sees the
    latest credentials); any other is replaced by a new one.
    """
    job_id = setup_job_id(channel_id)
    if job_state(job_id) in WAITING_JOB_STATES:
        return Job.fetch(job_id, connection=connection())
    return queue(OUTBOUND).enqueue(
        "workers.channels.setup_channel", channel_id, job_id=job_id,
        retry=Retry(max=4, interval=[2, 10, 60, 300]), result_ttl=600)


WAITING_JOB_STATES = {"queued", "scheduled", "deferred"}
LIVE_JOB_STATES = WAITING_JOB_STATES | {"started"}

# ``flask worker`` beats every HEARTBEAT_SECONDS while a job runs (RQ's job monitoring interval;
# RQ's default is 30). A worker silent for HEARTBEAT_MISSED beats is dead: killed, its machine
# gone. RQ itself only notices when the worker's key expires, a minute or more later.
HEARTBEAT_SECONDS = 15
HEARTBEAT_MISSED = 3
HEARTBEAT_FIELD = "inbox_heartbeat"     # our addition to RQ's worker hash: that worker's interval


class InboxWorker(Worker):
    """RQ's forking worker that also records its heartbeat interval, so that the sweep (in any
    process) knows how long a silence means death."""

    def serialize(self) -> dict:
        return {**super().serialize(), HEARTBEAT_FIELD: self.job_monitoring_interval}


def make_worker(heartbeat: int = HEARTBEAT_SECONDS) -> Worker:
    return InboxWorker([queue(name) for name in QUEUE_NAMES], connection=connection(),
                       job_monitoring_interval=heartbeat)


def job_state(job_id: str) -> str | None:
    """RQ's status of the job under this id; None when RQ holds none.

    Redis errors propagate: "unreachable" must never read as "no job" (the sweep would settle a
    reply in flight as unknown)."""
    try:
        return _status_name(Job.fetch(job_id, connection=connection()).get_status(refresh=False))
    except NoSuchJobError:
        return None


def job_is_live(job_id: str) -> bool:
    """Whether RQ holds a pending job under this id, or a running one whose worker is alive.

    A started job whose worker was killed stays "started" in RQ until the worker's key expires
    and a maintenance pass notices; that is not alive, and the sweep must know it now.
    """
    try:
        job = Job.fetch(job_id, connection=connection())
    except NoSuchJobError:
        return False
    status = _status_name(job.get_status(refresh=False))
    if status == "started":
        return job.worker_name is not None and worker_is_alive(job.worker_name)
    return status in LIVE_JOB_STATES


def worker_is_alive(name: str) -> bool:
    """The worker's key still exists and its last heartbeat is recent enough."""
    worker = Worker.find_by_key(Worker.redis_worker_namespace_prefix + name, connection=connection())
    if worker is None or worker.last_heartbeat is None:
        return False
    interval = connection().hget(worker.key, HEARTBEAT_FIELD)
    silence = timedelta(seconds=HEARTBEAT_MISSED * int(interval or HEARTBEAT_SECONDS) + 5)
    return datetime.now(timezone.utc) - _aware(worker.last_heartbeat) <= silence


def _status_name(status: object) -> str | None:
    return getattr(status, "value", status)   # RQ's JobStatus enum (or None)


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment
