"""Numbers for custom folders.

A custom folder keeps any filter, so its number cannot always come from ``ticket_count``:

- when its arguments are only ones the counter rows know (status, assignee, priority, awaiting
  approval, failed sends, channel, team), it is a sum over them, exact and current, like a built-in folder;
- otherwise (a tag, a category, a kind, a sentiment, search words, mentions ...) it is counted up to
  ``CAP`` (the sidebar shows "1,000+") and the answer kept in Redis for ``TTL`` seconds per user
  and folder, so a page does not count on each request; the live updates refresh it. Without Redis
  it is left out (no number) rather than counted on every page.
"""
from __future__ import annotations

from typing import Any

from redis import RedisError
from sqlalchemy import func, literal_column, select
from sqlalchemy.orm import Session

from inbox import visibility
from models import TicketCount

from .counters import visible_rows
from .queries import FilterError, Filters, ticket_match

CAP = 1000
TTL = 15
_COUNTED = {"status", "assignee", "priority", "awaiting", "failed", "channel_id", "team"}


def _from_counters(session: Session, user: Any, args: dict[str, str]) -> int:
    c = TicketCount
    query = select(func.coalesce(func.sum(c.n), 0))
    if args.get("status"):
        query = query.where(c.status == args["status"])
    assignee = args.get("assignee")
    if assignee == "me":
        query = query.where(c.assignee_id == user.id)
    elif assignee == "none":
        query = query.where(c.assignee_id == 0)
    elif assignee:
        query = query.where(c.assignee_id == int(assignee))
    if args.get("priority") in ("1", "true", "0", "false"):
        query = query.where(c.priority.is_(args["priority"] in ("1", "true")))
    if args.get("awaiting") in ("1", "true"):
        query = query.where(c.pending.is_(True))
    if args.get("failed") in ("1", "true"):
        query = query.where(c.failed.is_(True))
    if args.get("channel_id"):
        query = query.where(c.channel_id == int(args["channel_id"]))
    if args.get("team"):
        query = query.where(c.team_id == int(args["team"]))
    return session.scalar(visibility.restrict(query, visible_rows(user))) or 0


def _capped(session: Session, user: Any, args: dict[str, str]) -> int | None:
    try:
        filters = Filters.from_args(args, me=user.id)
    except FilterError:
        return None
    matches = ticket_match(filters, viewer=user).with_only_columns(literal_column("1")).limit(CAP + 1)
    return session.scalar(select(func.count()).select_from(matches.subquery()))


def custom_counts(session: Session, user: Any, folders) -> dict[int, int | None]:
    """``{folder id: number}``; None when it could not be counted now."""
    numbers: dict[int, int | None] = {}
    slow = []
    for folder in folders:
        args = {str(k): str(v) for k, v in (folder.args or {}).items()}
        if set(args) <= _COUNTED:
            numbers[folder.id] = _from_counters(session, user, args)
        else:
            slow.append((folder, args))
    if not slow:
        return numbers
    import workers

    try:
        redis = workers.connection()
        keys = [f"folder-count:{user.id}:{f.id}:{f.updated_at.timestamp() if f.updated_at else 0}" for f, _ in slow]
        cached = redis.mget(keys)
    except (RedisError, RuntimeError):
        return numbers
    fresh = {}
    for (folder, args), key, value in zip(slow, keys, cached):
        if value is not None:
            numbers[folder.id] = int(value)
            continue
        numbers[folder.id] = _capped(session, user, args)
        if numbers[folder.id] is not None:
            fresh[key] = numbers[folder.id]
    if fresh:
        try:
            pipe = redis.pipeline()
            for key, value in fresh.items():
                pipe.set(key, value, ex=TTL)
            pipe.execute()
        except RedisError:
            pass
    return numbers
