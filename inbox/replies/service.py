"""Recording a reply: a followup and its outbound action, committed before any job runs."""
from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from inbox.connectors import connector_class
from inbox.connectors.base import ReplyRejected
from models import (Channel, ChannelStatus, Followup, FollowupStatus, FollowupType, History, OutboundAction,
                    Ticket, User)


def queue_reply(session: Session, ticket: Ticket, user: User, text: str, *, action_id: str | None = None,
                option: str | None = None, attachment_url: str | None = None,
                template: dict[str, Any] | None = None) -> tuple[Followup, OutboundAction]:
    """Validate against the provider's limits now (the agent is still looking), then record it.

    ``action_id``, ``option`` and ``template`` choose among a custom channel's manifest reply
    actions (other providers have one way to reply and refuse them). The caller commits and
    only then enqueues ``workers.enqueue_send(action.id)``.
    """
    channel = session.get(Channel, ticket.channel_id)
    if channel.status == ChannelStatus.DISABLED:
        raise ReplyRejected("channel_disabled", "This channel has been disconnected; replies cannot be sent.")
    if channel.provider == "custom":
        request = _custom_request(channel, ticket, text, action_id, option, attachment_url, template)
        text = request["text"] or _template_summary(request)
    else:
        if action_id is not None or option is not None or template is not None:
            raise ReplyRejected("no_reply_actions", "Only custom channels offer a choice of reply actions.")
        text = connector_class(channel.provider).validate_reply(ticket.kind, text)
        request = {"text": text}
    followup = Followup(ticket_id=ticket.id, type=FollowupType.REPLY, status=FollowupStatus.QUEUED,
                        text=text, author_id=user.id)
    action = OutboundAction(channel_id=channel.id, ticket_id=ticket.id, followup=followup, kind="reply",
                            request=request)
    session.add_all([followup, action])
    session.flush()
    session.add(History(ticket_id=ticket.id, user_id=user.id, action="replied",
                        data={"followup_id": followup.id}))
    return followup, action


def _custom_request(channel: Channel, ticket: Ticket, text: str, action_id: str | None, option: str | None,
                    attachment_url: str | None, template: dict[str, Any] | None) -> dict[str, Any]:
    """The manifest's rules for the chosen reply action (maxLength, options, noText, timeout).

    ``approval_process`` is recorded in the request for the approval feature to read; until it
    exists, such replies are sent at once like any other (see docs/custom-channels.md).
    """
    from inbox.connectors.custom import reply_request

    return reply_request(channel.settings, ticket.data, text, action_id=action_id, option=option,
                         attachment_url=attachment_url, template=template)


def _template_summary(request: dict[str, Any]) -> str:
    """What the thread shows for a template reply: the template's name and its values."""
    template = request.get("template") or {}
    values = ", ".join(f"{k}: {v}" for k, v in (template.get("variables") or {}).items())
    return f"[{template.get('name')}]" + (f" {values}" if values else "")
