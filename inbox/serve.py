"""``python app.py`` / ``make run``: the embedded default in one command.

Starts (or joins) the embedded Redis unless REDIS_URL is set, migrates, then runs an RQ worker
and gunicorn as child processes, seeds the demo when INBOX_DEMO=1, and stops everything on
Ctrl-C. Production runs the same pieces separately (see the README).
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx


def _wait_for(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.3)
    raise SystemExit(f"The web server did not answer at {url}")


def main() -> None:
    from flask_migrate import upgrade

    from app import create_app

    app = create_app()
    env = dict(os.environ)
    if not app.config["REDIS_URL"]:
        from inbox.redisconn import embedded_url

        env["REDIS_URL"] = embedded_url(Path(app.instance_path))
        print(f"Embedded Redis at {env['REDIS_URL']}")
    with app.app_context():
        upgrade()
    port, demo = app.config["PORT"], app.config["INBOX_DEMO"]
    python = sys.executable
    children = [
        subprocess.Popen([python, "-m", "flask", "--app", "app", "worker"], env=env),
        # One process with threads in the demo: the sandboxes keep their state in memory.
        subprocess.Popen([python, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}",
                          "--workers", "1" if demo else os.environ.get("WEB_CONCURRENCY", "2"),
                          "--threads", "8", "--access-logfile", "-", "app:create_app()"], env=env),
    ]

    def stop(*_args) -> None:
        for child in children:
            if child.poll() is None:
                child.terminate()
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        _wait_for(f"http://127.0.0.1:{port}/auth/login")
        if demo:
            from inbox.simulators.demo import DemoError, seed

            print("Seeding the demo (users, a channel on every sandbox, traffic through the real paths):")
            with app.app_context():
                try:
                    for line in seed(app):
                        print(line, flush=True)
                except DemoError as exc:
                    print(f"Demo seeding failed: {exc}", flush=True)
        print(f"\n  The inbox is serving on http://127.0.0.1:{port}/   (Ctrl-C stops everything)\n", flush=True)
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        print("A child process exited; stopping.", flush=True)
    finally:
        stop()
