"""`make run`'s supervisor (python -m inbox.serve), run for real in a temporary instance folder.

It must serve the product with several gunicorn workers and the sandbox as a process of its own,
own the embedded Redis alone (a joining `flask` command never stops it; a second `make run` in
the same folder refuses), and leave no process behind after SIGTERM or Ctrl-C (SIGINT).
"""
from __future__ import annotations

import fcntl
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import psutil
import pytest

from worker_process import ROOT

READY = "The inbox is serving on"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def env_for(instance: Path, port: int, demo: bool) -> dict[str, str]:
    """A fresh clone's defaults: SQLite and the embedded Redis in the instance folder."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "INBOX_PUBLIC_URL")}
    env.update(INBOX_INSTANCE_PATH=str(instance), PORT=str(port), SANDBOX_PORT=str(free_port()),
               INBOX_DEMO="1" if demo else "0", SECRET_KEY="serve-test-secret-long-enough-for-the-check")
    env.pop("WEB_CONCURRENCY", None)
    return env


class Served:
    """The supervisor's process, its output read line by line in a thread."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.proc = subprocess.Popen([sys.executable, "-m", "inbox.serve"], cwd=ROOT, env=env, text=True,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line)

    def wait_for(self, text: str, seconds: float = 90) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.5)
            except queue.Empty:
                assert self.proc.poll() is None, "".join(self.output)
                continue
            self.output.append(line)
            if text in line:
                return
        raise AssertionError(f"{text!r} not seen:\n{''.join(self.output[-40:])}")

    def tree(self) -> list[psutil.Process]:
        """Every process it started: its descendants, and the daemonized redis-server."""
        found = psutil.Process(self.proc.pid).children(recursive=True)
        settings = Path(self.env["INBOX_INSTANCE_PATH"]) / "redis.db.settings"
        pid = int(Path(json.loads(settings.read_text())["pidfile"]).read_text())
        return found + [psutil.Process(pid)]

    def stop(self, sig: int) -> int:
        self.proc.send_signal(sig)
        return self.proc.wait(timeout=40)


def alive(processes: list[psutil.Process]) -> list[str]:
    left = []
    for p in processes:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                left.append(f"{p.pid} {' '.join(p.cmdline())}")
        except psutil.NoSuchProcess:
            pass
    return left


def wait_gone(processes: list[psutil.Process], seconds: float = 10) -> list[str]:
    deadline = time.monotonic() + seconds
    while alive(processes) and time.monotonic() < deadline:
        time.sleep(0.2)
    return alive(processes)


@pytest.fixture
def started():
    running: list[Served] = []
    yield running
    for served in running:           # a failed test must not leave a server behind either
        if served.proc.poll() is None:
            tree = served.tree()
            served.stop(signal.SIGTERM)
            for p in alive(tree):
                os.kill(int(p.split()[0]), signal.SIGKILL)


def test_demo_serves_two_web_workers_and_the_sandbox_process_and_sigterm_stops_everything(tmp_path, started):
    port = free_port()
    served = Served(env_for(tmp_path, port, demo=True))
    started.append(served)
    served.wait_for(READY)
    tree = served.tree()
    commands = [" ".join(p.cmdline()) for p in tree]
    masters = [p for p in tree if "gunicorn" in " ".join(p.cmdline()) and p.ppid() == served.proc.pid]
    assert len(masters) == 1 and len(masters[0].children()) >= 2, commands
    assert any("-m sandbox --port" in c for c in commands), commands
    assert any("redis-server" in c for c in commands)
    assert httpx.get(f"http://127.0.0.1:{port}/auth/login").status_code == 200
    sandbox_url = f"http://127.0.0.1:{served.env['SANDBOX_PORT']}"
    assert "Provider sandboxes" in httpx.get(f"{sandbox_url}/").text
    # The demo was seeded through the product's API: the sandbox saw our calls.
    log = httpx.get(f"{sandbox_url}/sandbox/getloo/_sandbox/requests").json()["requests"]
    assert "setWebHook" in {r["path"] for r in log}

    # A second `make run` in the same folder refuses, and says why.
    second = subprocess.run([sys.executable, "-m", "inbox.serve"], cwd=ROOT, capture_output=True, text=True,
                            env=env_for(tmp_path, free_port(), demo=True), timeout=60)
    assert second.returncode == 1 and "already running" in second.stderr
    # A `flask` command joining the embedded Redis (no REDIS_URL) ends without stopping it.
    joined = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "sweep"], cwd=ROOT, timeout=60,
                            env=env_for(tmp_path, port, demo=False), capture_output=True, text=True)
    assert joined.returncode == 0, joined.stderr
    time.sleep(0.5)
    assert alive(tree[-1:]), "the joining command stopped the embedded Redis"
    assert httpx.get(f"http://127.0.0.1:{port}/auth/login").status_code == 200

    assert served.stop(signal.SIGTERM) == 0
    assert wait_gone(tree) == []


def test_ctrl_c_stops_everything(tmp_path, started):
    port = free_port()
    served = Served(env_for(tmp_path, port, demo=False))
    started.append(served)
    served.wait_for(READY)
    tree = served.tree()
    assert not any("-m sandbox" in " ".join(p.cmdline()) for p in tree)     # no demo: no sandbox
    assert served.stop(signal.SIGINT) == 0
    assert wait_gone(tree) == []
    with open(tmp_path / "serve.lock", "a") as lock:      # the folder is free for the next `make run`
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)


def test_the_access_log_never_shows_tokens(tmp_path, started):
    """An integration's ``?accesstoken=`` and a provider's webhook token reach gunicorn's access
    log as ``[redacted]``: whoever reads the logs cannot push tickets or forge webhooks."""
    port = free_port()
    served = Served(env_for(tmp_path, port, demo=False))
    started.append(served)
    served.wait_for(READY)
    base = f"http://127.0.0.1:{port}"
    assert httpx.get(f"{base}/api2/public", params={"accesstoken": "leaked-access-token"}).status_code == 401
    assert httpx.post(f"{base}/webhooks/getloo/leaked-webhook-token", json={}).status_code == 404
    served.wait_for("/webhooks/getloo/[redacted]")
    assert any("/api2/public?accesstoken=[redacted]" in line for line in served.output), "".join(served.output)
    assert not [line for line in served.output if "leaked-" in line]
    assert served.stop(signal.SIGTERM) == 0
