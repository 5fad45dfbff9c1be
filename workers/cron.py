"""The schedule: polls every polled channel each minute and sweeps stranded work.

Run by ``flask --app app cron`` (``flask worker`` starts one beside itself). Several running at
once are harmless: polls are unique jobs per channel and the sweep is idempotent.
"""
from __future__ import annotations

from redis import Redis
from rq.cron import CronScheduler

from . import DEFAULT, INGEST
from .poll import poll_all
from .sweep import sweep_job

POLL_INTERVAL = 60
SWEEP_INTERVAL = 60


DEMO_INTERVAL = 45


def run(connection: Redis, demo_url: str | None = None) -> None:
    """Start the schedule; with ``demo_url`` (INBOX_DEMO=1) the sandboxes also produce live traffic."""
    cron = CronScheduler(connection=connection, logging_level="INFO")
    cron.register(poll_all, queue_name=INGEST, interval=POLL_INTERVAL, name="poll-all")
    cron.register(sweep_job, queue_name=DEFAULT, interval=SWEEP_INTERVAL, name="sweep")
    if demo_url:
        from inbox.simulators.demo import tick

        cron.register(tick, queue_name=DEFAULT, args=(demo_url,), interval=DEMO_INTERVAL, name="demo-traffic")
    cron.start()
