"""``/api/v1/saved-replies``: list (own + shared, optionally those usable on a channel), create,
read, update, delete. Shape: ``{id, name, text, shared, channel_ids[]}``."""
from __future__ import annotations

from flask import g, jsonify, request

from inbox.auth.permissions import api_permission
from inbox.db import get_session
from inbox.errors import ApiError
from inbox.settings import saved_replies as service
from models import SavedReply

from .views import bp, json_body


def _reply(reply_id: int) -> SavedReply:
    reply = service.find_visible(get_session(), g.api_user, reply_id)
    if reply is None:
        raise ApiError(404, "not_found", f"No saved reply {reply_id}")
    return reply


def _forbidden(exc: service.NotAllowed) -> ApiError:
    return ApiError(403, "insufficient_permissions", str(exc))


@bp.get("/saved-replies")
@api_permission("ViewTemplates")
def list_saved_replies():
    channel_id = None
    if request.args.get("channel_id"):
        raw = request.args["channel_id"]
        if not raw.isdigit() or not 1 <= int(raw) <= 2**31 - 1:
            raise ApiError(400, "invalid_channel_id", "channel_id must be a channel's id")
        channel_id = int(raw)
    replies = service.visible(get_session(), g.api_user, channel_id=channel_id, query=request.args.get("q", ""))
    return jsonify(data=[service.as_json(r) for r in replies])


@bp.post("/saved-replies")
@api_permission("ViewTemplates")
def create_saved_reply():
    session = get_session()
    try:
        reply = service.create(session, g.api_user, service.values(json_body(), partial=False))
    except service.NotAllowed as exc:
        raise _forbidden(exc) from None
    session.commit()
    return jsonify(service.as_json(reply)), 201


@bp.get("/saved-replies/<int:reply_id>")
@api_permission("ViewTemplates")
def show_saved_reply(reply_id: int):
    return jsonify(service.as_json(_reply(reply_id)))


@bp.patch("/saved-replies/<int:reply_id>")
@api_permission("ViewTemplates")
def update_saved_reply(reply_id: int):
    session, reply = get_session(), _reply(reply_id)
    try:
        service.check_may_edit(g.api_user, reply)
        service.update(session, g.api_user, reply, service.values(json_body(), partial=True))
    except service.NotAllowed as exc:
        raise _forbidden(exc) from None
    session.commit()
    return jsonify(service.as_json(reply))


@bp.delete("/saved-replies/<int:reply_id>")
@api_permission("ViewTemplates")
def delete_saved_reply(reply_id: int):
    session, reply = get_session(), _reply(reply_id)
    try:
        service.delete(session, g.api_user, reply)
    except service.NotAllowed as exc:
        raise _forbidden(exc) from None
    session.commit()
    return "", 204
