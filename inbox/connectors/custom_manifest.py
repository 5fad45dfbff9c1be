"""A custom channel's manifest: SocialHub's schema, and what its ticket actions allow.

The manifest is how an integration tells the inbox what its network can do
(``docs/general/manifest-api.md`` of socialhubio/socialhub-dev). ``inbox.ticketActions[]`` of
type ``reply`` / ``template_reply`` are the ways to reply (the agent picks one when there are
several), ``button`` actions are buttons on the ticket. Their rules (``config.maxLength``,
``options``, ``attachments.noText``, ``config.timeout``, ``config.approvalProcess``) are
enforced here, before a reply is queued, so the composer and the API refuse the same things.

Also here: the small checker for the swagger's request schemas that ``/api2/public`` uses.
Pure functions: no database, no network.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from models import to_utc_naive, utcnow

from .base import Rejected

# The swagger's patterns, rewritten for Python's ``re.fullmatch`` (no ``^``/``$``: ``$`` would
# accept a trailing newline).
ACTION_ID_RE = r"[a-zA-Z0-9_-]{1,256}"                                  # ^[a-zA-Z0-9-_]{1,256}$
NETWORK_ITEM_ID_RE = r"[a-zA-Z0-9/|@&$!?\\()\[\]{}+*~,;.:=_-]{6,256}"    # ticket networkItemId / rootId
REPLY_ITEM_ID_RE = r"[a-zA-Z0-9/_-]{6,256}"                              # replies/{rid}/success networkItemId
COLOR_RE = r"#[0-9a-f]{3,6}"
LOCALES = ("en", "de", "fr")
SECRET_MIN, SECRET_MAX = 32, 512
ACTION_TYPES = ("reply", "template_reply", "delete", "button")
REPLY_TYPES = ("reply", "template_reply")
# The action a reply uses when the manifest declares none: SocialHub would offer no reply at
# all, but our contract lets every custom ticket be answered (see docs/custom-channels.md).
DEFAULT_REPLY_ACTION = "reply"


class SchemaError(ValueError):
    """A value that breaks a schema rule; ``path`` names the field (``interaction.networkItemId``)."""

    def __init__(self, path: str, message: str):
        super().__init__(f"{path or 'body'} {message}")
        self.path, self.message = path, f"{path or 'body'} {message}"


class SettingsError(Rejected):
    """A custom channel's settings or manifest that we refuse; ``code`` is stable for the API."""


# -- urls and dates -------------------------------------------------------------------------

def is_web_url(value: str) -> bool:
    """An absolute http(s) URL. Stricter than the swagger's ``format: uri`` on purpose: these
    URLs end up as links in agents' browsers, where ``javascript:`` and friends are not welcome."""
    if any(c.isspace() or ord(c) < 32 for c in value):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def valid_webhook_url(value: str) -> bool:
    """An absolute http(s) URL: the shape only. Whether the server may call it (https, a public
    address, or a host in ``INBOX_ALLOW_PRIVATE_URLS``) needs DNS, so ``inbox.netguard`` decides
    that where the URL is set and again where it is called."""
    return is_web_url(value)


def parse_datetime(value: str) -> datetime:
    """ISO 8601 date-time (``Z`` or an offset; naive means UTC) as naive UTC. ValueError otherwise."""
    if "T" not in value and " " not in value:
        raise ValueError("not a date-time")
    try:
        return to_utc_naive(datetime.fromisoformat(value))
    except OverflowError as exc:       # year 1 or 9999 pushed out of range by its offset
        raise ValueError("date-time out of range") from exc


UNITS = {"ms": 0.001, "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1, "m": 60, "min": 60, "mins": 60,
         "minute": 60, "minutes": 60, "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
         "d": 86400, "day": 86400, "days": 86400, "w": 604800, "wk": 604800, "wks": 604800, "week": 604800,
         "weeks": 604800, "mo": 2629800, "month": 2629800, "months": 2629800, "y": 31557600, "yr": 31557600,
         "yrs": 31557600, "year": 31557600, "years": 31557600}


def parse_duration(value: str) -> timedelta:
    """A ``config.timeout.duration`` as juration writes it (``24h``, ``2 days``, ``1d 12h``, or
    a bare number of seconds). ValueError for anything else."""
    text = value.strip().lower().replace(",", " ")
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return timedelta(seconds=float(text))
    parts = re.findall(r"(\d+(?:\.\d+)?)\s*([a-z]+)", text)
    if not parts or re.sub(r"(\d+(?:\.\d+)?)\s*([a-z]+)|\s+|and", "", text):
        raise ValueError(f"{value!r} is not a duration (e.g. 24h, 2 days, 1d 12h)")
    seconds = 0.0
    for number, unit in parts:
        if unit not in UNITS:
            raise ValueError(f"unknown unit {unit!r} in {value!r}")
        seconds += float(number) * UNITS[unit]
    return timedelta(seconds=seconds)


