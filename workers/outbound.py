"""Outbound jobs: send what agents asked for, exactly once where the provider lets us know.

The action row is claimed with one conditional UPDATE (QUEUED -> SENDING) before the provider
is called, and every try leaves an ``ActionAttempt`` row (what the provider answered, for an
admin asking "why"). What happens next depends on what the provider said:

* accepted: SENT;
* busy or unreachable (429, 5xx, connect error): nothing was accepted, so the action goes back to
  QUEUED and the same RQ job is scheduled again, no sooner than the provider's ``Retry-After``
  (capped) or after an exponential backoff with jitter; after ``MAX_ATTEMPTS`` tries, FAILED;
* refused (4xx): FAILED with the provider's message; a person may Retry once the cause is fixed;
* no answer (a timeout after the request left, or a worker that died mid-call — found SENDING by
  the next attempt or by the sweep): the provider may have carried it out. Where it can be asked
  (``Connector.reconcile``) we look for it: found -> SENT; clearly not there -> QUEUED and sent;
  where it cannot (Getloo) the action becomes UNKNOWN and is never sent again by itself: a person
  marks it as sent or sends it again.
"""
from __future__ import annotations

import logging
import math
import os
import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from rq import get_current_job
from sqlalchemy import func, select, update

from inbox.connectors import connector_for
from inbox.connectors.base import ActionResult, AuthError, CannotAsk, Connector, ProviderError, Target
from inbox.crypto import decrypt_json, encrypt_json
from inbox.db import session_scope
from models import (ActionAttempt, ActionState, Channel, ChannelStatus, Direction, FollowupStatus, History,
                    Message, OutboundAction, Ticket, utcnow)

log = logging.getLogger(__name__)

DIED_MID_CALL = ("A worker stopped while this was being sent, so it may or may not have reached "
                 "the network. Check on the network before sending it again.")
NO_ANSWER = ("The provider did not answer, so this may or may not have reached the network. "
             "Check on the network before sending it again.")

MAX_ATTEMPTS = 6                 # tries of one round (a person's Retry / Send again starts a new one)
BACKOFF_BASE, BACKOFF_FACTOR = 1.0, 4.0     # ~1, 4, 16, 64, 256 s between tries (with jitter)
RETRY_AFTER_CAP = 15 * 60        # a provider asking for longer is tried again after this
# A request our worker sent may still be worked on by the provider for a while after the worker
# died (our client would have waited TIMEOUT's 20 s read + 5 s connect). Until then, "not found"
# is not an answer: the action stays SENDING and the sweep asks again. Overridable for tests.
RECONCILE_GRACE = 30.0


class RetryLater(Exception):
    """Raised out of the job so that RQ schedules the same job (same id) again."""


def reconcile_grace() -> float:
    try:
        return float(os.environ.get("INBOX_RECONCILE_GRACE_SECONDS", RECONCILE_GRACE))
    except ValueError:
        return RECONCILE_GRACE


@dataclass(frozen=True, slots=True)
class Call:
    """What the provider call needs, read in one short transaction (no ORM objects)."""

    connector: Connector
    kind: str
    target: Target
    params: dict
    started_at: datetime        # when the current attempt began: what reconciliation looks after


def backoff(attempt: int) -> float:
    """Seconds before try ``attempt + 1``: exponential, with jitter so that many actions failing
    together (a provider outage) do not all come back in the same second."""
    return min(RETRY_AFTER_CAP, BACKOFF_BASE * BACKOFF_FACTOR ** max(0, attempt - 1)) * random.uniform(0.5, 1.0)


def wait_for(exc: ProviderError, attempt: int) -> float:
    """The wait before the next try: what the provider asked for (capped), else the backoff."""
    if exc.retry_after is not None:
        return min(float(exc.retry_after), RETRY_AFTER_CAP)
    return backoff(attempt)


# ---------------------------------------------------------------------------------------- claim

def claim(action_id: int) -> str:
    """QUEUED -> SENDING in one statement, with a new attempt row; returns the state the action
    was found in ("missing" when there is no such action)."""
    with session_scope() as session:
        result = session.execute(
            update(OutboundAction)
            .where(OutboundAction.id == action_id, OutboundAction.state == ActionState.QUEUED)
            .values(state=ActionState.SENDING, attempts=OutboundAction.attempts + 1, updated_at=utcnow()))
        action = session.get(OutboundAction, action_id)
        if action is None:
            return "missing"
        if result.rowcount == 1:
            if action.followup is not None:
                action.followup.advance(FollowupStatus.SENDING)
            session.add(ActionAttempt(action_id=action_id, number=next_number(session, action_id)))
            return ActionState.QUEUED
        return action.state


