"""The public custom-channel API, SocialHub-compatible (swagger tag ``public``, under ``/api2/public``).

An integration written for SocialHub's custom channels works against us by changing its base
URL from ``https://app.socialhub.io/api2`` to ``<our url>/api2``: the same paths, the channel's
access token as the ``accesstoken`` query parameter, the same request schemas (checked rule by
rule: required fields, patterns, enums, lengths) and the same error body ``{"code", "message"}``.

Items pushed here are stored through ``inbox.ingest.store.apply``, the path every provider's
items take, so dedupe, threading and reopening behave the same. Agent actions travel the other
way through ``inbox.connectors.custom`` (signed webhook deliveries); the integration reports
their outcome back with ``/replies/{rid}/success`` and ``/reset/{aid}``.

The module has three parts: request schemas, the domain functions (plain session + channel, no
Flask), and thin views. See docs/custom-channels.md for the integration's side.
"""
from __future__ import annotations

import hashlib
import json
import logging
import time
from typing import Any

from flask import Blueprint, current_app, g, jsonify, request
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RoutingException

from inbox import crypto
from inbox.connectors.base import Author, InboundItem
from inbox.connectors.custom import (
    HTTPS_URI,
    NETWORK_ITEM_ID_RE,
    REPLY_ITEM_ID_RE,
    SchemaError,
    account_ref_for,
    check,
    check_manifest,
    merge_manifest,
    parse_datetime,
    parse_public_id,
    public_id,
    string,
)
from inbox.db import get_session
from inbox.ingest import store
from models import (
    ActionState,
    Channel,
    ChannelStatus,
    Direction,
    FollowupStatus,
    FollowupType,
    History,
    Message,
    OutboundAction,
    Ticket,
    TicketKind,
    TicketStatus,
    utcnow,
)

bp = Blueprint("public_api", __name__, url_prefix="/api2/public")
log = logging.getLogger(__name__)

# SocialHub's Error.code is ^[a-zA-Z]*$; we use the swagger's names of its reusable responses.
ERROR_CODES = {400: "BadRequestError", 401: "AccessTokenInvalidError", 403: "AccessDenied", 404: "NotFoundError",
               405: "MethodNotAllowed", 406: "NotAcceptableError", 409: "ConflictError", 413: "PayloadTooLarge",
               415: "UnsupportedMediaType", 429: "TooManyRequestsError", 500: "InternalServerError",
               501: "NotImplementedError"}
# Our columns hold 200 characters; longer external ids (the swagger allows 256) are stored hashed.
ID_COLUMN = 200
NAME_COLUMN = 200
# How long a callback waits for the worker that delivered the action to record its own result
# (an integration may answer our webhook and call back before the worker has committed).
SETTLE_SECONDS, SETTLE_STEP = 3.0, 0.05
HISTORY_VERSIONS = 20
MAX_ID = 2**31 - 1          # our primary keys are 32-bit integers (PostgreSQL INTEGER)


# -- errors ---------------------------------------------------------------------------------

class PublicApiError(Exception):
    """An answer in SocialHub's error shape: ``{"code": <name of the status>, "message"}``."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def error_response(status: int, message: str):
    return jsonify(code=ERROR_CODES.get(status, "Error"), message=message), status


def _rollback() -> None:
    """Nothing half-written: an error answer never leaves pending rows in the request's session."""
    session = g.get("db_session")
    if session is not None:
        session.rollback()


@bp.errorhandler(PublicApiError)
def _public_error(exc: PublicApiError):
    _rollback()
    return error_response(exc.status, exc.message)


@bp.errorhandler(SchemaError)
def _schema_error(exc: SchemaError):
    _rollback()
    return error_response(400, exc.message)


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException):
    _rollback()
    return error_response(exc.code or 500, exc.description or exc.name)


@bp.errorhandler(Exception)
def _unexpected(exc: Exception):
    """Last resort, still in SocialHub's shape; tests see the real exception."""
    if current_app.testing:
        raise exc
    _rollback()
    log.exception("public API error")
    return error_response(500, "Something went wrong on our side")


# -- request schemas (the swagger's, rule by rule) ---------------------------------------------

TICKET_TYPES = ["POST", "COMMENT", "THREAD", "MESSAGE", "RATING", "ALBUM", "PHOTO", "MENTION", "DM", "MEDIA",
                "VIDEO", "TWEET", "REVIEW", "WEB", "NEWS", "BLOG", "FORUM", "TICKET", "ADPOST"]
