"""Login throttling in Redis, so it holds across every web process."""
from __future__ import annotations

from flask import current_app

import workers


def _keys(email: str, ip: str) -> list[str]:
    return [f"inbox:login-fail:email:{email.lower()}", f"inbox:login-fail:ip:{ip}"]


def blocked_for(email: str, ip: str) -> int:
    """Seconds until another try is allowed; 0 when not blocked."""
    conn, limit = workers.connection(), current_app.config["LOGIN_MAX_FAILURES"]
    for key in _keys(email, ip):
        count = int(conn.get(key) or 0)
        # The per-address limit is looser: several people may share an office's address.
        if count >= (limit if "email" in key else limit * 4):
            return max(int(conn.ttl(key)), 1)
    return 0


def record_failure(email: str, ip: str) -> None:
    conn, window = workers.connection(), current_app.config["LOGIN_WINDOW_SECONDS"]
    pipe = conn.pipeline()
    for key in _keys(email, ip):
        # SET NX EX starts the window once; INCR keeps the TTL (EXPIRE NX needs Redis 7).
        pipe.set(key, 0, ex=window, nx=True)
        pipe.incr(key)
    pipe.execute()


def clear(email: str) -> None:
    workers.connection().delete(_keys(email, "")[0])
