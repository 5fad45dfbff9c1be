"""Links that came from a network: only absolute ``http(s)`` URLs are kept or rendered.

A provider's avatar, media, permalink or attachment URL ends up in an ``href`` or ``src`` of
our pages; a ``javascript:``, ``data:`` or ``vbscript:`` one there runs in an agent's session.
The connectors drop any other scheme when they parse (``http_url``) and the templates pass
every network URL through the ``http_url`` filter as well, for rows stored before that.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

URL_MAX = 2_000


def http_url(value: Any) -> str | None:
    """``value`` when it is an absolute http(s) URL with a host (and no control characters), else None."""
    if not isinstance(value, str):
        return None
    url = value.strip()
    if not url or len(url) > URL_MAX or any(ord(c) < 0x21 or ord(c) == 0x7F for c in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return url


def http_url_filter(value: Any) -> str:
    """The Jinja filter: the URL, or '' (so ``href="{{ x|http_url }}"`` never carries a script)."""
    return http_url(value) or ""
