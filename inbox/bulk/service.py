"""Starting a bulk job: what may be asked, checked once before anything is saved.

Why checks here as well as per ticket: a bad request (an unknown action, a snooze in the past, an
unknown user, a filter that means nothing) must be refused at once with a clear message and
nothing started, instead of failing the same way on every ticket of the job. The rules themselves
stay in the single-ticket domain (``inbox.queue.actions`` / ``triage``), which the worker calls
for every ticket; this module only calls their validators.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from inbox import fields, visibility
from inbox.connectors.base import Rejected
from inbox.queue import triage
from inbox.queue.actions import PERMISSIONS, NotPermitted
from inbox.queue.queries import FilterError, Filters, matching
from models import BulkJob, BulkStatus, Role, Team, Ticket, User, utcnow

# The bulk actions and the single-ticket action each one is made of.
ACTIONS = {"assign": "assign", "tag": "tag", "categorize": "categorize", "priority": "priority",
           "sentiment": "sentiment", "snooze": "snooze", "archive": "archive"}
LABELS = {"assign": "Assign", "tag": "Add tags", "categorize": "Add categories", "priority": "Priority",
          "sentiment": "Sentiment", "snooze": "Snooze", "archive": "Archive"}
MAX_IDS = 10_000          # explicit ids in one job: more is a filter's job ("all matching")
COUNT_CAP = 100_000       # "all N matching": counted up to here, shown as "more than" beyond
FAILURES_CAP = 100        # reasons kept per job (the failed count itself is exact)
_NOT_FILTER_ARGS = {"cursor", "limit", "folder", "csrf_token"}


class BulkRefused(Exception):
    """Bad input: ``status`` 400 (malformed) or 422 (values refused); nothing was started."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def start(session: Session, user: User, action: Any, params: Any, *, ticket_ids: Any = None,
          filter_args: Any = None) -> BulkJob:
    """Check the request and add the job row (the caller commits, then enqueues)."""
    if not isinstance(action, str) or action not in ACTIONS:
        raise BulkRefused(400, "unknown_action", f"Unknown bulk action {action!r}; one of: {', '.join(ACTIONS)}")
    permission = PERMISSIONS[ACTIONS[action]]
    if not user.can(permission):
        raise NotPermitted(permission)
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise BulkRefused(400, "invalid_params", "params must be an object")
    try:
        fields.params(params)
        cleaned = clean_params(session, user, action, params)
    except Rejected as exc:
        raise BulkRefused(422, exc.code, exc.message) from None
    if (ticket_ids is None) == (filter_args is None):
        raise BulkRefused(400, "missing_selection", "Send either ticket_ids or filter (not both)")
    if ticket_ids is not None:
        entries = explicit_selection(ticket_ids)
        selection, total = {"tickets": entries}, len(entries)
    else:
        args = filter_of(session, user, filter_args)
        max_id = session.scalar(select(func.max(Ticket.id))) or 0
        total = count_matching(session, user, args, max_id=max_id)
        if total == 0:
            raise BulkRefused(422, "nothing_selected", "No ticket matches this filter")
        selection = {"filter": args, "max_id": max_id, "at": utcnow().isoformat()}
    job = BulkJob(user_id=user.id, action=action, params=cleaned, selection=selection, total=total,
                  status=BulkStatus.QUEUED, failures=[])
    session.add(job)
    session.flush()
    return job


def clean_params(session: Session, user: User, action: str, params: dict[str, Any]) -> dict[str, Any]:
    """The action's parameters, checked with the single actions' own validators."""
    if action == "assign":
        if "user_id" not in params and "team_id" not in params:
            raise Rejected("missing_field", "user_id or team_id is required (null unassigns)")
        out: dict[str, Any] = {}
        if "user_id" in params:
            out["user_id"] = triage._id_or_none(params["user_id"], "user_id")
            found = session.get(User, out["user_id"]) if out["user_id"] else None
            if out["user_id"] and (found is None or not found.active):
                raise Rejected("unknown_user", f"There is no active user {out['user_id']} to assign tickets to")
        if "team_id" in params:
            out["team_id"] = triage._id_or_none(params["team_id"], "team_id")
            if out["team_id"] and session.get(Team, out["team_id"]) is None:
                raise Rejected("unknown_team", f"There is no team {out['team_id']} to hand tickets to")
        return out
    if action == "tag":
        tags = params.get("tags")
        if isinstance(tags, str):     # the bar's text field: comma-separated
            tags = [t for t in tags.split(",")]
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise Rejected("missing_field", "tags is required: a list of tag names to add")
        names = sorted({t.strip()[:80] for t in tags if t.strip()})
        if not names:
            raise Rejected("missing_field", "Name at least one tag to add")
        if len(names) > fields.TAGS_MAX:
            raise Rejected("too_many", f"Add at most {fields.TAGS_MAX} tags at a time")
        return {"tags": names}
    if action == "categorize":
        from inbox.settings.taxonomy import categories_by_ids

        ids = params.get("category_ids")
        if not isinstance(ids, list) or not ids:
            raise Rejected("missing_field", "category_ids is required: a list of category ids to add")
        ids = [int(i) if isinstance(i, str) and i.isdigit() and len(i) <= 10 else i for i in ids]
        return {"category_ids": sorted(c.id for c in categories_by_ids(session, ids))}
    if action == "priority":
        if "on" not in params:
            raise Rejected("missing_field", "on is required (true or false)")
        return {"on": triage._flag(params["on"], "on")}
    if action == "sentiment":
        value = None if params.get("value") in (None, "") else params.get("value")
        if "value" not in params:
            raise Rejected("missing_field", "value is required (positive, neutral, negative or null)")
        if value is not None and value not in triage.SENTIMENTS:
            raise Rejected("invalid_sentiment", f"value must be one of {', '.join(triage.SENTIMENTS)}, or null")
        return {"value": value}
    if action == "snooze":
        # One moment for the whole job ("in 1 hour" means from now, not from each batch).
        return {"until": triage.snooze_time(params, user).isoformat() + "Z"}
    return {}