def next_number(session, action_id: int) -> int:
    return (session.scalar(select(func.max(ActionAttempt.number)).where(ActionAttempt.action_id == action_id))
            or 0) + 1


def _current_attempt(session, action_id: int) -> ActionAttempt | None:
    return session.scalars(select(ActionAttempt).where(ActionAttempt.action_id == action_id)
                           .order_by(ActionAttempt.number.desc()).limit(1)).first()


def _prepare(action_id: int) -> Call:
    with session_scope() as session:
        action = session.get(OutboundAction, action_id)
        channel = session.get(Channel, action.channel_id)
        # "_delivery_id" lets a provider dedupe a retried request (custom channels' event uuid).
        params = {**action.request, "_delivery_id": action.idempotency_key, "_action_id": action.id,
                  "_channel_id": channel.id}
        target = target_of(session, channel, session.get(Ticket, action.ticket_id) if action.ticket_id else None)
        attempt = _current_attempt(session, action_id)
        started = attempt.started_at if attempt is not None and attempt.outcome is None else action.updated_at
        return Call(connector_for(channel), action.kind, target, params, started)


# ---------------------------------------------------------------------------------------- the job

def run_action(action_id: int) -> str:
    early = _too_early(action_id)
    if early:
        if _schedule_again(early):
            raise RetryLater(f"the provider asked us to wait; trying again in {early:.0f} s")
        return "not sent: the provider asked us to wait"
    found = claim(action_id)
    if found == ActionState.SENDING:
        # An earlier attempt died mid-call (or it is still waiting for reconciliation).
        outcome = reconcile_action(action_id)
        if outcome != "requeued" or claim(action_id) != ActionState.QUEUED:
            return f"not sent: {outcome}"
    elif found != ActionState.QUEUED:
        return "not sent: already handled"
    call = _prepare(action_id)
    try:
        result = call.connector.perform(call.kind, call.target, call.params)
    except ProviderError as exc:
        return _after_error(action_id, exc)
    _sent(action_id, result, "sent")
    return "sent"


def _after_error(action_id: int, exc: ProviderError) -> str:
    if exc.uncertain:
        # It may have been carried out: note what happened, then ask the provider before anything
        # else (reconciliation closes the attempt with what it finds).
        _note_error(action_id, exc)
        outcome = reconcile_action(action_id, unknown_message=NO_ANSWER)
        if outcome == "requeued" and _schedule_again(backoff(1)):
            raise RetryLater("not found at the provider after no answer; sending again") from exc
        return f"not sent: {outcome}"
    with session_scope() as session:
        attempts = session.get(OutboundAction, action_id).attempts
    delay = wait_for(exc, attempts)
    # Retried only by a job RQ can schedule again (run outside one, this is the last attempt).
    if exc.retryable and attempts < MAX_ATTEMPTS and _schedule_again(delay):
        _release(action_id, exc, delay)
        raise RetryLater(f"{exc.message}; trying again in {delay:.0f} s") from exc
    if exc.retryable and attempts >= MAX_ATTEMPTS:
        exc.message = f"{exc.message} (gave up after {attempts} attempts)"    # same class: AuthError flags
    return _fail(action_id, ActionState.FAILED, FollowupStatus.FAILED, exc)


def _schedule_again(delay: float) -> bool:
    """Let RQ schedule this job (same id, so the sweep sees it waiting) again in ``delay`` seconds.

    RQ's Retry has fixed intervals; the one it is about to use is replaced by ours. Its scheduler
    keeps whole seconds (rounded down), so one more second makes "no sooner than" hold. False
    outside a job or with no retries left: the row stays QUEUED and the sweep queues it later.
    """
    job = get_current_job()
    if job is None or not job.retries_left:
        return False
    job.retry_intervals = [max(1, math.ceil(delay)) + 1]
    return True


