"""What every connector speaks: normalised inbound items, connect results and error classes.

A connector turns one provider's documented API into these shapes and nothing more: it never
touches the database, so it can be tested against any server that implements the docs.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import httpx

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
    """The provider refused. ``code`` is ours (stable, for the API), ``message`` is for people."""

    retryable = False

    def __init__(self, code: str, message: str, *, status: int | None = None, trace_id: str | None = None):
        super().__init__(message)
        self.code, self.message, self.status, self.trace_id = code, message, status, trace_id


class AuthError(ProviderError):
    """Credentials refused or account unusable: the channel needs an admin's attention."""


class RetryableError(ProviderError):
    """Rate limit, server error or a request that never reached the provider: safe to retry."""

    retryable = True


class UncertainError(ProviderError):
    """The request may have been accepted (the answer never came): retrying could send twice."""


class WebhookError(ValueError):
    """A webhook body we cannot use: answered with a 4xx and kept for inspection."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


class ReplyRejected(ValueError):
    """A reply that the provider would refuse, caught before it is queued."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def call(client: httpx.Client, method: str, url: str, **kwargs: Any) -> httpx.Response:
    """One HTTP call with transport errors mapped to ours.

    A connect error or timeout means the request never left, so it is retryable; a timeout
    while waiting for the answer means the provider may have acted on it, so it is uncertain.
    """
    try:
        return client.request(method, url, **kwargs)
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
        raise RetryableError("provider_unreachable", f"Could not reach the provider: {exc}") from exc
    except (httpx.ReadTimeout, httpx.WriteTimeout, httpx.RemoteProtocolError, httpx.ReadError) as exc:
        raise UncertainError("provider_no_answer",
                             f"The provider did not answer ({type(exc).__name__}); "
                             "the request may have been carried out") from exc


class ActionRejected(ValueError):
    """An action that does not apply (e.g. "like" on a DM), caught before it is queued."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


class Connector(Protocol):
    """What every provider module offers. Each ``inbox/connectors/<provider>.py`` ends with
    ``Connector = <ItsClass>``; ``inbox.connectors.connector_class(provider)`` finds it.

    Class-level (no credentials needed):
      provider, default_network, DEFAULT_BASE_URL (None when the docs name no host),
      credential_fields: the keys ``credentials`` must carry (alternatives: see ``check_credentials``),
      polled: True when the scheduler should call ``fetch`` every minute,
      webhooks: True when the provider posts to our ``webhook_url``,
      ACTIONS: ticket actions it can perform (``reply``, ``like``, ``unlike``, ``hide``, ``delete``,
      ``tag``, ``close``, ``reschedule``, ...); CHANNEL_ACTIONS: channel-level ones (``inject``).
      ``parse(payload, settings=None)`` (classmethod): webhook body -> items; raises WebhookError.
      ``settings`` are the channel's, when known (the intake view's quick check has none).
      ``route(payload)`` (classmethod, optional): the account_ref a shared webhook body is for.
      ``validate_reply(ticket_kind, text)`` and ``validate_action(kind, ticket_kind, params)``
      (static): refuse before queueing (ReplyRejected / ActionRejected).

    Instance (built with ``(base_url, credentials: dict, settings: dict, client=None)``):
      ``connect() -> list[ConnectResult]``: verify credentials now (one result per channel).
      ``setup(webhook_url)``: webhook registration / subscriptions, run in a worker.
      ``fetch(state) -> FetchResult``: one polling pass from the saved state.
      ``perform(kind, target, params) -> ActionResult``: one outbound action.
    """

    provider: str
