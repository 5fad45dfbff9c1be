"""The custom-channel service: what /api2/public does, as functions of a session and plain values.

Items pushed by an integration are stored through ``inbox.ingest.store.apply``, the path every
provider's items take, so dedupe, threading and reopening behave the same. Agent actions travel
the other way through ``inbox.connectors.custom`` (SocialHub's signed ``ticket_action``
events); the integration reports their outcome back with ``/replies/{followupId}/success``
and ``/reset/{actionId}``, handled here.

No function waits for a worker: a callback that arrives while the worker that delivered the
event is still recording its own result writes the integration's word, and the worker never
overwrites it (``workers.outbound.run_action`` keeps a state it did not set, and
``Followup.advance`` never moves backwards). Errors are raised as ``PublicApiError`` /
``SchemaError`` / ``WebhookValidationFailed``; ``errors.py`` turns them into answers.
"""
from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from inbox import crypto, db, netguard
from inbox.connectors.base import Author, InboundItem
from inbox.connectors.custom import account_ref_for, check_webhook, parse_public_id, public_id
from inbox.connectors.custom_manifest import (SchemaError, check_manifest, merge_manifest, parse_datetime,
                                             template_urls)
from inbox.ingest import store
from inbox.links import http_url
from models import (
    ActionState,
    Channel,
    ChannelStatus,
    Direction,
    FollowupStatus,
    History,
    Message,
    OutboundAction,
    Ticket,
    TicketKind,
    TicketStatus,
    utcnow,
)

from .errors import PublicApiError
from .schemas import NAME_COLUMN
from .shapes import iso, root_message

# Our columns hold 200 characters; longer external ids (the swagger allows 256) are stored hashed.
ID_COLUMN = 200
HISTORY_VERSIONS = 20
MAX_ID = 2**31 - 1          # our primary keys are 32-bit integers (PostgreSQL INTEGER)


# -- domain: channels and manifests ----------------------------------------------------------

def channel_for_token(session: Session, token: str) -> Channel | None:
    """The active custom channel this access token belongs to (only its hash is stored)."""
    if not token:
        return None
    return session.scalars(select(Channel).where(
        Channel.provider == "custom", Channel.account_ref == account_ref_for(token),
        Channel.status != ChannelStatus.DISABLED)).first()


def update_channel(channel: Channel, body: dict[str, Any]) -> None:
    """Apply a (validated) channel body: name to the channel, the rest to its info."""
    if body.get("name", "").strip():
        channel.name = body["name"].strip()
    info = dict(channel.info or {})
    for key in ("uniqueName", "imageUrl"):
        if key in body:
            info[key] = body[key]
    if "endpoint" in body:
        endpoint = {**info.get("endpoint", {}), **body["endpoint"]}
        if "user" in body["endpoint"]:
            endpoint["user"] = {**info.get("endpoint", {}).get("user", {}), **body["endpoint"]["user"]}
        if "expirationTime" in body["endpoint"]:
            # The integration's token on its network expires: our channel health shows it coming.
            channel.token_expires_at = parse_datetime(body["endpoint"]["expirationTime"])
        info["endpoint"] = endpoint
    channel.info = info


def deactivate_channel(session: Session, channel: Channel, reason: str) -> None:
    """The integration disconnects: the token stops working, tickets and history stay."""
    channel.status = ChannelStatus.DISABLED
    channel.last_error = "Deactivated by the integration" + (f": {reason}" if reason else "")
    channel.info = {**(channel.info or {}), "deactivation": {"reason": reason, "at": iso(utcnow())}}


