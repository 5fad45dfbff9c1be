"""The sandbox app: every provider's documented API under its own prefix, and a page for people.

``create_app()`` mounts each sandbox's blueprint (its provider's API) and its control API
(sandbox/base.py), and serves ``/``: what is served where, the demo credentials, forms that make
any sandbox produce an incoming item, and the log of what our app sent each provider. With
``demo=True`` a thread produces one item every ``DEMO_INTERVAL`` seconds on a random sandbox.
"""
from __future__ import annotations

import logging
import random
import threading
from pathlib import Path

from flask import Flask, render_template, request

from . import modules
from .base import ProviderSandbox, control_blueprint

DEMO_INTERVAL = 45.0
log = logging.getLogger("sandbox")


def create_app(demo: bool = False, inbox_url: str | None = None, interval: float = DEMO_INTERVAL) -> Flask:
    """The app; ``inbox_url`` is only shown on the page (the sandbox never calls the inbox's own code)."""
    app = Flask(__name__, template_folder=str(Path(__file__).parent / "templates"))
    app.json.ensure_ascii = False          # keep Russian/Persian/emoji readable in responses
    sandboxes: dict[str, ProviderSandbox] = {}
    for provider, module in modules().items():
        app.register_blueprint(module.bp)
        app.register_blueprint(control_blueprint(module.SANDBOX))
        sandboxes[provider] = module.SANDBOX
    app.extensions["sandboxes"] = sandboxes

    @app.get("/")
    def index():
        root = request.host_url.rstrip("/")
        return render_template("index.html", root=root, inbox_url=inbox_url, demo=demo, interval=interval,
                               sandboxes=sandboxes, sent=request.args.get("provider"),
                               status=request.args.get("status"))

    if demo:
        app.extensions["demo_traffic"] = start_demo_traffic(sandboxes, interval)
    return app


def demo_tick(sandboxes: dict[str, ProviderSandbox]) -> str:
    """One new item on a random sandbox, through the same ``incoming`` the control API calls."""
    sandbox = random.choice(list(sandboxes.values()))
    kind = random.choice(sandbox.kinds)
    try:
        sandbox.incoming(kind, {})
    except (ValueError, LookupError) as exc:   # e.g. nothing connected to it yet
        return f"{sandbox.provider}: {exc}"
    return f"{sandbox.provider}: one new {kind}"


def start_demo_traffic(sandboxes: dict[str, ProviderSandbox], interval: float) -> threading.Event:
    """Keep the demo queue alive: an item every ``interval`` seconds, until the returned event is set
    (or the process ends)."""
    stop = threading.Event()

    def run() -> None:
        while not stop.wait(interval):
            log.info("demo traffic: %s", demo_tick(sandboxes))

    threading.Thread(target=run, name="demo-traffic", daemon=True).start()
    return stop
