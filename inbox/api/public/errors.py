"""The one place where our errors become /api2/public's ``{"code", "message"}`` body.

The codes are the swagger's reusable responses (``BadRequestError``, ``AccessTokenInvalidError``,
``NotFoundError``, ``ConflictError``, ``WebhookValidationError`` ...); SocialHub adds ``data``
to a ``WebhookValidationError`` with the underlying error, and so do we. The domain
(``service.py``) raises ``PublicApiError``, ``SchemaError`` or ``WebhookValidationFailed``; the
views never build an error body themselves.
"""
from __future__ import annotations

import logging

from flask import Blueprint, Response, current_app, g, jsonify
from werkzeug.exceptions import HTTPException

from inbox.connectors.custom import WebhookValidationFailed
from inbox.connectors.custom_manifest import SchemaError

log = logging.getLogger(__name__)

# SocialHub's Error.code is ^[a-zA-Z]*$; the swagger's names of its reusable responses.
ERROR_CODES = {400: "BadRequestError", 401: "AccessTokenInvalidError", 403: "AccessDenied", 404: "NotFoundError",
               405: "MethodNotAllowed", 406: "NotAcceptableError", 409: "ConflictError", 413: "PayloadTooLarge",
               415: "UnsupportedMediaType", 422: "WebhookValidationError", 429: "TooManyRequestsError",
               500: "InternalServerError", 501: "NotImplementedError"}


class PublicApiError(Exception):
    """An answer in SocialHub's error shape; the code follows from the status."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def error_response(status: int, message: str, data: str | None = None) -> tuple[Response, int]:
    body = {"code": ERROR_CODES.get(status, "Error"), "message": message}
    if data is not None:
        body["data"] = data
    return jsonify(body), status


def as_response(exc: Exception) -> tuple[Response, int]:
    """Any exception raised under /api2/public as SocialHub's answer (500 for the unexpected)."""
    if isinstance(exc, PublicApiError):
        return error_response(exc.status, exc.message)
    if isinstance(exc, SchemaError):
        return error_response(400, exc.message)
    if isinstance(exc, WebhookValidationFailed):
        return error_response(422, exc.message, exc.data)
    if isinstance(exc, HTTPException):
        return error_response(exc.code or 500, exc.description or exc.name)
    log.exception("public API error", exc_info=exc)
    return error_response(500, "Something went wrong on our side")


def _rollback() -> None:
    """Nothing half-written: an error answer never leaves pending rows in the request's session."""
    session = g.get("db_session")
    if session is not None:
        session.rollback()


def register(bp: Blueprint) -> None:
    """Route every error of the blueprint through ``as_response`` (tests see unexpected ones raised)."""

    @bp.errorhandler(Exception)
    def _handle(exc: Exception):
        if current_app.testing and not isinstance(
                exc, (PublicApiError, SchemaError, WebhookValidationFailed, HTTPException)):
            raise exc
        _rollback()
        return as_response(exc)
