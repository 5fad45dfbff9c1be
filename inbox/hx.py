"""The one place that knows htmx-flask and jinja2-fragments."""
from __future__ import annotations

from flask import Flask, Response, current_app, request
from jinja2_fragments.flask import render_block

from .extensions import htmx


def is_htmx() -> bool:
    return bool(getattr(request, "htmx", False))


def fragment(template: str, block: str, **context) -> str:
    """Render one named block of a page template (template fragments)."""
    return render_block(template, block, **context)


def client_redirect(url: str) -> Response:
    """A redirect htmx follows with a full page load instead of swapping a login page into a fragment."""
    response = current_app.response_class("", status=200)
    response.headers["HX-Redirect"] = url
    return response


def _vary(response: Response) -> Response:
    # One URL can answer with a page or a fragment, so caches must key on HX-Request.
    response.vary.add("HX-Request")
    return response


CHANGED = "queue-changed"


def _announce_change(response: Response) -> Response:
    """Every change a user makes through htmx tells the page so (``HX-Trigger: queue-changed``):
    what shows numbers — the folder sidebar — reloads itself, and no view has to know it exists."""
    if request.method != "GET" and is_htmx() and 200 <= response.status_code < 300:
        current = response.headers.get("HX-Trigger")
        if not current:
            response.headers["HX-Trigger"] = CHANGED
        elif current.lstrip().startswith("{"):
            import json

            events = json.loads(current)
            events.setdefault(CHANGED, True)
            response.headers["HX-Trigger"] = json.dumps(events)
        elif CHANGED not in current.split(","):
            response.headers["HX-Trigger"] = f"{current}, {CHANGED}"
    return response


def init_app(app: Flask) -> None:
    htmx.init_app(app)
    app.after_request(_vary)
    app.after_request(_announce_change)
