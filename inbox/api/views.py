"""The JSON API of the contract (/api/v1). Bearer tokens, JSON errors, thin handlers."""
from __future__ import annotations

from flask import Blueprint, current_app, g, jsonify, request
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

import workers
from inbox import fields, jsonbody, visibility
from inbox.auth.permissions import api_permission
from inbox.db import get_session
from inbox.errors import ApiError, register_json_errors
from inbox.queue.queries import FilterError, Filters, ticket_page
from inbox.queue.actions import NotPermitted, queue_channel_action, queue_ticket_action
from inbox.queue import notes, triage
from inbox.queue.pane import find_ticket
from inbox.replies.service import queue_reply
from inbox.settings import rotation
from inbox.settings.channels import check_settings_urls, connect_or_reconnect
from models import Channel, ChannelStatus, History, OutboundAction, Ticket

from . import serialize

bp = Blueprint("api", __name__, url_prefix="/api/v1")
# ApiError, a connector's ProviderError (e.g. a reply it refuses) and HTTP errors -> JSON errors.
register_json_errors(bp)


def json_body() -> dict:
    """The request's JSON object, read by ``inbox.jsonbody`` (UTF-8, depth, surrogates): 400 otherwise."""
    return _json_of(dict, "a JSON object")


def json_array() -> list:
    """The request's JSON array (e.g. a bulk reorder's ``[{id, weight}]``): 400 otherwise."""
    return _json_of(list, "a JSON array")


def _json_of(kind: type, what: str):
    if not request.is_json:
        raise ApiError(400, "invalid_json", f"Send {what} with Content-Type: application/json")
    try:
        body = jsonbody.loads(request.get_data(cache=True))
    except jsonbody.BadBody as exc:
        raise ApiError(400, "invalid_json", exc.message) from None
    if not isinstance(body, kind):
        raise ApiError(400, "invalid_json", f"Send {what} with Content-Type: application/json")
    return body


def get_channel(channel_id: int) -> Channel:
    """The channel, or 404 — also when the caller may not see it (another team's: no existence leak)."""
    session = get_session()
    channel = session.get(Channel, channel_id) if 1 <= channel_id <= fields.MAX_ID else None
    if channel is None or not visibility.can_see_channel(session, g.api_user, channel):
        raise ApiError(404, "not_found", f"No channel {channel_id}")
    return channel


@bp.post("/channels")
@api_permission("EditChannels")
def create_channel():
    body, session = json_body(), get_session()
    for field in ("provider",):
        if not isinstance(body.get(field), str):
            raise ApiError(422, "missing_field", f"{field} is required")
    fields.text(body["provider"], "provider", fields.SHORT_MAX)
    fields.optional_text(body.get("name"), "name", fields.NAME_MAX)
    fields.optional_text(body.get("base_url"), "base_url", fields.URL_MAX)
    if body.get("settings") is not None and not isinstance(body["settings"], dict):
        raise ApiError(422, "invalid_field", "settings must be an object")
    if body.get("settings") and body["provider"] != "custom":   # a custom manifest is checked by its schema
        fields.params(body["settings"])
    if body.get("credentials") is not None:
        if not isinstance(body["credentials"], dict):
            raise ApiError(422, "invalid_field", "credentials must be an object")
        fields.params(body["credentials"])
    connection = connect_or_reconnect(session, provider=body["provider"], name=body.get("name"),
                                      base_url=body.get("base_url"), credentials=body.get("credentials"),
                                      settings=body.get("settings"), public_url=public_url())
    session.commit()
    channels = connection.channels
    queued = workers.setup_soon([channel.id for channel in channels])
    status = 201 if connection.added else 200     # 200: new credentials for channels we already had
    if len(channels) == 1:   # a custom channel's access token: in this answer only
        token = serialize.created_access_token(channels[0]) if connection.added else None
        return queued_answer(serialize.channel(channels[0], webhook_url=True, access_token=token), queued, status)
    return queued_answer({"data": serialize.channels(session, channels, webhook_url=True)}, queued, status)


