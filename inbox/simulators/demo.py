"""The demo: users, a channel on every built-in sandbox, and traffic that arrives for real.

Everything goes through the product's real paths: channels are connected with the providers'
documented calls, DMs and comments arrive by webhook or by the scheduled poll, custom tickets by
the public API. The sandboxes are driven only over HTTP (their ``/_sandbox`` control endpoints),
so this works from any process: the CLI, ``make run`` and the scheduled ``tick``.
"""
from __future__ import annotations

import random
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
from flask import Flask
from sqlalchemy import func, select

import workers
from inbox import crypto
from inbox.connectors import build, connector_class
from inbox.db import session_scope
from inbox.settings.channels import ConnectError, connect_channel
from models import Channel, ChannelStatus, Role, Ticket, User

from . import modules

DEMO_USERS = [
    ("admin@demo.test", Role.ADMIN, "demo-admin", "Ada Admin"),
    ("supervisor@demo.test", Role.SUPERVISOR, "demo-supervisor", "Sam Supervisor"),
    ("agent@demo.test", Role.AGENT, "demo-agent", "Alex Agent"),
]

# (kind, user_id, username, profile name, text, extra)
GETLOO_TRAFFIC = [
    ("message", "5501", "anna_petrova", "Анна Петрова", "Здравствуйте! Когда придёт мой заказ №4821?", {}),
    ("comment", "5502", "dmitry_k", "Дмитрий К.", "Отличная коллекция! 🔥 Сколько стоит куртка?", {}),
    ("message", "5503", "mike.designs", "Mike Lee", "Hi! Do you ship to Canada? 🇨🇦", {}),
    ("comment", "5504", "jess_travels", "Jess", "Love this! Is the blue one still available?", {}),
    ("message", "5505", "sara.rahimi", "سارا رحیمی", "سلام، این کفش سایز ۳۸ موجود است؟",
     {"type": "image", "href": "https://files.getloo.ru/ig/demo/shoe.jpg"}),
    ("message", "5501", "anna_petrova", "Анна Петрова", "И можно ли поменять адрес доставки?", {}),
]
PEOPLE = [("5601", "olga.s", "Ольга С."), ("5602", "tom_h", "Tom H."), ("5603", "reza.m", "رضا م.")]
LINES = ["Привет! Есть доставка в Казань?", "Is this still on sale? 😍", "قیمت این مدل چنده؟",
         "Можно оплатить при получении?", "Do you have this in XL?", "ممنون از پاسخ سریع‌تون 🙏"]


@dataclass
class DemoChannel:
    provider: str
    name: str
    path: str                                   # under the public URL
    credentials: dict = field(default_factory=dict)
    settings: dict = field(default_factory=dict)


def demo_channels(public_url: str) -> list[DemoChannel]:
    """One channel per sandbox that is installed (Resont yields one per account)."""
    found = modules()
    specs = []
    if "getloo" in found:
        specs.append(DemoChannel("getloo", "Brand Shop (Instagram)", "/sandbox/getloo",
                                 {"token": found["getloo"].DEMO_TOKEN}))
    if "resont" in found:
        specs.append(DemoChannel("resont", "", "/sandbox/resont/token/v1", {"token": found["resont"].SANDBOX_TOKEN}))
    if "socialwall" in found:
        specs.append(DemoChannel("socialwall", "Event wall", "/sandbox/socialwall", {"api_key": found["socialwall"].DEMO_API_KEY},
                                 {"wall_id": found["socialwall"].DEMO_WALL_ID}))
    if "socialposts" in found:
        specs.append(DemoChannel("socialposts", "Brand posts", "/sandbox/socialposts", {"token": found["socialposts"].DEMO_TOKEN},
                                 {"brand": found["socialposts"].DEMO_BRAND}))
    if "custom" in found:
        specs.append(DemoChannel("custom", "Shop chat (custom)", "", {},
                                 {"webhook_url": f"{public_url}/sandbox/custom/webhook/demo"}))
    return specs


class DemoError(Exception):
    pass


def seed(app: Flask) -> Iterator[str]:
    with session_scope() as session:
        for email, role, password, name in DEMO_USERS:
            if session.scalars(select(User).where(func.lower(User.email) == email)).first() is None:
                user = User(email=email, role=role, name=name)
                user.set_password(password)
                session.add(user)
    yield from (f"  {role.value:<10} {email} / {password}" for email, role, password, _ in DEMO_USERS)
    public_url = app.config["PUBLIC_URL"]
    for spec in demo_channels(public_url):
        channels, new = _ensure(spec, public_url)
        for channel_id in channels:
            workers.enqueue_channel_setup(channel_id)   # sandboxes keep state in memory: register again
        yield f"  channel    {spec.provider}: {len(channels)} channel(s){' (new)' if new else ''}"
        if spec.provider == "getloo":
            yield from _getloo_traffic(public_url, spec, channels[0])
        if spec.provider == "custom":
            yield from _custom_traffic(public_url, channels[0], new)


