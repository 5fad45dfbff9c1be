"""Running the rules on each new item or message, once, with a trace in the ticket's history.

Ingestion writes a ``RuleRun(status="pending")`` with every new inbound message, in the same
transaction (``inbox.ingest.store``). The rules job (``workers.rules``) takes pending runs in id
order and processes each in ONE transaction: build the item (``items.item_for``), evaluate the
rules (``engine.evaluate``), do every planned action (``apply``, each in its own SAVEPOINT so a
failing one is recorded and the others still run), raise the rules' counters, write the trace and
one History row, and finally ``UPDATE rule_run SET status='done' WHERE id=:id AND
status='pending'``. If that UPDATE finds the run no longer pending, another job did it: everything
is rolled back. So an action runs at most once per (rule, item, trigger event), whether the job is
retried, two jobs run at once (PostgreSQL: the pending row is read ``FOR UPDATE SKIP LOCKED``), or
the same webhook is delivered again (ingestion stores no second message, hence no second run).

Rule actions never trigger rules: no action stores an inbound message, and only ingestion writes
runs. A run whose processing itself raises (a bug, the database) counts an attempt with the error
in a transaction of its own; after ``MAX_ATTEMPTS`` it is ``failed``, and the ticket's history
says so. Work that leaves the process (outbound actions, mails, wake-ups) is queued only after
the commit.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import exists, select, update

from inbox.db import session_scope
from inbox.rules import apply, engine, items
from models import History, Message, Rule, RuleRun, RuleRunStatus, Ticket, utcnow

log = logging.getLogger(__name__)

BATCH = 50          # runs read per query; each is its own transaction
MAX_ATTEMPTS = 5    # a run that raises this many times is given up (status failed)
ERROR_MAX = 2000


@dataclass
class Loaded:
    """The rules as they are now, parsed once per batch: the runnable ones, and why the others
    cannot run (a keyword list they read was deleted)."""

    rules: list[engine.Rule]
    broken: dict[Any, str]
    lookups: engine.Lookups
    names: dict[Any, str]
    events: dict[Any, str | None]   # rule id → the event its trigger runs on

    def broken_for(self, event: str) -> dict[str, str]:
        """The active rules of this event's trigger that cannot run, and why (for the trace)."""
        return {str(rule_id): why for rule_id, why in self.broken.items() if self.events.get(rule_id) == event}


def load(session) -> Loaded:
    rows = list(session.scalars(select(Rule).order_by(Rule.weight, Rule.id)))
    found = items.lookups(session)
    rules, broken = items.parsed_rules(rows, found)
    return Loaded(rules, broken, found, {row.id: row.name for row in rows},
                  {row.id: engine.TRIGGERS.get(row.trigger) if row.active else None for row in rows})


def run_batch(after: int = 0, limit: int = BATCH) -> tuple[int, int]:
    """Process up to ``limit`` pending runs with an id above ``after``; returns ``(how many were
    read, the last id read)`` (``(0, after)``: none left). With no active rule at all, every
    pending run is marked done in one UPDATE: nothing to evaluate, no item built."""
    with session_scope() as session:
        if not session.scalar(select(exists().where(Rule.active.is_(True)))):
            session.execute(update(RuleRun).where(RuleRun.status == RuleRunStatus.PENDING)
                            .values(status=RuleRunStatus.DONE, ran_at=utcnow())
                            .execution_options(synchronize_session=False))
            return 0, after
        ids = list(session.scalars(select(RuleRun.id).where(
            RuleRun.status == RuleRunStatus.PENDING, RuleRun.id > after).order_by(RuleRun.id).limit(limit)))
        if not ids:
            return 0, after
        loaded = load(session)
    for run_id in ids:
        process(run_id, loaded)
    return len(ids), ids[-1]


def process(run_id: int, loaded: Loaded | None = None) -> str:
    """One run in one transaction; returns "done", "skipped" (not pending, or taken by another
    job) or "error" (recorded on the run; retried by a later job until MAX_ATTEMPTS)."""
    after: list[Callable[[], object]] = []
    try:
        with session_scope() as session:
            outcome = _process(session, run_id, loaded or load(session), after)
    except Exception as exc:   # noqa: BLE001 - recorded on the run, retried by a later job
        log.exception("rule run %s failed", run_id)
        _record_failure(run_id, exc)
        return "error"
    if outcome == "done":
        for callback in after:   # committed: now queue what leaves the process
            try:
                callback()
            except Exception:   # noqa: BLE001 - the rows are committed; the sweep sends them later
                log.exception("rule run %s: queueing after the commit failed", run_id)
    return outcome