def queued_answer(payload: dict, queued: bool, status: int):
    """The usual answer when the work was queued; else 202 with ``queued: false`` and a notice:
    it is saved, and the sweep queues it when Redis is back."""
    if queued:
        return jsonify(payload), status
    return jsonify({**payload, "queued": False, "notice": workers.QUEUE_DOWN_NOTICE}), 202


def public_url() -> str:
    """Where providers reach us: INBOX_PUBLIC_URL if configured, else the address this request came to."""
    configured = current_app.config.get("PUBLIC_URL_SET")
    return current_app.config["PUBLIC_URL"] if configured else request.host_url.rstrip("/")


@bp.get("/channels")
@api_permission("ViewChannels")
def list_channels():
    session = get_session()
    channels = session.scalars(visibility.restrict(select(Channel), visibility.visible_channels(g.api_user))
                               .order_by(Channel.id)).all()
    return jsonify(data=serialize.channels(session, channels, webhook_url=g.api_user.can("EditChannels")))


@bp.get("/channels/<int:channel_id>")
@api_permission("ViewChannels")
def show_channel(channel_id: int):
    return jsonify(serialize.channel(get_channel(channel_id), webhook_url=g.api_user.can("EditChannels")))


@bp.post("/channels/<int:channel_id>/rotate")
@api_permission("EditChannels")
def rotate_channel_secrets(channel_id: int):
    """New webhook URL / access token / webhook secret; the old ones stop working at once."""
    body = request.get_json(silent=True) if request.get_data() else {}
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_json", "Send a JSON object with Content-Type: application/json")
    session, channel = get_session(), get_channel(channel_id)
    done = rotation.rotate(session, channel, body.get("secrets"), public_url())
    answer = serialize.channel(channel, webhook_url=True, access_token=done.access_token)
    session.commit()
    return queued_answer(answer, rotation.after_commit(done), 200)


@bp.patch("/channels/<int:channel_id>")
@api_permission("EditChannels")
def update_channel(channel_id: int):
    body, channel = json_body(), get_channel(channel_id)
    if "name" in body:
        if not isinstance(body["name"], str) or not body["name"].strip() or len(body["name"]) > fields.NAME_MAX:
            raise ApiError(422, "invalid_field", "name must be 1 to 200 characters")
        channel.name = body["name"].strip()
    if "settings" in body:
        if not isinstance(body["settings"], dict):
            raise ApiError(422, "invalid_field", "settings must be an object")
        channel.settings = _checked_settings(channel, merge_settings(channel.settings, body["settings"]))
    get_session().commit()
    return jsonify(serialize.channel(channel, webhook_url=True))


def merge_settings(current: dict | None, patch: dict) -> dict:
    """``PATCH`` semantics for a channel's settings: a key sent replaces that key, a key sent as
    null removes it, keys not sent are kept. Replacing the whole object would silently drop what
    the caller did not know about (the force-tagging flag, a custom channel's manifest).

    A new manifest that brings its own ``webhook.url`` replaces the stored ``webhook_url`` unless
    the patch names one too (the stored one would otherwise win over it)."""
    merged = dict(current or {})
    manifest = patch.get("manifest")
    if "webhook_url" not in patch and isinstance(manifest, dict) and isinstance(manifest.get("webhook"), dict) \
            and manifest["webhook"].get("url"):
        merged.pop("webhook_url", None)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def _checked_settings(channel: Channel, settings: dict) -> dict:
    """Custom channels' settings carry a webhook URL and a manifest: check them like at creation;
    their other keys (e.g. ``require_category``) are checked like any channel's and kept.
    ``require_approval`` (replies on this channel go through approval) is true or false."""
    if settings.get("require_approval") is not None:
        fields.flag(settings["require_approval"], "settings.require_approval")
    if channel.provider != "custom":
        return fields.params(settings)      # strings within limits, bounded lists and nesting
    from inbox.connectors.custom import clean_settings

    check_settings_urls(channel.provider, settings)   # 422 invalid_webhook_url: an address we never call

    cleaned, _secret = clean_settings(settings)   # SettingsError (Rejected) answers 422
    others = fields.params({k: v for k, v in settings.items() if k not in ("webhook_url", "manifest")})
    return {**others, **cleaned}


