"""How long a suggestion has waited, and whether that is too long (pages and the overdue job)."""
from __future__ import annotations

from datetime import datetime

from models import Followup, FollowupStatus, utcnow

from .policy import ApprovalPolicy


def waited(since: datetime, now: datetime | None = None) -> str:
    """How long something has waited, as people say it: "just now", "12 min", "3 h 5 min", "2 d"."""
    seconds = max(0, int(((now or utcnow()) - since).total_seconds()))
    if seconds < 60:
        return "just now"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def is_overdue(followup: Followup, rules: ApprovalPolicy, now: datetime | None = None) -> bool:
    """Pending for longer than the policy's threshold (highlighted, listed first, approvers told)."""
    return (followup.status == FollowupStatus.SUGGESTED
            and ((now or utcnow()) - followup.created_at).total_seconds() > rules.overdue_minutes * 60)
