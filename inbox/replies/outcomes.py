"""People decide what a failed or unknown outbound action comes to: Retry, Mark as sent, Send again.

A worker never resends an action that may already have reached the network (UNKNOWN), and
gives up on one the provider refused or kept refusing (FAILED). These are the decisions left to a
person, each checked against the action's state in the same UPDATE that changes it (two people
clicking at once: one wins, the other hears the state it is in now), recorded as an attempt row
(with who decided) and in the ticket's history. The caller commits, then queues the action.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import update
from sqlalchemy.orm import Session

from inbox import visibility
from inbox.connectors.base import Rejected
from inbox.queue.actions import PERMISSIONS, NotPermitted
from models import (ActionAttempt, ActionState, Channel, ChannelStatus, FollowupStatus, History, OutboundAction,
                    Ticket, User, utcnow)

# decision -> (the state it applies to, the state it leaves, the attempt's outcome, the history's action)
DECISIONS = {
    "retry": (ActionState.FAILED, ActionState.QUEUED, "resend", "send_retried"),
    "send-again": (ActionState.UNKNOWN, ActionState.QUEUED, "resend", "sent_again"),
    "mark-sent": (ActionState.UNKNOWN, ActionState.SENT, "manual_sent", "marked_sent"),
}
MESSAGES = {
    "retry": "Only a failed action can be retried",
    "send-again": "Only an action whose outcome is unknown can be sent again",
    "mark-sent": "Only an action whose outcome is unknown can be marked as sent",
}


class WrongState(Exception):
    """The action is not in the state the decision applies to (409 with the current state)."""

    def __init__(self, decision: str, state: str):
        super().__init__(MESSAGES[decision])
        self.message, self.state = MESSAGES[decision], state


@dataclass(frozen=True, slots=True)
class Decided:
    action: OutboundAction
    queue: bool          # the caller queues the action once committed


def permission_for(action: OutboundAction) -> str:
    """The permission needed to do the action in the first place (ReplyTicket for a reply)."""
    if action.kind == "reply":
        return "ReplyTicket"
    return PERMISSIONS.get(action.kind, "EditChannels")


def visible(session: Session, user: User, action: OutboundAction) -> bool:
    """A ticket's action: when its ticket is visible; a channel's (wall injection): its channel."""
    if action.ticket_id is not None:
        return visibility.can_see_ticket(session, user, session.get(Ticket, action.ticket_id))
    return visibility.can_see_channel(session, user, session.get(Channel, action.channel_id))


def decide(session: Session, action: OutboundAction, user: User, decision: str) -> Decided:
    """Apply ``decision`` (retry | send-again | mark-sent); ``NotPermitted``, ``WrongState``, or
    ``Rejected`` for a send on a channel that has been disconnected since."""
    needed = permission_for(action)
    if not user.can(needed):
        raise NotPermitted(needed)
    applies_to, leaves, outcome, history = DECISIONS[decision]
    if leaves == ActionState.QUEUED and session.get(Channel, action.channel_id).status == ChannelStatus.DISABLED:
        raise Rejected("channel_disabled", "This channel has been disconnected; nothing can be sent on it.")
    values: dict = {"state": leaves, "updated_at": utcnow()}
    if leaves == ActionState.QUEUED:
        values.update(error=None, error_code=None, attempts=0)    # a new round of tries
    else:
        values.update(sent_at=utcnow())
    done = session.execute(update(OutboundAction).where(
        OutboundAction.id == action.id, OutboundAction.state == applies_to).values(**values))
    session.refresh(action)
    if done.rowcount != 1:
        raise WrongState(decision, action.state)
    followup = action.followup
    if followup is not None:
        # Set, not advanced: a person's word moves a reply back from failed / unknown too.
        followup.status = FollowupStatus.QUEUED if leaves == ActionState.QUEUED else FollowupStatus.SENT
        followup.status_at, followup.error = utcnow(), None
    number = max((a.number for a in action.attempt_log), default=0) + 1
    session.add(ActionAttempt(action_id=action.id, number=number, started_at=utcnow(), finished_at=utcnow(),
                              outcome=outcome, user_id=user.id))
    if action.ticket_id is not None:
        session.add(History(ticket_id=action.ticket_id, user_id=user.id, action=history,
                            data={"action_id": action.id, "kind": action.kind,
                                  **({"followup_id": followup.id} if followup is not None else {})}))
    session.flush()
    return Decided(action, leaves == ActionState.QUEUED)