def _process(session, run_id: int, loaded: Loaded, after: list) -> str:
    run = session.scalars(select(RuleRun).where(RuleRun.id == run_id, RuleRun.status == RuleRunStatus.PENDING)
                          .with_for_update(skip_locked=True)).first()
    if run is None:
        return "skipped"
    ticket = session.get(Ticket, run.ticket_id)
    message = session.get(Message, run.message_id)
    item = items.item_for(session, ticket, message, run.event)
    evaluation = engine.evaluate(loaded.rules, item, loaded.lookups)
    now = utcnow()

    by_rule: dict[Any, list[dict[str, Any]]] = {}
    failed_rules: set[Any] = set()
    ctx = apply.Context(session, ticket, after_commit=after)
    for planned in evaluation.actions:
        ctx.rule_id, ctx.rule_name = planned.rule_id, loaded.names.get(planned.rule_id, "")
        changed_before, queued_before = ctx.changed, len(after)
        try:
            with session.begin_nested():
                result = apply.run(ctx, planned.action, dict(planned.config))
                session.flush()
            ok = True
        except Exception as exc:   # noqa: BLE001 - recorded in the trace; the other actions still run
            if not isinstance(exc, apply.EXPECTED):
                log.warning("rule %s action %s on ticket %s raised", planned.rule_id, planned.action, ticket.id,
                            exc_info=True)
            ctx.changed = changed_before   # the savepoint undid it ...
            del after[queued_before:]      # ... so there is nothing of it to queue
            session.expire(ticket)
            ok, result = False, _why(exc)
            failed_rules.add(planned.rule_id)
        by_rule.setdefault(planned.rule_id, []).append(
            {"action": planned.action, "config": dict(planned.config), "ok": ok, "result": result})

    matched = [t for t in evaluation.traces if t.matched]
    evaluated = [t for t in evaluation.traces if t.skipped is None]
    broken = loaded.broken_for(run.event)
    trace = {"event": run.event, "rules": [_rule_trace(t, by_rule.get(t.rule_id, [])) for t in evaluation.traces],
             "broken": broken}
    for t in matched:
        session.execute(update(Rule).where(Rule.id == t.rule_id).values(
            matched_count=Rule.matched_count + 1, last_matched_at=now).execution_options(synchronize_session=False))
    for rule_id in failed_rules:
        session.execute(update(Rule).where(Rule.id == rule_id).values(failed_count=Rule.failed_count + 1)
                        .execution_options(synchronize_session=False))
    if evaluated or broken:
        session.add(History(ticket_id=ticket.id, user_id=None, action="rules",
                            data={"run_id": run.id, "matched": [t.name for t in matched],
                                  "failed": sum(not a["ok"] for acts in by_rule.values() for a in acts)}))
    if ctx.changed:   # once per run, however many actions changed it
        session.flush()
        session.execute(update(Ticket).where(Ticket.id == ticket.id).values(version=Ticket.version + 1)
                        .execution_options(synchronize_session=False))
    done = session.execute(update(RuleRun).where(RuleRun.id == run.id, RuleRun.status == RuleRunStatus.PENDING)
                           .values(status=RuleRunStatus.DONE, trace=trace, ran_at=now, attempts=RuleRun.attempts + 1,
                                   error=None)
                           .execution_options(synchronize_session=False))
    if done.rowcount != 1:
        session.rollback()   # another job did this run: none of this happened
        after.clear()
        return "skipped"
    return "done"


def _rule_trace(t: engine.RuleTrace, actions: list[dict[str, Any]]) -> dict[str, Any]:
    return {"rule_id": t.rule_id, "name": t.name, "matched": t.matched, "skipped": t.skipped, "stopped": t.stopped,
            "conditions": [{"index": c.index, "condition": c.condition, "negate": c.negate, "passed": c.passed,
                            "detail": c.detail} for c in t.conditions],
            "actions": actions}


def _why(exc: Exception) -> str:
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return str(message)[:ERROR_MAX]


def _record_failure(run_id: int, exc: Exception) -> None:
    """The run raised: count the attempt, keep the error; the last attempt fails it for good and
    tells the ticket's history. Only a run still pending is touched."""
    error = f"{type(exc).__name__}: {exc}"[:ERROR_MAX]
    try:
        with session_scope() as session:
            run = session.scalars(select(RuleRun).where(RuleRun.id == run_id,
                                                        RuleRun.status == RuleRunStatus.PENDING)).first()
            if run is None:
                return
            run.attempts = (run.attempts or 0) + 1
            run.error = error
            if run.attempts >= MAX_ATTEMPTS:
                run.status, run.ran_at = RuleRunStatus.FAILED, utcnow()
                session.add(History(ticket_id=run.ticket_id, user_id=None, action="rules",
                                    data={"run_id": run.id, "matched": [], "failed": 0, "error": error}))
    except Exception:   # noqa: BLE001 - the database is down too: the sweep retries the run
        log.exception("could not record the failure of rule run %s", run_id)
