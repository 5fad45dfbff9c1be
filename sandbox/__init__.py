"""The provider sandboxes: the documented third-party APIs, served over real HTTP from memory.

NOT the product. A small Flask app of its own (``sandbox/app.py``; ``python -m sandbox``) that
the demo runs as its own process and the tests serve on a loopback port. It is written from
the providers' documents in ``shared/specs/``, imports nothing of the product, and the product
never imports it: a channel pointing at a sandbox is an ordinary channel with a ``base_url``.

Each ``sandbox/<provider>`` module serves its provider's API under its own prefix (a blueprint
``bp``) and holds its state in a module-level ``SANDBOX`` (a ``sandbox.base.ProviderSandbox``)
that tests drive directly; every sandbox also answers the one control API of ``sandbox/base.py``.
"""
from __future__ import annotations

import importlib
from types import ModuleType

PROVIDERS = ("getloo", "resont", "socialwall", "socialposts", "custom")


def modules() -> dict[str, ModuleType]:
    return {provider: importlib.import_module(f"{__name__}.{provider}") for provider in PROVIDERS}


def sandboxes() -> dict[str, object]:
    """provider -> its ``SANDBOX`` state object."""
    return {name: module.SANDBOX for name, module in modules().items()}
