"""One connector per provider, found by name in one literal mapping (no special cases beside it).

Each provider lives in ``inbox/connectors/<provider>.py`` (or a package of that name) and
subclasses ``inbox.connectors.base.Connector``. A provider we do not know is an error
(``UnknownProvider``), never ``None``: callers that take a provider name from outside turn it
into their own 4xx answer.
"""
from __future__ import annotations

from typing import Any

from inbox.crypto import decrypt_json
from models import Channel

from .base import Connector
from .custom import CustomConnector
from .getloo import GetlooConnector
from .resont import ResontConnector
from .socialposts import SocialPostsConnector
from .socialwall import SocialWallConnector

CONNECTORS: dict[str, type[Connector]] = {
    "getloo": GetlooConnector,
    "resont": ResontConnector,
    "socialwall": SocialWallConnector,
    "socialposts": SocialPostsConnector,
    "custom": CustomConnector,
}
PROVIDERS = tuple(CONNECTORS)


class UnknownProvider(ValueError):
    """A provider name that is not in ``CONNECTORS``."""

    def __init__(self, provider: Any):
        super().__init__(f"Unknown provider {provider!r}; one of: {', '.join(PROVIDERS)}")
        self.provider = provider


def connector_class(provider: str) -> type[Connector]:
    """The provider's connector class; ``UnknownProvider`` for a name we do not know."""
    try:
        return CONNECTORS[provider]
    except (KeyError, TypeError):
        raise UnknownProvider(provider) from None


def available_providers() -> list[str]:
    return list(PROVIDERS)


def build(provider: str, base_url: str, credentials: dict[str, Any],
          settings: dict[str, Any] | None = None) -> Connector:
    return connector_class(provider)(base_url, credentials, settings or {})


def connector_for(channel: Channel) -> Connector:
    return build(channel.provider, channel.base_url, decrypt_json(channel.credentials_encrypted), channel.settings)
