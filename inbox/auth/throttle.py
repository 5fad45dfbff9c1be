"""Login throttling in Redis, so it holds across every web process.

Failures are counted per (account, address) pair. After a few, that pair waits before its next try,
twice as long after each further failure, up to a cap: an attacker guessing one account from one
address slows to a crawl, while the account's owner at another address is never locked out, and
nobody else behind the attacker's address is either. A much looser per-address ceiling only stops
one address spraying many accounts; it is high enough that a shared office address is not locked
out by a few mistyped passwords.

Throttling protects login; it must not be able to break it. When Redis cannot be reached the
throttle logs a warning and lets the attempt through (the password check still applies).
"""
from __future__ import annotations

import hashlib
import ipaddress
import logging
from collections.abc import Callable
from functools import wraps
from typing import TypeVar

from flask import current_app
from redis.exceptions import RedisError

import workers

log = logging.getLogger(__name__)
T = TypeVar("T")


def _address(ip: str) -> str:
    """The unit one client controls: an IPv4 address, or an IPv6 /64 (a host picks any address in
    its /64 freely, so counting single IPv6 addresses would count nothing)."""
    try:
        parsed = ipaddress.ip_address(ip)
    except ValueError:
        return ip[:64]
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


def _pair(email: str, address: str) -> str:
    # Hashed: an e-mail typed into the form is arbitrary text, and keys stay short.
    return hashlib.sha256(f"{email.strip().lower()}\0{address}".encode(errors="surrogatepass")).hexdigest()


def _keys(email: str, ip: str) -> tuple[str, str, str]:
    address = _address(ip)
    pair = _pair(email, address)
    return f"inbox:login:fails:{pair}", f"inbox:login:wait:{pair}", f"inbox:login:address:{address}"


def _without_redis(fallback: T) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Run without throttling when Redis is down: log it and answer ``fallback``."""
    def decorator(function: Callable[..., T]) -> Callable[..., T]:
        @wraps(function)
        def wrapped(*args, **kwargs) -> T:
            try:
                return function(*args, **kwargs)
            except (RedisError, OSError) as exc:   # redis-py's errors, and socket errors under them
                log.warning("login throttle unavailable, letting the attempt through: %s", exc)
                return fallback
        return wrapped
    return decorator


def delay_after(failures: int) -> int:
    """Seconds a pair waits after its ``failures``-th failure in a row: none for the first few,
    then 2^failures, capped."""
    config = current_app.config
    if failures < config["LOGIN_FREE_FAILURES"]:
        return 0
    return min(2 ** min(failures, 30), config["LOGIN_MAX_DELAY_SECONDS"])


@_without_redis(0)
def blocked_for(email: str, ip: str) -> int:
    """Seconds until this pair may try again; 0 when it may now."""
    conn = workers.connection()
    _fails, wait_key, address_key = _keys(email, ip)
    wait = int(conn.ttl(wait_key))
    if int(conn.get(address_key) or 0) >= current_app.config["LOGIN_ADDRESS_MAX_FAILURES"]:
        wait = max(wait, int(conn.ttl(address_key)))
    return max(wait, 0)


@_without_redis(0)
def record_failure(email: str, ip: str) -> int:
    """Count a failed attempt; the seconds this pair must now wait."""
    conn, config = workers.connection(), current_app.config
    fails_key, wait_key, address_key = _keys(email, ip)
    pipe = conn.pipeline()
    pipe.incr(fails_key)
    pipe.expire(fails_key, config["LOGIN_FAILURE_MEMORY_SECONDS"])
    # SET NX EX starts the address window once; INCR keeps its TTL (EXPIRE NX needs Redis 7).
    pipe.set(address_key, 0, ex=config["LOGIN_WINDOW_SECONDS"], nx=True)
    pipe.incr(address_key)
    failures = int(pipe.execute()[0])
    wait = delay_after(failures)
    if wait:
        conn.set(wait_key, failures, ex=wait)
    return wait


@_without_redis(None)
def clear(email: str, ip: str) -> None:
    """A successful login forgets the pair's failures."""
    fails_key, wait_key, _unused = _keys(email, ip)
    workers.connection().delete(fails_key, wait_key)
