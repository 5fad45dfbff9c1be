"""The custom channel's sandbox: the example SocialHub integration of ``socialhub_integration.py``.

Custom channels have no provider to simulate: what the demo and the tests need is the other
side, an integration written from SocialHub's documentation that verifies the signature,
answers the challenge, reports each reply back through ``/api2/public`` and pushes tickets.
This module gives that integration its place among the sandboxes: the prefix
``/sandbox/custom``, the shared control API (``incoming`` pushes a ticket, ``fail`` makes its
webhook answer an error) and the request log of the sandbox page.
"""
from __future__ import annotations

import secrets
from typing import Any

from .base import ProviderSandbox
from .socialhub_integration import DEMO_TICKETS, SocialHubIntegration, blueprint, push_ticket

DEMO_KEY = "demo"


class CustomSandbox(SocialHubIntegration, ProviderSandbox):
    """The integration's state (installations, events, callbacks, faults) as a provider sandbox."""

    provider, title, prefix = "custom", "Custom channel: an example SocialHub integration", "/sandbox/custom"
    kinds = ("ticket",)

    def reset(self) -> None:
        with self.lock:
            ProviderSandbox.reset(self)
            SocialHubIntegration.reset(self)

    def inject_failure(self, name: str, status: int, times: int, message: str, **_extras: object) -> None:
        self.fail_next(status, times)      # an integration has one endpoint: its webhook (no extras)

    def incoming(self, kind: str, data: dict[str, Any]) -> dict[str, Any]:
        """A customer writes through the integration: a ticket pushed to ``/api2/public``."""
        _user_id, _username, name, text = self.someone({"text": data.get("message"), **data})
        key = str(data.get("key") or DEMO_KEY)
        with self.lock:
            installation = self.installations.get(key)
        if installation is None or not installation.api_base or not installation.access_token:
            raise LookupError(f"no configured installation {key!r}: connect a custom channel first")
        status, body = push_ticket(installation.api_base, installation.access_token,
                                   str(data.get("network_item_id") or f"sandbox-{secrets.token_hex(8)}"),
                                   text, data.get("interactor") or name)
        if status >= 400:
            raise ValueError(f"the inbox answered {status}: {body}")
        return {"status": status, "response": body}

    def request_log(self) -> list[dict[str, Any]]:
        """What our app sent the integration: its webhook requests, with the status answered."""
        with self.lock:
            return [{"method": "POST", "path": f"webhook/{r['key']}", "status": r.get("status"), "at": r["at"]}
                    for r in self.requests]


SANDBOX = CustomSandbox()
bp = blueprint(SANDBOX, name="custom", url_prefix=CustomSandbox.prefix)

__all__ = ["DEMO_TICKETS", "SANDBOX", "bp", "push_ticket"]
