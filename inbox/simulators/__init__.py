"""Provider sandboxes: the documented third-party APIs, served over real HTTP from memory.

Each ``inbox/simulators/<provider>.py`` exposes a Flask blueprint ``bp`` (mounted under
``/sandbox/<provider>``) and a module-level state object ``SANDBOX`` that tests and the demo
drive directly (``reset()``, what it received, fault injection, emitting webhooks).
"""
from __future__ import annotations

import importlib
from types import ModuleType

from flask import Flask

PROVIDERS = ("getloo", "resont", "socialwall", "socialposts", "custom")


def modules() -> dict[str, ModuleType]:
    found = {}
    for provider in PROVIDERS:
        try:
            found[provider] = importlib.import_module(f"{__name__}.{provider}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{provider}":
                raise
    return found


def sandboxes() -> dict[str, object]:
    return {name: module.SANDBOX for name, module in modules().items()}


def blueprints() -> list:
    """The sandbox blueprints (the app exempts them from CSRF: they stand in for outside APIs)."""
    return [module.bp for module in modules().values()]


def register_blueprints(app: Flask) -> None:
    """Mount every sandbox blueprint on ``app`` (the main app in demo mode, or a standalone one)."""
    for blueprint in blueprints():
        app.register_blueprint(blueprint)


def create_sandbox_app() -> Flask:
    """A standalone app serving only the sandboxes, e.g. on a loopback port in tests."""
    app = Flask(__name__)
    app.json.ensure_ascii = False  # keep Russian/Persian/emoji readable in responses
    register_blueprints(app)
    return app
