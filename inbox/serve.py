"""``make run`` (``python -m inbox.serve``): the embedded default in one command.

Starts the embedded Redis unless REDIS_URL is set (this process owns it), migrates, then runs
an RQ worker (with its cron) and gunicorn with WEB_CONCURRENCY workers (default 2) as child
processes; with INBOX_DEMO=1 also the provider sandboxes as their own process on SANDBOX_PORT
(default PORT + 1), then seeds the demo through the inbox's public paths. Ctrl-C or SIGTERM stops
every child and the embedded Redis. Production runs the same pieces separately (see the README).

This module never imports the web app (``app.py``): it starts it through gunicorn and the
``flask`` command line, so the app's import graph never reaches the supervisor. One ``make run``
per instance folder: a second one finds the lock (``instance/serve.lock``) taken and says so.
"""
from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from inbox import redisconn

ROOT = Path(__file__).resolve().parent.parent
STOP_TIMEOUT = 10.0


class AlreadyRunning(SystemExit):
    pass


def instance_path() -> Path:
    """Where app.py keeps the instance (same rule: INBOX_INSTANCE_PATH, else ./instance)."""
    return Path(os.environ.get("INBOX_INSTANCE_PATH") or ROOT / "instance")


def take_lock(instance: Path):
    """Hold ``instance/serve.lock`` for this process's life (the kernel drops it when we die)."""
    instance.mkdir(mode=0o700, parents=True, exist_ok=True)    # private, as app.py makes it
    handle = open(instance / "serve.lock", "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        pid = handle.read().strip() or "?"
        raise AlreadyRunning(f"make run is already running for {instance} (pid {pid}); stop it first "
                             "(Ctrl-C in its terminal) or use another INBOX_INSTANCE_PATH.") from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return handle


class Supervisor:
    """The children, each in its own process group so that stopping one stops all it started
    (gunicorn's workers, the worker's work horses and its cron)."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.children: list[subprocess.Popen] = []

    def start(self, *args: str) -> subprocess.Popen:
        child = subprocess.Popen([sys.executable, *args], cwd=ROOT, env=self.env, start_new_session=True)
        self.children.append(child)
        return child

    def run(self, *args: str, timeout: float = 300) -> int:
        """A short task (migrations, seeding) in the foreground; stopped with the rest if we are."""
        child = self.start(*args)
        code = child.wait(timeout=timeout)
        self.children.remove(child)
        return code

    def stop(self) -> None:
        for child in self.children:
            _signal_group(child, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        for child in self.children:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            _signal_group(child, signal.SIGKILL)     # whatever is left of its group (a work horse, cron)
            child.wait()
        self.children.clear()


def _signal_group(child: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(child.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _wait_for(url: str, child: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and child.poll() is None:
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit(f"Nothing answered at {url}")


def _stop_on_signals() -> None:
    """SIGTERM behaves like Ctrl-C: unwind through ``finally`` and stop everything."""
    def interrupt(signum, _frame):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGINT, interrupt)


def main() -> int:
    instance = instance_path()
    try:
        lock = take_lock(instance)
    except AlreadyRunning as exc:
        print(exc, file=sys.stderr)
        return 1
    _stop_on_signals()
    env = dict(os.environ, INBOX_INSTANCE_PATH=str(instance))
    port = int(env.get("PORT", "5000"))
    demo = env.get("INBOX_DEMO", "0") == "1"
    sandbox_port = int(env.get("SANDBOX_PORT") or port + 1)
    env.update(PORT=str(port), SANDBOX_PORT=str(sandbox_port))
    supervisor = Supervisor(env)
    owns_redis = not env.get("REDIS_URL")
    try:
        if owns_redis:
            if redisconn.running_socket(instance):
                print(f"An embedded Redis is already running for {instance}: joining it (not stopping it).")
                env["REDIS_URL"] = redisconn.embedded_url(instance)
                owns_redis = False
            else:
                env["REDIS_URL"] = f"unix://{redisconn.start_embedded(instance).socket_file}"
                print(f"Embedded Redis at {env['REDIS_URL']}", flush=True)
        if supervisor.run("-m", "flask", "--app", "app", "db", "upgrade") != 0:
            print("Migrations failed; stopping.", file=sys.stderr)
            return 1
        supervisor.start("-m", "flask", "--app", "app", "worker")
        web = supervisor.start("-m", "gunicorn", "--bind", f"127.0.0.1:{port}",
                               "--workers", env.get("WEB_CONCURRENCY", "2"), "--threads", "4",
                               "--no-control-socket", "--access-logfile", "-",
                               # tokens in query strings and webhook paths never reach the log
                               "--logger-class", "inbox.access_log.RedactingLogger", "app:create_app()")
        inbox_url, sandbox_url = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{sandbox_port}"
        if demo:
            supervisor.start("-m", "sandbox", "--port", str(sandbox_port), "--inbox-url", inbox_url, "--demo")
            # The seeding starts with the inbox's CLI, and waits for both servers before its API calls.
            if supervisor.run("-m", "sandbox", "seed", "--inbox", inbox_url, "--sandbox", sandbox_url) != 0:
                print("Demo seeding failed (see above); the inbox keeps serving.", flush=True)
        _wait_for(f"{inbox_url}/auth/login", web)
        print(f"\n  The inbox is serving on {inbox_url}/   (Ctrl-C stops everything)"
              + (f"\n  The provider sandboxes: {sandbox_url}/" if demo else "") + "\n", flush=True)
        while all(child.poll() is None for child in supervisor.children):
            time.sleep(0.5)
        print("A child process exited; stopping.", flush=True)
        return 1
    except KeyboardInterrupt:
        print("\nStopping.", flush=True)
        return 0
    finally:
        supervisor.stop()
        if owns_redis:
            redisconn.stop_embedded(instance)
        lock.close()


if __name__ == "__main__":
    sys.exit(main())
