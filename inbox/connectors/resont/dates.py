"""Resont's dates: ISO 8601, epoch seconds, or Jalali (Persian) dates in the user's time zone."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from models import utcnow

# ----------------------------------------------------------------------------------- dates

_PERSIAN_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")


def jalali_to_gregorian(jy: int, jm: int, jd: int) -> tuple[int, int, int]:
    """Solar Hijri to Gregorian: Resont shows dates in the user's date format, which may be Jalali."""
    jy += 1595
    days = -355668 + 365 * jy + (jy // 33) * 8 + ((jy % 33) + 3) // 4 + jd
    days += (jm - 1) * 31 if jm < 7 else (jm - 7) * 30 + 186
    gy = 400 * (days // 146097)
    days %= 146097
    if days > 36524:
        days -= 1
        gy += 100 * (days // 36524)
        days %= 36524
        if days >= 365:
            days += 1
    gy += 4 * (days // 1461)
    days %= 1461
    if days > 365:
        gy += (days - 1) // 365
        days = (days - 1) % 365
    gd = days + 1
    leap = (gy % 4 == 0 and gy % 100 != 0) or gy % 400 == 0
    for gm, length in enumerate((31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31), start=1):
        if gd <= length:
            return gy, gm, gd
        gd -= length
    return gy, 12, 31


def parse_date(value: Any, tz: str = "UTC") -> datetime | None:
    """A Resont date as naive UTC, or None. Dates without an offset are in the user's time zone
    (``/me/user``'s ``timezone``, kept in the channel settings); epoch numbers are UTC."""
    if isinstance(value, bool) or value in (None, ""):
        return None
    if isinstance(value, (int, float)) or (isinstance(value, str) and value.strip().isdigit()):
        try:
            seconds = float(value)
            seconds = seconds / 1000 if seconds > 1e11 else seconds
            return datetime.fromtimestamp(seconds, timezone.utc).replace(tzinfo=None)
        except (OverflowError, OSError, ValueError):    # 1e308, NaN, beyond year 9999
            return None
    if not isinstance(value, str):
        return None
    text = value.strip().translate(_PERSIAN_DIGITS).replace("/", "-")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.year < 1700:          # a Jalali date (e.g. 1403-01-01 = 2024-03-20)
        try:
            parsed = parsed.replace(*jalali_to_gregorian(parsed.year, parsed.month, parsed.day))
        except ValueError:
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone_info(tz))
    try:
        return parsed.astimezone(timezone.utc).replace(tzinfo=None)
    except (OverflowError, ValueError):     # e.g. 9999-12-31T23:00-05:00 is beyond year 9999 in UTC
        return None


def zone_info(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def when_or_now(value: Any, tz: str) -> datetime:
    return parse_date(value, tz) or utcnow()
