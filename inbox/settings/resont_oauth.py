"""Connecting Resont: with a token from the Resont profile, or through Resont's OAuth2 consent page.

The OAuth flow keeps what it needs between the two requests (state, client id and secret, base
URL) in the signed session cookie, with the secret sealed by ``inbox.crypto`` so it never sits
readable in the browser. ``state`` is our CSRF guard for the GET callback: a callback whose state
is not the one we issued is refused before anything else is done.
"""
from __future__ import annotations

import secrets
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

import workers
from inbox import crypto
from inbox.auth.permissions import permission_required
from inbox.connectors.base import AuthError, ProviderError
from inbox.connectors.resont import DEFAULT_BASE_URL, api_base, authorize_url, exchange_code
from inbox.db import get_session, release

from .channels import ConnectError, check_callable, connect_or_reconnect, valid_http_url
from .views import flash_connection

bp = Blueprint("resont_oauth", __name__, url_prefix="/settings/resont")
PENDING = "resont_oauth"          # session key of a flow in progress
TEMPLATE = "settings/resont_connect.html"


def _form(form: Any, error: str | None, status: int = 200) -> tuple[str, int]:
    return render_template(TEMPLATE, form=form, error=error, default_base_url=DEFAULT_BASE_URL), status


@bp.get("/connect")
@permission_required("EditChannels")
def connect_form():
    return _form({"mode": "token"}, None)


@bp.post("/connect")
@permission_required("EditChannels")
def connect():
    """Token mode connects now; OAuth mode sends the admin to Resont to approve."""
    form = request.form
    base_url = form.get("base_url", "").strip() or None
    if base_url and not valid_http_url(base_url):
        return _form(form, "The API base URL must be an http(s) URL.", 422)
    if base_url:
        try:
            check_callable(base_url, "invalid_base_url", "The API base URL")
        except ConnectError as exc:
            return _form(form, exc.message, 422)
    if form.get("mode") == "oauth":
        return _start_oauth(form, base_url)
    token = form.get("token", "").strip()
    if not token:
        return _form(form, "Paste the token from your Resont profile.", 422)
    return _connect({"token": token}, base_url, form)


def _start_oauth(form: Any, base_url: str | None) -> Response | tuple[str, int]:
    client_id, client_secret = form.get("client_id", "").strip(), form.get("client_secret", "").strip()
    if not client_id or not client_secret:
        return _form(form, "OAuth needs the client id and the client secret Resont gave you.", 422)
    base = api_base(base_url or DEFAULT_BASE_URL, "oauth")
    state = secrets.token_urlsafe(24)
    session[PENDING] = {"state": state, "sealed": crypto.encrypt_json(
        {"client_id": client_id, "client_secret": client_secret, "base_url": base})}
    return redirect(authorize_url(base, client_id, _callback_url(), state))


def _callback_url() -> str:
    return url_for("resont_oauth.callback", _external=True)


@bp.get("/callback")
@permission_required("EditChannels")
def callback():
    """Resont sends the admin back here with ``code`` and ``state`` (or ``error``)."""
    pending = session.pop(PENDING, None)
    state = request.args.get("state", "")
    if not pending or not state or not secrets.compare_digest(state, str(pending.get("state", ""))):
        return _form({"mode": "oauth"}, "This answer from Resont does not belong to a connection started "
                                        "here (the state does not match). Start again.", 400)
    flow = crypto.decrypt_json(pending["sealed"])
    form = {"mode": "oauth", "client_id": flow["client_id"], "base_url": flow["base_url"]}
    if request.args.get("error") or not request.args.get("code"):
        reason = request.args.get("error_description") or request.args.get("error") or "no code was given"
        return _form(form, f"Resont did not grant access: {reason}.", 422)
    release(get_session())   # no database lock while Resont answers
    try:
        credentials = exchange_code(flow["base_url"], flow["client_id"], flow["client_secret"],
                                    request.args["code"], _callback_url())
    except AuthError as exc:
        return _form(form, exc.message, 422)
    except ProviderError as exc:
        return _form(form, f"Resont could not be reached to finish the connection: {exc.message}", 502)
    return _connect(credentials, flow["base_url"], form)


def _connect(credentials: dict[str, Any], base_url: str | None, form: Any) -> Response | tuple[str, int]:
    """Verify with Resont and add one channel per account; then queue their subscriptions."""
    db = get_session()
    try:
        connection = connect_or_reconnect(db, provider="resont", name=None, base_url=base_url,
                                          credentials=credentials, settings={},
                                          public_url=current_app.config["PUBLIC_URL"])
    except ConnectError as exc:
        db.rollback()
        return _form(form, exc.message, 422 if exc.status < 500 else 502)
    db.commit()
    queued = workers.setup_soon([channel.id for channel in connection.channels])
    flash_connection(connection, " from Resont. Subscribing to comments and messages…", queued=queued)
    return redirect(url_for("settings.channels"))
