"""Recording a reply: a followup and its outbound action, committed before any job runs."""
from __future__ import annotations

from sqlalchemy.orm import Session

from inbox.connectors import connector_class
from inbox.connectors.base import Rejected
from models import (Channel, ChannelStatus, Followup, FollowupStatus, FollowupType, History, OutboundAction,
                    Ticket, User)


def queue_reply(session: Session, ticket: Ticket, user: User, text: str) -> tuple[Followup, OutboundAction]:
    """Validate against the provider's limits now (the agent is still looking), then record it.

    The caller commits and only then enqueues ``workers.enqueue_send(action.id)``.
    """
    channel = session.get(Channel, ticket.channel_id)
    if channel.status == ChannelStatus.DISABLED:
        raise Rejected("channel_disabled", "This channel has been disconnected; replies cannot be sent.")
    text = connector_class(channel.provider).validate_reply(ticket.kind, text)
    followup = Followup(ticket_id=ticket.id, type=FollowupType.REPLY, status=FollowupStatus.QUEUED,
                        text=text, author_id=user.id)
    action = OutboundAction(channel_id=channel.id, ticket_id=ticket.id, followup=followup, kind="reply",
                            request={"text": text})
    session.add_all([followup, action])
    session.flush()
    session.add(History(ticket_id=ticket.id, user_id=user.id, action="replied",
                        data={"followup_id": followup.id}))
    return followup, action
