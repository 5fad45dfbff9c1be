"""One batch of a bulk job: each ticket changed by the SAME domain call a person's single action
makes (``inbox.queue.actions.queue_ticket_action``), so every rule holds in bulk too: the
permission, the version check, a channel's "require a category before archiving", the history.

Why batches with the cursor in the job row: a batch and the job's progress commit together, so a
job killed half-way resumes after the last committed batch and never changes a ticket twice.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session, selectinload

from inbox import visibility
from inbox.connectors.base import Rejected
from inbox.queue import triage
from inbox.queue.actions import NotPermitted, queue_ticket_action
from inbox.queue.queries import FilterError
from models import BulkJob, BulkStatus, History, Ticket, User, utcnow

from .service import ACTIONS, FAILURES_CAP, matching_query

BATCH = 200
# What the single actions read on every ticket (its channel, tags and categories), loaded once per
# batch; the loaded channels also stay in the session's identity map, so the actions' own
# ``session.get(Channel, ...)`` costs no query.
_LOADED = (selectinload(Ticket.channel), selectinload(Ticket.tags), selectinload(Ticket.categories))
NOT_VISIBLE = "No such ticket, or not one you can see"


@dataclass
class BatchResult:
    """What the caller does after the commit: queue the network actions and the wake-ups."""
    more: bool = False
    sends: list[int] = field(default_factory=list)
    wakes: list[tuple[int, datetime]] = field(default_factory=list)


def run_batch(session: Session, job_id: int, batch: int = BATCH) -> BatchResult:
    """Handle the next ``batch`` tickets of the job (the caller commits)."""
    result = BatchResult()
    job = session.get(BulkJob, job_id, with_for_update=True)   # one runner at a time
    if job is None or job.over:
        return result
    user = session.get(User, job.user_id)
    if user is None or not user.active:
        fail(job, "The user who started this job is no longer active")
        return result
    job.status = BulkStatus.RUNNING
    _mark_history(session, job)
    if "tickets" in job.selection:
        result.more = _explicit(session, job, user, batch, result)
    else:
        result.more = _filtered(session, job, user, batch, result)
    if not result.more and not job.over:
        finish(job)
    return result


def _explicit(session: Session, job: BulkJob, user: User, batch: int, result: BatchResult) -> bool:
    entries = job.selection["tickets"][job.cursor:job.cursor + batch]
    if not entries:
        return False
    ids = sorted(e[0] for e in entries)
    # Locked in id order (no deadlock with another batch); a ticket the user cannot see is
    # reported exactly like a missing one.
    tickets = {t.id: t for t in session.scalars(select(Ticket).options(*_LOADED).where(Ticket.id.in_(ids))
                                                .order_by(Ticket.id).with_for_update()
                                                .execution_options(populate_existing=True))}
    visible = set(session.scalars(visibility.restrict(select(Ticket.id).where(Ticket.id.in_(ids)),
                                                      visibility.visible_tickets(user))))
    for ident, version in entries:
        ticket = tickets.get(ident)
        if ticket is None or ident not in visible:
            _failed(job, ident, NOT_VISIBLE)
            continue
        _one(session, job, user, ticket, version, result)
    job.cursor += len(entries)
    return job.cursor < len(job.selection["tickets"])


def _filtered(session: Session, job: BulkJob, user: User, batch: int, result: BatchResult) -> bool:
    """Walk the filter's tickets in id order up to the snapshot bound. A ticket changed since the
    start (new activity, someone's edit: both raise ``updated_at``) is skipped: the user chose from
    what they saw then. Not ``last_activity_at``: it is the network's time, which can run ahead of
    ours, and new activity raises ``updated_at`` anyway."""
    snapshot = job.selection
    started = datetime.fromisoformat(snapshot["at"])
    try:
        query = matching_query(user, snapshot["filter"])
    except FilterError as exc:      # stored by an older version whose filters differed
        fail(job, f"This filter is no longer valid: {exc.message}")
        return False
    rows = session.scalars(query.options(*_LOADED)
                           .where(Ticket.id > job.cursor, Ticket.id <= snapshot["max_id"])
                           .order_by(Ticket.id).limit(batch).with_for_update(of=Ticket)
                           .execution_options(populate_existing=True)).all()
    if not rows:
        return False
    for ticket in rows:
        if ticket.updated_at > started:
            if job.handled < job.total:
                job.skipped += 1
            continue
        _one(session, job, user, ticket, None, result)
    job.cursor = rows[-1].id
    return len(rows) == batch


def _one(session: Session, job: BulkJob, user: User, ticket: Ticket, seen: int | None,
         result: BatchResult) -> None:
    """One ticket in its own savepoint: a refusal undoes only this ticket's change."""
    kind, params = single_action(job, ticket)
    if seen is not None:
        params["version"] = seen
    try:
        with session.begin_nested():
            action = queue_ticket_action(session, ticket, user, kind, params, via="bulk")
    except triage.Stale:
        job.skipped += 1
        return
    except Rejected as exc:
        _failed(job, ticket.id, exc.message)
        return
    except NotPermitted as exc:
        _failed(job, ticket.id, f"You lack the {exc.permission} permission")
        return
    job.done += 1
    if action is not None:
        result.sends.append(action.id)
    if kind == "snooze" and ticket.snoozed_until:
        result.wakes.append((ticket.id, ticket.snoozed_until))


def single_action(job: BulkJob, ticket: Ticket) -> tuple[str, dict[str, Any]]:
    """The single action (and its parameters) this job means for this ticket. Tags and categories
    are ADDED: the ticket keeps the ones it has."""
    params = dict(job.params or {})
    if job.action == "tag":
        params = {"tags": sorted({t.name for t in ticket.tags} | set(params["tags"]))}
    elif job.action == "categorize":
        params = {"category_ids": sorted({c.id for c in ticket.categories} | set(params["category_ids"]))}
    return ACTIONS[job.action], params


def _mark_history(session: Session, job: BulkJob) -> None:
    """Every history entry this batch writes says it came from a bulk job (and which), whatever
    the domain function that writes it."""
    def before_flush(flushing: Session, _context, _instances) -> None:
        for obj in flushing.new:
            if isinstance(obj, History):
                obj.data = {**(obj.data or {}), "via": "bulk", "bulk_job": job.id}

    event.listen(session, "before_flush", before_flush)


def _failed(job: BulkJob, ticket_id: int, reason: str) -> None:
    job.failed += 1
    if len(job.failures or []) < FAILURES_CAP:
        job.failures = [*(job.failures or []), {"ticket_id": ticket_id, "reason": reason}]


def finish(job: BulkJob) -> None:
    """Done: what was selected and neither done nor failed was skipped (changed meanwhile, or no
    longer matching the filter)."""
    job.skipped = max(job.skipped, job.total - job.done - job.failed)
    job.status, job.finished_at = BulkStatus.FINISHED, utcnow()


def fail(job: BulkJob, why: str) -> None:
    job.status, job.error, job.finished_at = BulkStatus.FAILED, why[:500], utcnow()
