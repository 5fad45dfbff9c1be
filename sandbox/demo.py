"""Seed the demo through the inbox's public paths only, as a new admin would.

``python -m sandbox seed --inbox URL --sandbox URL`` (``make run`` runs it when INBOX_DEMO=1):

1. the inbox's command line creates the demo users and an API token for the admin (``flask --app
   app demo``, which runs ``users create`` for each, and ``tokens create``, in the inbox's folder);
2. its JSON API connects a channel on every sandbox (``POST /api/v1/channels``; a Resont login
   yields one channel per account);
3. traffic arrives the way it does in production: Getloo DMs and comments by webhook, Resont,
   SocialWall and social posts by the inbox's polls of the sandboxes' seeded data, custom tickets
   pushed to ``/api2/public`` by the example integration.

Run again (every ``make run``), it connects nothing twice. The sandboxes keep their state in
memory, so it registers the Getloo webhook again (Getloo's documented ``setWebHook``) and installs
the example integration again with the custom channel's access token, which it keeps in
``demo-seed.json`` in the instance folder, as an integration keeps its configuration.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx

from . import custom, getloo, resont, socialposts, socialwall

ROOT = Path(__file__).resolve().parent.parent          # the inbox's folder: `flask --app app` runs there
# What `flask demo` creates (printed for the person at the terminal).
DEMO_USERS = [
    ("admin@demo.test", "admin", "demo-admin", "Ada Admin"),
    ("supervisor@demo.test", "supervisor", "demo-supervisor", "Sam Supervisor"),
    ("agent@demo.test", "agent", "demo-agent", "Alex Agent"),
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
CUSTOM_KEY = "demo"
TIMEOUT = 15.0
# Smart rules to start from, made before the traffic so that the demo's first items meet them.
DEMO_KEYWORDS = ("Shipping questions", ["доставка", "доставки", "заказ", "ship", "shipping", "delivery",
                                        "ارسال", "سفارش"])
DEMO_TAG = "shipping"


class DemoError(Exception):
    """The seeding cannot go on; the message says what to do."""


def flask_cli(*args: str) -> str:
    """Run the inbox's command line in its folder (same environment: same database and Redis)."""
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "app", *args], cwd=ROOT, env=dict(os.environ),
                          capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise DemoError(f"`flask {' '.join(args[:2])}` failed: {done.stderr.strip()[-500:]}")
    return done.stdout


def demo_channels(sandbox_url: str) -> list[dict]:
    """The ``POST /api/v1/channels`` bodies: one per sandbox (the custom one points its webhook at the
    example integration)."""
    bodies = [body for module in (getloo, resont, socialwall, socialposts)
              for body in module.SANDBOX.demo_channel(sandbox_url)]
    bodies.append({"provider": "custom", "name": "Shop chat (custom)",
                   "settings": {"webhook_url": f"{sandbox_url}{custom.SANDBOX.prefix}/webhook/{CUSTOM_KEY}"}})
    return bodies


def seed(inbox: str, sandbox_url: str, state_file: Path) -> Iterator[str]:
    """Yields a line per step, for the terminal of ``make run``."""
    inbox, sandbox_url = inbox.rstrip("/"), sandbox_url.rstrip("/")
    flask_cli("demo")         # the demo users (`users create` for each), in one start of the inbox's CLI
    yield from (f"  {role:<10} {email} / {password}" for email, role, password, _name in DEMO_USERS)
    token = flask_cli("tokens", "create", DEMO_USERS[0][0], "--name", "demo-seed").strip().splitlines()[-1]
    for url in (f"{inbox}/auth/login", f"{sandbox_url}/"):   # `make run` starts us while they boot
        _wait_until_up(url)
    state = json.loads(state_file.read_text()) if state_file.exists() else {}
    with httpx.Client(base_url=inbox, headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT) as api:
        yield from _rules(api)
        existing = _get(api, "/api/v1/channels")["data"]
        for body in demo_channels(sandbox_url):
            channels, new = _ensure(api, body, existing)
            yield f"  channel    {body['provider']}: {len(channels)} channel(s){' (new)' if new else ''}"
            if body["provider"] == "getloo":
                yield from _getloo_traffic(api, body, channels[0], new)
            elif body["provider"] == "custom":
                if new or not state.get("custom_access_token"):
                    # The token is shown once (at creation); an operator who lost it rotates it.
                    state["custom_access_token"] = channels[0]["access_token"] if new else _rotate_token(
                        api, channels[0]["id"])
                    state_file.parent.mkdir(parents=True, exist_ok=True)
                    state_file.write_text(json.dumps(state))
                    state_file.chmod(0o600)       # it holds the integration's access token
                token = state["custom_access_token"]
                yield from _custom_traffic(inbox, sandbox_url, token, new)


