"""/api2/public: SocialHub's ``public`` routes as thin views over ``service``.

An integration written for SocialHub's custom channels works against us by changing its base
URL from ``https://app.socialhub.io/api2`` to ``<our url>/api2``: the same paths, the channel's
access token as the ``accesstoken`` query parameter, the same request schemas (``schemas.py``)
and the same error body (``errors.py``). See docs/custom-channels.md for the integration's side.
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, g, jsonify, request
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RoutingException

import workers
from inbox import jsonbody
from inbox.connectors.custom_manifest import check, string
from inbox.db import get_session
from models import Ticket

from . import errors, service
from .errors import PublicApiError, error_response
from .schemas import CREATE_TICKET, REPLY_SUCCESS, RESET_ACTION, UPDATE_TICKET, channel_schema
from .shapes import channel_json, manifest_json, ticket_json

bp = Blueprint("public_api", __name__, url_prefix="/api2/public")
errors.register(bp)


@bp.before_request
def _authenticate() -> None:
    """Every route needs the channel's access token (see ``access_token``)."""
    channel = service.channel_for_token(get_session(), access_token())
    if channel is None:
        raise PublicApiError(401, "The access token is missing, invalid or no longer valid: send the custom "
                                  "channel's token as the accesstoken query parameter, an accesstoken header "
                                  "or 'Authorization: Bearer TOKEN'")
    g.public_channel = channel


def access_token() -> str:
    """The token from ``?accesstoken=`` (SocialHub's apiKey in query, as its integrations send it),
    else from an ``accesstoken`` header or ``Authorization: Bearer``: headers stay out of access
    logs, browser histories and proxies' URL logs, so an integration we write ourselves uses them."""
    if request.args.get("accesstoken"):
        return request.args["accesstoken"]
    if request.headers.get("accesstoken", "").strip():
        return request.headers["accesstoken"].strip()
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def body_json() -> Any:
    """The request body as JSON whatever the Content-Type says (an empty body counts as ``{}``);
    ``inbox.jsonbody`` refuses invalid UTF-8, deep nesting and lone surrogates (400)."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}
    try:
        return jsonbody.loads(raw)
    except jsonbody.BadBody as exc:
        raise PublicApiError(400, exc.message) from None


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
    session, channel = get_session(), g.public_channel
    service.patch_manifest(session, channel, body_json())
    session.commit()
    return jsonify(manifest_json(channel))


@bp.post("/channels")
def complete_channel():
    """SocialHub creates a channel from a reusable manifest here; our channels are created by an
    admin (POST /api/v1/channels), so the token's channel is completed with the given profile."""
    body, channel = valid(channel_schema(with_network_id=True)), g.public_channel
    service.update_channel(channel, body)
    get_session().commit()
    return jsonify(channel_json(channel)), 201


@bp.patch("/channel")
def edit_channel():
    body, channel = valid(channel_schema(with_network_id=False)), g.public_channel
    service.update_channel(channel, body)
    get_session().commit()
    return jsonify(channel_json(channel))


@bp.delete("/channel")
def delete_channel():
    reason = request.args.get("reason", "").strip()
    if len(reason) > 2000:
        raise PublicApiError(400, "reason must be at most 2000 characters long")
    service.deactivate_channel(get_session(), g.public_channel, reason)
    get_session().commit()
    return "", 204


@bp.post("/inbox/tickets")
def push_ticket():
    body, session = valid(CREATE_TICKET), get_session()
    ticket = service.create_ticket(session, g.public_channel, body["interaction"])
    answer = committed_ticket(session, ticket, 201)
    workers.request_rules()   # committed with its rule run; Redis down: None, the sweep runs it
    return answer


@bp.patch("/inbox/tickets/<ticket_id>")
def edit_ticket(ticket_id: str):
    session, reset = get_session(), flag("reset")
    ticket = service.ticket_of(session, g.public_channel, ticket_id)
    body = valid(UPDATE_TICKET)
    service.update_ticket(session, ticket, body.get("interaction", {}), reset)
    return committed_ticket(session, ticket, 200)


@bp.post("/inbox/tickets/<ticket_id>/reset/<aid>")
def reset_ticket_action(ticket_id: str, aid: str):
    session, channel = get_session(), g.public_channel
    check(string(pattern=r"[a-zA-Z0-9_-]{1,256}"), aid, "aid")
    ticket = service.ticket_of(session, channel, ticket_id)
    service.reset_action(session, channel, ticket, aid, valid(RESET_ACTION))
    return committed_ticket(session, ticket, 201)


@bp.post("/inbox/tickets/<ticket_id>/replies/<rid>/success")
def reply_success(ticket_id: str, rid: str):
    session, channel = get_session(), g.public_channel
    check(string(format="uuid"), rid, "rid")
    ticket = service.ticket_of(session, channel, ticket_id)
    body = valid(REPLY_SUCCESS)
    service.confirm_reply(session, channel, ticket, rid.lower(), body["interaction"])
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
