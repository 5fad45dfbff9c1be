"""The rules job: run the rules on every pending rule run (``inbox.rules.runner``), in id order.

One job at a time is queued (``workers.request_rules``: a Redis flag like the drain's). The job
clears the flag *before* its first read, so a run committed meanwhile is either read by this job
or its ingestion finds the flag free and queues the next one. Each run is its own transaction and
is done at most once (see the runner), so a retried or duplicated job repeats nothing. After
``RUN_SECONDS`` the job hands over to a new one, so other queued work gets its turn.
"""
from __future__ import annotations

import time

from rq import get_current_job

import workers
from inbox.rules import runner

RUN_SECONDS = 60


def run_rules() -> int:
    """Process pending runs until none is left (or the time box ends); returns how many were read.

    A run that raised is left pending with its attempt counted; this job moves past it (the id
    cursor) and the next job, or the sweep, tries it again."""
    job = get_current_job()
    if job is not None:
        workers.clear_rules_flag(job.id)
    started, after, total = time.monotonic(), 0, 0
    while True:
        if time.monotonic() - started > RUN_SECONDS:
            workers.request_rules()   # the rest, in a job of its own
            break
        read, after = runner.run_batch(after)
        if not read:
            break
        total += read
    return total
