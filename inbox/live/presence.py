"""Presence: who is viewing or replying to a ticket, kept in Redis with an expiry.

Why Redis and expiry: presence is a few seconds' truth shared by every web process; a browser that
goes away without a word (a closed laptop, a lost network) must disappear by itself. Each ticket
has a sorted set ``presence:<ticket id>`` whose members are ``<user id>:<state>`` and whose score
is the moment the entry expires; the key itself expires soon after its last heartbeat, so an
abandoned ticket leaves nothing behind. Reading is ``ZRANGEBYSCORE now +inf`` (for a page's rows, in one script
call): expired entries are simply not read (and are trimmed by the next heartbeat).

Redis down: presence is absent (reads answer nothing, writes are dropped and logged); the page works.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Iterable

from flask import current_app
from redis import RedisError

import workers

log = logging.getLogger(__name__)

STATES = ("viewing", "replying")
KEY = "presence:{}"


@dataclass(frozen=True)
class Here:
    user_id: int
    state: str      # "viewing" or "replying"


def ttl_seconds() -> float:
    """How long one heartbeat keeps a user present: a bit more than two heartbeats, so one late or
    lost heartbeat does not make them flicker away."""
    return float(current_app.config.get("PRESENCE_TTL_SECONDS", 25))


def heartbeat(ticket_id: int, user_id: int, state: str) -> bool:
    """``user_id`` is on ``ticket_id`` in ``state`` (replaces their other state). False: Redis is down."""
    assert state in STATES
    now, ttl = time.time(), ttl_seconds()
    key = KEY.format(ticket_id)
    try:
        pipe = workers.connection().pipeline(transaction=True)
        pipe.zremrangebyscore(key, "-inf", now)
        pipe.zrem(key, *(f"{user_id}:{s}" for s in STATES if s != state))
        pipe.zadd(key, {f"{user_id}:{state}": now + ttl})
        pipe.expire(key, int(ttl) + 5)
        pipe.execute()
        return True
    except (RedisError, OSError) as exc:
        log.warning("presence unavailable (heartbeat dropped): %s", exc)
        return False


def leave(ticket_id: int, user_id: int) -> bool:
    """``user_id`` left ``ticket_id`` (closed it, opened another, or the page went away)."""
    try:
        workers.connection().zrem(KEY.format(ticket_id), *(f"{user_id}:{s}" for s in STATES))
        return True
    except (RedisError, OSError) as exc:
        log.warning("presence unavailable (leave dropped): %s", exc)
        return False


# Every key's live entries in ONE command: a pipeline of 50 ZRANGEBYSCOREs cost more in redis-py's
# packing and parsing than in Redis (measured: tests/bench/test_live_poll_bench.py); the script
# answers only the tickets someone is on, as [index, members, index, members, ...].
_READ_SCRIPT = """
local found = {}
for i, key in ipairs(KEYS) do
  local members = redis.call('ZRANGEBYSCORE', key, ARGV[1], '+inf')
  if #members > 0 then
    table.insert(found, i)
    table.insert(found, members)
  end
end
return found
"""
_scripts: dict[int, object] = {}


def _read_script(connection):
    script = _scripts.get(id(connection))
    if script is None:
        script = _scripts[id(connection)] = connection.register_script(_READ_SCRIPT)
    return script


def read(ticket_ids: Iterable[int]) -> dict[int, list[Here]]:
    """Who is on each ticket now, for many tickets in ONE Redis round trip (a server-side script).
    A user in both states (two tabs) counts as replying. Redis down: nobody (an empty answer)."""
    ids = list(dict.fromkeys(ticket_ids))
    if not ids:
        return {}
    try:
        connection = workers.connection()
        answer = _read_script(connection)(keys=[KEY.format(t) for t in ids], args=[time.time()],
                                          client=connection)
    except (RedisError, OSError) as exc:
        log.warning("presence unavailable (read as nobody): %s", exc)
        return {}
    found: dict[int, list[Here]] = {}
    for index, members in zip(answer[::2], answer[1::2]):
        states: dict[int, str] = {}
        for member in members:
            user, _, state = (member.decode() if isinstance(member, bytes) else member).partition(":")
            if user.isdigit() and state in STATES and states.get(int(user)) != "replying":
                states[int(user)] = state
        if states:
            found[ids[int(index) - 1]] = [Here(u, s) for u, s in sorted(states.items())]
    return found