@bp.delete("/channels/<int:channel_id>")
@api_permission("EditChannels")
def delete_channel(channel_id: int):
    """Disconnect: webhooks stop being accepted; tickets and history stay."""
    channel = get_channel(channel_id)
    channel.status = ChannelStatus.DISABLED
    get_session().commit()
    return "", 204


@bp.get("/tickets")
@api_permission("ViewTickets")
def list_tickets():
    from inbox.queue.folder_service import UnknownFolder, resolve

    try:
        folder, folder_args = resolve(get_session(), g.api_user, request.args, default=None)
    except UnknownFolder:
        raise ApiError(404, "not_found", f"No folder {request.args.get('folder')}") from None
    try:
        filters = Filters.from_args(request.args, me=g.api_user.id, folder=folder, folder_args=folder_args)
    except FilterError as exc:
        raise ApiError(400, f"invalid_{exc.field}", exc.message) from exc
    tickets, next_cursor = ticket_page(get_session(), filters, viewer=g.api_user)
    return jsonify(data=[serialize.ticket(t) for t in tickets], next_cursor=next_cursor)


def _ticket_or_404(ticket_id: int):
    ticket = find_ticket(get_session(), ticket_id, viewer=g.api_user)   # None also when not visible
    if ticket is None:
        raise ApiError(404, "not_found", f"No ticket {ticket_id}")
    return ticket


@bp.get("/tickets/<int:ticket_id>")
@api_permission("ViewTickets")
def show_ticket(ticket_id: int):
    ticket = _ticket_or_404(ticket_id)
    entries = get_session().scalars(select(History).filter_by(ticket_id=ticket.id).order_by(History.id)).all()
    return jsonify(serialize.ticket_detail(ticket, list(entries)))


@bp.post("/tickets/<int:ticket_id>/actions/<action>")
@api_permission("ViewTickets")
def ticket_action(ticket_id: int, action: str):
    """One action. ``version`` in the body or an ``If-Match`` header (the ticket's version as last
    read) makes it conditional: 409 ``stale`` with the current ticket when someone changed it since."""
    body, session = json_body_or_empty(), get_session()
    ticket = _ticket_or_404(ticket_id)
    if body.get("version") is None and request.headers.get("If-Match"):
        body = {**body, "version": request.headers["If-Match"]}
    try:
        if action == "reply":
            return _reply(ticket, body)
        if action == "suggest":
            return suggestions.suggest(ticket, body)
        if action in notes.NOTE_ACTIONS:
            return _note(ticket, action, body)
        row = queue_ticket_action(session, ticket, g.api_user, action, body, via="api")
    except NotPermitted as exc:
        session.rollback()
        raise ApiError(403, "insufficient_permissions", f"This needs the {exc.permission} permission") from exc
    except triage.Stale:
        session.rollback()
        return _stale(ticket_id)
    session.commit()
    if action == "snooze":
        triage_wake_soon(ticket)
    if row is None:
        return jsonify(serialize.ticket(ticket)), 200
    return queued_answer(serialize.action(row), workers.send_soon(row.id), 202)


def _note(ticket, action: str, body: dict):
    """``note {text}`` answers 201 with the note; ``note_edit {followup_id, text}`` 200 with it;
    ``note_delete {followup_id}`` 204. Only the author edits or deletes (403 ``not_your_note``)."""
    session = get_session()
    try:
        note = notes.act(session, ticket, g.api_user, action, body, via="api")
    except notes.NoteRefused as exc:
        session.rollback()
        raise ApiError(exc.status, exc.code, exc.message) from exc
    session.commit()
    if note is None:
        return "", 204
    return jsonify(serialize.followup(note)), 201 if action == "note" else 200


def triage_wake_soon(ticket) -> None:
    """Schedule a committed snooze's wake-up (the sweep wakes it if this cannot be queued)."""
    from workers.triage import wake_soon

    wake_soon(ticket.id, ticket.snoozed_until)


