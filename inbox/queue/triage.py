"""Triage: what a community manager sets on a ticket by hand (assignee, priority, sentiment,
status, snooze, whether its replies need approval), and the version check that refuses an action
based on a stale view.

Every change is a History row with who made it. Nothing here calls a network: these are our own
fields. Snoozing also needs a wake-up; the caller queues it after the commit (``wake_soon``), and
the sweep wakes any snoozed ticket whose time has passed, so a lost job cannot keep one asleep.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta, timezone
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from inbox import fields
from inbox.connectors.base import Rejected
from models import History, Team, Ticket, TicketStatus, User, utcnow

TRIAGE_ACTIONS = ("assign", "priority", "sentiment", "status", "snooze", "require_approval")
SENTIMENTS = ("positive", "neutral", "negative")
SETTABLE_STATUSES = (TicketStatus.OPEN, TicketStatus.PENDING, TicketStatus.ARCHIVED)   # snoozed: by ``snooze``
SNOOZE_PRESETS = {"1h": "In 1 hour", "evening": "This evening (18:00)", "tomorrow": "Tomorrow 9:00",
                  "monday": "Next Monday 9:00"}


class Stale(Exception):
    """The ticket changed since its author read it: refuse, and show them the current state."""

    def __init__(self, ticket: Ticket, seen: int):
        super().__init__(f"ticket {ticket.id} is at version {ticket.version}, not {seen}")
        self.ticket, self.seen = ticket, seen


STALE_MESSAGE = "Someone changed this ticket since you opened it: here is its current state. Nothing was changed."


def parse_version(value: Any) -> int | None:
    """A ``version`` from a JSON body (an integer), a form field or an ``If-Match`` header (text)."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        cleaned = value.strip().removeprefix("W/").strip('"')
        if not cleaned.isdigit() or len(cleaned) > 10:
            raise Rejected("invalid_version", "version must be the ticket's version, a whole number")
        value = int(cleaned)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= fields.MAX_ID:
        raise Rejected("invalid_version", "version must be the ticket's version, a whole number")
    return value


def check_version(ticket: Ticket, seen: int | None) -> None:
    if seen is not None and seen != ticket.version:
        raise Stale(ticket, seen)


def bump_version(session: Session, ticket: Ticket) -> None:
    """Raise the version in the database only if it is still the one read: a concurrent change
    committed between our read and this write makes this one stale instead of overwriting it."""
    session.flush()
    done = session.execute(update(Ticket).where(Ticket.id == ticket.id, Ticket.version == ticket.version)
                           .values(version=Ticket.version + 1).execution_options(synchronize_session=False))
    if done.rowcount != 1:
        session.rollback()
        raise Stale(ticket, ticket.version)
    set_committed_value(ticket, "version", ticket.version + 1)


def apply(session: Session, ticket: Ticket, user: User, kind: str, params: dict[str, Any],
          via: str | None = None) -> datetime | None:
    """Validate and apply one triage action; returns the wake-up time when it snoozed the ticket.
    ``via``: "api" when a token made the change, recorded in the history beside the user."""
    record = partial(_history, session, ticket, user, via=via)

    if kind == "assign":
        _assign(session, params, ticket, record)
    elif kind == "priority":
        on = _flag(params.get("on"), "on")
        ticket.priority = on
        record("priority", {"on": on})
    elif kind == "require_approval":
        # Replies on this ticket go through approval, whoever writes them (inbox.approval.policy).
        on = _flag(params.get("on"), "on")
        ticket.approval_required = on
        record("approval_required", {"on": on})
    elif kind == "sentiment":
        value = None if params.get("value") in (None, "") else params.get("value")   # "": the pane's "Not set"
        if value is not None and value not in SENTIMENTS:
            raise Rejected("invalid_sentiment", f"sentiment must be one of {', '.join(SENTIMENTS)}, or null")
        ticket.sentiment = value
        record("sentiment", {"value": value})
    elif kind == "status":
        value = params.get("value")
        if value not in {s.value for s in SETTABLE_STATUSES}:
            raise Rejected("invalid_status", "status must be open, pending or archived (snooze with the snooze action)")
        ticket.status, ticket.snoozed_until = TicketStatus(value), None
        record("status", {"value": value})
    elif kind == "snooze":
        until = snooze_time(params, user)
        ticket.status, ticket.snoozed_until = TicketStatus.SNOOZED, until
        record("snoozed", {"until": until.isoformat() + "Z"})
        return until
    return None


