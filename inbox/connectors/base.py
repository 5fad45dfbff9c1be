"""What every connector speaks: the ``Connector`` interface, its shapes and its one error family.

A connector turns one provider's documented API into these shapes and nothing more: it never
touches the database and never imports a web or settings module, so it can be tested against
any server that implements the docs, and the services and views decide what an error means to
their callers (``inbox.errors`` maps the family onto HTTP answers in one place).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from abc import ABC, abstractmethod
from typing import Any, ClassVar
from urllib.parse import urlsplit

import httpx

from inbox.netguard import UnsafeURL, guarded_client
from models import FollowupStatus, TicketKind

TIMEOUT = httpx.Timeout(20.0, connect=5.0)
USER_AGENT = "unified-social-inbox/0.1"


@dataclass(frozen=True, slots=True)
class Author:
    external_id: str
    username: str = ""
    name: str = ""


@dataclass(frozen=True, slots=True)
class InboundItem:
    """One message or comment, ready to be stored: which ticket it belongs to and what it says.

    ``ticket_external_id`` groups messages into a ticket (a DM thread, a comment, a support
    ticket); ``message_external_id`` is the provider's id of this one entry. Both are unique per
    channel, so applying the same item twice changes nothing.
    """

    ticket_kind: TicketKind
    ticket_external_id: str
    message_external_id: str
    author: Author
    text: str
    created_at: datetime
    message_kind: str = "text"
    media_url: str | None = None
    media_type: str | None = None
    ticket_data: dict[str, Any] = field(default_factory=dict)
    # Our reply, seen again by polling (Resont lists our own messages): stored as outbound.
    direction: str = "in"
    # A comment's parent comment (its ticket external id), and the post it was written under.
    parent_ticket_external_id: str | None = None
    post_external_id: str | None = None
    # The provider's tags on the item (names), when the provider has tags: kept in sync.
    tags: tuple[str, ...] | None = None
    # The provider closed / resolved the item (e.g. a Resont ticket marked closed).
    closed: bool = False
    # The network the item came from, where one channel aggregates several (a wall gathers
    # Instagram, Twitter ...); None = the channel's own network.
    network: str | None = None


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """The provider's word on a message we sent, keyed by the id it gave us when accepting it."""

    external_id: str
    status: FollowupStatus
    at: datetime


@dataclass(frozen=True, slots=True)
class PostRecord:
    """A brand's post (published, scheduled, draft or failed): context for comments on it.

    A failed post (``failed_at`` set) also becomes a ``post_failure`` ticket.
    """

    external_id: str
    text: str = ""
    status: str = ""                  # executed | scheduled | draft | failed ...
    url: str | None = None
    network: str | None = None
    due_at: datetime | None = None
    executed_at: datetime | None = None
    failed_at: datetime | None = None
    failure: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ConnectResult:
    account_ref: str          # the provider's stable id of the account
    name: str                 # a default display name
    network: str
    info: dict[str, Any]
    # Per-channel settings the provider decided (e.g. Resont's account id); merged over the admin's.
    settings: dict[str, Any] = field(default_factory=dict)
    # Credentials to store for this channel when they differ from what the admin gave
    # (e.g. OAuth tokens obtained during connect); None = store what was given.
    credentials: dict[str, Any] | None = None
    token_expires_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Target:
    """What an outbound action acts on: the ticket as the connector knows it (or a channel-level action)."""

    kind: str | None = None                 # ticket kind; None for channel actions (inject)
    ticket_id: int | None = None            # our ticket id (custom channels send it to the integration)
    external_id: str | None = None          # ticket external id
    data: dict[str, Any] = field(default_factory=dict)       # ticket.data
    channel_settings: dict[str, Any] = field(default_factory=dict)
    message_external_id: str | None = None  # the latest inbound message's id, where an action needs it


@dataclass(frozen=True, slots=True)
class ActionResult:
    """What the provider answered: the id it gave (a reply's id / queue id), and anything to keep."""

    external_id: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    # Credentials refreshed while performing the action (OAuth), to be stored encrypted.
    credentials: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class FetchResult:
    """One polling pass: items to store (idempotently), and the state to resume from next time."""

    items: list[Any]
    state: dict[str, Any]
    credentials: dict[str, Any] | None = None   # refreshed OAuth tokens, to store
    token_expires_at: datetime | None = None