def _ensure(spec: DemoChannel, public_url: str) -> tuple[list[int], bool]:
    base_url = f"{public_url}{spec.path}" if spec.path else None
    with session_scope() as session:
        query = select(Channel.id).where(Channel.provider == spec.provider, Channel.status != ChannelStatus.DISABLED)
        if base_url:
            query = query.where(Channel.base_url == base_url)
        existing = list(session.scalars(query))
        if existing:
            return existing, False
        try:
            channels = connect_channel(session, provider=spec.provider, name=spec.name or None, base_url=base_url,
                                       credentials=spec.credentials, settings=spec.settings, public_url=public_url)
        except ConnectError as exc:
            raise DemoError(f"Could not connect the demo {spec.provider} channel: {exc.message}. "
                            "Is the app serving with INBOX_DEMO=1? (make run does both.)") from exc
        return [c.id for c in channels], True


def _getloo_traffic(public_url: str, spec: DemoChannel, channel_id: int) -> Iterator[str]:
    from . import getloo

    base_url = f"{public_url}{spec.path}"
    with session_scope() as session:
        webhook_url = session.get(Channel, channel_id).webhook_url
        has_tickets = session.scalar(select(func.count()).select_from(Ticket).filter_by(channel_id=channel_id))
    connector = build("getloo", base_url, spec.credentials, {})
    deadline = time.monotonic() + 30
    while connector.get_webhook() != webhook_url:
        if time.monotonic() > deadline:
            raise DemoError("The worker did not register the demo webhook within 30 s: is it running?")
        time.sleep(0.3)
    if has_tickets:
        return
    with httpx.Client(timeout=10) as client:
        for kind, user_id, username, name, text, extra in GETLOO_TRAFFIC:
            body = {"kind": kind, "user_id": user_id, "username": username, "profile_name": name, "text": text, **extra}
            if kind == "comment":
                body["comment_id"] = uuid.uuid4().hex[:17]
            client.post(f"{base_url}/_sandbox/{getloo.DEMO_TOKEN}/incoming", json=body).raise_for_status()
    yield f"  traffic    {len(GETLOO_TRAFFIC)} Instagram messages and comments sent by webhook"


def _custom_traffic(public_url: str, channel_id: int, new: bool) -> Iterator[str]:
    from . import custom

    with session_scope() as session:
        token = crypto.decrypt_json(session.get(Channel, channel_id).credentials_encrypted)["access_token"]
    with httpx.Client(timeout=10) as client:
        client.post(f"{public_url}/sandbox/custom/_sandbox/demo/install",
                    json={"api_base": f"{public_url}/api2", "access_token": token}).raise_for_status()
    if new:
        statuses = [custom.push_ticket(f"{public_url}/api2", token, item_id, text, who)[0]
                    for item_id, text, who in custom.DEMO_TICKETS]
        yield f"  traffic    {statuses.count(201)} custom-channel tickets pushed through /api2/public"


def simulate_incoming(channel: Channel, kind: str, text: str, public_url: str) -> None:
    """Have the channel's sandbox produce one new item, through its control endpoint."""
    text = text.strip() or random.choice(LINES)
    settings, base = channel.settings, channel.base_url
    credentials = crypto.decrypt_json(channel.credentials_encrypted)
    user_id, username, name = random.choice(PEOPLE)
    if channel.provider == "getloo":
        body = {"kind": kind, "user_id": user_id, "username": username, "profile_name": name, "text": text}
        if kind == "comment":
            body["comment_id"] = uuid.uuid4().hex[:17]
        url = f"{base}/_sandbox/{credentials['token']}/incoming"
    elif channel.provider == "resont":
        root = base[:base.index("/sandbox/resont") + len("/sandbox/resont")]
        # Token-mode channels have no webhooks (Resont's docs): the item waits for the next poll.
        url, body = f"{root}/_sandbox/incoming", {"kind": kind, "account_id": settings.get("account_id"),
                                                  "text": text, "webhook": False}
    elif channel.provider == "socialwall":
        url = f"{base}/_sandbox/walls/{settings['wall_id']}/messages"
        body = {"text": text, "screen_name": username, "name": name, "network": random.choice(["instagram", "twitter"])}
    elif channel.provider == "socialposts":
        url, body = f"{base}/_sandbox/brands/{settings['brand']}/failures", {"caption": text,
                                                                             "failure": "Facebook page token expired"}
    elif channel.provider == "custom":
        url = f"{public_url}/sandbox/custom/_sandbox/demo/push"
        body = {"message": text, "interactor": name}
    else:
        raise ValueError(f"no sandbox for {channel.provider}")
    response = httpx.post(url, json=body, timeout=10)
    if response.status_code >= 400:
        raise ValueError(f"the sandbox answered {response.status_code}: {response.text[:200]}")
    if connector_class(channel.provider).polled:
        workers.enqueue_poll(channel.id)     # show it now rather than at the next scheduled poll


def tick(public_url: str) -> str:
    """Scheduled in demo mode: one new item on a random demo channel, so the queue stays alive."""
    with session_scope() as session:
        channels = [c for c in session.scalars(select(Channel).where(Channel.status == ChannelStatus.ACTIVE))
                    if "/sandbox/" in c.base_url or c.provider == "custom"]
        if not channels:
            return "no demo channels"
        channel = random.choice(channels)
    try:   # outside the transaction: the sandbox calls our webhook back
        simulate_incoming(channel, random.choice(["message", "comment"]), "", public_url)
    except (ValueError, KeyError, httpx.HTTPError) as exc:
        return f"{channel.provider}: {exc}"
    return f"{channel.provider}: one new item"