def patch_manifest(session: Session, channel: Channel, patch: Any) -> None:
    """Merge a manifest patch, testing a changed webhook first; nothing is saved if the test fails.

    ``{webhook: {url, secret}}`` sends SocialHub's test request (``check_webhook``) before
    anything is stored: the PATCH's caller gets its outcome as the answer (422
    ``WebhookValidationError``). The test is the one network call a request makes, so the
    database transaction is released first and the call has a short timeout.
    ``{webhook: null}`` removes the webhook (no test: nothing will be sent).
    """
    clean = check_manifest(patch)
    for path, url in template_urls(clean):      # called later by the server: checked now (netguard)
        try:
            netguard.check_url(url)
        except netguard.UnsafeURL as exc:
            raise SchemaError(path, f"cannot be used: {exc.message}") from exc
    removing = isinstance(patch, dict) and "webhook" in patch and patch["webhook"] is None
    webhook = clean.pop("webhook", None)
    if webhook:
        db.release(session)
        check_webhook(webhook["url"], webhook["secret"], channel.id)
    settings = dict(channel.settings or {})
    settings["manifest"] = merge_manifest(settings.get("manifest") or {}, clean)
    if webhook:
        settings["webhook_url"] = webhook["url"]
        credentials = crypto.decrypt_json(channel.credentials_encrypted)
        channel.credentials_encrypted = crypto.encrypt_json({**credentials, "webhook_secret": webhook["secret"]})
    elif removing:
        settings["webhook_url"] = None
    channel.settings = settings


# -- domain: tickets --------------------------------------------------------------------------

def external_ref(item_id: str) -> str:
    """An item id as stored: itself, or a stable hash when it is longer than our columns."""
    if len(item_id) <= ID_COLUMN:
        return item_id
    return "sha256:" + hashlib.sha256(item_id.encode()).hexdigest()


def item_exists(session: Session, channel: Channel, ref: str) -> bool:
    """Whether any ticket or message of the channel already has this id (a ticket or our reply)."""
    return bool(session.scalars(select(Ticket.id).filter_by(channel_id=channel.id, external_id=ref)).first()
                or session.scalars(select(Message.id).filter_by(channel_id=channel.id, external_id=ref)).first())


def create_ticket(session: Session, channel: Channel, interaction: dict[str, Any]) -> Ticket:
    """Store a pushed item as a ticket of kind ``ticket``; 409 when the channel has it already.

    The pre-check answers the common repeat at once; a concurrent duplicate that slips past it
    is caught by the store's unique keys (``apply`` then reports no new message) and also gets 409.
    """
    item_id = interaction["networkItemId"]
    ref = external_ref(item_id)
    if item_exists(session, channel, ref):
        raise PublicApiError(409, f"There is already a ticket with networkItemId {item_id!r} on this channel")
    interactor = interaction.get("interactor") or {"interactorId": "anonymous"}
    author = Author(external_id=external_ref(interactor["interactorId"]), username="",
                    name=str(interactor.get("name") or interactor["interactorId"])[:NAME_COLUMN])
    root_id = (interaction.get("root") or {}).get("rootId")
    pictures = interaction.get("pictures") or []
    # Shown as a link on the ticket: only an http(s) one (never javascript: or data:).
    picture = http_url(pictures[0]["small"]) if pictures and len(pictures[0]["small"]) <= 1000 else None
    created = parse_datetime(interaction["createdTime"]) if "createdTime" in interaction else utcnow()
    data = {key: interaction[key] for key in ("url", "link", "pictures", "attachments", "rating")
            if key in interaction}
    data.update(networkItemId=item_id, type=interaction.get("type", "TICKET"), interactor=interactor,
                createdTime=iso(created))
    if root_id:
        data["rootId"] = root_id
    item = InboundItem(
        ticket_kind=TicketKind.TICKET, ticket_external_id=ref, message_external_id=ref, author=author,
        text=interaction.get("message", ""), created_at=created, message_kind="image" if picture else "text",
        media_url=picture, media_type="image" if picture else None, ticket_data=data,
        parent_ticket_external_id=external_ref(root_id) if root_id and root_id != item_id else None)
    touched = store.apply(session, channel, [item])
    if not touched:
        raise PublicApiError(409, f"There is already a ticket with networkItemId {item_id!r} on this channel")
    ticket = session.get(Ticket, touched[0])
    # Deliveries carry ticket.data: with our id in it the integration can call back.
    ticket.data = {**ticket.data, "ticketId": public_id(ticket.id)}
    return ticket