def _too_early(action_id: int) -> float:
    """Seconds still to wait when the last try was answered with a ``Retry-After`` that has not
    passed (a job queued early, e.g. by the sweep after Redis lost the scheduled one); else 0."""
    with session_scope() as session:
        action = session.get(OutboundAction, action_id)
        if action is None or action.state != ActionState.QUEUED or not action.attempts:
            return 0.0     # a first try (the common case) costs this one read
        last = _current_attempt(session, action_id)
        if last is None or last.outcome != "retry" or not last.retry_after or last.finished_at is None:
            return 0.0
        due = last.finished_at + timedelta(seconds=min(last.retry_after, RETRY_AFTER_CAP))
        return max(0.0, (due - utcnow()).total_seconds())


# ---------------------------------------------------------------------------------------- outcomes

def _sent(action_id: int, result: ActionResult, outcome: str) -> None:
    with session_scope() as session:
        # A provider may call back (delivered / failed) while we were calling it: never overwrite
        # its word. FOR UPDATE makes this read wait for a callback's transaction in flight
        # (PostgreSQL; SQLite's writers are serialised anyway), so the check below sees its result.
        action = session.get(OutboundAction, action_id, with_for_update=True)
        if action.state in (ActionState.SENDING, ActionState.UNKNOWN, ActionState.QUEUED):
            action.state, action.error, action.error_code = ActionState.SENT, None, None
        action.external_id = action.external_id or result.external_id
        action.sent_at = action.sent_at or utcnow()
        action.response = {**result.data, **(action.response or {})}
        if action.followup is not None:
            action.followup.advance(FollowupStatus.SENT)
            if action.followup.status != FollowupStatus.FAILED:
                action.followup.error = None
        elif action.ticket_id is not None:
            # The network's new state of the item (liked, hidden, deleted ...), shown in the pane.
            ticket = session.get(Ticket, action.ticket_id)
            ticket.data = {**ticket.data, **result.data}
            session.add(History(ticket_id=ticket.id, action=f"{action.kind}_done", data={"action_id": action.id}))
        if result.credentials:
            store_credentials(session.get(Channel, action.channel_id), result.credentials)
        _record(session, action_id, outcome)


def _record(session, action_id: int, outcome: str, exc: ProviderError | None = None) -> None:
    """Finish the open attempt with ``outcome`` (what the try or its reconciliation came to); with
    none open, a row of its own."""
    attempt = _current_attempt(session, action_id)
    if attempt is None or attempt.outcome is not None:
        attempt = ActionAttempt(action_id=action_id, number=next_number(session, action_id))
        session.add(attempt)
    attempt.outcome, attempt.finished_at = outcome, utcnow()
    if exc is not None:
        _copy_error(attempt, exc)


def _copy_error(attempt: ActionAttempt, exc: ProviderError) -> None:
    attempt.http_status, attempt.error_code, attempt.error = exc.status, exc.code, exc.message
    attempt.retry_after = exc.retry_after


def _note_error(action_id: int, exc: ProviderError) -> None:
    """What an unanswered try ran into, on its attempt, which stays open until reconciled."""
    with session_scope() as session:
        attempt = _current_attempt(session, action_id)
        if attempt is not None and attempt.outcome is None:
            _copy_error(attempt, exc)


def _release(action_id: int, exc: ProviderError, delay: float) -> None:
    """Nothing was accepted (429, 5xx, unreachable): back to QUEUED until the scheduled retry."""
    with session_scope() as session:
        action = session.get(OutboundAction, action_id)
        action.state, action.error_code, action.error = ActionState.QUEUED, exc.code, exc.message
        if action.followup is not None:
            action.followup.status = FollowupStatus.QUEUED
            action.followup.error = f"{exc.message} (attempt {action.attempts}; trying again in {delay:.0f} s)"
        _record(session, action_id, "retry", exc)


def _fail(action_id: int, state: ActionState, status: FollowupStatus, exc: ProviderError) -> str:
    with session_scope() as session:
        action = session.get(OutboundAction, action_id)
        settle(action, state, status, exc.code, exc.message, exc.trace_id)
        _record(session, action_id, "failed" if state == ActionState.FAILED else "unknown", exc)
        if isinstance(exc, AuthError):
            channel = session.get(Channel, action.channel_id)
            channel.status, channel.last_error = ChannelStatus.NEEDS_ATTENTION, exc.message
            # e.g. a custom channel's webhook that failed its challenge is removed from the manifest
            changes = getattr(exc, "settings_changes", None)
            if changes:
                channel.settings = {**(channel.settings or {}), **changes}
    return state


