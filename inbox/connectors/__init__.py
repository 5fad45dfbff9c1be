"""One connector per provider, found through this registry (no special cases beside it)."""
from __future__ import annotations

from typing import Any

from models import Channel

from .getloo import GetlooConnector

CONNECTORS: dict[str, Any] = {"getloo": GetlooConnector}
DEFAULT_BASE_URLS = {"getloo": "https://api.getloo.ru/insta"}


def build(provider: str, base_url: str, credentials: dict[str, Any]) -> Any:
    cls = CONNECTORS[provider]
    return cls(base_url, **{k: credentials[k] for k in cls.credential_fields})


def connector_for(channel: Channel) -> Any:
    from inbox.crypto import decrypt_json

    return build(channel.provider, channel.base_url, decrypt_json(channel.credentials_encrypted))
