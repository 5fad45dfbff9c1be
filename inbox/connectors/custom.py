"""Custom channels: a third-party integration pushes items in and receives agent actions.

The other connectors call a provider's API; here the roles are reversed. The integration calls
*our* SocialHub-compatible public API (``inbox/api/public.py``, ``/api2/public``) with the
channel's access token to push tickets, and we POST every agent action (a reply, or one of the
ticket actions its manifest declares) to the integration's webhook URL, signed with the
channel's secret. So this module only:

- connects a channel: generates its access token and webhook secret, validates the webhook URL
  and the manifest (the swagger's ``Manifest`` schema, shared with ``PATCH /public/manifest``);
- performs outbound actions as signed JSON deliveries (``perform``);
- offers the helpers integrations and the rest of the app need: ``verify_signature``,
  ``manifest_actions``, ``public_id`` / ``parse_public_id`` and a small schema checker.

There is no polling and no inbound webhook (``parse`` refuses): items arrive through the
public API, which stores them with ``inbox.ingest.store.apply`` like every other provider.
"""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import math
import re
import secrets
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from models import TicketKind, to_utc_naive, utcnow

from .base import (
    TIMEOUT,
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
)

# Custom channels have no provider host: the integration calls us and we call its webhook URL.
# connect_channel still wants a base_url, so this placeholder fills the column and is never used.
DEFAULT_BASE_URL = "https://custom.invalid"
NETWORK = "custom"

SIGNATURE_HEADER = "X-Inbox-Signature"
DELIVERY_HEADER = "X-Inbox-Delivery"
EVENT_HEADER = "X-Inbox-Event"
SIGNATURE_PREFIX = "sha256="

# The swagger's patterns, rewritten for Python's ``re.fullmatch`` (no ``^``/``$``: ``$`` would
# accept a trailing newline).
ACTION_ID_RE = r"[a-zA-Z0-9_-]{1,256}"                                  # ^[a-zA-Z0-9-_]{1,256}$
NETWORK_ITEM_ID_RE = r"[a-zA-Z0-9/|@&$!?\\()\[\]{}+*~,;.:=_-]{6,256}"    # ticket networkItemId / rootId
REPLY_ITEM_ID_RE = r"[a-zA-Z0-9/_-]{6,256}"                              # replies/{rid}/success networkItemId
OBJECT_ID_RE = r"[a-f0-9]{24}"
COLOR_RE = r"#[0-9a-f]{3,6}"
LOCALES = ("en", "de", "fr")
SECRET_MIN, SECRET_MAX = 32, 512
LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1"}
ERROR_SNIPPET = 300


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


# -- signatures -----------------------------------------------------------------------------

def sign(secret: str, body: bytes) -> str:
    """The ``X-Inbox-Signature`` value for a raw body: ``sha256=<hex HMAC-SHA256>``."""
    return SIGNATURE_PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(secret: str, body: bytes, header: str | None) -> bool:
    """Whether ``header`` is the signature of exactly these bytes (constant-time comparison).

    Integrations must verify the raw body as received, before parsing it: re-serialised JSON
    need not be byte-identical.
    """
    if not secret or not isinstance(header, str) or not header.startswith(SIGNATURE_PREFIX):
        return False
    return hmac.compare_digest(sign(secret, body).encode(), header.strip().encode())


# -- a small checker for the swagger's schemas ------------------------------------------------

class SchemaError(ValueError):
    """A value that breaks a schema rule; ``path`` names the field (``interaction.networkItemId``)."""

    def __init__(self, path: str, message: str):
        super().__init__(f"{path or 'body'} {message}")
        self.path, self.message = path, f"{path or 'body'} {message}"


def _join(path: str, name: str | int) -> str:
    return f"{path}[{name}]" if isinstance(name, int) else (f"{path}.{name}" if path else name)


def is_web_url(value: str) -> bool:
    """An absolute http(s) URL. Stricter than the swagger's ``format: uri`` on purpose: these
    URLs end up as links in agents' browsers, where ``javascript:`` and friends are not welcome."""
    if any(c.isspace() or ord(c) < 32 for c in value):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def valid_webhook_url(value: str) -> bool:
    """https, or http for a loopback host only (an integration running on the developer's machine)."""
    if not is_web_url(value):
        return False
    parts = urlsplit(value)
    return parts.scheme == "https" or is_loopback(parts.hostname)


