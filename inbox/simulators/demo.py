"""The demo: users, a channel on each built-in sandbox, and traffic that arrives by real webhook."""
from __future__ import annotations

import random
import time
import uuid
from collections.abc import Iterator

import httpx
from flask import Flask
from sqlalchemy import func, select

import workers
from inbox.connectors import build
from inbox.db import session_scope
from inbox.settings.channels import ConnectError, connect_channel
from models import Channel, Role, Ticket, User

from . import getloo

DEMO_USERS = [
    ("admin@demo.test", Role.ADMIN, "demo-admin", "Ada Admin"),
    ("supervisor@demo.test", Role.SUPERVISOR, "demo-supervisor", "Sam Supervisor"),
    ("agent@demo.test", Role.AGENT, "demo-agent", "Alex Agent"),
]

# (kind, user_id, username, profile name, text, extra)
DEMO_TRAFFIC = [
    ("message", "5501", "anna_petrova", "Анна Петрова", "Здравствуйте! Когда придёт мой заказ №4821?", {}),
    ("comment", "5502", "dmitry_k", "Дмитрий К.", "Отличная коллекция! 🔥 Сколько стоит куртка?", {}),
    ("message", "5503", "mike.designs", "Mike Lee", "Hi! Do you ship to Canada? 🇨🇦", {}),
    ("comment", "5504", "jess_travels", "Jess", "Love this! Is the blue one still available?", {}),
    ("message", "5505", "sara.rahimi", "سارا رحیمی", "سلام، این کفش سایز ۳۸ موجود است؟",
     {"type": "image", "href": "https://files.getloo.ru/ig/demo/shoe.jpg"}),
    ("message", "5501", "anna_petrova", "Анна Петрова", "И можно ли поменять адрес доставки?", {}),
]
RANDOM_PEOPLE = [("5601", "olga.s", "Ольга С."), ("5602", "tom_h", "Tom H."), ("5603", "reza.m", "رضا م.")]


class DemoError(Exception):
    pass


def seed(app: Flask) -> Iterator[str]:
    with session_scope() as session:
        for email, role, password, name in DEMO_USERS:
            user = session.scalars(select(User).where(func.lower(User.email) == email)).first()
            if user is None:
                user = User(email=email, role=role, name=name)
                user.set_password(password)
                session.add(user)
    yield from (f"  {role.value:<10} {email} / {password}" for email, role, password, _ in DEMO_USERS)

    public_url = app.config["PUBLIC_URL"]
    base_url = f"{public_url}/sandbox/getloo"
    with session_scope() as session:
        channel = session.scalars(select(Channel).filter_by(provider="getloo", base_url=base_url)).first()
        if channel is None:
            try:
                channel = connect_channel(session, provider="getloo", name="Brand Shop (Instagram)",
                                          base_url=base_url, credentials={"token": getloo.DEMO_TOKEN},
                                          settings={}, public_url=public_url)[0]
            except ConnectError as exc:
                raise DemoError(f"Could not connect the demo channel at {base_url}: {exc.message}. "
                                "Is the app serving with INBOX_DEMO=1? (make run does both.)") from exc
        channel_id, webhook_url = channel.id, channel.webhook_url
        has_tickets = session.scalar(select(func.count()).select_from(Ticket).filter_by(channel_id=channel_id))
    # The sandbox keeps its state in memory, so register the webhook again on every start.
    workers.enqueue_channel_setup(channel_id)
    connector = build("getloo", base_url, {"token": getloo.DEMO_TOKEN}, {})
    deadline = time.monotonic() + 30
    while connector.get_webhook() != webhook_url:
        if time.monotonic() > deadline:
            raise DemoError("The worker did not register the demo webhook within 30 s: is it running?")
        time.sleep(0.3)
    yield "  channel    Brand Shop (Instagram) via the Getloo sandbox, webhook registered"
    if not has_tickets:
        with httpx.Client(timeout=10) as client:
            for kind, user_id, username, name, text, extra in DEMO_TRAFFIC:
                body = {"kind": kind, "user_id": user_id, "username": username, "profile_name": name,
                        "text": text, **extra}
                if kind == "comment":
                    body["comment_id"] = uuid.uuid4().hex[:17]
                client.post(f"{base_url}/_sandbox/{getloo.DEMO_TOKEN}/incoming", json=body).raise_for_status()
        yield f"  traffic    {len(DEMO_TRAFFIC)} messages and comments sent by webhook"


def simulate_incoming(provider: str, credentials: dict, kind: str, text: str) -> dict:
    """Have the in-process sandbox send one message or comment from a random person."""
    if provider != "getloo":
        raise ValueError(f"no sandbox for {provider}")
    if kind not in ("message", "comment"):
        raise ValueError("kind must be message or comment")
    user_id, username, name = random.choice(RANDOM_PEOPLE)
    text = text.strip() or random.choice(["Привет! Есть доставка в Казань?", "Is this still on sale?",
                                          "قیمت این مدل چنده؟ 😍"])
    if kind == "comment":
        return getloo.SANDBOX.emit_comment(credentials["token"], user_id=user_id, comment_id=uuid.uuid4().hex[:17],
                                           username=username, profile_name=name, text=text)
    return getloo.SANDBOX.emit_message(credentials["token"], user_id=user_id, username=username,
                                       profile_name=name, text=text)
