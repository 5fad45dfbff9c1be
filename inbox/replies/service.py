"""Recording a reply: a followup and its outbound action, committed before any job runs."""
from __future__ import annotations

from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from inbox.connectors import connector_class
from inbox.connectors.base import Rejected
from models import (Channel, ChannelStatus, Followup, FollowupStatus, FollowupType, History, OutboundAction,
                    Ticket, User)

ATTACHMENT_URL_MAX = 2000


def attachments_allowed(provider: str, ticket_kind: str) -> bool:
    """Can a reply to this kind of item carry a file on this provider? (Getloo and Resont DMs can;
    comments are text only.) The composer shows its URL field only then."""
    cls = connector_class(provider)
    return ticket_kind in getattr(cls, "ATTACHMENT_KINDS", frozenset())


def clean_attachment_url(provider: str, ticket_kind: str, url: str | None) -> str | None:
    """The attachment's URL, checked now so the agent hears at once why it cannot go."""
    url = (url or "").strip()
    if not url:
        return None
    parts = urlsplit(url)
    if (parts.scheme not in ("http", "https") or not parts.hostname or len(url) > ATTACHMENT_URL_MAX
            or any(c.isspace() for c in url)):
        raise Rejected("invalid_attachment_url",
                            f"attachment_url must be an http(s) URL of at most {ATTACHMENT_URL_MAX} characters.")
    if not attachments_allowed(provider, ticket_kind):
        what = {"comment": "comments", "conversation": "DMs", "ticket": "tickets"}.get(ticket_kind, f"{ticket_kind}s")
        raise Rejected("attachment_not_supported",
                            f"Replies to {what} on {provider} are text only: leave out the attachment.")
    return url


def queue_reply(session: Session, ticket: Ticket, user: User, text: str,
                attachment_url: str | None = None) -> tuple[Followup, OutboundAction]:
    """Validate against the provider's limits now (the agent is still looking), then record it.

    With an attachment the text may be empty (Getloo's caption and Resont's content are optional
    beside a file). The caller commits and only then enqueues ``workers.enqueue_send(action.id)``.
    """
    channel = session.get(Channel, ticket.channel_id)
    if channel.status == ChannelStatus.DISABLED:
        raise Rejected("channel_disabled", "This channel has been disconnected; replies cannot be sent.")
    attachment_url = clean_attachment_url(channel.provider, ticket.kind, attachment_url)
    if attachment_url and not (text or "").strip():
        text = ""
    else:
        text = connector_class(channel.provider).validate_reply(ticket.kind, text)
    extra = {"attachment_url": attachment_url} if attachment_url else {}
    followup = Followup(ticket_id=ticket.id, type=FollowupType.REPLY, status=FollowupStatus.QUEUED,
                        text=text, author_id=user.id)
    action = OutboundAction(channel_id=channel.id, ticket_id=ticket.id, followup=followup, kind="reply",
                            request={"text": text, **extra})
    session.add_all([followup, action])
    session.flush()
    session.add(History(ticket_id=ticket.id, user_id=user.id, action="replied",
                        data={"followup_id": followup.id, **extra}))
    return followup, action
