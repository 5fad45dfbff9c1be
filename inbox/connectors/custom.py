"""Custom channels: a third-party integration pushes items in and receives agent actions.

The other connectors call a provider's API; here the roles are reversed. The integration calls
*our* SocialHub-compatible public API (``inbox/api/public``, ``/api2/public``) with the
channel's access token to push tickets, and we call *its* webhook exactly as SocialHub does
(``docs/webhooks.md`` and ``docs/inbox/ticket-api.md`` of socialhubio/socialhub-dev), so an
integration written for SocialHub's custom channels works unchanged:

- every request is a POST of ``{manifestId, accountId, channelId, events: {type: [...]}}``,
  one channel per request, signed with ``X-SocialHub-Timestamp`` (ms) and
  ``X-SocialHub-Signature`` (hex HMAC-SHA256 of the raw body, keyed with the challenge);
- the challenge is hex SHA-256 of ``"<timestamp>;<secret>"`` and the integration proves it holds
  the secret by answering 2xx with ``X-SocialHub-Challenge: <challenge>``;
- agent actions are ``ticket_action`` events (``reply``, ``template_reply``, ``button``);
- a webhook change is tested first (``check_webhook``: the same POST with empty ``events``);
- non-2xx answers are retried (the job's RQ Retry), a 2xx without the right challenge means
  the webhook can no longer be trusted (``ChallengeFailed``: it is removed, the channel flagged).

The manifest's schema and reply rules are in ``custom_manifest``. There is no polling and no
inbound webhook (``parse`` refuses): items arrive through the public API.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import mimetypes
import re
import secrets
import ssl
import time
from datetime import datetime
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx

from inbox.netguard import UnsafeURL, check_url, guarded_client

from .base import (
    USER_AGENT,
    ActionResult,
    AuthError,
    ConnectResult,
    Connector,
    FetchResult,
    ProviderError,
    Rejected,
    Target,
    call,
    retry_after,
)
from .custom_manifest import (  # noqa: F401  (re-exported: what the queue, replies and API import)
    ACTION_ID_RE,
    SettingsError,
    clean_settings,
    label_text,
    manifest_actions,
    reply_actions,
    reply_request,
)

# Custom channels have no provider host: the integration calls us and we call its webhook URL.
# connect_channel still wants a base_url, so this placeholder fills the column and is never used.
DEFAULT_BASE_URL = "https://custom.invalid"
NETWORK = "custom"

TIMESTAMP_HEADER = "X-SocialHub-Timestamp"
SIGNATURE_HEADER = "X-SocialHub-Signature"
CHALLENGE_HEADER = "X-SocialHub-Challenge"
OBJECT_ID_RE = r"[a-f0-9]{24}"
# One installation is one SocialHub "account"; each custom channel has its own manifest, so the
# manifest's id is the channel's.
ACCOUNT_ID = f"{1:024d}"
# Deliveries are short: the integration answers at once and works asynchronously (the docs).
DELIVERY_TIMEOUT = httpx.Timeout(15.0, connect=5.0)
# The test request runs inside PATCH /manifest, whose caller is waiting for the answer.
TEST_TIMEOUT = httpx.Timeout(8.0, connect=4.0)


# -- ids ------------------------------------------------------------------------------------

def public_id(value: int | None) -> str | None:
    """Our integer id as SocialHub's ObjectId shape (24 characters of ``[a-f0-9]``).

    Zero-padded decimal, so it still reads as our id (``000…042`` is ticket 42) and round-trips
    without a lookup table, while matching the swagger's ``^[a-f0-9]{24}$`` path patterns.
    """
    return None if value is None else f"{value:024d}"


def parse_public_id(value: str) -> int | None:
    """The integer behind a public id, or None for a well-formed id that cannot be ours.

    Accepts the 24-character form we hand out and the plain number /api/v1 uses. Raises
    ValueError for anything else (the caller answers 400, as the swagger's pattern demands).
    """
    if re.fullmatch(OBJECT_ID_RE, value):
        return int(value) if value.isdigit() else None
    if re.fullmatch(r"[0-9]{1,18}", value):
        return int(value)
    raise ValueError("must be a 24-character id (^[a-f0-9]{24}$)")


def account_ref_for(access_token: str) -> str:
    """How a channel is found from its token: only the hash is stored in a queryable column."""
    return hashlib.sha256(access_token.encode()).hexdigest()


def new_credentials() -> dict[str, str]:
    """A fresh access token (for the integration to call us) and webhook secret (to sign our calls)."""
    return {"access_token": secrets.token_urlsafe(32), "webhook_secret": secrets.token_urlsafe(32)}


# -- signing (docs/webhooks.md, "Verification") -----------------------------------------------

def challenge_for(timestamp: str, secret: str) -> str:
    """Lowercase hex SHA-256 of ``"<timestamp>;<secret>"``: what the integration must answer."""
    return hashlib.sha256(f"{timestamp};{secret}".encode()).hexdigest()


def signature_for(challenge: str, raw: bytes) -> str:
    """Lowercase hex HMAC-SHA256 of the raw body, keyed with the challenge's hex string."""
    return hmac.new(challenge.encode(), raw, hashlib.sha256).hexdigest()


def signed_headers(secret: str, raw: bytes, now_ms: int | None = None) -> tuple[dict[str, str], str]:
    """The headers of one signed request and the challenge its answer must carry.

    A retry signs again with a new timestamp: integrations reject timestamps older than ~5 minutes.
    """
    timestamp = str(now_ms if now_ms is not None else int(time.time() * 1000))
    challenge = challenge_for(timestamp, secret)
    return ({"Content-Type": "application/json", "User-Agent": USER_AGENT, TIMESTAMP_HEADER: timestamp,
             SIGNATURE_HEADER: signature_for(challenge, raw)}, challenge)


def verify_signature(secret: str, timestamp: str | None, raw: bytes, signature: str | None) -> bool:
    """Whether ``signature`` signs exactly these bytes at this timestamp (constant-time)."""
    if not secret or not timestamp or not isinstance(signature, str):
        return False
    return hmac.compare_digest(signature_for(challenge_for(timestamp, secret), raw).encode(), signature.encode())


def solved(response: httpx.Response, challenge: str) -> bool:
    return hmac.compare_digest(response.headers.get(CHALLENGE_HEADER, "").strip().encode(), challenge.encode())


def encode(body: dict[str, Any]) -> bytes:
    """Compact JSON without ASCII escapes: byte-identical to ``JSON.stringify`` of the parsed
    body, which the docs' NodeJS example signs instead of the raw bytes."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def envelope(channel_id: int, events: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """The body of every webhook request: one channel, events grouped by type."""
    cid = public_id(channel_id)
    return {"manifestId": cid, "accountId": ACCOUNT_ID, "channelId": cid, "events": events}


# -- errors ---------------------------------------------------------------------------------

class ChallengeFailed(AuthError):
    """The integration answered 2xx without the right ``X-SocialHub-Challenge``.

    SocialHub then removes the webhook from the manifest: it can no longer be trusted to
    receive data. ``settings_changes`` tells the worker what to store on the channel.
    """

    settings_changes = {"webhook_url": None}


class IntegrationRefused(AuthError):
    """A 401/403: retried like every non-2xx answer; once retries run out the channel needs
    an admin (the integration probably holds another secret)."""

    def __init__(self, code: str, message: str, *, status: int | None = None):
        super().__init__(code, message, status=status, retryable=True)


class WebhookValidationFailed(Exception):
    """The test request of a webhook change failed; ``data`` is the underlying error (the docs' shape)."""

    def __init__(self, message: str, data: str | None = None):
        super().__init__(message)
        self.message, self.data = message, data


def check_webhook(url: str, secret: str, channel_id: int, client: httpx.Client | None = None) -> None:
    """Send the test request (``events`` empty) and check the challenge; raise WebhookValidationFailed.

    Certificates are verified (httpx's default; an extra CA for a private integration comes
    from ``SSL_CERT_FILE``), so a bad certificate fails like an unreachable host.
    """
    try:
        check_url(url)     # refused when set, before anything is sent (checked again when called)
    except UnsafeURL as exc:
        raise WebhookValidationFailed("Error: The WebHook's address is not allowed", f"Error: {exc.message}") from exc
    raw = encode(envelope(channel_id, {}))
    headers, challenge = signed_headers(secret, raw)
    own = client is None
    client = client or guarded_client(timeout=TEST_TIMEOUT)
    try:
        response = client.post(url, content=raw, headers=headers)
    except UnsafeURL as exc:
        raise WebhookValidationFailed("Error: The WebHook's address is not allowed", f"Error: {exc.message}") from exc
    except httpx.HTTPError as exc:     # our words: the transport's text would map the network behind it
        raise WebhookValidationFailed("Error: An error occurred while attempting to validate the WebHook",
                                      f"Error: {_failure(exc)}") from exc
    finally:
        if own:
            client.close()
    if not 200 <= response.status_code < 300:
        raise WebhookValidationFailed("Error: An error occurred while attempting to validate the WebHook",
                                      f"Error: the WebHook answered HTTP {response.status_code}")
    if not solved(response, challenge):
        raise WebhookValidationFailed("Error: The WebHook failed to solve the challenge")


def _failure(exc: httpx.HTTPError) -> str:
    """What went wrong calling the webhook, in our words."""
    if isinstance(exc, httpx.TimeoutException):
        return "the WebHook did not answer in time"
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ssl.SSLError):
            return "the WebHook's TLS certificate or handshake was not accepted"
        cause = cause.__cause__ or cause.__context__
    if isinstance(exc, httpx.ConnectError):
        return "the WebHook could not be reached"
    return "the WebHook's answer could not be read"


def fetch_templates(url: str, secret: str, channel_id: int, client: httpx.Client | None = None) -> list[dict]:
    """A ``template_reply`` action's templates: GET ``url?channelId=...``, signed like a webhook
    request (over the empty body). ProviderError when the integration does not answer a list."""
    headers, _ = signed_headers(secret, b"")
    headers.pop("Content-Type")
    own = client is None
    client = client or guarded_client(timeout=TEST_TIMEOUT)
    try:
        response = call(client, "GET", url, params={"channelId": public_id(channel_id)}, headers=headers)
    finally:
        if own:
            client.close()
    try:
        templates = response.json() if response.status_code == 200 else None
    except ValueError:
        templates = None
    if not isinstance(templates, list):
        raise ProviderError("templates_unavailable", f"The integration's templates could not be loaded "
                                                     f"(HTTP {response.status_code})", status=response.status_code)
    return [t for t in templates if isinstance(t, dict) and isinstance(t.get("networkId"), str)
            and isinstance(t.get("name"), str)]


# -- ticket_action events (docs/inbox/ticket-api.md) -------------------------------------------

def attachment_of(url: str) -> dict[str, Any]:
    """``payload.attachments[]`` for a reply's attachment URL (its size is not known to us)."""
    name = unquote(urlsplit(url).path.rsplit("/", 1)[-1]) or "attachment"
    extension = "." + name.rsplit(".", 1)[1].lower() if "." in name else ""
    return {"name": name, "extension": extension, "url": url,
            "mimetype": mimetypes.guess_type(name)[0] or "application/octet-stream"}


def ticket_action_event(kind: str, target: Target, params: dict[str, Any], delivery_id: str) -> dict[str, Any]:
    """One ``ticket_action`` event. For replies the delivery id is also the ``followupId`` the
    integration passes back to ``/replies/:followupId/success`` or ``/reset/:actionId``."""
    data = target.data or {}
    ticket_id = target.ticket_id
    event: dict[str, Any] = {
        "ticketId": public_id(ticket_id) if isinstance(ticket_id, int) else data.get("ticketId"),
        "networkItemId": data.get("networkItemId") or target.external_id}
    if kind == "reply":
        kind_type = params.get("type") or "reply"
        if kind_type == "template_reply":
            template = params.get("template") or {}
            payload: dict[str, Any] = {"followupId": delivery_id, "name": template.get("name"),
                                       "networkId": template.get("networkId"),
                                       "variables": template.get("variables") or {},
                                       "language": template.get("language") or "en"}
        else:
            payload = {"followupId": delivery_id}
            if params.get("text"):
                payload["text"] = params["text"]
            if params.get("attachment_url"):
                payload["attachments"] = [attachment_of(params["attachment_url"])]
            if params.get("option"):
                payload["option"] = params["option"]
        event.update(type=kind_type, actionId=params.get("action_id") or "reply", payload=payload)
    else:
        event.update(type="button", actionId=params.get("action_id"), payload={})
    event.update(time=int(time.time() * 1000), uuid=delivery_id)
    return event


# -- the connector --------------------------------------------------------------------------

class CustomConnector(Connector):
    """Delivers agent actions to the integration's webhook as SocialHub ``ticket_action`` events."""

    provider = "custom"
    network = default_network = NETWORK
    DEFAULT_BASE_URL = DEFAULT_BASE_URL
    credential_fields: tuple[str, ...] = ()
    polled = False                  # the integration pushes through /api2/public
    webhooks = False                # the integration calls /api2/public instead
    ACTIONS = frozenset({"reply", "custom_action"})
    CHANNEL_ACTIONS: frozenset[str] = frozenset()

    def __init__(self, base_url: str, credentials: dict[str, Any], settings: dict[str, Any] | None = None,
                 client: httpx.Client | None = None):
        self.base_url = base_url
        self.credentials = dict(credentials or {})
        self.settings = dict(settings or {})
        self.client = client or guarded_client(timeout=DELIVERY_TIMEOUT)

    @staticmethod
    def check_credentials(credentials: dict[str, Any]) -> dict[str, Any]:
        """Nothing to enter: connect() generates the token and secret (an admin cannot pick them)."""
        return {}

    def connect(self) -> list[ConnectResult]:
        """Validate the settings and mint the credentials; nothing to call, so nothing can be down."""
        # A bad setting raises SettingsError (Rejected): the admin's input, which the service
        # answers with a 422, not a provider's refusal.
        settings, manifest_secret = clean_settings(self.settings)
        credentials = new_credentials()
        if manifest_secret:
            credentials["webhook_secret"] = manifest_secret
        return [ConnectResult(account_ref=account_ref_for(credentials["access_token"]), network=NETWORK,
                              name="Custom channel",
                              info={"socialNetwork": "CUSTOM"}, settings=settings, credentials=credentials)]

    def setup(self, webhook_url: str) -> None:
        """Nothing to register: the integration learns its token from the admin and calls us."""

    def fetch(self, state: dict[str, Any]) -> FetchResult:
        return FetchResult(items=[], state=state)

    @classmethod
    def parse(cls, payload: Any, settings: dict[str, Any] | None = None) -> list:
        raise Rejected("no_webhooks", "Custom channels push items through /api2/public/inbox/tickets, "
                                          "not through this webhook")

    @staticmethod
    def validate_reply(ticket_kind: str, text: str) -> str:
        """Shape only; the manifest's rules are checked by ``reply_request`` with the channel's settings."""
        text = (text or "").strip()
        if not text:
            raise Rejected("empty_reply", "Write a reply first.")
        return text

    @staticmethod
    def validate_action(kind: str, ticket_kind: str | None, params: dict[str, Any]) -> None:
        """Shape only: whether ``action_id`` is in this channel's manifest needs its settings
        (``manifest_actions``), which a class-level check does not have."""
        if kind not in CustomConnector.ACTIONS:
            raise Rejected("unsupported_action", f"Custom channels cannot {kind}")
        if kind == "custom_action":
            action_id = params.get("action_id")
            if not isinstance(action_id, str) or not re.fullmatch(ACTION_ID_RE, action_id):
                raise Rejected("invalid_action_id", "action_id must match ^[a-zA-Z0-9-_]{1,256}$")

    def reconcile(self, kind: str, target: Target, params: dict[str, Any], since: datetime) -> ActionResult | None:
        """The integration cannot be asked, but it needs not be: it dedupes on the event's uuid
        (our idempotency key), so sending the same event again is the safe answer (None)."""
        return None

    def perform(self, kind: str, target: Target, params: dict[str, Any]) -> ActionResult:
        """POST one signed ``ticket_action`` event and check the challenge in the answer.

        A retry sends the same event (same ``uuid`` and ``followupId``) with a fresh timestamp and
        signature, so an integration that dedupes on them acts once; that makes an unanswered
        request safe to retry, unlike with providers that cannot dedupe.
        """
        if kind not in self.ACTIONS:
            raise ProviderError("unsupported_action", f"Custom channels cannot {kind}")
        url = self.settings.get("webhook_url")
        if not url:
            raise ProviderError("no_webhook_url", "This custom channel has no webhook: its integration must set "
                                                  "one with PATCH /api2/public/manifest")
        secret = self.credentials.get("webhook_secret")
        if not secret:
            raise AuthError("no_webhook_secret", "This custom channel has no webhook secret to sign with")
        delivery_id = str(params["_delivery_id"])
        event = ticket_action_event(kind, target, params, delivery_id)
        raw = encode(envelope(int(params["_channel_id"]), {"ticket_action": [event]}))
        headers, challenge = signed_headers(secret, raw)
        try:
            response = call(self.client, "POST", url, content=raw, headers=headers)
        except ProviderError as exc:
            if not exc.uncertain:
                raise
            raise ProviderError(exc.code, exc.message + "; will retry with the same event uuid",
                                retryable=True) from exc
        status = response.status_code
        if 200 <= status < 300:
            if not solved(response, challenge):
                raise ChallengeFailed(
                    "webhook_untrusted",
                    f"The integration answered {status} without the correct {CHALLENGE_HEADER} header, so its "
                    "webhook can no longer be trusted and was removed from the manifest. The integration must "
                    "register it again (PATCH /api2/public/manifest) before anything more can be sent.",
                    status=status)
            return ActionResult(external_id=delivery_id)
        # The status only: the body is whatever answered at that address (possibly an internal
        # service), and copying it into networkError would read it out to the integration.
        message = f"The integration answered HTTP {status}"
        if status in (401, 403):
            raise IntegrationRefused("integration_refused",
                                     message + " (does it have this channel's current secret?)", status=status)
        raise ProviderError("integration_failed", message, status=status, retryable=True,
                            retry_after=retry_after(response))