def _assign(session: Session, params: dict[str, Any], ticket: Ticket, record: Callable[..., None]) -> None:
    """``{user_id}``, ``{team_id}`` or both: a key present with null (or the pane's "") clears that
    one, a key absent leaves it as it is. Every id is checked before anything is written, so an
    unknown one (422 ``unknown_user`` / ``unknown_team``) changes nothing."""
    if "user_id" not in params and "team_id" not in params:
        raise Rejected("missing_field", "user_id or team_id is required (null unassigns)")
    assignee = team = None
    if "user_id" in params:
        raw = _id_or_none(params["user_id"], "user_id")
        if raw is not None:
            assignee = session.get(User, raw)
            if assignee is None or not assignee.active:
                raise Rejected("unknown_user", f"There is no active user {raw} to assign this ticket to")
    if "team_id" in params:
        raw = _id_or_none(params["team_id"], "team_id")
        if raw is not None:
            team = session.get(Team, raw)
            if team is None:
                raise Rejected("unknown_team", f"There is no team {raw} to hand this ticket to")
    if "user_id" in params:
        ticket.assignee_id = assignee.id if assignee else None
        record("assigned", {"user_id": assignee.id, "name": assignee.display_name} if assignee else {"user_id": None})
    if "team_id" in params:
        before = ticket.team
        ticket.team_id = team.id if team else None
        ticket.team = team
        record("assigned_team", {"team_id": team.id if team else None, "name": team.name if team else None,
                                 "from_team_id": before.id if before else None,
                                 "from_name": before.name if before else None})


def _id_or_none(raw: Any, name: str) -> int | None:
    """An id from JSON (an integer or null) or from the pane's select (digits, or "" for none)."""
    if isinstance(raw, str):
        raw = int(raw) if raw.strip().isdigit() and len(raw.strip()) <= 10 else (None if not raw.strip() else raw)
    if raw is None:
        return None
    return fields.whole_id(raw, name)


def _flag(value: Any, name: str) -> bool:
    if isinstance(value, str) and value in ("0", "1", "true", "false"):   # the pane's hidden field
        return value in ("1", "true")
    return fields.flag(value, name)


def user_zone(user: User) -> ZoneInfo:
    try:
        return ZoneInfo(user.time_zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def preset_time(preset: str, zone: ZoneInfo, now: datetime | None = None) -> datetime:
    """A preset in the user's time zone, as naive UTC (how we store times). "This evening" after
    18:00 and "tomorrow" are both the next such moment; "next Monday" is never today."""
    local = (now or datetime.now(timezone.utc)).astimezone(zone)
    if preset == "1h":
        moment = local + timedelta(hours=1)
    elif preset == "evening":
        moment = datetime.combine(local.date(), time(18), zone)
        if moment <= local:
            moment += timedelta(days=1)
    elif preset == "tomorrow":
        moment = datetime.combine(local.date() + timedelta(days=1), time(9), zone)
    elif preset == "monday":
        moment = datetime.combine(local.date() + timedelta(days=7 - local.weekday()), time(9), zone)
    else:
        raise Rejected("invalid_preset", f"preset must be one of {', '.join(SNOOZE_PRESETS)}")
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def snooze_time(params: dict[str, Any], user: User) -> datetime:
    """``until`` (ISO 8601; without an offset it is the user's local time), or the pane's ``preset``."""
    zone = user_zone(user)
    if params.get("preset"):
        until = preset_time(str(params["preset"]), zone)
    else:
        raw = params.get("until")
        if not isinstance(raw, str) or not raw.strip():
            raise Rejected("missing_field", "until is required: an ISO 8601 date and time in the future")
        fields.text(raw, "until", 64)
        try:
            parsed = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
        except ValueError:
            raise Rejected("invalid_until",
                           "until must be an ISO 8601 date and time, e.g. 2030-01-31T09:00:00Z") from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=zone)
        until = parsed.astimezone(timezone.utc).replace(tzinfo=None)
    if until <= utcnow():
        raise Rejected("snooze_in_past", "A snooze must end in the future")
    return until


def wake(session: Session, ticket: Ticket, by: str) -> bool:
    """Back to the open queue if it is still snoozed and its time has come."""
    if ticket.status != TicketStatus.SNOOZED or (ticket.snoozed_until and ticket.snoozed_until > utcnow()):
        return False
    ticket.status, ticket.snoozed_until = TicketStatus.OPEN, None
    ticket.version = (ticket.version or 1) + 1
    session.add(History(ticket_id=ticket.id, action="woke", data={"by": by}))
    return True


def _history(session: Session, ticket: Ticket, user: User, action: str, data: dict[str, Any],
             via: str | None = None) -> None:
    session.add(History(ticket_id=ticket.id, user_id=user.id, action=action,
                        data={**data, "via": via} if via else data))