def update_ticket(session: Session, ticket: Ticket, interaction: dict[str, Any], reset: bool) -> None:
    """The item changed on the network: refresh what we show; ``reset`` reopens an archived ticket.
    Any change raises the ticket's version."""
    data = dict(ticket.data or {})
    if "updatedTime" in interaction:
        updated = parse_datetime(interaction["updatedTime"])
        known = data.get("updatedTime")
        if known and updated < parse_datetime(known):
            raise PublicApiError(409, f"A newer version of this interaction ({known}) is already stored")
        data["updatedTime"] = iso(updated)
    changed = sorted(k for k in interaction if k != "updatedTime")
    if "message" in interaction:
        message = root_message(ticket)
        if message is not None and message.text != interaction["message"]:
            versions = list((message.data or {}).get("previousVersions", []))
            versions.append({"message": message.text, "replacedTime": iso(utcnow())})
            message.data = {**(message.data or {}), "previousVersions": versions[-HISTORY_VERSIONS:]}
            message.text = interaction["message"]
            data["edited"] = True
        ticket.text = interaction["message"]
    for key in ("url", "link", "pictures", "attachments", "rating"):
        if key in interaction:
            data[key] = interaction[key]
    if "interactor" in interaction:
        data["interactor"] = {**data.get("interactor", {}), **interaction["interactor"]}
        if ticket.interactor is not None and interaction["interactor"].get("name"):
            ticket.interactor.name = interaction["interactor"]["name"][:NAME_COLUMN]
    ticket.data = data
    reopened = reset and ticket.status == TicketStatus.ARCHIVED
    if changed:
        session.add(History(ticket_id=ticket.id, action="updated_on_network", data={"fields": changed}))
    if reopened:
        ticket.status, ticket.last_activity_at = TicketStatus.OPEN, utcnow()
        session.add(History(ticket_id=ticket.id, action="reopened", data={"by": "integration"}))
    if changed or reopened:
        # What a user decided on is no longer what is stored: an action carrying the version they
        # saw must be refused (409), like after a new message. Incremented in SQL, so a concurrent
        # user action's conditional bump and this one can never collapse into one version.
        ticket.version = Ticket.version + 1


def find_action(session: Session, channel: Channel, ticket: Ticket, aid: str,
                delivery_id: str | None) -> OutboundAction | None:
    """The action a reset is about: by its followupId (our event uuid), else the latest one whose
    ``actionId`` was ``aid`` (a ``button``, which has no followup)."""
    query = select(OutboundAction).where(OutboundAction.channel_id == channel.id,
                                         OutboundAction.ticket_id == ticket.id)
    if delivery_id:
        # FOR UPDATE: a worker settling the same action waits for this report, then sees it.
        return session.scalars(query.where(OutboundAction.idempotency_key == delivery_id.lower())
                               .with_for_update()).first()
    for action in session.scalars(query.order_by(OutboundAction.id.desc())):
        request = action.request or {}
        if action.kind == "reply" and (request.get("action_id") or "reply") == aid:
            return action
        if action.kind == "custom_action" and request.get("action_id") == aid:
            return action
    return None


def reset_action(session: Session, channel: Channel, ticket: Ticket, aid: str, body: dict[str, Any]) -> None:
    """The integration could not carry an action out: it failed, with the integration's reason."""
    found = find_action(session, channel, ticket, aid, body.get("followupId"))
    if found is None:
        which = f"followup {body['followupId']!r}" if body.get("followupId") else f"action {aid!r}"
        raise PublicApiError(404, f"No {which} on ticket {public_id(ticket.id)}")
    action = found
    reason = body.get("reason") or "The integration reported that this action failed"
    if action.state == ActionState.FAILED and action.error_code == "reset_by_integration":
        return   # a repeated report
    action.state, action.error_code, action.error = ActionState.FAILED, "reset_by_integration", reason
    if action.followup is not None:
        action.followup.advance(FollowupStatus.FAILED, reason)
    session.add(History(ticket_id=ticket.id, action="action_reset",
                        data={"action_id": action.id, "aid": aid, "reason": reason}))


