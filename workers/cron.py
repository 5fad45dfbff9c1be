"""The schedule: polls every polled channel each minute, sweeps stranded work, and tells the
approvers about overdue suggestions (``workers.approval``).

Run by ``flask --app app cron`` (``flask worker`` starts one beside itself). Several running at
once are harmless: polls are unique jobs per channel, the sweep is idempotent
and an overdue suggestion is claimed once.
"""
from __future__ import annotations

from redis import Redis
from rq.cron import CronScheduler

from . import DEFAULT, INGEST
from .approval import notify_overdue
from .poll import poll_all
from .sweep import sweep_job

POLL_INTERVAL = 60
SWEEP_INTERVAL = 60
OVERDUE_INTERVAL = 60


def run(connection: Redis) -> None:
    """Start the schedule (the demo's live traffic is the sandbox process's business, not ours)."""
    cron = CronScheduler(connection=connection, logging_level="INFO")
    cron.register(poll_all, queue_name=INGEST, interval=POLL_INTERVAL, name="poll-all")
    cron.register(sweep_job, queue_name=DEFAULT, interval=SWEEP_INTERVAL, name="sweep")
    cron.register(notify_overdue, queue_name=DEFAULT, interval=OVERDUE_INTERVAL, name="approvals-overdue")
    cron.start()
