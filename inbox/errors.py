"""Error pages for people; the API blueprint answers JSON on its own."""
from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from . import hx
from .extensions import login_manager

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
        return jsonify(error={"code": code, "message": message}), status
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
        return jsonify(error={"code": "internal_error", "message": "Something went wrong on our side"}), 500
    return render_template("errors/error.html", status=500, message="Something went wrong on our side."), 500


@login_manager.unauthorized_handler
def unauthorized():
    from flask import redirect, url_for

    if request.path.startswith("/api/"):
        return jsonify(error={"code": "unauthenticated", "message": "Log in or send an API token"}), 401
    if hx.is_htmx():
        return hx.client_redirect(url_for("auth.login"))
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


@login_manager.user_loader
def load_user(user_id: str):
    from .db import get_session
    from models import User

    try:
        return get_session().get(User, int(user_id))
    except ValueError:
        return None


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, handle_http_error)
    if not app.testing and not app.debug:
        app.register_error_handler(Exception, handle_unexpected)
