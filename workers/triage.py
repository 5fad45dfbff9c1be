"""Snoozed tickets come back by themselves: a job scheduled for the snooze's end, and the sweep.

The job is queued with ``enqueue_at`` when a ticket is snoozed. Redis may lose it (an outage, a
flushed database) or the web request may fail to queue it, so the sweep (every minute from the
cron schedule) also wakes every snoozed ticket whose time has passed: a lost job costs at most a
minute. Both are safe to repeat, and a ticket snoozed again for later is left asleep.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

import workers
from inbox.db import session_scope
from inbox.queue.triage import wake
from models import Ticket, TicketStatus, utcnow


def wake_ticket(ticket_id: int) -> bool:
    """The scheduled job: back to the open queue, if it is still snoozed and its time has come."""
    with session_scope() as session:
        ticket = session.get(Ticket, ticket_id, with_for_update=True)
        return ticket is not None and wake(session, ticket, "schedule")


def wake_due() -> int:
    """Wake every snoozed ticket whose time has passed (the sweep's part); returns how many."""
    woken = 0
    with session_scope() as session:
        due = session.scalars(select(Ticket).where(Ticket.status == TicketStatus.SNOOZED,
                                                   Ticket.snoozed_until <= utcnow()).with_for_update()).all()
        for ticket in due:
            woken += wake(session, ticket, "sweep")
    return woken


def enqueue_wake(ticket_id: int, until: datetime) -> None:
    workers.queue(workers.DEFAULT).enqueue_at(workers._aware(until), "workers.triage.wake_ticket", ticket_id,
                                              job_id=f"wake-{ticket_id}-{int(workers._aware(until).timestamp())}",
                                              result_ttl=600)


def wake_soon(ticket_id: int, until: datetime) -> bool:
    """Schedule the wake-up of a committed snooze; False when the queue is unreachable (the sweep
    wakes it then)."""
    return workers.enqueue_committed(enqueue_wake, ticket_id, until)