ITEM_ID = string(pattern=NETWORK_ITEM_ID_RE)
URI = string(format="uri", maxLength=2048)
DATE_TIME = string(format="date-time")
PICTURES = {"type": "array", "maxItems": 50, "items": {
    "type": "object", "required": ["small"], "properties": {"small": URI, "large": URI}}}
ATTACHMENTS = {"type": "array", "maxItems": 50, "items": {
    "type": "object", "required": ["url"], "properties": {
        "url": URI, "size": {"type": "number", "minimum": 0}, "name": string(maxLength=1000),
        "mimeType": string(maxLength=200)}}}
RATING = {"type": "object", "properties": {"value": {"type": "number", "minimum": 0},
                                           "scale": {"type": "number", "minimum": 0, "maximum": 100}}}
INTERACTOR_FIELDS = {"name": string(), "url": URI, "picture": URI}

CREATE_TICKET = {"type": "object", "required": ["interaction"], "properties": {"interaction": {
    # networkItemId is not marked required in the swagger, but it is the item's identity (and the
    # 409 dedupe key): without it nothing could be updated or deduplicated, so we require it.
    "type": "object", "required": ["networkItemId"], "properties": {
        "root": {"type": "object", "properties": {"rootId": ITEM_ID}},
        "type": string(enum=TICKET_TYPES),
        "message": string(),
        "createdTime": DATE_TIME,
        "networkItemId": ITEM_ID,
        "url": URI, "link": URI, "pictures": PICTURES, "attachments": ATTACHMENTS,
        "interactor": {"type": "object", "required": ["interactorId"],
                       "properties": {"interactorId": string(minLength=3), **INTERACTOR_FIELDS}},
        "rating": RATING}}}}
UPDATE_TICKET = {"type": "object", "properties": {"interaction": {"type": "object", "properties": {
    "message": string(), "updatedTime": DATE_TIME, "url": URI, "link": URI, "pictures": PICTURES,
    "attachments": ATTACHMENTS, "interactor": {"type": "object", "properties": INTERACTOR_FIELDS},
    "rating": RATING}}}}
RESET_ACTION = {"type": "object", "properties": {"followupId": string(minLength=1, maxLength=64),
                                                 "reason": string(maxLength=2000)}}
REPLY_SUCCESS = {"type": "object", "required": ["interaction"], "properties": {"interaction": {
    "type": "object", "required": ["networkItemId"], "properties": {
        "networkItemId": string(pattern=REPLY_ITEM_ID_RE), "type": string(enum=TICKET_TYPES), "url": URI,
        "createdTime": DATE_TIME}}}}


def channel_schema(with_network_id: bool) -> dict[str, Any]:
    """``POST /public/channels`` and ``PATCH /public/channel`` differ only by ``endpoint.networkId``."""
    endpoint: dict[str, Any] = {
        "expirationTime": DATE_TIME,
        "user": {"type": "object", "properties": {
            "id": string(maxLength=256), "name": string(maxLength=NAME_COLUMN), "profileUrl": URI,
            "profileImage": HTTPS_URI}}}
    if with_network_id:
        endpoint["networkId"] = string(maxLength=256)
    return {"type": "object", "properties": {
        "name": string(minLength=1, maxLength=NAME_COLUMN), "uniqueName": string(maxLength=NAME_COLUMN),
        "imageUrl": URI, "endpoint": {"type": "object", "properties": endpoint}}}


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


def patch_manifest(channel: Channel, patch: dict[str, Any]) -> None:
    """Merge a manifest patch; its webhook goes to settings (URL) and the credentials (secret)."""
    clean = check_manifest(patch)
    webhook = clean.pop("webhook", None)
    settings = dict(channel.settings or {})
    settings["manifest"] = merge_manifest(settings.get("manifest") or {}, clean)
    if webhook:
        settings["webhook_url"] = webhook["url"]
        credentials = crypto.decrypt_json(channel.credentials_encrypted)
        channel.credentials_encrypted = crypto.encrypt_json({**credentials, "webhook_secret": webhook["secret"]})
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
    picture = pictures[0]["small"] if pictures and len(pictures[0]["small"]) <= 1000 else None
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
    """The item changed on the network: refresh what we show; ``reset`` reopens an archived ticket."""
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
    if changed:
        session.add(History(ticket_id=ticket.id, action="updated_on_network", data={"fields": changed}))
    if reset and ticket.status == TicketStatus.ARCHIVED:
        ticket.status, ticket.last_activity_at = TicketStatus.OPEN, utcnow()
        session.add(History(ticket_id=ticket.id, action="reopened", data={"by": "integration"}))


