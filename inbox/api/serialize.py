"""JSON shapes of the contract. Credentials never leave the server."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from inbox.settings.health import channel_health, channels_health
from models import ActionAttempt, Channel, Followup, History, Message, OutboundAction, Ticket


def iso(value: datetime | None) -> str | None:
    return value.isoformat() + "Z" if value else None


def channel(c: Channel, health: dict[str, Any] | None = None, *, webhook_url: bool = False,
            access_token: str | None = None) -> dict[str, Any]:
    """A channel; pass ``health`` from ``channels_health`` when serialising a list (one query for all).

    Secrets are opt-in, so a new caller leaks none: ``webhook_url`` (its token lets anyone post
    webhooks as the provider) only for viewers with ``EditChannels``, and a custom channel's
    ``access_token`` only when it was just minted (create, rotation): it is shown once.
    """
    extra: dict[str, Any] = {"access_token": access_token} if access_token else {}
    if webhook_url:
        extra["webhook_url"] = c.webhook_url
    return {**extra, "id": c.id, "provider": c.provider, "network": c.network, "name": c.name, "base_url": c.base_url,
            "settings": c.settings, "account_ref": c.account_ref,
            "status": c.status, "last_error": c.last_error, "info": c.info,
            "webhook_registered_at": iso(c.webhook_registered_at), "last_event_at": iso(c.last_event_at),
            "created_at": iso(c.created_at), "updated_at": iso(c.updated_at), "health": health if health is not None else channel_health(c)}


def created_access_token(c: Channel) -> str | None:
    """A custom channel's access token, for the one answer that shows it (its creation)."""
    if c.provider != "custom":
        return None
    from inbox.crypto import decrypt_json

    return decrypt_json(c.credentials_encrypted).get("access_token")


def channels(session: Session, rows: Sequence[Channel], *, webhook_url: bool = False) -> list[dict[str, Any]]:
    """A list of channels with their health, in a fixed number of queries whatever their number."""
    health = channels_health(session, rows)
    return [channel(c, health[c.id], webhook_url=webhook_url) for c in rows]


def ticket(t: Ticket) -> dict[str, Any]:
    author = t.interactor
    return {
        "id": t.id, "channel_id": t.channel_id, "provider": t.channel.provider, "network": t.network,
        "kind": t.kind, "status": t.status, "external_id": t.external_id, "text": t.text,
        "author": {"external_id": author.external_id, "username": author.username, "name": author.name}
        if author else None,
        "created_at": iso(t.created_at), "updated_at": iso(t.updated_at),
        "last_activity_at": iso(t.last_activity_at), "assignee_id": t.assignee_id, "team_id": t.team_id,
        # Send it back as ``version`` (or ``If-Match``) with an action: 409 if the ticket changed since.
        "version": t.version, "snoozed_until": iso(t.snoozed_until),
        "tags": [{"id": tag.id, "name": tag.name, "color": tag.color} for tag in t.tags],
        "categories": [{"id": c.id, "name": c.name} for c in t.categories],
        "priority": t.priority, "sentiment": t.sentiment, "parent_id": t.parent_id,
        "post_external_id": t.post_external_id, "data": t.data,
        "has_pending_suggestion": t.has_pending_suggestion, "approval_required": t.approval_required,
    }


def message(m: Message) -> dict[str, Any]:
    return {"id": m.id, "external_id": m.external_id, "direction": m.direction, "kind": m.kind, "text": m.text,
            "media_url": m.media_url, "media_type": m.media_type, "created_at": iso(m.created_at)}


def followup(f: Followup) -> dict[str, Any]:
    return {"id": f.id, "type": f.type, "status": f.status, "text": f.text, "author_id": f.author_id,
            "error": f.error, "created_at": iso(f.created_at), "status_at": iso(f.status_at),
            **({"mention_ids": [u.id for u in f.mentioned]} if f.type == "note" else {}),
            **({"approved_by_id": f.approved_by_id, "decided_by_id": f.decided_by_id,
                "decided_at": iso(f.decided_at), "reason": f.decision_reason, "original_text": f.original_text,
                "edited": f.original_text is not None, "revision_of_id": f.revision_of_id}
               if f.type == "suggestion" or f.approved_by_id else {})}


def history(h: History) -> dict[str, Any]:
    return {"id": h.id, "action": h.action, "user_id": h.user_id, "data": h.data, "created_at": iso(h.created_at)}


def ticket_detail(t: Ticket, entries: list[History]) -> dict[str, Any]:
    return {**ticket(t), "messages": [message(m) for m in t.messages],
            "followups": [followup(f) for f in t.followups], "history": [history(h) for h in entries]}


def action(a: OutboundAction, attempts: bool = False) -> dict[str, Any]:
    """An outbound action's state; ``error`` carries the provider's own message when it failed.
    ``attempt_count`` is the tries of the current round (a person's Retry / Send again starts a new
    one); with ``attempts=True`` (users with ViewHistory) ``attempts[]`` lists every try and every
    person's decision, with the provider's answers."""
    return {"id": a.id, "kind": a.kind, "state": a.state, "channel_id": a.channel_id, "ticket_id": a.ticket_id,
            "request": a.request, "response": a.response, "external_id": a.external_id,
            "attempt_count": a.attempts, "error_code": a.error_code, "error": a.error, "trace_id": a.trace_id,
            "created_at": iso(a.created_at), "updated_at": iso(a.updated_at),
            **({"attempts": [attempt(t) for t in a.attempt_log]} if attempts else {})}


def attempt(t: ActionAttempt) -> dict[str, Any]:
    return {"number": t.number, "started_at": iso(t.started_at), "finished_at": iso(t.finished_at),
            "outcome": t.outcome, "http_status": t.http_status, "error_code": t.error_code, "error": t.error,
            "retry_after": t.retry_after, "user_id": t.user_id}
