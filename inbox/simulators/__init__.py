"""Provider sandboxes: in-memory fakes of third-party messaging APIs served over real HTTP.

Each provider module exposes a Flask blueprint ``bp`` (mounted under ``/sandbox/<provider>``)
and a module-level state object ``SANDBOX`` that tests and the demo UI drive directly.
Add new providers to ``SANDBOXES`` and ``register_blueprints``.
"""

from __future__ import annotations

from flask import Flask

from . import getloo

SANDBOXES = {"getloo": getloo.SANDBOX}


def register_blueprints(app: Flask) -> None:
    """Mount every sandbox blueprint on ``app`` (the main app in demo mode, or a standalone one)."""
    app.register_blueprint(getloo.bp)


def blueprints() -> list:
    """The sandbox blueprints (the app exempts them from CSRF: they stand in for outside APIs)."""
    return [getloo.bp]


def create_sandbox_app() -> Flask:
    """A standalone app serving only the sandboxes, e.g. on a loopback port in tests."""
    app = Flask(__name__)
    app.json.ensure_ascii = False  # keep Russian/Persian/emoji readable in responses
    register_blueprints(app)
    return app
