"""A suggestion's life: suggested → (revised) → approved (becomes the reply) | rejected | withdrawn.

Every decision is one conditional UPDATE on the suggestion's status (``WHERE status =
'suggested'``), so two supervisors approving at once (or one approving while the author
withdraws) end with exactly one winner: the other gets ``Decided`` with the current state, and
only the winner's transaction creates the outbound action, so one reply leaves.

The caller commits and, after an approval, enqueues the action (``workers.send_soon``).
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session

from inbox import fields
from inbox.connectors.base import Rejected
from inbox.queue import triage
from inbox.replies.service import check_reply, queue_reply
from models import (Followup, FollowupStatus, FollowupType, History, Notification, OutboundAction, Ticket, User,
                    utcnow)

REASON_MAX = 2000
CHOICE_KEYS = ("attachment_url", "action_id", "option", "template")


class Decided(Exception):
    """The suggestion is no longer pending (approved, rejected or withdrawn meanwhile): 409."""

    def __init__(self, followup: Followup):
        super().__init__(f"suggestion {followup.id} is {followup.status}")
        self.followup = followup
        who = followup.decided_by.display_name if followup.decided_by else None
        self.message = {
            FollowupStatus.WITHDRAWN: "Its author withdrew this suggestion.",
            FollowupStatus.REJECTED: f"{who or 'Someone'} already rejected this suggestion.",
        }.get(followup.status, f"{who or 'Someone'} already approved this suggestion.")


class Refused(Exception):
    """The user may not do this to this suggestion (403), or it is not a suggestion (404/422)."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def suggest(session: Session, ticket: Ticket, user: User, text: str, *, revision_of: Followup | None = None,
            **choice: Any) -> Followup:
    """Record a suggested reply, checked against the provider's rules like a reply (so the
    approver never approves something the network will refuse for its length or attachment)."""
    if not user.can("ReplyTicket"):
        raise Refused(403, "insufficient_permissions", "This needs the ReplyTicket permission")
    choice = {k: v for k, v in choice.items() if k in CHOICE_KEYS and v is not None}
    text, _request, _extra = check_reply(session, ticket, text, **choice)
    followup = Followup(ticket_id=ticket.id, type=FollowupType.SUGGESTION, status=FollowupStatus.SUGGESTED,
                        text=text, author_id=user.id, request=choice,
                        revision_of_id=revision_of.id if revision_of is not None else None)
    session.add(followup)
    session.flush()
    ticket.has_pending_suggestion = True
    triage.bump_version(session, ticket)
    session.add(History(ticket_id=ticket.id, user_id=user.id, action="suggested",
                        data={"followup_id": followup.id,
                              **({"revision_of": revision_of.id} if revision_of is not None else {})}))
    return followup


def revise(session: Session, followup: Followup, user: User, text: str) -> Followup:
    """The author changes a suggestion: a pending one is edited in place (its history keeps the
    words before); a rejected one is answered by a new suggestion that names it."""
    _check_suggestion(followup)
    if followup.author_id != user.id:
        raise Refused(403, "not_your_suggestion", "Only its author can revise a suggestion.")
    ticket = followup.ticket
    if followup.status == FollowupStatus.REJECTED:
        return suggest(session, ticket, user, text, revision_of=followup, **_choice(followup))
    new_text, _request, _extra = check_reply(session, ticket, text, **_choice(followup))
    before = followup.text
    _decide(session, followup, FollowupStatus.SUGGESTED, text=new_text)
    triage.bump_version(session, ticket)
    session.add(History(ticket_id=ticket.id, user_id=user.id, action="suggestion_revised",
                        data={"followup_id": followup.id, "before": before}))
    return followup


def withdraw(session: Session, followup: Followup, user: User) -> Followup:
    _check_suggestion(followup)
    if followup.author_id != user.id:
        raise Refused(403, "not_your_suggestion", "Only its author can withdraw a suggestion.")
    _decide(session, followup, FollowupStatus.WITHDRAWN, decided_by_id=user.id)
    _after_decision(session, followup.ticket)
    session.add(History(ticket_id=followup.ticket_id, user_id=user.id, action="suggestion_withdrawn",
                        data={"followup_id": followup.id}))
    return followup


def approve(session: Session, followup: Followup, user: User, text: str | None = None) -> tuple[Followup, OutboundAction]:
    """Approve as is, or with ``text`` ("edited & approved": the suggested words are kept in
    ``original_text``). The suggestion becomes the reply and its outbound action is recorded."""
    _check_suggestion(followup)
    _check_approver(followup, user)
    ticket = followup.ticket
    suggested = followup.text
    edited = text is not None and text.strip() != (suggested or "").strip()
    final = text if edited else suggested
    # Checked before the decision is taken, so a text the provider would refuse leaves the
    # suggestion pending (422) rather than approved and failing.
    check_reply(session, ticket, final, **_choice(followup))
    _decide(session, followup, FollowupStatus.APPROVED, decided_by_id=user.id, approved_by_id=user.id,
            original_text=suggested if edited else None)
    followup, action = queue_reply(session, ticket, user, final, followup=followup, **_choice(followup))
    _after_decision(session, ticket)
    session.add(History(ticket_id=ticket.id, user_id=user.id, action="suggestion_approved",
                        data={"followup_id": followup.id, "author_id": followup.author_id, "edited": edited,
                              **({"before": suggested} if edited else {})}))
    if followup.author_id and followup.author_id != user.id:
        notify(session, [followup.author_id], "suggestion_approved",
               f"{user.display_name} {'edited and approved' if edited else 'approved'} your suggestion.", followup)
    return followup, action


