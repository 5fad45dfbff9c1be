"""The bulk job: batches of ``inbox.bulk.apply`` until the selection is exhausted.

Each batch is its own transaction (the tickets and the job's progress together), so the progress
bar moves while it runs and a retry (RQ ``Retry``) resumes after the last committed batch.
"""
from __future__ import annotations

import logging
import time
from datetime import timedelta

from rq import Retry, get_current_job

import workers
from inbox.bulk.apply import fail, run_batch
from inbox import db
from inbox.db import session_scope
from models import BulkJob

log = logging.getLogger(__name__)
SQLITE_PAUSE = 0.05     # seconds between two batches on SQLite


def run_bulk(job_id: int) -> None:
    try:
        while True:
            with session_scope() as session:
                result = run_batch(session, job_id)
            # After the commit, as the single actions do: network actions and wake-ups.
            for action_id in result.sends:
                workers.send_soon(action_id)
            if result.wakes:
                from workers.triage import wake_soon

                for ticket_id, until in result.wakes:
                    wake_soon(ticket_id, until)
            if not result.more:
                return
            if db.engine().dialect.name == "sqlite":
                # One writer at a time there: let the webhook intake and other workers waiting for
                # the lock in before the next batch takes it again.
                time.sleep(SQLITE_PAUSE)
    except Exception as exc:
        current = get_current_job()
        if current is None or not current.retries_left:     # the last try: say so on the job
            log.exception("bulk job %s failed", job_id)
            with session_scope() as session:
                job = session.get(BulkJob, job_id)
                if job is not None and not job.over:
                    fail(job, f"The job stopped: {type(exc).__name__}. What was done before stays done.")
        raise


def enqueue_bulk(job_id: int):
    return workers.queue(workers.DEFAULT).enqueue(
        "workers.bulk.run_bulk", job_id, job_id=f"bulk-{job_id}", job_timeout=3600, result_ttl=600,
        failure_ttl=86400, retry=Retry(max=3, interval=[5, 30, 120]))


def start_soon(job_id: int) -> bool:
    """Queue a committed job; False when the queue is unreachable (the sweep queues it later)."""
    return workers.enqueue_committed(enqueue_bulk, job_id)


def requeue_stranded(stale_after: timedelta = timedelta(seconds=60)) -> int:
    """For the sweep: jobs saved but never queued (Redis was down), or whose worker died, are
    queued again; they resume after their last committed batch. Returns how many."""
    from sqlalchemy import select

    from models import BulkStatus, utcnow

    with session_scope() as session:
        waiting = session.scalars(select(BulkJob.id).where(
            BulkJob.status.in_((BulkStatus.QUEUED, BulkStatus.RUNNING)),
            BulkJob.created_at <= utcnow() - stale_after)).all()
    again = [job_id for job_id in waiting if not workers.job_is_live(f"bulk-{job_id}")]
    for job_id in again:
        enqueue_bulk(job_id)
    return len(again)