# -- a small checker for the swagger's schemas ------------------------------------------------

def _join(path: str, name: str | int) -> str:
    return f"{path}[{name}]" if isinstance(name, int) else (f"{path}.{name}" if path else name)


def _is_duration(value: str) -> bool:
    try:
        parse_duration(value)
    except ValueError:
        return False
    return True


FORMATS = {
    "uri": (is_web_url, "must be an absolute http(s) URL"),
    "url": (is_web_url, "must be an absolute http(s) URL"),
    "webhook": (valid_webhook_url, "must be an absolute https:// URL"),
    "duration": (_is_duration, "must be a duration such as 24h, 2 days or 1d 12h"),
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
    if kind in ("number", "integer"):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (
                isinstance(value, float) and not math.isfinite(value)) or (
                kind == "integer" and value != int(value)):
            raise SchemaError(path, f"must be a{'n integer' if kind == 'integer' else ' number'}")
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


# -- the manifest (docs/general/manifest-api.md) ---------------------------------------------

# Labels: the docs' {en, de, fr}; the swagger's Manifest definition says string. Both are accepted.
LABEL = {"oneOf": [string(minLength=1, maxLength=256),
                   {"type": "object", "required": list(LOCALES),
                    "properties": {locale: string(minLength=1, maxLength=256) for locale in LOCALES}}],
         "description": "must be a string or an object with en, de and fr strings"}
HTTPS_URI = string(format="uri", pattern=r"https://.*", maxLength=2048)
# Limits the docs leave open (list sizes, free strings) are ours, to keep a manifest a manifest.
TICKET_ACTION = {"type": "object", "required": ["id", "type", "label"], "properties": {
    "id": string(pattern=ACTION_ID_RE),
    "type": string(enum=list(ACTION_TYPES)),
    "label": LABEL,
    "config": {"type": "object", "properties": {
        "approvalProcess": {"type": "boolean"},
        "templates": {"type": "object", "properties": {"url": string(format="webhook", maxLength=2048)}},
        "timeout": {"type": "object", "required": ["duration", "after"], "properties": {
            "duration": string(minLength=1, maxLength=64, format="duration"),
            "after": string(enum=["networkCreationTime"])}},
        "forceTagging": {"type": "boolean"},
        "maxLength": {"type": "integer", "minimum": 1, "maximum": 100_000},
    }},
    # The docs put these two on the action itself, not in its config.
    "attachments": {"type": "object", "properties": {"noText": {"type": "boolean"}}},
    "options": {"type": "array", "maxItems": 100, "items": {
        "type": "object", "required": ["id", "label"], "properties": {
            "id": string(minLength=1, maxLength=256), "label": LABEL,
            "description": string(minLength=1, maxLength=1000)}}},
}}
WEBHOOK = {"type": "object", "required": ["url", "secret"], "properties": {
    "url": string(format="webhook", maxLength=2048),
    "secret": string(minLength=SECRET_MIN, maxLength=SECRET_MAX)}}
MANIFEST_SCHEMA = {"type": "object", "properties": {
    "branding": {"type": "object", "properties": {
        "icon": HTTPS_URI, "fallback": HTTPS_URI, "color": string(pattern=COLOR_RE)}},
    "webhook": WEBHOOK,
    "inbox": {"type": "object", "properties": {
        "ticketActions": {"type": "array", "maxItems": 50, "items": TICKET_ACTION},
        "rightSidebar": {"type": "array", "maxItems": 20, "items": {
            "type": "object", "required": ["id", "label", "treeBuilder"], "properties": {
                "id": string(minLength=1, maxLength=256), "label": LABEL,
                "treeBuilder": string(enum=["flatListWithoutRoot", "flatListWithRoot"])}}},
    }},
    "callbacks": {"type": "object", "properties": {"channelCreation": string(format="uri", maxLength=2048),
                                                   "channelReactivation": string(format="uri", maxLength=2048)}},
}}


def check_manifest(manifest: Any) -> dict[str, Any]:
    """A clean manifest (the docs' schema, unique action ids, templates for template_reply), or SchemaError."""
    clean = check(MANIFEST_SCHEMA, manifest, "manifest")
    for field in ("ticketActions", "rightSidebar"):
        ids = [entry["id"] for entry in clean.get("inbox", {}).get(field, [])]
        duplicate = next((i for i in ids if ids.count(i) > 1), None)
        if duplicate is not None:
            raise SchemaError(f"manifest.inbox.{field}", f"lists the id {duplicate!r} twice")
    for i, action in enumerate(clean.get("inbox", {}).get("ticketActions", [])):
        if action["type"] == "template_reply" and not action.get("config", {}).get("templates", {}).get("url"):
            raise SchemaError(f"manifest.inbox.ticketActions[{i}].config.templates.url",
                              "is required for a template_reply action")
    return clean


def template_urls(manifest: Any) -> list[tuple[str, str]]:
    """(path, url) of every ``template_reply`` action's templates URL: URLs the server will call,
    which the caller checks with ``inbox.netguard`` when they are set."""
    actions = ((manifest or {}).get("inbox") or {}).get("ticketActions") if isinstance(manifest, dict) else None
    found: list[tuple[str, str]] = []
    for i, action in enumerate(actions if isinstance(actions, list) else []):
        config = action.get("config") if isinstance(action, dict) else None
        templates = config.get("templates") if isinstance(config, dict) else None
        url = templates.get("url") if isinstance(templates, dict) else None
        if isinstance(url, str) and url:
            found.append((f"manifest.inbox.ticketActions[{i}].config.templates.url", url))
    return found


def merge_manifest(current: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """PATCH semantics for a (clean) manifest: objects merge one level down, lists and values replace."""
    merged = dict(current)
    for key, value in patch.items():
        merged[key] = {**merged.get(key, {}), **value} if isinstance(value, dict) and key != "webhook" else value
    return merged


def clean_settings(settings: dict[str, Any] | None) -> tuple[dict[str, Any], str | None]:
    """The settings to store and the webhook secret the manifest brought (if any).

    ``webhook_url`` may come as a setting or as ``manifest.webhook.url``; it may also be left
    out and set later by the integration with ``PATCH /api2/public/manifest`` (which sends the
    test request). The manifest is stored without its webhook: the URL lives in ``webhook_url``
    and the secret in the encrypted credentials, never in settings (which the channel JSON shows).
    """
    settings = settings or {}
    try:
        manifest = check_manifest(settings.get("manifest") or {})
    except SchemaError as exc:
        raise SettingsError("invalid_manifest", exc.message) from exc
    webhook = manifest.pop("webhook", None) or {}
    url = settings.get("webhook_url") or webhook.get("url")
    if url is not None and (not isinstance(url, str) or len(url) > 2048 or not valid_webhook_url(url)):
        raise SettingsError("invalid_webhook_url", "webhook_url must be an absolute https:// URL")
    return {"webhook_url": url, "manifest": manifest}, webhook.get("secret")


# -- ticket actions ---------------------------------------------------------------------------

def ticket_actions(settings: dict[str, Any] | None) -> list[dict[str, Any]]:
    actions = ((settings or {}).get("manifest") or {}).get("inbox", {}).get("ticketActions", [])
    return [a for a in actions if isinstance(a, dict) and "id" in a and "label" in a]


def manifest_actions(settings: dict[str, Any] | None) -> dict[str, str | dict[str, str]]:
    """The channel's ``button`` actions, id -> label (a string or ``{en, de, fr}``): the buttons
    of a custom ticket's pane, and what a ``custom_action`` may name. Replies go through
    ``reply_actions`` instead."""
    return {a["id"]: a["label"] for a in ticket_actions(settings) if a.get("type") == "button"}


def label_text(label: str | dict[str, str], locale: str = "en") -> str:
    """A label in the user's locale (falling back to English)."""
    return label if isinstance(label, str) else label.get(locale) or label.get("en") or ""


@dataclass(frozen=True)
class ReplyAction:
    """One way to reply that the manifest offers, with the rules the composer and API enforce."""

    id: str
    type: str                                  # reply | template_reply
    label: str
    max_length: int | None = None
    options: tuple[dict[str, Any], ...] = ()   # {id, label (text), description?}
    attachments: bool = False                  # the action declares ``attachments``
    no_text: bool = False                      # attachments.noText
    approval_process: bool = True              # config.approvalProcess (default true)
    templates_url: str | None = None
    expires_at: datetime | None = None         # config.timeout counted from the item's creation

    def expired(self, now: datetime | None = None) -> bool:
        return self.expires_at is not None and (now or utcnow()) >= self.expires_at


def reply_actions(settings: dict[str, Any] | None, ticket_data: dict[str, Any] | None = None,
                  locale: str = "en") -> list[ReplyAction]:
    """The manifest's ``reply`` / ``template_reply`` actions for one ticket, in manifest order.

    A manifest that declares none gets one plain ``reply`` action (no limits), so a custom
    ticket can always be answered as the contract promises.
    """
    created = None
    created_text = (ticket_data or {}).get("createdTime")
    if isinstance(created_text, str):
        try:
            created = parse_datetime(created_text)
        except ValueError:
            created = None
    found = []
    for action in ticket_actions(settings):
        if action.get("type") not in REPLY_TYPES:
            continue
        config = action.get("config") or {}
        expires = None
        timeout = config.get("timeout")
        if timeout and created is not None:
            try:
                expires = created + parse_duration(timeout["duration"])
            except ValueError:
                expires = None
        options = tuple({"id": o["id"], "label": label_text(o["label"], locale),
                         **({"description": o["description"]} if o.get("description") else {})}
                        for o in action.get("options") or [])
        found.append(ReplyAction(
            id=action["id"], type=action["type"], label=label_text(action["label"], locale),
            max_length=config.get("maxLength"), options=options,
            attachments="attachments" in action, no_text=bool((action.get("attachments") or {}).get("noText")),
            approval_process=config.get("approvalProcess", True),
            templates_url=(config.get("templates") or {}).get("url"), expires_at=expires))
    return found or [ReplyAction(id=DEFAULT_REPLY_ACTION, type="reply", label="Reply")]


def reply_request(settings: dict[str, Any] | None, ticket_data: dict[str, Any] | None, text: str, *,
                  action_id: str | None = None, option: str | None = None, attachment_url: str | None = None,
                  template: dict[str, Any] | None = None) -> dict[str, Any]:
    """What a reply on a custom ticket will send, checked against the chosen action's rules.

    Raises ``Rejected`` (the agent is still looking) for: an unknown or expired action,
    a missing or unknown option, text over ``maxLength``, text with an attachment under
    ``noText``, an attachment on an action that takes none, or a template reply without a
    template. ``approval_process`` is recorded on the request for the approval feature, which
    reads it there; until then the reply is sent at once.
    """

    offered = reply_actions(settings, ticket_data)
    if action_id is None:
        usable = [a for a in offered if not a.expired()]
        if not usable:
            raise Rejected("action_expired", "The time to reply to this item has run out.")
        action = usable[0]
    else:
        action = next((a for a in offered if a.id == action_id), None)
        if action is None:
            raise Rejected("unknown_reply_action", f"This channel offers no reply action {action_id!r}; it has: "
                                                        f"{', '.join(a.id for a in offered)}")
        if action.expired():
            raise Rejected("action_expired", f"{action.label}: the time to use this action has run out.")
    text = (text or "").strip()
    request: dict[str, Any] = {"action_id": action.id, "type": action.type,
                               "approval_process": action.approval_process}
    if action.options:
        if not option:
            raise Rejected("option_required", f"{action.label}: choose one of "
                                                   f"{', '.join(o['label'] for o in action.options)} first.")
        if option not in {o["id"] for o in action.options}:
            raise Rejected("unknown_option", f"{action.label} has no option {option!r}.")
        request["option"] = option
    elif option:
        raise Rejected("unknown_option", f"{action.label} has no options.")
    if action.type == "template_reply":
        if not isinstance(template, dict) or not isinstance(template.get("networkId"), str) \
                or not template["networkId"].strip():
            raise Rejected("template_required", "Choose a template first.")
        variables = template.get("variables") or {}
        if not isinstance(variables, dict) or not all(isinstance(k, str) and isinstance(v, (str, int, float))
                                                      for k, v in variables.items()):
            raise Rejected("invalid_template_variables", "Template variables must be names with text values.")
        request["template"] = {"networkId": template["networkId"].strip(),
                               "name": str(template.get("name") or template["networkId"]).strip(),
                               "variables": {k: str(v) for k, v in variables.items()},
                               "language": str(template.get("language") or "en")}
        request["text"] = text
        return request
    if attachment_url:
        if not action.attachments:
            raise Rejected("attachments_not_allowed", f"{action.label} takes no attachments.")
        if action.no_text and text:
            raise Rejected("no_text_with_attachment", f"{action.label}: a reply with an attachment carries no text.")
        request["attachment_url"] = attachment_url
    elif not text:
        raise Rejected("empty_reply", "Write a reply first.")
    if action.max_length is not None and len(text) > action.max_length:
        raise Rejected("reply_too_long", f"{action.label} allows at most {action.max_length} characters "
                                              f"({len(text)} written).")
    request["text"] = text
    return request
