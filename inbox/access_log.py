"""Gunicorn's access log without the secrets some URLs carry.

A custom channel's integration sends its access token as ``?accesstoken=`` (SocialHub's
protocol), Resont's OAuth callback carries a ``code``, and every provider posts to
``/webhooks/<provider>/<token>``: logged as is, anyone who reads the logs (or the log shipper,
or a backup) could push tickets or forge webhooks. ``python -m inbox.serve`` runs gunicorn with
``--logger-class inbox.access_log.RedactingLogger``; ``redact`` is the one rule, tested alone.
"""
from __future__ import annotations

import re
from typing import Any

from gunicorn.glogging import Logger

REDACTED = "[redacted]"
# Query parameters whose value is a credential (or a one-time code that yields one).
SECRET_PARAMETERS = ("accesstoken", "access_token", "token", "refresh_token", "client_secret", "api_key", "code")
_QUERY = re.compile(r"(?P<name>(?:^|(?<=[?&;]))(?:%s)=)[^&;#\s\"]*" % "|".join(SECRET_PARAMETERS), re.IGNORECASE)
_WEBHOOK = re.compile(r"(?P<name>/webhooks/[^/?#\s\"]+/)[^/?#\s\"]+")
# Request headers that carry credentials, if a log format ever names them (%({authorization}i)s).
SECRET_HEADERS = frozenset({"{authorization}i", "{accesstoken}i", "{cookie}i", "{x-api-key}i"})


def redact(text: str) -> str:
    """``text`` (a request line, path, query string or referer) with token values replaced."""
    text = _WEBHOOK.sub(lambda m: m.group("name") + REDACTED, text)
    return _QUERY.sub(lambda m: m.group("name") + REDACTED, text)


class RedactingLogger(Logger):
    """Gunicorn's logger; every access-log atom passes through ``redact`` first."""

    def atoms(self, resp, req, environ, request_time) -> dict[str, Any]:
        atoms = super().atoms(resp, req, environ, request_time)
        for key, value in atoms.items():
            if key in SECRET_HEADERS:
                atoms[key] = REDACTED
            elif isinstance(value, str):
                atoms[key] = redact(value)
        return atoms
