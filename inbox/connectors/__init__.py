"""One connector per provider, found by name (no special cases beside this registry).

Each provider lives in ``inbox/connectors/<provider>.py`` and exposes ``Connector``.
"""
from __future__ import annotations

import importlib
from typing import Any

from models import Channel

PROVIDERS = ("getloo", "resont", "socialwall", "socialposts", "custom")


def connector_class(provider: str) -> Any | None:
    """The provider's connector class, or None for a provider we do not know."""
    if provider not in PROVIDERS:
        return None
    try:
        module = importlib.import_module(f"{__name__}.{provider}")
    except ModuleNotFoundError as exc:
        if exc.name == f"{__name__}.{provider}":
            return None
        raise
    return module.Connector


def available_providers() -> list[str]:
    return [p for p in PROVIDERS if connector_class(p) is not None]


def build(provider: str, base_url: str, credentials: dict[str, Any], settings: dict[str, Any] | None = None) -> Any:
    return connector_class(provider)(base_url, credentials, settings or {})


def connector_for(channel: Channel) -> Any:
    from inbox.crypto import decrypt_json

    return build(channel.provider, channel.base_url, decrypt_json(channel.credentials_encrypted), channel.settings)
