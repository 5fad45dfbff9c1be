"""Connecting a channel, or connecting it again with new credentials: shared by the JSON API, the
settings page and the demo seed."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from sqlalchemy import select
from sqlalchemy.orm import Session

from inbox import crypto, netguard
from inbox.db import release
from inbox.connectors import UnknownProvider, build, connector_class
from inbox.connectors.base import ConnectResult, ProviderError
from inbox.connectors.custom_manifest import template_urls
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


def check_callable(url: str, code: str, what: str) -> None:
    """Refuse (422 ``code``) a URL the server must not call, when it is set: ``https`` only and
    no private address unless ``INBOX_ALLOW_PRIVATE_URLS`` allows it (``inbox.netguard``, which
    checks again when the URL is called)."""
    try:
        netguard.check_url(url)
    except netguard.UnsafeURL as exc:
        raise ConnectError(code, f"{what} cannot be used: {exc.message}.", 422) from exc


def check_settings_urls(provider: str, settings: dict[str, Any]) -> None:
    """The URLs in a channel's settings that the server will call (a custom channel's webhook)."""
    if provider != "custom":
        return
    manifest = settings.get("manifest")
    webhook = manifest.get("webhook") if isinstance(manifest, dict) else None
    for url in (settings.get("webhook_url"), webhook.get("url") if isinstance(webhook, dict) else None):
        if isinstance(url, str) and url:
            check_callable(url, "invalid_webhook_url", "webhook_url")
    for path, url in template_urls(manifest):
        check_callable(url, "invalid_manifest", path)


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


@dataclass
class Connection:
    """What connecting did: every channel the credentials yield, and which of them already existed
    (a reconnect: new credentials for a channel we had) rather than being added now."""

    channels: list[Channel]
    reconnected: list[Channel] = field(default_factory=list)

    @property
    def added(self) -> list[Channel]:
        return [c for c in self.channels if c not in self.reconnected]


def connect_channel(session: Session, *, provider: str, name: str | None, base_url: str | None,
                    credentials: dict[str, Any] | None, settings: dict[str, Any] | None,
                    public_url: str) -> list[Channel]:
    """``connect_or_reconnect`` for callers that only need the channels (the demo seed)."""
    return connect_or_reconnect(session, provider=provider, name=name, base_url=base_url, credentials=credentials,
                                settings=settings, public_url=public_url).channels


def connect_or_reconnect(session: Session, *, provider: str, name: str | None, base_url: str | None,
                         credentials: dict[str, Any] | None, settings: dict[str, Any] | None,
                         public_url: str) -> Connection:
    """Verify the credentials with the provider now; add the channel(s) the connection yields, or
    give new credentials to the ones we already have.

    Connecting an account that is already connected is how an admin repairs a channel that needs
    attention (an expired token, a revoked key), and how a key is rotated on a healthy one: the
    channel keeps its id, tickets, webhook URL and polling position; only what the provider just
    confirmed (credentials, base URL, account info) is replaced and the error flags are cleared.
    Credentials the provider refuses change nothing. The caller commits and then queues
    ``workers.enqueue_channel_setup`` for each channel (webhook registration and backfill again).
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
    if base_url != cls.DEFAULT_BASE_URL:     # the docs' own host needs no check
        check_callable(base_url, "invalid_base_url", "base_url")
    if name is not None and len(name) > 200:
        raise ConnectError("invalid_name", "name is at most 200 characters", 422)
    if settings is not None and not isinstance(settings, dict):
        raise ConnectError("invalid_settings", "settings must be an object", 422)
    settings = dict(settings or {})
    check_settings_urls(provider, settings)

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
    current = [c for c in existing.values() if c.status != ChannelStatus.DISABLED]
    # One URL for everything a connection yields: a reconnect keeps the one providers already post to.
    webhook_token = current[0].webhook_token if current else new_webhook_token()
    given_name = (name or "").strip() if len(results) == 1 else ""
    connection = Connection(channels=[])
    for result in results:
        channel = existing.get(result.account_ref)
        if channel is not None and channel.status != ChannelStatus.DISABLED:
            connection.reconnected.append(channel)
            _refresh(channel, result, base_url, credentials, settings, given_name or channel.name)
        else:    # new, or connected again after an admin removed it: a fresh start and a new URL
            channel = channel or Channel(provider=provider, account_ref=result.account_ref)
            channel.settings = {}
            _refresh(channel, result, base_url, credentials, settings, given_name or result.name)
            channel.sync_state = {}
            channel.webhook_token = webhook_token
            channel.webhook_url = f"{public_url.rstrip('/')}/webhooks/{provider}/{webhook_token}"
        session.add(channel)
        connection.channels.append(channel)
    session.flush()
    return connection


def _refresh(channel: Channel, result: ConnectResult, base_url: str, credentials: dict[str, Any],
             settings: dict[str, Any], name: str) -> None:
    """Store what the provider has just confirmed (credentials encrypted) and clear the flags."""
    channel.network, channel.base_url, channel.info, channel.name = result.network, base_url, result.info, name
    channel.settings = {**(channel.settings or {}), **settings, **result.settings}
    channel.credentials_encrypted = crypto.encrypt_json(result.credentials or credentials)
    channel.token_expires_at = result.token_expires_at
    channel.status, channel.last_error, channel.last_sync_error = ChannelStatus.ACTIVE, None, None
    channel.webhook_registered_at = None   # set up again (by the job queued after commit, or the sweep)