def confirm_reply(session: Session, channel: Channel, ticket: Ticket, rid: str, interaction: dict[str, Any]) -> None:
    """The integration delivered our reply: mark it delivered and keep the item it became.

    SocialHub creates a "context ticket" for the reply; we store it as an outbound message in
    the ticket's thread (``apply`` with direction out, like a provider's echo of our reply), so
    its networkItemId is unique on the channel like every other item id.
    """
    found = session.scalars(select(OutboundAction).where(
        OutboundAction.channel_id == channel.id, OutboundAction.ticket_id == ticket.id,
        OutboundAction.idempotency_key == rid, OutboundAction.kind == "reply").with_for_update()).first()
    if found is None or found.followup_id is None:
        raise PublicApiError(404, f"No reply {rid} on ticket {public_id(ticket.id)}")
    action = found
    item_id, ref = interaction["networkItemId"], external_ref(interaction["networkItemId"])
    confirmed = (action.response or {}).get("interaction", {}).get("networkItemId")
    if confirmed == item_id:
        return   # a repeated callback
    if confirmed is not None:
        raise PublicApiError(409, f"Reply {rid} was already confirmed as {confirmed!r}")
    followup = action.followup
    if followup.status == FollowupStatus.FAILED:
        raise PublicApiError(409, f"Reply {rid} was reported failed; it cannot be confirmed")
    known = session.scalars(select(Message).filter_by(channel_id=channel.id, external_id=ref)).first()
    if known is not None and (known.data or {}).get("replyId") != rid:
        raise PublicApiError(409, f"networkItemId {item_id!r} already belongs to another item on this channel")
    created = parse_datetime(interaction["createdTime"]) if "createdTime" in interaction else utcnow()
    person = ticket.interactor
    author = Author(external_id=person.external_id, username=person.username, name=person.name) if person \
        else Author(external_id="anonymous")
    store.apply(session, channel, [InboundItem(
        ticket_kind=ticket.kind, ticket_external_id=ticket.external_id, message_external_id=ref, author=author,
        text=followup.text, created_at=created, direction=Direction.OUT)])
    message = session.scalars(select(Message).filter_by(channel_id=channel.id, external_id=ref)).one()
    if message.ticket_id != ticket.id or (message.data or {}).get("replyId") not in (None, rid):
        raise PublicApiError(409, f"networkItemId {item_id!r} already belongs to another item on this channel")
    message.data = {**(message.data or {}), "replyId": rid, "followupId": followup.id, "networkItemId": item_id,
                    **{k: interaction[k] for k in ("type", "url") if k in interaction}}
    action.response = {**(action.response or {}), "interaction": interaction}
    if action.state in (ActionState.QUEUED, ActionState.SENDING, ActionState.UNKNOWN):
        # It arrived, whatever our worker saw: a pending retry must not send it again.
        action.state, action.sent_at = ActionState.SENT, action.sent_at or utcnow()
        action.external_id = action.external_id or rid
    followup.advance(FollowupStatus.DELIVERED)
    session.add(History(ticket_id=ticket.id, action="reply_delivered",
                        data={"followup_id": followup.id, "network_item_id": item_id}))


def ticket_of(session: Session, channel: Channel, raw_id: str) -> Ticket:
    """The channel's ticket by public id: 400 for a malformed id, 404 for anyone else's ticket."""
    try:
        number = parse_public_id(raw_id)
    except ValueError as exc:
        raise PublicApiError(400, f"id {exc}") from None
    if number is not None and number > MAX_ID:
        number = None       # well-formed, but beyond any id we hand out (and beyond a bigint)
    ticket = None if number is None else session.scalars(
        select(Ticket).where(Ticket.id == number, Ticket.channel_id == channel.id)).first()
    if ticket is None:
        raise PublicApiError(404, f"No ticket {raw_id} on this channel")
    return ticket
