"""Resont's OAuth: ``/web/oauth/authorize`` (approves at once as the demo user: 302 back to
``redirect_uri`` with ``code`` and ``state``) and ``/web/oauth/token`` (``authorization_code`` and
``refresh_token`` grants). The grants themselves live in the sandbox's state (``grant``)."""
from __future__ import annotations

import secrets
import time
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, jsonify, redirect, request

from .calls import request_params
from .state import CODE_TTL, DEMO_USER_ID, SANDBOX, ApiError, ResontSandbox

bp = Blueprint("oauth", __name__, url_prefix="/web/oauth")


@bp.get("/authorize")
def oauth_authorize():
    target, error = authorize(SANDBOX, {k: request.args.get(k) for k in request.args})
    if error is not None:
        return jsonify(error.body()), error.status
    return redirect(target, code=302)


@bp.post("/token")
def oauth_token():
    try:
        params = request_params()
    except ApiError as exc:
        return jsonify(exc.body()), exc.status
    body, status = token(SANDBOX, params)
    return jsonify(body), status


def authorize(s: ResontSandbox, params: dict[str, Any]) -> tuple[str | None, ApiError | None]:
    """Approve at once as the demo user: the redirect target, or the error to answer."""
    with s.lock:
        s.requests.append({"mode": "web", "method": "GET", "path": "oauth/authorize", "name": "oauth.authorize",
                              "query": dict(params), "params": dict(params), "files": {}, "at": time.time()})
        failure = s.take_api_failure("GET", "oauth/authorize", "oauth.authorize")
        if failure:
            return None, failure
        client = s.clients.get(str(params.get("client_id") or ""))
        if client is None:
            return None, ApiError(400, "The client id is invalid.")
        for field in ("response_type", "scope", "state"):
            if not params.get(field):
                return None, ApiError(400, f"The {field.replace('_', ' ')} field is required.")
        target = str(params.get("redirect_uri") or client["redirect_uri"] or "")
        if not target or (client["redirect_uri"] and not target.startswith(client["redirect_uri"])):
            return None, ApiError(400, "The redirect uri is invalid.")
        scope, state = str(params["scope"]), str(params["state"])
        if params["response_type"] == "code":
            code = secrets.token_urlsafe(16)
            s.codes[code] = {"client_id": params["client_id"], "user_id": DEMO_USER_ID, "scope": scope,
                                "redirect_uri": params.get("redirect_uri"), "expires_at": time.time() + CODE_TTL}
            query = {"code": code, "state": state}
        elif params["response_type"] == "token":
            answer = s.grant(str(params["client_id"]), DEMO_USER_ID, scope)
            answer.pop("refresh_token", None)
            answer.pop("refresh_token_expires", None)
            query = {**answer, "state": state}
        else:
            return None, ApiError(400, "The selected response type is invalid.")
        return f"{target}{'&' if '?' in target else '?'}{urlencode(query)}", None


def token(s: ResontSandbox, params: dict[str, Any]) -> tuple[dict[str, Any], int]:
    with s.lock:
        record = {"mode": "web", "method": "POST", "path": "oauth/token", "name": "oauth.token", "query": {},
                  "params": dict(params), "files": {}, "at": time.time()}
        s.requests.append(record)
        try:
            failure = s.take_api_failure("POST", "oauth/token", "oauth.token")
            if failure:
                raise failure
            body, status = _grant_for(s, params), 200
        except ApiError as exc:
            body, status = exc.body(), exc.status
        record["status"] = status
        return body, status


def _grant_for(s: ResontSandbox, params: dict[str, Any]) -> dict[str, Any]:
    for field in ("client_id", "client_secret", "grant_type"):
        if not params.get(field):
            raise ApiError(400, f"The {field.replace('_', ' ')} field is required.")
    client = s.clients.get(str(params["client_id"]))
    if client is None or client["secret"] != params["client_secret"]:
        raise ApiError(401, "The client credentials are invalid.")
    if params["grant_type"] == "authorization_code":
        grant = s.codes.pop(str(params.get("code") or ""), None)
        if grant is None or grant["client_id"] != params["client_id"] or grant["expires_at"] < time.time():
            raise ApiError(400, "The authorization code is invalid or has expired.")
        if grant["redirect_uri"] and grant["redirect_uri"] != params.get("redirect_uri"):
            raise ApiError(400, "The redirect uri does not match the one of the authorization request.")
        s.write("oauth.code", client_id=params["client_id"])
        return s.grant(str(params["client_id"]), grant["user_id"], grant["scope"])
    if params["grant_type"] == "refresh_token":
        grant = s.refresh_tokens.get(str(params.get("refresh_token") or ""))
        if grant is None or grant["client_id"] != params["client_id"]:
            raise ApiError(400, "The refresh token is invalid.")
        s.write("oauth.refresh", client_id=params["client_id"])
        answer = s.grant(grant["client_id"], grant["user_id"], grant["scope"].replace("offline_access", ""))
        answer["scope"] = grant["scope"]      # the docs' refresh answer: no new refresh_token
        return answer
    raise ApiError(400, "The selected grant type is invalid.")
