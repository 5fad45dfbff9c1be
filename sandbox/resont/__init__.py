"""The Resont REST API, served from memory (see shared/specs/resont-api.txt), under ``/sandbox/resont``.

* ``/token/v1/...?token=`` (token mode) and ``/v1/...?access_token=`` (OAuth mode): the same
  documented API, one blueprint per resource (``accounts``, ``comments``, ``tags``,
  ``conversations``, ``tickets``) registered under both prefixes;
* ``/web/oauth/authorize`` and ``/web/oauth/token`` (``oauth``);
* ``/files/<key>/<name>``: where uploaded reply attachments can be fetched back.

The state, its seeding, webhooks and rendering are in ``state.py``; how a call is recorded,
failed, authenticated and answered is ``calls.py``. Tests drive ``SANDBOX`` directly:
``reset()``, ``fail_next()``, ``add_comment()`` / ``add_message()`` (no webhook), ``emit_comment()``
/ ``emit_message()`` (with webhook), ``requests`` and ``writes`` (what the connector did).
"""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from . import accounts, comments, conversations, oauth, tags, tickets
from .calls import METHODS, serve
from .state import (DEMO_USER_ID, EMPTY_TOKEN, SANDBOX, SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, SANDBOX_TOKEN,
                    ApiError, ResontSandbox)

__all__ = ["DEMO_USER_ID", "EMPTY_TOKEN", "SANDBOX", "SANDBOX_CLIENT_ID", "SANDBOX_CLIENT_SECRET", "SANDBOX_TOKEN", "ResontSandbox",
           "bp"]

api = Blueprint("api", __name__)
for resource in (accounts, comments, tags, conversations, tickets):
    api.register_blueprint(resource.bp)


@api.route("/<path:path>", methods=METHODS)
def unknown(path: str):
    """Not in the docs (or not with this verb): Resont's 404 ErrorResponse, recorded like any call."""
    return serve(None, None, {})


bp = Blueprint("resont", __name__, url_prefix="/sandbox/resont")
bp.register_blueprint(api, url_prefix="/token/v1", name="token")
bp.register_blueprint(api, url_prefix="/v1", name="oauth_api")
bp.register_blueprint(oauth.bp)


@bp.route("/token/<path:path>", methods=METHODS)
@bp.route("/v<int:version>/<path:path>", methods=METHODS)
def other_version(path: str, version: int = 0):
    return jsonify(ApiError(404).body()), 404


@bp.get("/files/<key>/<name>")
def uploaded_file(key: str, name: str):
    with SANDBOX.lock:
        found = SANDBOX.files.get(key)
    if found is None:
        return jsonify(ApiError(404).body()), 404
    return found[0], 200, {"Content-Type": found[1]}


# ------------------------------------------------------------- control endpoints (not Resont's API)
@bp.post("/_sandbox/clients/<client_id>/webhook")
def control_webhook(client_id: str):
    """What a developer does in Resont's client settings: where this client's webhooks go."""
    url = (request.get_json(silent=True) or {}).get("url")
    with SANDBOX.lock:
        if client_id not in SANDBOX.clients:
            return jsonify({"error": f"unknown client {client_id}"}), 404
    SANDBOX.set_webhook_url(client_id, url)
    return jsonify({"client_id": client_id, "webhook_url": url})


@bp.get("/_sandbox/state")
def control_state():
    with SANDBOX.lock:
        return jsonify({"accounts": [SANDBOX.render_account(a, {"meta": {}}) for a in SANDBOX.accounts.values()],
                        "comments": len(SANDBOX.comments), "messages": len(SANDBOX.messages),
                        "tickets": len(SANDBOX.tickets), "writes": SANDBOX.writes[-50:],
                        "requests": len(SANDBOX.requests)})
