"""Recording a reply: a followup and its outbound action, committed before any job runs."""
from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from inbox import fields, netguard
from inbox.connectors import connector_class
from inbox.connectors.base import Rejected
from models import (Channel, ChannelStatus, Followup, FollowupStatus, FollowupType, History, OutboundAction,
                    Ticket, User, utcnow)

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
    try:   # we (Resont) or the provider will fetch it: never from a private address
        netguard.check_url(url)
    except netguard.UnsafeURL as exc:
        raise Rejected("invalid_attachment_url", f"The attachment cannot be used: {exc.message}.") from exc
    return url


def check_reply(session: Session, ticket: Ticket, text: str, *, attachment_url: str | None = None,
                action_id: str | None = None, option: str | None = None,
                template: dict[str, Any] | None = None) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """Validate a reply against the provider's limits now (the agent is still looking).

    Returns ``(text, request, extra)``: the text to record, the outbound request and what the
    history entry adds. Nothing is written, so a suggestion is checked by the same rules when it
    is written and again, with its final text, when it is approved.

    With an attachment the text may be empty (Getloo's caption and Resont's content are optional
    beside a file). ``action_id``, ``option`` and ``template`` choose among a custom channel's
    manifest reply actions (other providers have one way to reply and refuse them).
    """
    channel = session.get(Channel, ticket.channel_id)
    if channel.status == ChannelStatus.DISABLED:
        raise Rejected("channel_disabled", "This channel has been disconnected; replies cannot be sent.")
    fields.text(text, "text")     # a string of at most 10,000 characters, whatever the provider allows
    if attachment_url is not None and (not isinstance(attachment_url, str) or len(attachment_url) > ATTACHMENT_URL_MAX):
        raise Rejected("invalid_attachment_url",
                       f"attachment_url must be an http(s) URL of at most {ATTACHMENT_URL_MAX} characters.")
    fields.params({"action_id": action_id, "option": option, "template": template})
    extra: dict[str, Any] = {}
    if channel.provider == "custom":
        request = _custom_request(channel, ticket, text, action_id, option, attachment_url, template)
        text = request["text"] or _template_summary(request)
    else:
        if action_id is not None or option is not None or template is not None:
            raise Rejected("no_reply_actions", "Only custom channels offer a choice of reply actions.")
        attachment_url = clean_attachment_url(channel.provider, ticket.kind, attachment_url)
        if attachment_url and not (text or "").strip():
            text = ""
        else:
            text = connector_class(channel.provider).validate_reply(ticket.kind, text)
        extra = {"attachment_url": attachment_url} if attachment_url else {}
        request = {"text": text, **extra}
    return text, request, extra


def queue_reply(session: Session, ticket: Ticket, user: User, text: str, *, attachment_url: str | None = None,
                action_id: str | None = None, option: str | None = None,
                template: dict[str, Any] | None = None,
                followup: Followup | None = None) -> tuple[Followup, OutboundAction]:
    """Validate (``check_reply``), then record the reply and its outbound action.

    ``followup``: an approved suggestion becomes this reply (the same row, so one card follows it
    from "awaiting approval" to "delivered"); its author stays the suggester. The caller commits
    and only then enqueues ``workers.enqueue_send(action.id)``.
    """
    text, request, extra = check_reply(session, ticket, text, attachment_url=attachment_url, action_id=action_id,
                                       option=option, template=template)
    if followup is None:
        followup = Followup(ticket_id=ticket.id, type=FollowupType.REPLY, status=FollowupStatus.QUEUED,
                            text=text, author_id=user.id)
    else:
        followup.type, followup.status, followup.text, followup.status_at = (
            FollowupType.REPLY, FollowupStatus.QUEUED, text, utcnow())
    action = OutboundAction(channel_id=ticket.channel_id, ticket_id=ticket.id, followup=followup, kind="reply",
                            request=request)
    session.add_all([followup, action])
    session.flush()
    session.add(History(ticket_id=ticket.id, user_id=user.id, action="replied",
                        data={"followup_id": followup.id, **extra}))
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
