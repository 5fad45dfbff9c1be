"""A channel's business hours, edited on the channels page (``EditChannels``).

Rules' "inside / outside business hours" reads ``Channel.business_hours`` through
``inbox.rules.items.lookups``, in the shape of ``inbox.rules.engine.BusinessHours.from_dict``:
``{"zone": "Asia/Tehran", "week": {"0": [["09:00", "17:00"]]}, "holidays": ["2026-03-21"]}``.
The form has a time zone, per weekday up to two intervals, and holidays one date per line. All of
it is checked before anything is stored (an unknown zone, an end before its start, a date that is
not YYYY-MM-DD → the page again with the message at that channel, nothing saved). "Clear" removes
the hours: the channel then has none, and a business-hours condition on it is never satisfied.
"""
from __future__ import annotations

from datetime import date, time
from functools import lru_cache
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from inbox.auth.permissions import permission_required
from inbox.connectors.base import Rejected
from inbox.db import get_session
from inbox.rules.engine import BusinessHours
from models import Channel

bp = Blueprint("business_hours", __name__)

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
INTERVALS = 2
HOLIDAYS_MAX = 400


@bp.app_template_global()
@lru_cache(maxsize=1)
def time_zones() -> tuple[str, ...]:
    from zoneinfo import available_timezones

    return tuple(sorted(available_timezones()))


@bp.app_template_global()
def hours_fields(channel: Channel, form: Any = None) -> dict[str, str]:
    """The form's values: what was just posted (when refused), else what is stored."""
    if form:
        return {k: form.get(k, "") for k in ("zone", "holidays", *_interval_names())}
    stored = channel.business_hours or {}
    values = {"zone": str(stored.get("zone") or ""), "holidays": "\n".join(map(str, stored.get("holidays") or []))}
    for day in range(7):
        intervals = list((stored.get("week") or {}).get(str(day)) or [])
        for n in range(INTERVALS):
            start, end = intervals[n] if n < len(intervals) else ("", "")
            values[f"d{day}_start{n}"], values[f"d{day}_end{n}"] = str(start), "00:00" if end == "24:00" else str(end)
    return values


def _interval_names() -> list[str]:
    return [f"d{day}_{edge}{n}" for day in range(7) for n in range(INTERVALS) for edge in ("start", "end")]


def from_form(form: Any) -> dict[str, Any]:
    """The stored shape from the form; ``Rejected`` with a message a person can act on."""
    zone = (form.get("zone") or "").strip()
    if zone not in time_zones():
        raise Rejected("invalid_value", f"{zone!r} is not a time zone: choose one such as Asia/Tehran or Europe/Moscow"
                       if zone else "Choose a time zone")
    week: dict[str, list[list[str]]] = {}
    for day, name in enumerate(WEEKDAYS):
        for n in range(INTERVALS):
            start, end = (form.get(f"d{day}_start{n}") or "").strip(), (form.get(f"d{day}_end{n}") or "").strip()
            if not start and not end:
                continue
            if not (start and end):
                raise Rejected("invalid_value", f"{name}: give both the opening and the closing time")
            begins, ends = _time(start, name), _time(end, name)
            if ends == time(0, 0):
                end = "24:00"           # closing at midnight
            elif ends <= begins:
                raise Rejected("invalid_value", f"{name}: {end} is not after {start} (split an interval that "
                                                "crosses midnight in two)")
            week.setdefault(str(day), []).append([begins.strftime("%H:%M"), end if end == "24:00" else ends.strftime("%H:%M")])
    holidays = []
    for line in (form.get("holidays") or "").splitlines():
        if line.strip():
            try:
                holidays.append(date.fromisoformat(line.strip()).isoformat())
            except ValueError:
                raise Rejected("invalid_value", f"Holiday {line.strip()!r} is not a date written YYYY-MM-DD") from None
    if len(holidays) > HOLIDAYS_MAX:
        raise Rejected("too_many", f"At most {HOLIDAYS_MAX} holidays")
    data = {"zone": zone, "week": week, "holidays": sorted(set(holidays))}
    BusinessHours.from_dict(data)       # what the rules will read must parse
    return data


def _time(value: str, day: str) -> time:
    try:
        return time.fromisoformat(value)
    except ValueError:
        raise Rejected("invalid_value", f"{day}: {value!r} is not a time (HH:MM)") from None


@bp.post("/settings/channels/<int:channel_id>/business-hours")
@permission_required("EditChannels")
def save(channel_id: int):
    from .views import _channels_context

    session = get_session()
    channel = session.get(Channel, channel_id)
    if channel is None:
        abort(404)
    if request.form.get("clear"):
        channel.business_hours = None
        session.commit()
        flash(f"Cleared the business hours of {channel.name}.")
        return redirect(url_for("settings.channels") + f"#channel-{channel.id}")
    try:
        channel.business_hours = from_form(request.form)
    except (Rejected, ValueError) as exc:
        session.rollback()
        message = exc.message if isinstance(exc, Rejected) else str(exc)
        return render_template("settings/channels.html", form={}, error=None, error_provider=None,
                               hours_error={channel_id: message}, hours_form={channel_id: request.form},
                               **_channels_context()), 422
    session.commit()
    flash(f"Saved the business hours of {channel.name}.")
    return redirect(url_for("settings.channels") + f"#channel-{channel.id}")
