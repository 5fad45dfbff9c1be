"""Security headers on every answer of the app: a Content-Security-Policy and its companions.

Why: autoescaping keeps markup out of what customers write, but a single missed escape (or a
future ``|safe``) would run script in an agent's session, which holds a CSRF token and every
ticket. The policy allows script and style only from our own files (no inline ``<script>``,
``on*=`` attributes, ``hx-on`` or ``style=``; htmx is configured in base.html not to need eval or
an injected ``<style>``), forbids framing (clickjacking of the reply and rotate buttons), and
keeps form posts and ``<base>`` on our origin. Images and media may come from the networks' CDNs
over https (avatars, attachments), never over plain http.
"""
from __future__ import annotations

from flask import Flask, Response

CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' https: data:",
    "media-src 'self' https:",
    "connect-src 'self'",
    "frame-ancestors 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "object-src 'none'",
))

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",      # our URLs (ticket ids, filters) stay on our origin
    "X-Frame-Options": "DENY",             # frame-ancestors for browsers that predate it
}


def add_security_headers(response: Response) -> Response:
    """Set each header unless the view chose its own value."""
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def init_app(app: Flask) -> None:
    app.after_request(add_security_headers)
