"""What every connector speaks: normalised inbound items, connect results and error classes.

A connector turns one provider's documented API into these shapes and nothing more: it never
touches the database, so it can be tested against any server that implements the docs.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

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
    """One message or comment, ready to be stored: which ticket it belongs to and what it says."""

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


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """The provider's word on a message we sent, keyed by the id it gave us when accepting it."""

    external_id: str
    status: FollowupStatus
    at: datetime


@dataclass(frozen=True, slots=True)
class ConnectResult:
    account_ref: str          # the provider's stable id of the account
    name: str                 # a default display name
    network: str
    info: dict[str, Any]


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
