"""Connecting a channel: shared by the JSON API, the settings page and the demo seed."""
from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from sqlalchemy import select
from sqlalchemy.orm import Session

from inbox import crypto
from inbox.connectors import CONNECTORS, DEFAULT_BASE_URLS, build
from inbox.connectors.base import AuthError, ProviderError
from models import Channel, ChannelStatus


class ConnectError(Exception):
    """Why a channel could not be connected: a code for the API, a message for people."""

    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def _valid_http_url(url: str) -> bool:
    parts = urlparse(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def connect_channel(session: Session, *, provider: str, name: str | None, base_url: str | None,
                    credentials: dict[str, Any] | None, settings: dict[str, Any] | None,
                    public_url: str) -> list[Channel]:
    """Verify the credentials with the provider now and add the channel(s); the caller commits
    and then queues ``workers.enqueue_channel_setup`` for webhook registration."""
    if provider not in CONNECTORS:
        raise ConnectError("unknown_provider",
                           f"Unknown provider {provider!r}; one of: {', '.join(sorted(CONNECTORS))}", 422)
    cls = CONNECTORS[provider]
    credentials = credentials or {}
    if not isinstance(credentials, dict):
        raise ConnectError("invalid_credentials", "credentials must be an object", 422)
    missing = [f for f in cls.credential_fields if not str(credentials.get(f) or "").strip()]
    if missing:
        raise ConnectError("missing_credentials", f"{provider} needs credentials: {', '.join(missing)}", 422)
    base_url = (base_url or DEFAULT_BASE_URLS[provider]).strip().rstrip("/")
    if not _valid_http_url(base_url):
        raise ConnectError("invalid_base_url", "base_url must be an http(s) URL", 422)
    if name is not None and len(name) > 200:
        raise ConnectError("invalid_name", "name is at most 200 characters", 422)
    credentials = {f: str(credentials[f]).strip() for f in cls.credential_fields}

    try:
        result = build(provider, base_url, credentials).connect()
    except AuthError as exc:
        raise ConnectError(exc.code, exc.message, 400) from exc
    except ProviderError as exc:
        status = 502 if exc.retryable or exc.code == "provider_no_answer" else 400
        raise ConnectError(exc.code, exc.message, status) from exc

    existing = session.scalars(select(Channel).filter_by(provider=provider, account_ref=result.account_ref)).first()
    if existing is not None and existing.status != ChannelStatus.DISABLED:
        raise ConnectError("already_connected",
                           f"This account is already connected as channel {existing.id} ({existing.name})", 409)
    channel = existing or Channel(provider=provider, account_ref=result.account_ref)
    channel.network, channel.base_url, channel.info = result.network, base_url, result.info
    channel.name = (name or "").strip() or result.name
    channel.settings = dict(settings or {})
    channel.credentials_encrypted = crypto.encrypt_json(credentials)
    channel.status, channel.last_error = ChannelStatus.ACTIVE, None
    session.add(channel)
    session.flush()
    channel.webhook_url = f"{public_url.rstrip('/')}/webhooks/{provider}/{channel.webhook_token}"
    return [channel]
