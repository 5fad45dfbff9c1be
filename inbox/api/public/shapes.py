"""SocialHub's JSON shapes of our rows: ``Channel``, ``Manifest``, ``Ticket`` (string ids)."""
from __future__ import annotations

from typing import Any

from inbox import crypto
from inbox.connectors.custom import public_id
from models import Channel, ChannelStatus, Direction, FollowupStatus, FollowupType, Message, Ticket, TicketStatus


def iso(value) -> str | None:
    return value.isoformat(timespec="milliseconds") + "Z" if value else None


def root_message(ticket: Ticket) -> Message | None:
    """The pushed item itself (its id is the ticket's), else the first inbound message."""
    inbound = [m for m in ticket.messages if m.direction == Direction.IN]
    return next((m for m in inbound if m.external_id == ticket.external_id), inbound[0] if inbound else None)


def channel_json(channel: Channel) -> dict[str, Any]:
    info = channel.info or {}
    endpoint = dict(info.get("endpoint") or {})
    return {"_id": public_id(channel.id), "name": channel.name, "uniqueName": info.get("uniqueName") or channel.name,
            "socialNetwork": "CUSTOM", "imageUrl": info.get("imageUrl"), "products": {"cp": False, "inbox": True},
            "endpoint": endpoint, "active": channel.status != ChannelStatus.DISABLED,
            "createdTime": iso(channel.created_at), "updatedTime": iso(channel.updated_at)}


def manifest_json(channel: Channel) -> dict[str, Any]:
    """The stored manifest with its webhook (``null`` when none is set, as after ``{webhook: null}``
    or after a delivery failed its challenge). The secret is shown: an admin may have set the
    URL when creating the channel, and this is how its integration then learns the secret."""
    settings = channel.settings or {}
    url = settings.get("webhook_url")
    secret = crypto.decrypt_json(channel.credentials_encrypted).get("webhook_secret") if url else None
    return {**(settings.get("manifest") or {}), "webhook": {"url": url, "secret": secret} if url else None}


def ticket_json(ticket: Ticket) -> dict[str, Any]:
    """A ticket as SocialHub's ``Ticket`` (string ids). Only replies are listed as followups:
    notes and unapproved suggestions are the team's own and stay out of integrations' reach."""
    data = ticket.data or {}
    root = root_message(ticket)
    person = ticket.interactor
    tags = [name for name, on in (("archived", ticket.status == TicketStatus.ARCHIVED),
                                  ("priority", ticket.priority), ("edited", data.get("edited"))) if on]
    interactor = {**data.get("interactor", {})}
    if person is not None:
        interactor.setdefault("interactorId", person.external_id)
        interactor["name"] = person.name or interactor.get("name")
    confirmed = {m.data.get("replyId"): m.data.get("networkItemId") for m in ticket.messages
                 if m.direction == Direction.OUT and m.data and m.data.get("replyId")}
    followups = []
    for followup in ticket.followups:
        if followup.type != FollowupType.REPLY:
            continue
        action = followup.actions[-1] if followup.actions else None
        rid = action.idempotency_key if action else public_id(followup.id)
        answered = ((action.response or {}).get("interaction") or {}) if action else {}
        followups.append({
            "id": rid, "type": "REPLY", "message": followup.text, "status": followup.status,
            "userId": public_id(followup.author_id), "ticketId": public_id(ticket.id),
            "channelId": public_id(ticket.channel_id),
            "actionId": ((action.request or {}).get("action_id") if action else None) or "reply",
            "networkId": confirmed.get(rid) or answered.get("networkItemId"),
            "networkError": followup.error if followup.status == FollowupStatus.FAILED else None,
            "createdTime": iso(followup.created_at), "updatedTime": iso(followup.status_at)})
    return {
        "_id": public_id(ticket.id), "channelId": public_id(ticket.channel_id), "status": ticket.status,
        "rootId": data.get("rootId"), "parentId": public_id(ticket.parent_id),
        "createdTime": iso(ticket.created_at), "updatedTime": iso(ticket.updated_at), "tags": tags,
        "assignee": public_id(ticket.assignee_id), "categories": [public_id(c.id) for c in ticket.categories],
        "sentiment": ticket.sentiment.upper() if ticket.sentiment else None,
        "interaction": {
            "socialNetwork": "CUSTOM", "type": data.get("type", "TICKET"),
            "message": root.text if root is not None else ticket.text,
            "networkItemId": data.get("networkItemId", ticket.external_id),
            "url": data.get("url"), "link": data.get("link"), "pictures": data.get("pictures", []),
            "attachments": data.get("attachments", []), "rating": data.get("rating"),
            "createdTime": data.get("createdTime") or iso(root.created_at if root else ticket.created_at),
            "updatedTime": data.get("updatedTime"), "interactor": interactor},
        "followups": followups,
    }

