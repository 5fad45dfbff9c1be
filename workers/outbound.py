"""Outbound jobs: send what agents asked for, at most once.

The action row is claimed with one conditional UPDATE (QUEUED -> SENDING) before the provider
is called. A job that finds its action already SENDING knows an earlier attempt died mid-call:
the provider may have accepted it, so the action becomes UNKNOWN and is never sent again
automatically; the agent sees that and decides.
"""
from __future__ import annotations

import logging

from rq import get_current_job
from sqlalchemy import update

from inbox.connectors import connector_for
from inbox.connectors.base import AuthError, ProviderError, UncertainError
from inbox.db import session_scope
from models import (ActionState, Channel, ChannelStatus, FollowupStatus, OutboundAction, Ticket,
                    utcnow)

log = logging.getLogger(__name__)

DIED_MID_CALL = ("A worker stopped while this was being sent, so it may or may not have reached "
                 "the network. Check on the network before sending it again.")


def claim(action_id: int) -> str:
    """QUEUED -> SENDING in one statement; returns the state the action was found in."""
    with session_scope() as session:
        result = session.execute(
            update(OutboundAction)
            .where(OutboundAction.id == action_id, OutboundAction.state == ActionState.QUEUED)
            .values(state=ActionState.SENDING, attempts=OutboundAction.attempts + 1, updated_at=utcnow()))
        if result.rowcount == 1:
            action = session.get(OutboundAction, action_id)
            if action.followup is not None:
                action.followup.advance(FollowupStatus.SENDING)
            return ActionState.QUEUED
        action = session.get(OutboundAction, action_id)
        if action is None:
            return "missing"
        if action.state == ActionState.SENDING:
            _settle(action, ActionState.UNKNOWN, FollowupStatus.UNKNOWN, "worker_died", DIED_MID_CALL)
        return action.state


def run_action(action_id: int) -> str:
    if claim(action_id) != ActionState.QUEUED:
        return "not sent: already handled"
    with session_scope() as session:
        action = session.get(OutboundAction, action_id)
        ticket = session.get(Ticket, action.ticket_id)
        channel = session.get(Channel, action.channel_id)
        connector = connector_for(channel)
        kind, data, text = ticket.kind, dict(ticket.data), action.request.get("text", "")
    try:
        external_id = connector.send_reply(kind, data, text)
    except UncertainError as exc:
        return _fail(action_id, ActionState.UNKNOWN, FollowupStatus.UNKNOWN, exc)
    except ProviderError as exc:
        if exc.retryable and _retries_left():
            _release(action_id, exc)
            raise
        return _fail(action_id, ActionState.FAILED, FollowupStatus.FAILED, exc)
    with session_scope() as session:
        action = session.get(OutboundAction, action_id)
        action.state, action.external_id, action.sent_at = ActionState.SENT, external_id, utcnow()
        action.error = action.error_code = None
        if action.followup is not None:
            action.followup.advance(FollowupStatus.SENT)
    return "sent"


def _retries_left() -> bool:
    job = get_current_job()
    return bool(job and job.retries_left)


def _release(action_id: int, exc: ProviderError) -> None:
    """Nothing was accepted (429, 5xx, unreachable): put the action back for RQ's retry."""
    with session_scope() as session:
        action = session.get(OutboundAction, action_id)
        action.state, action.error_code, action.error = ActionState.QUEUED, exc.code, exc.message
        if action.followup is not None:
            action.followup.status = FollowupStatus.QUEUED
            action.followup.error = f"{exc.message} (attempt {action.attempts})"


def _fail(action_id: int, state: ActionState, status: FollowupStatus, exc: ProviderError) -> str:
    with session_scope() as session:
        action = session.get(OutboundAction, action_id)
        _settle(action, state, status, exc.code, exc.message, exc.trace_id)
        if isinstance(exc, AuthError):
            channel = session.get(Channel, action.channel_id)
            channel.status, channel.last_error = ChannelStatus.NEEDS_ATTENTION, exc.message
    return state


def _settle(action: OutboundAction, state: ActionState, status: FollowupStatus, code: str, message: str,
            trace_id: str | None = None) -> None:
    action.state, action.error_code, action.error, action.trace_id = state, code, message, trace_id
    if action.followup is not None:
        action.followup.status, action.followup.error = status, message
        action.followup.status_at = utcnow()
