"""The demo `make run` seeds: the sandbox is its own process, and the seeding goes through the
inbox's public paths only (its CLI, its JSON API, the providers' webhooks and polls, /api2/public)."""
from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from helpers import run_jobs
from inbox import db
from models import Channel, Message, Ticket, User
from worker_process import ROOT, kill_hard, start_worker, worker_env

PROVIDERS = {"getloo", "resont", "socialwall", "socialposts", "custom"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def sandbox_process():
    """``python -m sandbox`` on a free port: its own process, state in its own memory."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "sandbox", "--port", str(port)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            httpx.get(url, timeout=1)
            break
        except httpx.HTTPError:
            assert time.monotonic() < deadline, "the sandbox process did not start"
            time.sleep(0.1)
    yield url
    proc.terminate()
    proc.wait(timeout=10)


def seed(app, inbox: str, sandbox: str, state) -> subprocess.CompletedProcess:
    env = worker_env(app) | {"INBOX_INSTANCE_PATH": str(state.parent)}
    return subprocess.run([sys.executable, "-m", "sandbox", "seed", "--inbox", inbox, "--sandbox", sandbox,
                           "--state", str(state)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def wait_for_tickets(providers: set[str], seconds: float = 60) -> set[str]:
    deadline = time.monotonic() + seconds
    while True:
        run_jobs()                       # the polls the connect enqueued, drained here too
        with db.session_scope() as s:
            seen = {c.provider for c in s.scalars(select(Channel).join(Ticket, Ticket.channel_id == Channel.id))}
        if seen >= providers or time.monotonic() > deadline:
            return seen
        time.sleep(0.3)


def wait_for_rule(text: str, tag: str, seconds: float = 30) -> bool:
    """The ticket whose text has ``text`` was tagged ``tag`` and raised by a rule (the worker's)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with db.session_scope() as s:
            found = s.scalars(select(Ticket).join(Message).where(Message.text.contains(text))).first()
            if found is not None and found.priority and tag in {t.name for t in found.tags}:
                return True
        time.sleep(0.3)
    return False


def wait_for_message(text: str, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        run_jobs()
        with db.session_scope() as s:
            if s.scalars(select(Message.id).where(Message.text.contains(text))).first():
                return True
        time.sleep(0.3)
    return False


def test_demo_seeds_every_sandbox_through_public_paths(app, live, sandbox_process, tmp_path):
    worker = start_worker(app, "--no-cron")
    try:
        done = seed(app, live, sandbox_process, tmp_path / "demo-seed.json")
        assert done.returncode == 0, done.stdout + done.stderr
        assert "agent@demo.test / demo-agent" in done.stdout
        with db.session_scope() as s:
            assert {u.email for u in s.scalars(select(User))} >= {"admin@demo.test", "agent@demo.test"}
            channels = s.scalars(select(Channel)).all()
            assert {c.provider for c in channels} == PROVIDERS
            # Ordinary channels: a base URL at the sandbox process, nothing else marks them.
            assert all(c.base_url.startswith(sandbox_process) for c in channels if c.provider != "custom")
            assert len([c for c in channels if c.provider == "resont"]) == 3
        seen = wait_for_tickets(PROVIDERS)
        assert seen >= PROVIDERS, f"no tickets yet from {PROVIDERS - seen}"
        assert wait_for_message("Когда придёт мой заказ")        # Getloo, by webhook
        assert wait_for_message("سفارش من کی می‌رسد")            # custom, via /api2/public
        # The demo's smart rule met the demo's first items: the order question is tagged, raised.
        assert wait_for_rule("Когда придёт мой заказ", "shipping"), "the demo rule did not act"

        # Seeding again (the next `make run`) connects nothing twice. The custom channel's token is
        # shown once; with the seed's state file lost, the seed rotates it and installs the new one.
        (tmp_path / "demo-seed.json").unlink()
        again = seed(app, live, sandbox_process, tmp_path / "demo-seed.json")
        assert again.returncode == 0, again.stdout + again.stderr
        with db.session_scope() as s:
            assert len(s.scalars(select(Channel)).all()) == len(channels)

        # The one control API makes any sandbox produce an item, with no per-provider code here.
        for provider, kind in [("getloo", "message"), ("custom", "ticket"), ("socialwall", "wall_post")]:
            response = httpx.post(f"{sandbox_process}/sandbox/{provider}/_sandbox/incoming",
                                  json={"kind": kind, "text": f"Ещё один вопрос ({provider}) 🙂"}, timeout=15)
            assert response.status_code == 201, response.text
        assert wait_for_message("Ещё один вопрос (getloo)") and wait_for_message("Ещё один вопрос (custom)")
        log = httpx.get(f"{sandbox_process}/sandbox/getloo/_sandbox/requests").json()["requests"]
        assert {"getInfo", "setWebHook"} <= {r["path"] for r in log}        # what our app sent Getloo
        page = httpx.get(f"{sandbox_process}/").text
        assert "setWebHook" in page and "/sandbox/resont/token/v1" in page
    finally:
        kill_hard(worker)


def test_product_no_longer_mounts_the_sandboxes(client):
    assert client.get("/sandbox/getloo/DEMO1-AKFH5-H390S-HDRJS-Y5U43/getInfo").status_code == 404
    assert not any(rule.rule.startswith("/sandbox") for rule in client.application.url_map.iter_rules())


def test_flask_demo_creates_the_demo_users_and_says_how_to_seed(app):
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "demo"], cwd=ROOT, env=worker_env(app),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "python -m sandbox seed" in done.stdout
    with db.session_scope() as s:
        assert {u.email for u in s.scalars(select(User))} == {"admin@demo.test", "supervisor@demo.test",
                                                              "agent@demo.test"}


def test_channels_page_links_to_the_sandbox_page_only_in_the_demo(app, client, users, monkeypatch):
    from helpers import login

    login(client, "admin")
    assert "Demo: the provider sandboxes" not in client.get("/settings/channels").get_data(as_text=True)
    from inbox import config

    monkeypatch.setenv("INBOX_DEMO", "1")
    monkeypatch.setenv("PORT", "5400")
    monkeypatch.delenv("SANDBOX_PORT", raising=False)
    app.config["SANDBOX_URL"] = config.from_environment(Path(app.instance_path))["SANDBOX_URL"]
    page = client.get("/settings/channels").get_data(as_text=True)
    assert 'href="http://127.0.0.1:5401/"' in page            # SANDBOX_PORT defaults to PORT + 1