class ProviderError(Exception):
    """Trouble with a provider: the one error family every connector raises.

    ``code`` is ours (stable, for the API and the action rows), ``message`` is for people.
    ``retryable``: nothing was accepted (rate limit, server error, unreachable), so sending the
    same request again is safe. ``uncertain``: the answer never came, so the provider may have
    acted on it and a retry could send twice. ``status`` and ``trace_id`` are the provider's
    HTTP status and request id, kept for whoever has to ask the provider what happened.
    ``retry_after``: the seconds a busy provider asked us to wait (its ``Retry-After`` header on a
    429 or 503), so the next try is not sooner.
    """

    def __init__(self, code: str, message: str, *, retryable: bool = False, uncertain: bool = False,
                 status: int | None = None, trace_id: str | None = None, retry_after: float | None = None):
        super().__init__(message)
        self.code, self.message, self.status, self.trace_id = code, message, status, trace_id
        self.retryable, self.uncertain, self.retry_after = retryable, uncertain, retry_after

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code!r}, {self.message!r})"


class CannotAsk(ProviderError):
    """``Connector.reconcile``: this provider cannot tell whether an action was carried out."""


def retry_after(response: httpx.Response) -> float | None:
    """The ``Retry-After`` header of a 429 / 503 in seconds (RFC 9110: delay-seconds or an
    HTTP date); None when absent, unreadable, or on any other status."""
    if response.status_code not in (429, 503):
        return None
    value = (response.headers.get("retry-after") or "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        seconds = (when - datetime.now(timezone.utc)).total_seconds()
    if seconds != seconds or seconds in (float("inf"), float("-inf")):   # NaN, inf
        return None
    return max(0.0, seconds)


class AuthError(ProviderError):
    """Credentials refused or account unusable: the channel is flagged for an admin's attention."""


class Rejected(ProviderError):
    """Refused on our side before anything reached the provider: a reply or action its docs rule
    out, or a webhook body we cannot use. Nothing was sent, so the caller gets a 4xx at once."""


def call(client: httpx.Client, method: str, url: str, **kwargs: Any) -> httpx.Response:
    """One HTTP call with transport errors mapped to ours.

    A connect error or timeout means the request never left, so it is retryable; a timeout
    while waiting for the answer means the provider may have acted on it, so it is uncertain.
    An address the server must not call (``netguard``) is refused before anything is sent.

    The messages are ours and name only the host: the transport's own text (``[Errno 111]
    Connection refused``) would tell a caller which ports answer on the server's network.
    """
    try:
        return client.request(method, url, **kwargs)
    except UnsafeURL as exc:
        raise address_not_allowed(exc) from exc
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
        raise ProviderError("provider_unreachable", f"Could not reach the provider at {host_of(url)}",
                            retryable=True) from exc
    except (httpx.ReadTimeout, httpx.WriteTimeout, httpx.RemoteProtocolError, httpx.ReadError) as exc:
        raise ProviderError("provider_no_answer",
                            f"The provider at {host_of(url)} did not answer; "
                            "the request may have been carried out", uncertain=True) from exc
    except httpx.HTTPError as exc:     # anything else of the transport (a bad URL, a proxy ...)
        raise ProviderError("provider_unreachable", f"Could not call the provider at {host_of(url)}") from exc


def host_of(url: str | httpx.URL) -> str:
    """The host a message may name (never the path: it can carry a token)."""
    try:
        return httpx.URL(str(url)).host or "an invalid address"
    except (httpx.InvalidURL, ValueError):
        return "an invalid address"


def address_not_allowed(exc: UnsafeURL) -> ProviderError:
    """A call ``netguard`` refused: never retried (the address will not become public by waiting)."""
    return ProviderError("address_not_allowed", exc.message)


class Connector(ABC):
    """What every provider's connector offers; ``inbox.connectors.CONNECTORS`` maps names to them.

    The abstract methods are what every provider must answer. The rest are optional capabilities
    with a default that does nothing where nothing is the right answer (``setup`` for a provider
    without webhooks, ``route`` when one webhook URL serves one channel) and otherwise raises a
    clear ``unsupported`` error, so a caller that asks for something a provider lacks hears why.

    Class-level facts (no credentials needed) are read by the pages, the API and the scheduler:
    ``polled`` makes the scheduler call ``fetch`` every minute; ``webhooks`` says the provider
    posts to our ``webhook_url``; ``ACTIONS`` and ``CHANNEL_ACTIONS`` list what ``perform`` does
    on tickets and on the channel.
    """

    provider: ClassVar[str]
    default_network: ClassVar[str]
    DEFAULT_BASE_URL: ClassVar[str | None] = None       # None when the docs name no host
    credential_fields: ClassVar[tuple[str, ...]] = ()   # alternatives: override check_credentials
    polled: ClassVar[bool] = False
    webhooks: ClassVar[bool] = False
    ACTIONS: ClassVar[frozenset[str]] = frozenset()
    CHANNEL_ACTIONS: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, base_url: str, credentials: dict[str, Any], settings: dict[str, Any] | None = None,
                 client: httpx.Client | None = None):
        self.base_url = (base_url or "").rstrip("/")
        self.credentials = dict(credentials or {})
        self.settings = dict(settings or {})
        self.client = client or guarded_client(timeout=TIMEOUT, headers={"User-Agent": USER_AGENT})

    # -- what every provider must answer --------------------------------------------------------

    @abstractmethod
    def connect(self) -> list[ConnectResult]:
        """Verify the credentials now (the admin is waiting): one result per channel they yield."""

    @abstractmethod
    def perform(self, kind: str, target: Target, params: dict[str, Any]) -> ActionResult:
        """One outbound action (``reply``, ``like``, ``inject`` ...), run in a worker."""

    @staticmethod
    @abstractmethod
    def validate_action(kind: str, ticket_kind: str | None, params: dict[str, Any]) -> None:
        """Refuse (``Rejected``) what the provider would refuse, before the action is queued."""

    # -- optional capabilities --------------------------------------------------------------------

    @classmethod
    def check_credentials(cls, credentials: dict[str, Any]) -> dict[str, Any]:
        """The credentials to store; ValueError names what is missing. Override for alternatives."""
        missing = [f for f in cls.credential_fields if not str(credentials.get(f) or "").strip()]
        if missing:
            raise ValueError(f"{cls.provider} needs credentials: {', '.join(missing)}")
        return {f: str(credentials[f]).strip() for f in cls.credential_fields}

    def setup(self, webhook_url: str) -> None:
        """Register ``webhook_url`` / subscribe, in a worker after connect. Default: nothing to do."""

    def fetch(self, state: dict[str, Any]) -> FetchResult:
        """One polling pass from the saved ``state`` (only providers with ``polled``)."""
        raise unsupported(self.provider, "polling: it pushes its items")

    @classmethod
    def parse(cls, payload: Any, settings: dict[str, Any] | None = None) -> list[InboundItem | DeliveryReport]:
        """A webhook body -> items and delivery reports; ``Rejected`` for a body we cannot use.
        ``settings`` are the channel's when known (the intake's quick check has none)."""
        raise Rejected("no_webhooks", f"{cls.provider} sends no webhooks to this address")

    @classmethod
    def route(cls, payload: Any) -> str | None:
        """The ``account_ref`` a shared webhook body is for; None when one URL serves one channel."""
        return None

    @staticmethod
    def validate_reply(ticket_kind: str, text: str) -> str:
        """The reply text to send (cleaned), or ``Rejected`` before it is queued."""
        raise Rejected("replies_unsupported", "This channel takes no replies.")

    @classmethod
    def reply_limits(cls, ticket_kind: str, ticket_data: dict[str, Any], context: ReplyContext) -> ReplyLimits:
        """What the provider will take as a reply to this item now (pure: no network, no database).

        The default: no replies where the provider has none; otherwise no window and no length of
        its own, and a file of any type where ``ATTACHMENT_KINDS`` says the item takes one.
        Providers whose docs state limits (Getloo, Resont) override this.
        """
        if "reply" not in cls.ACTIONS:
            return ReplyLimits(can_reply=False, code="replies_unsupported", reason="This channel takes no replies.")
        return ReplyLimits(attachments=ticket_kind in getattr(cls, "ATTACHMENT_KINDS", frozenset()))

    def reconcile(self, kind: str, target: Target, params: dict[str, Any], since: datetime) -> ActionResult | None:
        """Was this action, begun at ``since`` (naive UTC) by a worker that died mid-call, carried out?

        A provider that can be asked answers from its own records: the ``ActionResult`` of what it
        finds (e.g. our reply, with its id), or None when it clearly did not happen, so sending it
        is safe. ``CannotAsk`` (the default) leaves it to a person; other ``ProviderError``s mean
        the question could not be answered now.
        """
        raise CannotAsk("cannot_ask", f"{self.provider} cannot be asked whether it carried out a {kind}")