def reject(session: Session, followup: Followup, user: User, reason: Any) -> Followup:
    """Reject with a reason, which its author reads on the ticket and in "my suggestions"."""
    _check_suggestion(followup)
    if not user.can("ApproveSuggestion"):
        raise Refused(403, "insufficient_permissions", "This needs the ApproveSuggestion permission")
    if not isinstance(reason, str) or not reason.strip():
        raise Rejected("reason_required", "Say why the suggestion is rejected: its author reads it.")
    if len(reason) > REASON_MAX:
        raise Rejected("reason_too_long", f"The reason takes at most {REASON_MAX} characters.")
    _decide(session, followup, FollowupStatus.REJECTED, decided_by_id=user.id, decision_reason=reason.strip())
    _after_decision(session, followup.ticket)
    session.add(History(ticket_id=followup.ticket_id, user_id=user.id, action="suggestion_rejected",
                        data={"followup_id": followup.id, "author_id": followup.author_id, "reason": reason.strip()}))
    if followup.author_id and followup.author_id != user.id:
        notify(session, [followup.author_id], "suggestion_rejected",
               f"{user.display_name} rejected your suggestion: {reason.strip()}", followup)
    return followup


def can_approve(user: User, followup: Followup) -> bool:
    """For the buttons: whether ``approve`` would let this user decide this suggestion."""
    try:
        _check_approver(followup, user)
    except Refused:
        return False
    return True


SUGGESTION_STATES = ("pending", "approved", "rejected", "withdrawn")


def suggestions_query(viewer: User | None = None, state: str = "pending"):
    """Suggestions in one state, oldest first, on tickets the viewer sees. "approved" ones are
    replies now (the same rows), told apart by their approver."""
    from inbox import visibility

    if state == "approved":
        query = select(Followup).where(Followup.type == FollowupType.REPLY, Followup.approved_by_id.is_not(None))
    else:
        status = {"pending": FollowupStatus.SUGGESTED, "rejected": FollowupStatus.REJECTED,
                  "withdrawn": FollowupStatus.WITHDRAWN}[state]
        query = select(Followup).where(Followup.type == FollowupType.SUGGESTION, Followup.status == status)
    query = query.order_by(Followup.created_at, Followup.id)
    if viewer is not None:
        ids = visibility.ticket_ids_visible(viewer)
        if ids is not None:
            query = query.where(Followup.ticket_id.in_(ids))
    return query


def pending_query(viewer: User | None = None):
    """Pending suggestions, oldest first, on tickets the viewer sees."""
    return suggestions_query(viewer, "pending")


def notify(session: Session, user_ids: list[int], kind: str, text: str, followup: Followup) -> None:
    for user_id in dict.fromkeys(user_ids):
        session.add(Notification(user_id=user_id, kind=kind, text=text[:2000], ticket_id=followup.ticket_id,
                                 followup_id=followup.id))


def _check_suggestion(followup: Followup | None) -> None:
    if followup is None or followup.type != FollowupType.SUGGESTION:
        if followup is not None and followup.type == FollowupType.REPLY and followup.approved_by_id:
            raise Decided(followup)   # approved meanwhile: it is a reply now
        raise Refused(404, "not_found", "No such suggestion on this ticket.")


def _check_approver(followup: Followup, user: User) -> None:
    if not user.can("ApproveSuggestion"):
        raise Refused(403, "insufficient_permissions", "This needs the ApproveSuggestion permission")
    if followup.author_id == user.id and not user.can("ApproveOwnSuggestion"):
        raise Refused(403, "own_suggestion", "Approving one's own suggestion needs the ApproveOwnSuggestion permission")


def _choice(followup: Followup) -> dict[str, Any]:
    """What a suggestion will be sent with (``request`` also names a rule that suggested it)."""
    return {k: v for k, v in (followup.request or {}).items() if k in CHOICE_KEYS}


def _decide(session: Session, followup: Followup, status: FollowupStatus, **values: Any) -> None:
    """Move a pending suggestion in one conditional UPDATE; ``Decided`` when it is no longer pending."""
    fields_ = {"status": status, "status_at": utcnow(), "updated_at": utcnow(), **values}
    if status != FollowupStatus.SUGGESTED:
        fields_["decided_at"] = utcnow()
    session.flush()
    done = session.execute(update(Followup).where(Followup.id == followup.id,
                                                  Followup.status == FollowupStatus.SUGGESTED)
                           .values(**fields_).execution_options(synchronize_session=False))
    session.refresh(followup)
    if done.rowcount != 1:
        raise Decided(followup)


def _after_decision(session: Session, ticket: Ticket) -> None:
    """Keep the list's marker true to the rows, and raise the ticket's version (forms showing the
    suggestion's buttons are now stale)."""
    session.flush()
    ticket.has_pending_suggestion = bool(session.scalar(select(exists().where(
        Followup.ticket_id == ticket.id, Followup.status == FollowupStatus.SUGGESTED))))
    triage.bump_version(session, ticket)


def suggestion_text(value: Any) -> str:
    """The text a form or body gave (a string within the app's limits)."""
    return fields.text(value if isinstance(value, str) else "", "text")