def _wait_until_up(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.HTTPError as exc:
            if time.monotonic() > deadline:
                raise DemoError(f"Nothing answers at {url}") from exc
            time.sleep(0.2)


def _get(api: httpx.Client, path: str, **params) -> dict:
    response = api.get(path, params=params)
    if response.status_code != 200:
        raise DemoError(f"GET {path} answered {response.status_code}: {response.text[:300]}")
    return response.json()


def _ensure(api: httpx.Client, body: dict, existing: list[dict]) -> tuple[list[dict], bool]:
    """The channels already connected for this body, else connect them now."""
    same = [c for c in existing if c["provider"] == body["provider"] and c.get("status") != "disabled"
            and (c.get("base_url") == body.get("base_url") if body.get("base_url") else True)]
    if same:
        return same, False
    response = api.post("/api/v1/channels", json=body)
    if response.status_code != 201:
        raise DemoError(f"Could not connect the demo {body['provider']} channel: {response.status_code} "
                        f"{response.text[:300]}. Is the sandbox serving at {body.get('base_url')}?")
    data = response.json()
    return data.get("data", [data]), True


def _rules(api: httpx.Client) -> Iterator[str]:
    """A keyword list and two rules, as an admin would write them (once: found again by name)."""
    if _get(api, "/api/v1/rules")["data"]:
        return
    name, keywords = DEMO_KEYWORDS
    lists = {k["name"]: k for k in _get(api, "/api/v1/keyword-lists")["data"]}
    keyword_list = lists.get(name) or _created(api, "/api/v1/keyword-lists", {"name": name, "keywords": keywords})
    tags = {t["name"]: t for t in _get(api, "/api/v1/tags")["data"]}
    tag = tags.get(DEMO_TAG) or _created(api, "/api/v1/tags", {"name": DEMO_TAG})
    _created(api, "/api/v1/rules", {
        "name": "Shipping questions", "description": "Tag them and raise their priority.",
        "active": True, "weight": 10, "trigger": "ticket_creation", "entity": "ticket",
        "conditions": [{"condition": "message_has_keyword", "config": {"keywordList": keyword_list["id"]}}],
        "actions": [{"action": "add_tags", "config": {"tagIds": [tag["id"]]}},
                    {"action": "mark_as_priority", "config": {}}]})
    _created(api, "/api/v1/rules", {
        "name": "Unhappy customers", "description": "A note for whoever answers a negative message.",
        "active": True, "weight": 20, "trigger": "message_received", "entity": "ticket", "match": "any",
        "conditions": [{"condition": "message_sentiment", "config": {"sentiments": ["NEGATIVE"]}}],
        "actions": [{"action": "add_note", "config": {"text": "The customer sounds unhappy: answer first."}},
                    {"action": "sentiment", "config": {"sentiment": "NEGATIVE"}}]})
    yield "  rules      2 smart rules and a keyword list (Settings → Rules)"


def _created(api: httpx.Client, path: str, body: dict) -> dict:
    response = api.post(path, json=body)
    if response.status_code != 201:
        raise DemoError(f"POST {path} answered {response.status_code}: {response.text[:300]}")
    data = response.json()
    return data.get("data", data)


def _getloo_traffic(api: httpx.Client, body: dict, channel: dict, new: bool) -> Iterator[str]:
    """The worker registers our webhook with Getloo when the channel is connected; on a restart the
    sandbox forgot it, so register it again with Getloo's documented call."""
    base, token = body["base_url"], body["credentials"]["token"]
    with httpx.Client(timeout=TIMEOUT) as network:
        if not new:
            network.post(f"{base}/{token}/setWebHook", json={"url": channel["webhook_url"]}).raise_for_status()
        deadline = time.monotonic() + 30
        while network.get(f"{base}/{token}/getWebHook").json()["channel"]["webhook"] != channel["webhook_url"]:
            if time.monotonic() > deadline:
                raise DemoError("The worker did not register the demo webhook within 30 s: is it running?")
            time.sleep(0.3)
        if _get(api, "/api/v1/tickets", channel_id=channel["id"], limit=1)["data"]:
            return
        for kind, user_id, username, name, text, extra in GETLOO_TRAFFIC:
            item = {"kind": kind, "user_id": user_id, "username": username, "profile_name": name, "text": text,
                    "token": token, **extra}
            if kind == "comment":
                item["comment_id"] = uuid.uuid4().hex[:17]
            network.post(f"{base}/_sandbox/incoming", json=item).raise_for_status()
    yield f"  traffic    {len(GETLOO_TRAFFIC)} Instagram messages and comments sent by webhook"


def _rotate_token(api: httpx.Client, channel_id: int) -> str:
    response = api.post(f"/api/v1/channels/{channel_id}/rotate", json={"secrets": ["access_token"]})
    response.raise_for_status()
    return response.json()["access_token"]


def _custom_traffic(inbox: str, sandbox_url: str, access_token: str, new: bool) -> Iterator[str]:
    """Install the example integration with the channel's token; push the demo tickets once."""
    control = f"{sandbox_url}{custom.SANDBOX.prefix}/_sandbox"
    with httpx.Client(timeout=TIMEOUT) as integration:
        integration.post(f"{control}/{CUSTOM_KEY}/install",
                         json={"api_base": f"{inbox}/api2", "access_token": access_token}).raise_for_status()
        if new:
            statuses = [integration.post(f"{control}/incoming", json={
                "kind": "ticket", "key": CUSTOM_KEY, "network_item_id": item_id, "text": text,
                "interactor": who}).status_code for item_id, text, who in custom.DEMO_TICKETS]
            yield f"  traffic    {statuses.count(201)} custom-channel tickets pushed through /api2/public"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox seed", description=__doc__.splitlines()[0])
    parser.add_argument("--inbox", required=True, help="the inbox's URL, e.g. http://127.0.0.1:5000")
    parser.add_argument("--sandbox", required=True, help="the sandbox app's URL, e.g. http://127.0.0.1:5001")
    parser.add_argument("--state", type=Path, default=Path(os.environ.get("INBOX_INSTANCE_PATH") or ROOT / "instance")
                        / "demo-seed.json", help="where the seed keeps the custom channel's access token")
    args = parser.parse_args(argv)
    print("Seeding the demo through the inbox's command line, API and the providers' webhooks:", flush=True)
    try:
        for line in seed(args.inbox, args.sandbox, args.state):
            print(line, flush=True)
    except (DemoError, httpx.HTTPError) as exc:
        print(f"Demo seeding failed: {exc}", file=sys.stderr, flush=True)
        return 1
    return 0
