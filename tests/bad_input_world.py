"""A small world for the bad-input tests: one channel per provider, a ticket to act on, tokens.

Built in-process (the app's test client, real SQLite and Redis), without a provider sandbox:
nothing here calls a network, so thousands of generated requests stay fast.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from sqlalchemy import func, select

from helpers import load, run_jobs
from inbox import crypto, db
from inbox.connectors import CONNECTORS
from models import Channel, RawEvent, Ticket

HOOK = "https://integration.example/hooks/inbox"
RESONT_TOKEN = "resont-shared-hook-token-000000000000000000000"


@dataclass
class World:
    admin: str                       # an admin's API token
    agent: str                       # an agent's API token
    access_token: str                # the custom channel's /api2/public token
    hooks: dict[str, str] = field(default_factory=dict)        # provider -> webhook path
    channel_ids: dict[str, int] = field(default_factory=dict)  # provider -> a channel id
    ticket_id: int = 0               # a Getloo conversation
    custom_ticket: str = ""          # the custom channel's ticket, as /api2 names it

    def auth(self, role: str = "admin") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin if role == 'admin' else self.agent}"}


def _channel(session, provider: str, **extra) -> Channel:
    row = Channel(provider=provider, network=provider, name=f"{provider} test", base_url="https://provider.invalid",
                  credentials_encrypted=crypto.encrypt_json({"token": "x"}), settings=extra.pop("settings", {}),
                  **extra)
    session.add(row)
    session.flush()
    return row


def build(client, token_for) -> World:
    world = World(admin=token_for("admin"), agent=token_for("agent"), access_token="")
    with db.session_scope() as s:
        made = {name: _channel(s, name, account_ref=f"{name}-1") for name in CONNECTORS if name not in ("resont", "custom")}
        # Resont: one connection, two accounts, one webhook URL (the body says which account).
        for ref in ("101", "102"):
            made[f"resont-{ref}"] = _channel(s, "resont", account_ref=ref, webhook_token=RESONT_TOKEN,
                                             settings={"account_id": ref, "timezone": "UTC"})
        for name, row in made.items():
            provider = name.split("-")[0]
            world.hooks.setdefault(provider, f"/webhooks/{provider}/{row.webhook_token}")
            world.channel_ids.setdefault(provider, row.id)
    created = client.post("/api/v1/channels", headers=world.auth(), json={
        "provider": "custom", "name": "Custom", "settings": {"webhook_url": HOOK}})
    assert created.status_code == 201, created.get_data(as_text=True)
    world.access_token = created.get_json()["access_token"]
    world.channel_ids["custom"] = created.get_json()["id"]
    world.hooks["custom"] = f"/webhooks/custom/{_token_of(world.channel_ids['custom'])}"
    response = client.post(world.hooks["getloo"], data=json.dumps(load("incoming_text")),
                           content_type="application/json")
    assert response.status_code == 200, response.get_data(as_text=True)
    run_jobs()
    with db.session_scope() as s:
        world.ticket_id = s.scalars(select(Ticket.id).where(Ticket.channel_id == world.channel_ids["getloo"])).one()
    pushed = client.post("/api2/public/inbox/tickets", query_string={"accesstoken": world.access_token},
                         json={"interaction": {"networkItemId": "item-1", "message": "Hello"}})
    assert pushed.status_code == 201, pushed.get_data(as_text=True)
    world.custom_ticket = pushed.get_json()["_id"]
    return world


def _token_of(channel_id: int) -> str:
    with db.session_scope() as s:
        return s.get(Channel, channel_id).webhook_token


def raw_events() -> int:
    with db.session_scope() as s:
        return s.scalar(select(func.count()).select_from(RawEvent))


def api_error(response) -> bool:
    """/api/v1 and the webhooks: ``{"error": {"code", "message"}}`` with strings."""
    body = response.get_json(silent=True)
    return (isinstance(body, dict) and set(body) == {"error"} and isinstance(body["error"], dict)
            and isinstance(body["error"].get("code"), str) and isinstance(body["error"].get("message"), str))


def public_error(response) -> bool:
    """/api2/public: SocialHub's ``{"code", "message"}`` (``data`` beside a WebhookValidationError)."""
    body = response.get_json(silent=True)
    return (isinstance(body, dict) and set(body) - {"data"} == {"code", "message"}
            and isinstance(body["code"], str) and isinstance(body["message"], str))