def parse_datetime(value: str) -> datetime:
    """ISO 8601 date-time (``Z`` or an offset; naive means UTC) as naive UTC. ValueError otherwise."""
    if "T" not in value and " " not in value:
        raise ValueError("not a date-time")
    try:
        return to_utc_naive(datetime.fromisoformat(value))
    except OverflowError as exc:       # year 1 or 9999 pushed out of range by its offset
        raise ValueError("date-time out of range") from exc


FORMATS = {
    "uri": (is_web_url, "must be an absolute http(s) URL"),
    "url": (is_web_url, "must be an absolute http(s) URL"),
    "webhook": (valid_webhook_url, "must be an https:// URL (http:// only for localhost / 127.0.0.1 / ::1)"),
}


def _check_format(fmt: str, value: str, path: str) -> None:
    if fmt == "date-time":
        try:
            parse_datetime(value)
        except ValueError:
            raise SchemaError(path, "must be an ISO 8601 date-time, e.g. 2024-05-01T12:00:00Z") from None
    elif fmt == "uuid":
        if not re.fullmatch(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}", value):
            raise SchemaError(path, "must be a uuid")
    elif fmt in FORMATS:
        test, message = FORMATS[fmt]
        if not test(value):
            raise SchemaError(path, message)


def check(schema: dict[str, Any], value: Any, path: str = "") -> Any:
    """Validate ``value`` against a swagger-style schema and return a clean copy.

    Supports what the public tag uses: object (required, properties), array (items, maxItems),
    string (minLength, maxLength, pattern, enum, format), number (minimum, maximum), boolean and
    ``oneOf``. Properties the schema does not name are dropped, and ``null`` counts as absent,
    so nothing unvalidated is ever stored.
    """
    if "oneOf" in schema:
        for option in schema["oneOf"]:
            try:
                return check(option, value, path)
            except SchemaError:
                continue
        raise SchemaError(path, schema.get("description", "has an unexpected shape"))
    kind = schema.get("type")
    if kind == "object":
        if not isinstance(value, dict):
            raise SchemaError(path, "must be an object")
        for name in schema.get("required", ()):
            if value.get(name) is None:
                raise SchemaError(_join(path, name), "is required")
        return {name: check(sub, value[name], _join(path, name))
                for name, sub in schema.get("properties", {}).items() if value.get(name) is not None}
    if kind == "array":
        if not isinstance(value, list):
            raise SchemaError(path, "must be an array")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            raise SchemaError(path, f"has {len(value)} items; at most {schema['maxItems']} are allowed")
        return [check(schema["items"], item, _join(path, i)) for i, item in enumerate(value)]
    if kind == "string":
        if not isinstance(value, str):
            raise SchemaError(path, "must be a string")
        if len(value) < schema.get("minLength", 0):
            raise SchemaError(path, f"must be at least {schema['minLength']} characters long")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            raise SchemaError(path, f"must be at most {schema['maxLength']} characters long")
        if "enum" in schema and value not in schema["enum"]:
            raise SchemaError(path, f"must be one of {', '.join(schema['enum'])}")
        if "pattern" in schema and not re.fullmatch(schema["pattern"], value):
            raise SchemaError(path, f"must match ^{schema['pattern']}$")
        if "format" in schema:
            _check_format(schema["format"], value, path)
        return value
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (
                isinstance(value, float) and not math.isfinite(value)):
            raise SchemaError(path, "must be a number")
        if "minimum" in schema and value < schema["minimum"]:
            raise SchemaError(path, f"must be at least {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            raise SchemaError(path, f"must be at most {schema['maximum']}")
        return value
    if kind == "boolean":
        if not isinstance(value, bool):
            raise SchemaError(path, "must be true or false")
        return value
    raise AssertionError(f"schema type {kind!r} is not supported")


def string(**rules: Any) -> dict[str, Any]:
    return {"type": "string", **rules}


# Labels: the swagger's PATCH body wants {en, de, fr}; its Manifest definition says string. Both are accepted.
LABEL = {"oneOf": [string(minLength=1, maxLength=256),
                   {"type": "object", "required": list(LOCALES),
                    "properties": {locale: string(minLength=1, maxLength=256) for locale in LOCALES}}],
         "description": "must be a string or an object with en, de and fr strings"}
HTTPS_URI = string(format="uri", pattern=r"https://.*", maxLength=2048)
# Limits the swagger leaves open (list sizes, free strings) are ours, to keep a manifest a manifest.
TICKET_ACTION = {"type": "object", "required": ["id", "type", "label"], "properties": {
    "id": string(pattern=ACTION_ID_RE),
    "type": string(minLength=1, maxLength=64),
    "label": LABEL,
    "config": {"type": "object", "properties": {
        "approvalProcess": {"type": "boolean"},
        "templates": {"type": "object", "properties": {"url": string(format="url", maxLength=2048)}},
        "timeout": {"type": "object", "required": ["duration", "after"], "properties": {
            "duration": string(minLength=1, maxLength=32),
            "after": string(enum=["networkCreationTime"])}},
        "forceTagging": {"type": "boolean"},
        "attachments": {"type": "object", "properties": {"noText": {"type": "boolean"}}},
        # Nesting is ambiguous in the scraped swagger; config.options is the plausible reading.
        "options": {"type": "array", "maxItems": 100, "items": {
            "type": "object", "required": ["id", "label"], "properties": {
                "id": string(pattern=ACTION_ID_RE), "label": LABEL,
                "description": string(minLength=1, maxLength=256)}}},
    }},
}}
MANIFEST_SCHEMA = {"type": "object", "properties": {
    "branding": {"type": "object", "properties": {
        "icon": HTTPS_URI, "fallback": HTTPS_URI, "color": string(pattern=COLOR_RE)}},
    "webhook": {"type": "object", "required": ["url", "secret"], "properties": {
        "url": string(format="webhook", maxLength=2048),
        "secret": string(minLength=SECRET_MIN, maxLength=SECRET_MAX)}},
    "inbox": {"type": "object", "properties": {
        "ticketActions": {"type": "array", "maxItems": 50, "items": TICKET_ACTION},
        "rightSidebar": {"type": "array", "maxItems": 20, "items": {
            "type": "object", "required": ["id", "label", "treeBuilder"], "properties": {
                "id": string(minLength=1, maxLength=256), "label": LABEL,
                "treeBuilder": string(enum=["flatListWithoutRoot", "flatListWithRoot"])}}},
    }},
    "callbacks": {"type": "object", "properties": {"channelCreation": string(format="uri", maxLength=2048)}},
}}


class SettingsError(Rejected):
    """A custom channel's settings or manifest that we refuse; ``code`` is stable for the API."""


def check_manifest(manifest: Any) -> dict[str, Any]:
    """A clean manifest (the swagger's schema, plus unique action ids), or SchemaError."""
    clean = check(MANIFEST_SCHEMA, manifest, "manifest")
    for field in ("ticketActions", "rightSidebar"):
        ids = [entry["id"] for entry in clean.get("inbox", {}).get(field, [])]
        duplicate = next((i for i in ids if ids.count(i) > 1), None)
        if duplicate is not None:
            raise SchemaError(f"manifest.inbox.{field}", f"lists the id {duplicate!r} twice")
    return clean


def merge_manifest(current: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """PATCH semantics for a (clean) manifest: objects merge one level down, lists and values replace."""
    merged = dict(current)
    for key, value in patch.items():
        merged[key] = {**merged.get(key, {}), **value} if isinstance(value, dict) and key != "webhook" else value
    return merged


def clean_settings(settings: dict[str, Any] | None) -> tuple[dict[str, Any], str | None]:
    """The settings to store and the webhook secret the manifest brought (if any).

    ``webhook_url`` may come as a setting or as ``manifest.webhook.url`` (SocialHub's way); it
    may also be left out and set later by the integration with ``PATCH /api2/public/manifest``.
    The manifest is stored without its webhook: the URL lives in ``webhook_url`` and the secret
    in the encrypted credentials, never in settings (which the channel JSON shows).
    """
    settings = settings or {}
    try:
        manifest = check_manifest(settings.get("manifest") or {})
    except SchemaError as exc:
        raise SettingsError("invalid_manifest", exc.message) from exc
    webhook = manifest.pop("webhook", None) or {}
    url = settings.get("webhook_url") or webhook.get("url")
    if url is not None and (not isinstance(url, str) or len(url) > 2048 or not valid_webhook_url(url)):
        raise SettingsError("invalid_webhook_url",
                            "webhook_url must be an https:// URL (http:// only for localhost, 127.0.0.1 or ::1)")
    return {"webhook_url": url, "manifest": manifest}, webhook.get("secret")


def manifest_actions(settings: dict[str, Any]) -> dict[str, str | dict[str, str]]:
    """The channel's ticket actions, id -> label (a string or ``{en, de, fr}``), for the UI and
    for checking a ``custom_action``'s ``action_id`` before it is queued. ``reply`` needs no entry."""
    actions = ((settings or {}).get("manifest") or {}).get("inbox", {}).get("ticketActions", [])
    return {a["id"]: a["label"] for a in actions if isinstance(a, dict) and "id" in a and "label" in a}


def label_text(label: str | dict[str, str], locale: str = "en") -> str:
    """A label in the user's locale (falling back to English)."""
    return label if isinstance(label, str) else label.get(locale) or label.get("en") or ""


# -- the connector --------------------------------------------------------------------------

class CustomConnector(Connector):
    """Delivers agent actions to the integration's webhook as signed JSON POSTs."""

    provider = "custom"
    network = default_network = NETWORK
    DEFAULT_BASE_URL = DEFAULT_BASE_URL
    credential_fields: tuple[str, ...] = ()
    polled = False                  # the integration pushes through /api2/public
    webhooks = False                   # the integration calls /api2/public instead
    ACTIONS = frozenset({"reply", "custom_action"})
    CHANNEL_ACTIONS: frozenset[str] = frozenset()

    def __init__(self, base_url: str, credentials: dict[str, Any], settings: dict[str, Any] | None = None,
                 client: httpx.Client | None = None):
        self.base_url = base_url
        self.credentials = dict(credentials or {})
        self.settings = dict(settings or {})
        self.client = client or httpx.Client(timeout=TIMEOUT, headers={"User-Agent": USER_AGENT})

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

    def perform(self, kind: str, target: Target, params: dict[str, Any]) -> ActionResult:
        """POST one signed delivery; the delivery id doubles as the reply id the integration confirms.

        A retry sends the same body with the same ``X-Inbox-Delivery``, so an integration that
        dedupes on it acts once. That makes an unanswered request safe to retry too, unlike with
        providers that cannot dedupe: timeouts are retryable here.
        """
        if kind not in self.ACTIONS:
            raise ProviderError("unsupported_action", f"Custom channels cannot {kind}")
        url = self.settings.get("webhook_url")
        if not url:
            raise ProviderError("no_webhook_url", "This custom channel has no webhook URL yet: set settings.webhook_url "
                                                  "or let the integration PATCH /api2/public/manifest")
        secret = self.credentials.get("webhook_secret")
        if not secret:
            raise AuthError("no_webhook_secret", "This custom channel has no webhook secret to sign with")
        delivery_id = str(params["_delivery_id"])
        raw = json.dumps(delivery_body(kind, target, params, delivery_id), ensure_ascii=False,
                         separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(secret, raw),
                   DELIVERY_HEADER: delivery_id, EVENT_HEADER: "reply" if kind == "reply" else "action"}
        try:
            response = call(self.client, "POST", url, content=raw, headers=headers)
        except ProviderError as exc:
            if not exc.uncertain:
                raise
            raise ProviderError(exc.code, exc.message + "; will retry with the same delivery id",
                                retryable=True) from exc
        status = response.status_code
        if 200 <= status < 300:
            return ActionResult(external_id=delivery_id)
        detail = response.text[:ERROR_SNIPPET].strip()
        message = f"The integration answered {status}" + (f": {detail}" if detail else "")
        if status in (408, 425, 429) or status >= 500:
            raise ProviderError("integration_busy", message + "; will retry", status=status, retryable=True)
        if status in (401, 403):
            raise AuthError("integration_refused", message + " (does it have this channel's current secret?)",
                            status=status)
        raise ProviderError("integration_refused", message, status=status)


def delivery_body(kind: str, target: Target, params: dict[str, Any], delivery_id: str) -> dict[str, Any]:
    """What one delivery carries: the action, the ticket and, for replies, the reply id (a uuid)."""
    body: dict[str, Any] = {"type": "reply" if kind == "reply" else "action", "deliveryId": delivery_id,
                            "createdTime": utcnow().isoformat(timespec="milliseconds") + "Z",
                            "ticket": ticket_payload(target)}
    if kind == "reply":
        body["actionId"] = "reply"
        body["replyId"] = delivery_id
        body["reply"] = {"text": params.get("text", "")}
    else:
        body["actionId"] = params.get("action_id")
        body["payload"] = params.get("payload")
        if params.get("option") is not None:
            body["option"] = params["option"]
    return body


def ticket_payload(target: Target) -> dict[str, Any]:
    """The ticket as the integration knows it: our id (for the callbacks) and its own item id."""
    data = target.data or {}
    ticket_id = getattr(target, "ticket_id", None)
    pid = public_id(ticket_id) if isinstance(ticket_id, int) else data.get("ticketId")
    return {"_id": pid, "networkItemId": data.get("networkItemId") or target.external_id,
            "type": data.get("type", "TICKET"), "rootId": data.get("rootId"), "url": data.get("url"),
            "interactor": data.get("interactor"), "kind": target.kind or TicketKind.TICKET}

