"""The custom channel's sandbox: the example SocialHub integration of ``sandbox/socialhub_integration.py``,
mounted under ``/sandbox/custom`` while the sandboxes still live in the product's app.

The integration is written from SocialHub's documentation and imports nothing of ours; this
module only gives it a place in the sandbox app (glue until the sandboxes become their own app).
"""
from __future__ import annotations

from sandbox.socialhub_integration import DEMO_TICKETS, SocialHubIntegration, blueprint, push_ticket

SANDBOX = SocialHubIntegration()
bp = blueprint(SANDBOX, name="sandbox_custom", url_prefix="/sandbox/custom")

__all__ = ["DEMO_TICKETS", "SANDBOX", "bp", "push_ticket"]
