"""How a documented call is served: parse the request as Resont does, then ``ResontSandbox.call``.

Every resource module declares its endpoints with ``documented``: a Flask route whose view parses
the parameters (query < form < JSON, PHP-style ``key[]`` lists), files and token, and lets the
sandbox record, fail, authenticate and answer under its lock.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from flask import Blueprint, jsonify, request

from .state import SANDBOX, ApiError, Handler

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
_INDEXED = re.compile(r"^(.+)\[(\d*)\]$")      # PHP-style form keys: account_ids[] / tag[0]


def request_params() -> dict[str, Any]:
    """Query string < form body < JSON body; ``key[]`` / repeated keys become lists."""
    params: dict[str, Any] = {}
    for multi in (request.args, request.form):
        for key in multi:
            values = multi.getlist(key)
            match = _INDEXED.match(key)
            if match:
                params.setdefault(match.group(1), [])
                if not isinstance(params[match.group(1)], list):
                    params[match.group(1)] = [params[match.group(1)]]
                params[match.group(1)].extend(values)
            else:
                params[key] = values if len(values) > 1 else values[0]
    if request.is_json and request.get_data():
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            raise ApiError(400, "The JSON body must be an object.")
        params.update(data)
    for auth in ("token", "access_token"):
        params.pop(auth, None)
    return params


def serve(name: str | None, handler: Handler | None, ids: dict[str, int]):
    """Answer one call of the API (token mode under ``/token/v1``, OAuth mode under ``/v1``)."""
    try:
        params = request_params()
    except ApiError as exc:
        return jsonify(exc.body()), exc.status
    files = {key: (f.filename or key, f.read(), f.mimetype or "application/octet-stream")
             for key, f in request.files.items()}
    mode = "token" if "/token/v1/" in request.path else "oauth"
    path = request.path.split("/v1/", 1)[1] if "/v1/" in request.path else request.path
    body, status = SANDBOX.call(name, handler, ids, mode=mode, method=request.method, path=path,
                                query={k: request.args.get(k) for k in request.args}, params=params, files=files,
                                url=request.base_url)
    return jsonify(body), status


def documented(bp: Blueprint, method: str, rule: str, name: str) -> Callable[[Handler], Handler]:
    """Declare ``handler(sandbox, ctx, **ids)`` as the documented endpoint ``name`` (e.g. ``comment.reply``,
    the name ``fail_next`` matches) at ``method rule`` on ``bp``."""
    def register(handler: Handler) -> Handler:
        def view(**ids: int):
            return serve(name, handler, ids)

        bp.add_url_rule(rule, endpoint=name.replace(".", "_"), view_func=view, methods=[method])
        return handler
    return register