def settled_action(session: Session, action_id: int) -> OutboundAction:
    """The action once its worker has recorded the delivery (or after a short wait).

    An integration may call back before the worker that delivered to it has committed; writing
    our outcome first would let the worker overwrite it. Rolling back between looks releases the
    database for the worker's write (SQLite has one writer at a time).
    """
    deadline = time.monotonic() + SETTLE_SECONDS
    while True:
        action = session.get(OutboundAction, action_id, populate_existing=True)
        if action.state != ActionState.SENDING or time.monotonic() >= deadline:
            return action
        session.rollback()
        time.sleep(SETTLE_STEP)


def find_action(session: Session, channel: Channel, ticket: Ticket, aid: str,
                delivery_id: str | None) -> OutboundAction | None:
    """The action a reset is about: by its delivery / reply id, else the latest one named ``aid``."""
    query = select(OutboundAction).where(OutboundAction.channel_id == channel.id,
                                         OutboundAction.ticket_id == ticket.id)
    if delivery_id:
        return session.scalars(query.where(OutboundAction.idempotency_key == delivery_id)).first()
    reply_ids = {"reply"} | {a["id"] for a in (channel.settings.get("manifest") or {}).get("inbox", {}).get(
        "ticketActions", []) if a.get("type") == "reply"}
    for action in session.scalars(query.order_by(OutboundAction.id.desc())):
        if action.kind == "reply" and aid in reply_ids:
            return action
        if action.kind == "custom_action" and (action.request or {}).get("action_id") == aid:
            return action
    return None


def reset_action(session: Session, channel: Channel, ticket: Ticket, aid: str, body: dict[str, Any]) -> None:
    """The integration could not carry an action out: it failed, with the integration's reason."""
    found = find_action(session, channel, ticket, aid, body.get("followupId"))
    if found is None:
        which = f"followup {body['followupId']!r}" if body.get("followupId") else f"action {aid!r}"
        raise PublicApiError(404, f"No {which} on ticket {public_id(ticket.id)}")
    action = settled_action(session, found.id)
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
        OutboundAction.idempotency_key == rid, OutboundAction.kind == "reply")).first()
    if found is None or found.followup_id is None:
        raise PublicApiError(404, f"No reply {rid} on ticket {public_id(ticket.id)}")
    action = settled_action(session, found.id)
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


def root_message(ticket: Ticket) -> Message | None:
    """The pushed item itself (its id is the ticket's), else the first inbound message."""
    inbound = [m for m in ticket.messages if m.direction == Direction.IN]
    return next((m for m in inbound if m.external_id == ticket.external_id), inbound[0] if inbound else None)


# -- SocialHub's shapes ---------------------------------------------------------------------------

def iso(value) -> str | None:
    return value.isoformat(timespec="milliseconds") + "Z" if value else None


def channel_json(channel: Channel) -> dict[str, Any]:
    info = channel.info or {}
    endpoint = dict(info.get("endpoint") or {})
    return {"_id": public_id(channel.id), "name": channel.name, "uniqueName": info.get("uniqueName") or channel.name,
            "socialNetwork": "CUSTOM", "imageUrl": info.get("imageUrl"), "products": {"cp": False, "inbox": True},
            "endpoint": endpoint, "active": channel.status != ChannelStatus.DISABLED,
            "createdTime": iso(channel.created_at), "updatedTime": iso(channel.updated_at)}


def manifest_json(channel: Channel) -> dict[str, Any]:
    """The stored manifest with its webhook: the secret is how the integration learns it."""
    settings = channel.settings or {}
    secret = crypto.decrypt_json(channel.credentials_encrypted).get("webhook_secret")
    return {**(settings.get("manifest") or {}), "webhook": {"url": settings.get("webhook_url"), "secret": secret}}


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
            "channelId": public_id(ticket.channel_id), "actionId": "reply",
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


# -- views -------------------------------------------------------------------------------------

@bp.before_request
def _authenticate() -> None:
    """Every route needs the channel's access token as ``?accesstoken=`` (SocialHub's apiKey in query)."""
    channel = channel_for_token(get_session(), request.args.get("accesstoken", ""))
    if channel is None:
        raise PublicApiError(401, "The access token is missing, invalid or no longer valid: send the custom "
                                  "channel's token as the accesstoken query parameter")
    g.public_channel = channel


