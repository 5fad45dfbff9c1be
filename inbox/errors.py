"""Our errors as answers: the one JSON error body of /api/v1 and the webhook intake, and pages.

Every JSON error of ``/api/v1`` and ``/webhooks`` is ``{"error": {"code", "message"}}`` and is
built here only (``json_error``): views raise ``ApiError`` (or let a connector's
``ProviderError`` through) and the handlers that ``register_json_errors`` puts on those
blueprints answer. ``/api2/public`` speaks SocialHub's own ``{code, message}`` instead.
"""
from __future__ import annotations

from flask import Blueprint, Flask, g, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from redis import RedisError
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException

from inbox.connectors.base import ProviderError, Rejected

from . import hx
from .extensions import login_manager

# Rejections that mean "this request names nothing we know" rather than "these values are refused".
MALFORMED = frozenset({"unknown_action"})


class ApiError(Exception):
    """A refusal to answer in JSON: HTTP status, a stable ``code`` and a message for people."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def json_error(status: int, code: str, message: str):
    """The one builder of ``{"error": {"code", "message"}}``."""
    return jsonify(error={"code": code, "message": message}), status


def provider_status(exc: ProviderError) -> int:
    """What a request answers when a provider error reaches it.

    Refused before sending (``Rejected``): 422, the values are wrong (400 when the request names
    nothing we know). The provider was busy, unreachable or silent: 502, try again later. The
    provider refused (credentials, values): 400, the request itself must change.
    """
    if isinstance(exc, Rejected):
        return 400 if exc.code in MALFORMED else 422
    if exc.retryable or exc.uncertain:
        return 502
    return 400


def register_json_errors(bp: Blueprint) -> None:
    """Make ``bp`` answer ApiError, ProviderError and HTTP errors with the JSON error body."""
    bp.register_error_handler(ApiError, _api_error)
    bp.register_error_handler(ProviderError, _provider_error)
    bp.register_error_handler(HTTPException, _http_error_json)
    bp.register_error_handler(RedisError, _queue_unavailable)


def _rollback() -> None:
    """A refused request leaves no half-written rows (and, on SQLite, frees the write lock now)."""
    session = g.get("db_session")
    if session is not None:
        session.rollback()


def _api_error(exc: ApiError):
    _rollback()
    return json_error(exc.status, exc.code, exc.message)


def _provider_error(exc: ProviderError):
    _rollback()
    return json_error(provider_status(exc), exc.code, exc.message)


def _queue_unavailable(exc: RedisError):
    """Redis failed before anything was committed (work saved first is answered by its view)."""
    _rollback()
    return json_error(503, "queue_unavailable", "The queue is unreachable; nothing was saved. Try again shortly.")


def _http_error_json(exc: HTTPException):
    code = (exc.name or "error").lower().replace(" ", "_")
    return json_error(exc.code or 500, code, exc.description or exc.name)

MESSAGES = {
    400: "The request could not be understood.",
    403: "You do not have permission to do this.",
    404: "There is nothing here.",
    405: "This address does not accept that kind of request.",
    413: "That is too large.",
    429: "Too many requests. Wait a moment and try again.",
}


def _wants_json() -> bool:
    return request.path.startswith(("/api/", "/api2/", "/webhooks/"))


def handle_http_error(exc: HTTPException):
    status = exc.code or 500
    message = exc.description if isinstance(exc, CSRFError) or status == 400 else MESSAGES.get(status, exc.name)
    if isinstance(exc, CSRFError):
        message = "Your session form expired. Reload the page and try again."
    if _wants_json():
        code = (exc.name or "error").lower().replace(" ", "_")
        return json_error(status, code, message)
    if hx.is_htmx():
        return f'<div class="flash error" role="alert">{_escape(message)}</div>', status
    return render_template("errors/error.html", status=status, message=message), status


def _escape(text: str) -> str:
    from markupsafe import escape

    return str(escape(text))


def handle_unexpected(exc: Exception):
    """Last resort: log it, and still answer in the caller's format."""
    import logging

    logging.getLogger(__name__).exception("unhandled error")
    if _wants_json():
        return json_error(500, "internal_error", "Something went wrong on our side")
    return render_template("errors/error.html", status=500, message="Something went wrong on our side."), 500


@login_manager.unauthorized_handler
def unauthorized():
    from flask import redirect, url_for

    if request.path.startswith("/api/"):
        return json_error(401, "unauthenticated", "Log in or send an API token")
    if hx.is_htmx():
        return hx.client_redirect(url_for("auth.login"))
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


CONFLICT_MESSAGE = "Someone saved a conflicting change at the same moment. Nothing was saved: try again."


def handle_conflict(exc: IntegrityError):
    """Two requests raced past the same check (two admins creating the tag "VIP" at once): the
    database's unique constraint refused the second. A 409 in the caller's format, never a 500;
    the session is rolled back, so nothing of the request is kept."""
    _rollback()
    if _wants_json():
        return json_error(409, "conflict", CONFLICT_MESSAGE)
    if hx.is_htmx():
        return f'<div class="flash error" role="alert">{_escape(CONFLICT_MESSAGE)}</div>', 409
    return render_template("errors/error.html", status=409, message=CONFLICT_MESSAGE), 409


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(IntegrityError, handle_conflict)
    if not app.testing and not app.debug:
        app.register_error_handler(Exception, handle_unexpected)