def unsupported(provider: str, what: str) -> ProviderError:
    """The error for a capability a provider does not have (never retried)."""
    return ProviderError("unsupported", f"{provider} does not support {what}")


# -- reply limits: what a provider takes as a reply, known before anything is sent ---------------


@dataclass(frozen=True, slots=True)
class ReplyContext:
    """What the database knows that a provider's reply rules need (``inbox.replies.service`` builds it).

    Times are naive UTC. ``replies`` counts our replies on the ticket that went out or may have
    (queued, sending, sent, unknown): a failed one never reached the provider as a reply.
    """

    now: datetime
    first_inbound_at: datetime | None = None     # the item itself (a comment) or the thread's first message
    last_inbound_at: datetime | None = None      # the latest message from the customer
    replies: int = 0


@dataclass(frozen=True, slots=True)
class AttachmentRule:
    """One kind of file the provider's docs accept in a reply, known by its extension."""

    kind: str                       # image | audio | video ...
    extensions: tuple[str, ...]     # lower case, without the dot
    max_bytes: int | None = None

    def describe(self) -> str:
        size = f" up to {self.max_bytes // (1024 * 1024)} MB" if self.max_bytes else ""
        return f"{self.kind} ({', '.join('.' + e for e in self.extensions)}){size}"


@dataclass(frozen=True, slots=True)
class ReplyLimits:
    """A connector's answer to "can we reply to this now, and with what?" (``Connector.reply_limits``).

    ``code`` and ``reason`` say why not when ``can_reply`` is false (the code is the API's, the
    reason is for people). ``reply_until`` is the end of the provider's reply window (naive UTC),
    ``max_length`` its length limit in characters. ``attachments`` says whether a file may go at
    all; ``attachment_rules`` lists the types and sizes the docs name (empty: they name none).
    """

    can_reply: bool = True
    reason: str | None = None
    code: str | None = None
    reply_until: datetime | None = None
    max_length: int | None = None
    attachments: bool = False
    attachment_rules: tuple[AttachmentRule, ...] = ()

    def refusal(self) -> Rejected | None:
        """The ``Rejected`` to raise when no reply can go, else None."""
        if self.can_reply:
            return None
        return Rejected(self.code or "reply_not_allowed", self.reason or "This item cannot be replied to.")

    def attachment_rule(self, url: str) -> AttachmentRule | None:
        """The rule a file's URL falls under, by the extension of its path.

        Only what the URL says is checked: the provider (or our worker, for Resont) fetches the
        file later, so its real type and size are not known here. A URL without an extension
        (the Getloo docs' own example, ``https://fileurl.ru/fileid``) passes; one whose
        extension no rule names is ``Rejected`` (``attachment_type``).
        """
        if not self.attachment_rules:
            return None
        name = urlsplit(url).path.rsplit("/", 1)[-1]
        if "." not in name:
            return None
        ext = name.rsplit(".", 1)[1].lower()
        for rule in self.attachment_rules:
            if ext in rule.extensions:
                return rule
        kinds = "; ".join(rule.describe() for rule in self.attachment_rules)
        raise Rejected("attachment_type", f"A .{ext} file cannot be sent here. Accepted: {kinds}.")