def settle(action: OutboundAction, state: ActionState, status: FollowupStatus, code: str, message: str,
           trace_id: str | None = None) -> None:
    """Give an action (and its followup) its final word; shared with the sweep of dead workers."""
    action.state, action.error_code, action.error, action.trace_id = state, code, message, trace_id
    if action.followup is not None:
        action.followup.status, action.followup.error = status, message
        action.followup.status_at = utcnow()


# ---------------------------------------------------------------------------------------- reconcile

def reconcile_action(action_id: int, unknown_message: str = DIED_MID_CALL) -> str:
    """Settle an action found SENDING whose attempt will never report: ask the provider.

    Returns what was done: "sent" (found at the provider), "requeued" (clearly not there: QUEUED,
    for the caller to send), "unknown" (the provider cannot be asked, or could not answer),
    "waiting" (not found yet, but too soon to be sure: left SENDING for the sweep), or
    "already handled" (someone else settled it meanwhile). Safe to call from several processes:
    each change is a conditional UPDATE of a SENDING row.
    """
    with session_scope() as session:
        action = session.get(OutboundAction, action_id)
        if action is None or action.state != ActionState.SENDING:
            return "already handled"
    call = _prepare(action_id)
    try:
        found = call.connector.reconcile(call.kind, call.target, call.params, call.started_at)
    except CannotAsk:
        return _settle_unknown(action_id, "worker_died" if unknown_message == DIED_MID_CALL else "no_answer",
                               unknown_message)
    except ProviderError as exc:
        return _settle_unknown(action_id, "cannot_reconcile",
                               f"{unknown_message} (the provider could not be asked: {exc.message})")
    if found is not None:
        if not _still_sending(action_id):
            return "already handled"
        _sent(action_id, found, "reconciled_sent")
        return "sent"
    age = (utcnow() - call.started_at).total_seconds()
    if age < reconcile_grace():
        return "waiting"
    with session_scope() as session:
        done = session.execute(update(OutboundAction).where(
            OutboundAction.id == action_id, OutboundAction.state == ActionState.SENDING)
            .values(state=ActionState.QUEUED, updated_at=utcnow()))
        if done.rowcount != 1:
            return "already handled"
        action = session.get(OutboundAction, action_id)
        if action.followup is not None:
            action.followup.status, action.followup.status_at = FollowupStatus.QUEUED, utcnow()
            action.followup.error = "Not found on the network after an interrupted attempt: sending it again."
        _record(session, action_id, "reconciled_missing")
    return "requeued"


def _still_sending(action_id: int) -> bool:
    with session_scope() as session:
        return session.get(OutboundAction, action_id).state == ActionState.SENDING


def _settle_unknown(action_id: int, code: str, message: str) -> str:
    with session_scope() as session:
        action = session.get(OutboundAction, action_id, with_for_update=True)
        if action is None or action.state != ActionState.SENDING:
            return "already handled"
        settle(action, ActionState.UNKNOWN, FollowupStatus.UNKNOWN, code, message)
        attempt = _current_attempt(session, action_id)
        noted = attempt is not None and attempt.outcome is None and attempt.error   # the try's own error
        _record(session, action_id, "unknown", None if noted else ProviderError(code, message))
    return "unknown"


# ---------------------------------------------------------------------------------------- helpers

def target_of(session, channel: Channel, ticket: Ticket | None) -> Target:
    """What the connector needs to know about the ticket an action is on (plain data, no ORM)."""
    if ticket is None:
        return Target(channel_settings=dict(channel.settings))
    latest = session.scalars(select(Message.external_id).where(
        Message.ticket_id == ticket.id, Message.direction == Direction.IN)
        .order_by(Message.created_at.desc(), Message.id.desc()).limit(1)).first()
    return Target(kind=ticket.kind, ticket_id=ticket.id, external_id=ticket.external_id, data=dict(ticket.data),
                  channel_settings=dict(channel.settings), message_external_id=latest)


def store_credentials(channel: Channel, credentials: dict) -> None:
    """Refreshed OAuth tokens replace the stored ones (encrypted)."""
    channel.credentials_encrypted = encrypt_json({**decrypt_json(channel.credentials_encrypted), **credentials})
    expires = credentials.get("expires_at")
    if isinstance(expires, (int, float)):
        channel.token_expires_at = datetime.fromtimestamp(expires, timezone.utc).replace(tzinfo=None)