def explicit_selection(ticket_ids: Any) -> list[list[int | None]]:
    """``[id, ...]``, ``[{"id", "version"}, ...]`` or ``[[id, version], ...]`` -> ``[[id, version]]``
    (version None: no check), in order, each ticket once."""
    if not isinstance(ticket_ids, list) or not ticket_ids:
        raise BulkRefused(400, "invalid_ticket_ids", "ticket_ids must be a non-empty list")
    if len(ticket_ids) > MAX_IDS:
        raise BulkRefused(422, "too_many", f"At most {MAX_IDS:,} tickets by id in one job "
                                           f"(these are {len(ticket_ids):,}); use a filter for more")
    entries: dict[int, int | None] = {}
    for item in ticket_ids:
        version = None
        if isinstance(item, dict):
            item, version = item.get("id"), item.get("version")
        elif isinstance(item, list) and len(item) == 2:
            item, version = item
        try:
            ident = fields.whole_id(item, "each of ticket_ids")
            version = triage.parse_version(version)
        except Rejected as exc:
            raise BulkRefused(422, exc.code, exc.message) from None
        entries.setdefault(ident, version)
    return [[k, v] for k, v in entries.items()]


def filter_of(session: Session, user: User, raw: Any) -> dict[str, str]:
    """The queue's query arguments (a folder resolved into its own), checked like the page does."""
    from inbox.queue import folder_service

    if not isinstance(raw, dict) or not all(isinstance(k, str) and isinstance(v, (str, int, bool)) for k, v in raw.items()):
        raise BulkRefused(400, "invalid_filter", "filter must be an object of query arguments, e.g. {\"status\": \"open\"}")
    args = {k: ("1" if v is True else "0" if v is False else str(v)) for k, v in raw.items() if v not in ("", None)}
    try:
        _folder, folder_args = folder_service.resolve(session, user, args) if args.get("folder") else (None, None)
    except folder_service.UnknownFolder:
        raise BulkRefused(422, "invalid_filter", f"There is no folder {args.get('folder')!r} you can see") from None
    merged = {**(folder_args or {}), **{k: v for k, v in args.items() if k not in _NOT_FILTER_ARGS}}
    try:
        Filters.from_args(merged, me=user.id)
    except FilterError as exc:
        raise BulkRefused(422, "invalid_filter", exc.message) from None
    return merged


def matching_query(user: User, args: dict[str, str]):
    """Every ticket matching the stored filter that ``user`` sees (``inbox.queue.queries``)."""
    return matching(Filters.from_args(args, me=user.id), viewer=user)


def count_matching(session: Session, user: User, args: dict[str, str], *, max_id: int | None = None,
                   cap: int | None = None) -> int:
    query = matching_query(user, args).with_only_columns(Ticket.id)
    if max_id is not None:
        query = query.where(Ticket.id <= max_id)
    if cap is not None:
        query = query.limit(cap + 1)
    return session.scalar(select(func.count()).select_from(query.subquery())) or 0


def may_follow(user: User, job: BulkJob) -> bool:
    """A job's progress is its owner's, and an admin's."""
    return job.user_id == user.id or user.role == Role.ADMIN


def summary(job: BulkJob) -> dict[str, Any]:
    return {"id": job.id, "action": job.action, "params": job.params, "status": job.status,
            "total": job.total, "done": job.done, "skipped": job.skipped, "failed": job.failed,
            "failures": job.failures or [], "error": job.error,
            "selection": "tickets" if "tickets" in (job.selection or {}) else "filter",
            "created_at": job.created_at.isoformat() + "Z",
            "finished_at": job.finished_at.isoformat() + "Z" if job.finished_at else None}