def body_json() -> Any:
    """The request body as JSON whatever the Content-Type says (an empty body counts as ``{}``)."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):    # RecursionError: absurdly deep nesting
        raise PublicApiError(400, "The body is not valid JSON") from None


def valid(schema: dict[str, Any]) -> dict[str, Any]:
    return check(schema, body_json())


def flag(name: str) -> bool:
    value = request.args.get(name, "").strip().lower()
    if value in ("", "false", "0"):
        return False
    if value in ("true", "1"):
        return True
    raise PublicApiError(400, f"{name} must be true or false")


def committed_ticket(session: Session, ticket: Ticket, status: int):
    """Serialise inside the transaction, then commit: lazy loads after the commit would open
    another transaction (on SQLite, another hold of the write lock) just to answer."""
    session.flush()
    body = ticket_json(ticket)
    session.commit()
    return jsonify(body), status


@bp.get("")
@bp.get("/")
def show():
    channel = g.public_channel
    return jsonify(channel=channel_json(channel), manifest=manifest_json(channel))


@bp.patch("/manifest")
def edit_manifest():
    body, channel = body_json(), g.public_channel
    patch_manifest(channel, body)
    get_session().commit()
    return jsonify(manifest_json(channel))


@bp.post("/channels")
def complete_channel():
    """SocialHub creates a channel from a reusable manifest here; our channels are created by an
    admin (POST /api/v1/channels), so the token's channel is completed with the given profile."""
    body, channel = valid(channel_schema(with_network_id=True)), g.public_channel
    update_channel(channel, body)
    get_session().commit()
    return jsonify(channel_json(channel)), 201


@bp.patch("/channel")
def edit_channel():
    body, channel = valid(channel_schema(with_network_id=False)), g.public_channel
    update_channel(channel, body)
    get_session().commit()
    return jsonify(channel_json(channel))


@bp.delete("/channel")
def delete_channel():
    reason = request.args.get("reason", "").strip()
    if len(reason) > 2000:
        raise PublicApiError(400, "reason must be at most 2000 characters long")
    deactivate_channel(get_session(), g.public_channel, reason)
    get_session().commit()
    return "", 204


@bp.post("/inbox/tickets")
def push_ticket():
    body, session = valid(CREATE_TICKET), get_session()
    ticket = create_ticket(session, g.public_channel, body["interaction"])
    return committed_ticket(session, ticket, 201)


@bp.patch("/inbox/tickets/<ticket_id>")
def edit_ticket(ticket_id: str):
    session, reset = get_session(), flag("reset")
    ticket = ticket_of(session, g.public_channel, ticket_id)
    body = valid(UPDATE_TICKET)
    update_ticket(session, ticket, body.get("interaction", {}), reset)
    return committed_ticket(session, ticket, 200)


@bp.post("/inbox/tickets/<ticket_id>/reset/<aid>")
def reset_ticket_action(ticket_id: str, aid: str):
    session, channel = get_session(), g.public_channel
    check(string(pattern=r"[a-zA-Z0-9_-]{1,256}"), aid, "aid")
    ticket = ticket_of(session, channel, ticket_id)
    reset_action(session, channel, ticket, aid, valid(RESET_ACTION))
    return committed_ticket(session, ticket, 201)


@bp.post("/inbox/tickets/<ticket_id>/replies/<rid>/success")
def reply_success(ticket_id: str, rid: str):
    session, channel = get_session(), g.public_channel
    check(string(format="uuid"), rid, "rid")
    ticket = ticket_of(session, channel, ticket_id)
    body = valid(REPLY_SUCCESS)
    confirm_reply(session, channel, ticket, rid.lower(), body["interaction"])
    return committed_ticket(session, ticket, 201)


ROUTED_METHODS = ("GET", "POST", "PATCH", "DELETE", "PUT")


@bp.route("/<path:rest>", methods=[*ROUTED_METHODS, "HEAD", "OPTIONS"])
def unknown_route(rest: str):
    """Unknown paths and methods under /api2/public still answer in SocialHub's error shape.

    Routing errors never reach a blueprint's error handlers (Flask resolves them before it knows
    the blueprint), so this catch-all takes whatever the real routes did not, and tells a wrong
    method (405, with Allow) from a wrong path (404).
    """
    adapter = current_app.url_map.bind_to_environ(request.environ)
    allowed = []
    for method in ROUTED_METHODS:
        try:
            endpoint, _ = adapter.match(request.path, method=method)
        except (HTTPException, RoutingException):
            continue
        if endpoint != "public_api.unknown_route":
            allowed.append(method)
    if allowed:
        response, status = error_response(405, f"{request.method} is not allowed here; use {', '.join(allowed)}")
        response.headers["Allow"] = ", ".join(allowed)
        return response, status
    raise PublicApiError(404, f"No route {request.method} {request.path}")