def _stale(ticket_id: int):
    """409 with the ticket as it is now, so the caller can look again before acting."""
    current = _ticket_or_404(ticket_id)
    return jsonify(error={"code": "stale", "message": triage.STALE_MESSAGE},
                   ticket=serialize.ticket(current)), 409


def _reply(ticket, body: dict):
    if not g.api_user.can("ReplyTicket"):
        raise ApiError(403, "insufficient_permissions", "This needs the ReplyTicket permission")
    session = get_session()
    attachment_url = body.get("attachment_url")
    if attachment_url is not None and not isinstance(attachment_url, str):
        raise ApiError(422, "invalid_attachment_url", "attachment_url must be a string (an http(s) URL)")
    if body.get("template") is not None and not isinstance(body["template"], dict):
        raise ApiError(422, "invalid_field", "template must be an object")
    if body.get("text") is None and (attachment_url or isinstance(body.get("template"), dict)):
        body = {**body, "text": ""}          # a file or a template alone, where the provider allows it
    if not isinstance(body.get("text"), str):
        raise ApiError(422, "missing_field", "text is required")
    if not isinstance(body.get("archive", False), bool):
        raise ApiError(422, "invalid_field", "archive must be true or false")
    # A custom channel's manifest reply actions: which one, its option, a template_reply's template.
    choice = {key: body[key] for key in ("action_id", "option", "template") if body.get(key) is not None}
    if any(not isinstance(choice.get(key, ""), str) for key in ("action_id", "option")):
        raise ApiError(422, "invalid_field", "action_id and option must be strings")
    fields.text(body["text"], "text")
    fields.params(choice)
    triage.check_version(ticket, triage.parse_version(body.get("version")))
    held = suggestions.approval_required(ticket, body)     # 409: this user's reply needs approval here
    if held is not None:
        return held
    followup, action_row = queue_reply(session, ticket, g.api_user, body["text"], attachment_url=attachment_url,
                                       **choice)
    if body.get("archive"):      # answered and done: out of the open queue (a new message reopens it)
        queue_ticket_action(session, ticket, g.api_user, "archive", {}, via="api")
    else:
        triage.bump_version(session, ticket)
    session.commit()
    return queued_answer(serialize.followup(followup), workers.send_soon(action_row.id), 202)


@bp.post("/channels/<int:channel_id>/actions/<action>")
@api_permission("ViewChannels")
def channel_action(channel_id: int, action: str):
    body, session, channel = json_body(), get_session(), get_channel(channel_id)
    try:
        row = queue_channel_action(session, channel, g.api_user, action, body)
    except NotPermitted as exc:
        session.rollback()
        raise ApiError(403, "insufficient_permissions", f"This needs the {exc.permission} permission") from exc
    session.commit()
    return queued_answer(serialize.action(row), workers.send_soon(row.id), 202)


@bp.get("/actions/<int:action_id>")
@api_permission("ViewTickets")
def show_action(action_id: int):
    session = get_session()
    row = session.get(OutboundAction, action_id)
    if row is None or not _action_visible(session, row):     # another team's: the same 404 as a missing one
        raise ApiError(404, "not_found", f"No action {action_id}")
    # Each try and each person's decision, with the provider's answers: for those who read history.
    return jsonify(serialize.action(row, attempts=g.api_user.can("ViewHistory")))


def _action_visible(session, row: OutboundAction) -> bool:
    """A ticket's action: when its ticket is visible; a channel's (wall injection): its channel."""
    if row.ticket_id is not None:
        return visibility.can_see_ticket(session, g.api_user, session.get(Ticket, row.ticket_id))
    return visibility.can_see_channel(session, g.api_user, session.get(Channel, row.channel_id))


def json_body_or_empty() -> dict:
    """Actions without parameters (like, archive) may come with no body at all."""
    if not request.get_data():
        return {}
    return json_body()


# The settings resources add their routes to ``bp`` (``app.py`` registers only ``bp``).
from . import approval_policy, bulk, folders, outbound, rule_lists, rules, saved_replies, suggestions, teams, users  # noqa: E402,F401
