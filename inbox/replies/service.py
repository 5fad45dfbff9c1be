"""Recording a reply: a followup and its outbound action, committed before any job runs."""
from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from inbox import fields, netguard
from inbox.connectors import connector_class
from inbox.connectors.base import Rejected, ReplyContext, ReplyLimits
from models import (ActionState, Channel, ChannelStatus, Direction, Followup, FollowupStatus, FollowupType, History,
                    Message, OutboundAction, Ticket, User, utcnow)

ATTACHMENT_URL_MAX = 2000


def reply_context(session: Session, ticket: Ticket) -> ReplyContext:
    """What the provider's reply rules need from the database: when the customer wrote (the first
    and latest inbound message) and how many of our replies on this ticket went out or may have
    (every reply action but a failed one: an *unknown* one may have reached the provider)."""
    first, last = session.execute(
        select(func.min(Message.created_at), func.max(Message.created_at))
        .where(Message.ticket_id == ticket.id, Message.direction == Direction.IN)).one()
    replies = session.scalar(
        select(func.count()).select_from(OutboundAction)
        .where(OutboundAction.ticket_id == ticket.id, OutboundAction.kind == "reply",
               OutboundAction.state != ActionState.FAILED))
    return ReplyContext(now=utcnow(), first_inbound_at=first, last_inbound_at=last, replies=replies or 0)


def reply_limits(session: Session, ticket: Ticket) -> ReplyLimits:
    """The provider's limits on a reply to this ticket now (``Connector.reply_limits``): the
    composer shows them, ``queue_reply`` enforces them."""
    channel = session.get(Channel, ticket.channel_id)
    return connector_class(channel.provider).reply_limits(ticket.kind, ticket.data or {},
                                                          reply_context(session, ticket))


def attachments_allowed(provider: str, ticket_kind: str) -> bool:
    """Can a reply to this kind of item carry a file on this provider? (Getloo and Resont DMs can;
    comments are text only.) The composer shows its URL field only then."""
    cls = connector_class(provider)
    return ticket_kind in getattr(cls, "ATTACHMENT_KINDS", frozenset())


def clean_attachment_url(provider: str, ticket_kind: str, url: str | None,
                         limits: ReplyLimits | None = None) -> str | None:
    """The attachment's URL, checked now so the agent hears at once why it cannot go.

    Where the provider's docs name file types (Getloo), the URL's extension must be one of them
    (``attachment_type``). Nothing is downloaded here, so a file's real type and size are the
    provider's to check (Getloo fetches the URL itself; for Resont our worker downloads it and
    refuses a file over its cap, ``attachment_too_large``); a URL without an extension passes.
    ``limits`` are the ticket's (``reply_limits``); without them, the provider's for the kind."""
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
    if limits is None:
        limits = connector_class(provider).reply_limits(ticket_kind, {}, ReplyContext(now=utcnow()))
    limits.attachment_rule(url)
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

    First what makes any reply impossible (``reply_limits``: a closed window, the one private
    reply to a Getloo comment already used, a closed Resont ticket ...), then the text and file.
    Two replies at once both see the private reply unused, but the callers raise the ticket's
    version in the same transaction (``triage.bump_version``), so only one of them commits.

    With an attachment the text may be empty (Getloo's caption and Resont's content are optional
    beside a file). ``action_id``, ``option`` and ``template`` choose among a custom channel's
    manifest reply actions (other providers have one way to reply and refuse them).
    """
    channel = session.get(Channel, ticket.channel_id)
    if channel.status == ChannelStatus.DISABLED:
        raise Rejected("channel_disabled", "This channel has been disconnected; replies cannot be sent.")
    fields.text(text, "text")     # a string of at most 10,000 characters, whatever the provider allows
    limits = reply_limits(session, ticket)
    if (refusal := limits.refusal()) is not None:
        raise refusal
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
        attachment_url = clean_attachment_url(channel.provider, ticket.kind, attachment_url, limits)
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

    ``approval_process`` is kept in the request; ``inbox.approval.policy`` reads the manifest's
    flag to exempt such an action from approval (see docs/custom-channels.md).
    """
    from inbox.connectors.custom import reply_request

    return reply_request(channel.settings, ticket.data, text, action_id=action_id, option=option,
                         attachment_url=attachment_url, template=template)


def _template_summary(request: dict[str, Any]) -> str:
    """What the thread shows for a template reply: the template's name and its values."""
    template = request.get("template") or {}
    values = ", ".join(f"{k}: {v}" for k, v in (template.get("variables") or {}).items())
    return f"[{template.get('name')}]" + (f" {values}" if values else "")
