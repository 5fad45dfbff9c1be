"""Connecting a channel: shared by the JSON API, the settings page and the demo seed."""
from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from sqlalchemy import select
from sqlalchemy.orm import Session

from inbox import crypto
from inbox.db import release
from inbox.connectors import UnknownProvider, build, connector_class
from inbox.connectors.base import ProviderError
from inbox.errors import ApiError, provider_status
from models import Channel, ChannelStatus
from models.channel import new_webhook_token


class ConnectError(ApiError):
    """Why a channel could not be connected: a code for the API, a message for people."""

    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(status, code, message)


def valid_http_url(url: str) -> bool:
    parts = urlparse(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def clean_credentials(cls: Any, provider: str, credentials: Any) -> dict[str, Any]:
    """The credentials a provider needs; a connector may accept alternatives (``check_credentials``)."""
    if not isinstance(credentials, dict):
        raise ConnectError("invalid_credentials", "credentials must be an object", 422)
    check = getattr(cls, "check_credentials", None)
    if check is not None:
        try:
            return check(credentials)
        except ValueError as exc:
            raise ConnectError("missing_credentials", str(exc), 422) from exc
    missing = [f for f in cls.credential_fields if not str(credentials.get(f) or "").strip()]
    if missing:
        raise ConnectError("missing_credentials", f"{provider} needs credentials: {', '.join(missing)}", 422)
    return {f: str(credentials[f]).strip() for f in cls.credential_fields}


def connect_channel(session: Session, *, provider: str, name: str | None, base_url: str | None,
                    credentials: dict[str, Any] | None, settings: dict[str, Any] | None,
                    public_url: str) -> list[Channel]:
    """Verify the credentials with the provider now and add the channel(s) the connection yields.

    The caller commits and then queues ``workers.enqueue_channel_setup`` for each channel.
    """
    try:
        cls = connector_class(provider)
    except UnknownProvider as exc:
        raise ConnectError("unknown_provider", str(exc), 422) from exc
    credentials = clean_credentials(cls, provider, credentials or {})
    base_url = (base_url or cls.DEFAULT_BASE_URL or "").strip().rstrip("/")
    if not base_url:
        raise ConnectError("missing_base_url", f"{provider} needs base_url (its docs name no host)", 422)
    if not valid_http_url(base_url):
        raise ConnectError("invalid_base_url", "base_url must be an http(s) URL", 422)
    if name is not None and len(name) > 200:
        raise ConnectError("invalid_name", "name is at most 200 characters", 422)
    if settings is not None and not isinstance(settings, dict):
        raise ConnectError("invalid_settings", "settings must be an object", 422)
    settings = dict(settings or {})

    release(session)   # the provider may take seconds: hold no database lock meanwhile
    try:
        results = build(provider, base_url, credentials, settings).connect()
    except ProviderError as exc:   # refused (400), unreachable or silent (502), bad settings (422)
        raise ConnectError(exc.code, exc.message, provider_status(exc)) from exc
    if not results:
        raise ConnectError("no_accounts", f"{provider} lists no accounts for these credentials", 400)

    refs = [r.account_ref for r in results]
    existing = {c.account_ref: c for c in session.scalars(
        select(Channel).where(Channel.provider == provider, Channel.account_ref.in_(refs)))}
    taken = [c for c in existing.values() if c.status != ChannelStatus.DISABLED]
    if taken:
        raise ConnectError("already_connected",
                           "Already connected: " + ", ".join(f"channel {c.id} ({c.name})" for c in taken), 409)
    webhook_token = new_webhook_token()   # one URL for everything this connection yields
    channels = []
    for result in results:
        channel = existing.get(result.account_ref) or Channel(provider=provider, account_ref=result.account_ref)
        channel.network, channel.base_url, channel.info = result.network, base_url, result.info
        channel.name = ((name or "").strip() if len(results) == 1 else "") or result.name
        channel.settings = {**settings, **result.settings}
        channel.credentials_encrypted = crypto.encrypt_json(result.credentials or credentials)
        channel.token_expires_at = result.token_expires_at
        channel.status, channel.last_error, channel.sync_state = ChannelStatus.ACTIVE, None, {}
        channel.webhook_token = webhook_token
        channel.webhook_url = f"{public_url.rstrip('/')}/webhooks/{provider}/{webhook_token}"
        session.add(channel)
        channels.append(channel)
    session.flush()
    return channels
