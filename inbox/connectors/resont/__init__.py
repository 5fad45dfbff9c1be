"""Resont REST API (shared/specs/resont-api.txt): comments, DMs and support tickets on many networks.

One Resont login holds several social accounts (Instagram, Telegram, Aparat, ...). Each account
becomes one channel of ours; the channel's ``settings["account_id"]`` says which one, and every
list we read is filtered to it. Two ways to authenticate, both as documented:

* token mode — ``{base}/token/v1/...?token=TOKEN`` (the token from the Resont profile page);
* OAuth2 mode — ``{base}/v1/...?access_token=...``, refreshed with the refresh token at
  ``{root}/web/oauth/token`` shortly before it expires and once on a 401.

Polling is the baseline (token mode has no webhooks at all): ``fetch`` walks the newest-first
cursor lists ``/comment`` and ``/conversation`` until it reaches what it saw last time, and the
page-numbered ``/ticket`` list. Webhooks (``comment_created`` / ``message_created``, OAuth with
``offline_access`` only) make new items arrive sooner; both paths produce the same external ids,
so whichever comes second changes nothing.

The package: ``client`` (URLs, OAuth, HTTP, errors), ``dates``, ``parsing`` (items and webhook
bodies), ``polling`` (``fetch`` and its saved state), ``actions`` (outbound); this module puts
them together as ``ResontConnector``.
"""
from __future__ import annotations

import logging
from typing import Any

from ..base import AuthError, ConnectResult, Connector, InboundItem, ProviderError, Rejected
from models import TicketKind

from .actions import Outbound
from .client import (DEFAULT_BASE_URL, OAUTH_FIELDS, OAUTH_SCOPE, Page, ResontClient, api_base, authorize_url,
                     exchange_code, oauth_root)
from .dates import jalali_to_gregorian, parse_date
from .parsing import (account_info, comment_item, message_item, opt_id, post_record, required_id, ticket_closed,
                      ticket_items, truthy, webhook_body)
from .polling import Polling

__all__ = ["DEFAULT_BASE_URL", "OAUTH_FIELDS", "OAUTH_SCOPE", "Page", "ResontConnector", "api_base", "authorize_url",
           "comment_item", "exchange_code", "jalali_to_gregorian", "message_item", "oauth_root", "parse_date",
           "post_record", "ticket_closed", "ticket_items"]

log = logging.getLogger(__name__)


class ResontConnector(Polling, Outbound, ResontClient, Connector):
    """One Resont account as a channel: the client, polling and outbound halves, plus connect,
    subscriptions and webhooks (below)."""

    provider = "resont"
    default_network = "instagram"
    DEFAULT_BASE_URL = DEFAULT_BASE_URL
    credential_fields = ("token",)          # or OAUTH_FIELDS: see check_credentials
    polled = True
    # A DM reply's multipart ``attachment`` (content optional beside it); a ticket's meta needs content.
    ATTACHMENT_KINDS = frozenset({TicketKind.CONVERSATION})
    webhooks = True                   # OAuth clients post comment_created / message_created
    ACTIONS = frozenset({"reply", "like", "unlike", "delete", "tag", "close"})
    CHANNEL_ACTIONS: frozenset[str] = frozenset()

    def connect(self) -> list[ConnectResult]:
        """One channel per Resont account (the first one also carries the support tickets)."""
        accounts = sorted(self.accounts(), key=lambda a: str(a.get("id")))
        tz = self.user_timezone() if accounts else "UTC"
        results = []
        for index, account in enumerate(a for a in accounts if opt_id(a.get("id"))):
            account_id = str(account["id"])
            results.append(ConnectResult(
                account_ref=account_id, network=str(account.get("type") or "resont").lower(),
                name=str(account.get("name") or account.get("identifier") or f"Resont account {account_id}"),
                info=account_info(account),
                settings={"account_id": account_id, "account_identifier": account.get("identifier"),
                          "account_name": account.get("name"), "timezone": tz, "support_tickets": index == 0},
                credentials=self.new_credentials, token_expires_at=self.token_expires_at if self.refreshed else None))
        return results

    def setup(self, webhook_url: str) -> None:
        """Subscribe the account to comments and DMs.

        Resont sends webhooks to the URL registered with the OAuth client (not a parameter of
        any call), so ``webhook_url`` must be entered there by the admin. With OAuth we always
        subscribe (that is what makes Resont send webhooks). A token has no webhooks; we still
        subscribe accounts that are not (it makes Resont collect their comments and DMs, which
        polling reads) but a refusal there is only logged: polling goes on regardless.
        """
        if not self.account_id:
            return
        account = self.account(self.account_id) if self.mode == "token" else {}
        for what, flag in (("comment", "comment_subscribe"), ("conversation", "direct_subscribe")):
            if self.mode == "token" and truthy(account.get(flag)):
                continue
            try:
                self.subscribe(what, [self.account_id])
            except ProviderError as exc:
                if self.mode == "oauth" or isinstance(exc, AuthError) or exc.retryable:
                    raise
                log.warning("Resont refused to subscribe account %s to %ss: %s", self.account_id, what, exc.message)

    # -- webhooks -----------------------------------------------------------------------------

    @classmethod
    def route(cls, payload: Any) -> str | None:
        """The account a webhook body is for (``payload.account_id``): one URL serves them all."""
        try:
            _, body = webhook_body(payload)
        except Rejected:
            return None
        return opt_id(body.get("account_id"))

    @classmethod
    def parse(cls, payload: Any, settings: dict[str, Any] | None = None) -> list[InboundItem]:
        """``comment_created`` (a Comment) and ``message_created`` (a Message) -> items; other
        well-formed types are ignored. ``settings`` (the channel's, optional) tell dates' time zone
        and which author is the account itself."""
        kind, body = webhook_body(payload)
        tz = str((settings or {}).get("timezone") or "UTC")
        if kind == "comment_created":
            required_id(body, "account_id", "payload")
            return [comment_item(body, tz, settings)]
        if kind == "message_created":
            required_id(body, "account_id", "payload")
            return [message_item(body, tz, settings)]
        return []
