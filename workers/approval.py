"""Overdue suggestions: tell the approvers, once per suggestion.

A suggestion pending longer than the policy's ``overdue_minutes`` earns each approver who can act
on it (an active user with ``ApproveSuggestion`` who sees its ticket, and who may approve it: not
its author without ``ApproveOwnSuggestion``) one in-app notification. Run every minute from the RQ
cron schedule (``workers.cron``).

Once, however many schedulers run: a suggestion is claimed by one conditional UPDATE of its
``overdue_notified_at`` (``WHERE overdue_notified_at IS NULL``) in the same transaction as its
notifications, so two runs at once notify once, and a run that dies notifies nobody and leaves
the claim for the next.
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from inbox import visibility
from inbox.approval import policy, service
from inbox.approval.waiting import waited
from inbox.db import session_scope
from models import Followup, FollowupStatus, FollowupType, User, utcnow

BATCH = 200     # suggestions per run; more wait for the next minute


def notify_overdue() -> int:
    """The cron job: returns how many suggestions' approvers were notified."""
    with session_scope() as session:
        rules = policy.load(session)
        now = utcnow()
        cutoff = now - timedelta(minutes=rules.overdue_minutes)
        ids = session.scalars(select(Followup.id).where(
            Followup.status == FollowupStatus.SUGGESTED, Followup.type == FollowupType.SUGGESTION,
            Followup.created_at < cutoff, Followup.overdue_notified_at.is_(None))
            .order_by(Followup.created_at, Followup.id).limit(BATCH)).all()
        if not ids:
            return 0
        approvers = [u for u in session.scalars(select(User).where(User.active.is_(True)).order_by(User.id))
                     if u.can("ApproveSuggestion")]
    done = 0
    for followup_id in ids:
        with session_scope() as session:
            claimed = session.execute(update(Followup).where(
                Followup.id == followup_id, Followup.status == FollowupStatus.SUGGESTED,
                Followup.overdue_notified_at.is_(None)).values(overdue_notified_at=now)
                .execution_options(synchronize_session=False)).rowcount
            if claimed != 1:
                continue
            followup = session.get(Followup, followup_id)
            ticket = followup.ticket
            recipients = [u.id for u in approvers
                          if service.can_approve(u, followup) and visibility.can_see_ticket(session, u, ticket)]
            author = followup.author.display_name if followup.author else "Someone"
            service.notify(session, recipients, "suggestion_overdue",
                           f"{author}'s suggestion on ticket #{ticket.id} has waited "
                           f"{waited(followup.created_at, now)} for approval.", followup)
            done += 1
    return done
