"""The supervisors' approvals page, each author's "my suggestions", and the navigation's counters.

- ``GET /approvals`` (``ApproveSuggestion``): every pending suggestion on tickets the user sees,
  overdue ones first, then oldest first, each with its ticket's context, how long it has waited and
  the decisions: approve, edit & approve, reject (with a reason), and bulk approve.
- ``POST /approvals/<fid>/approve {text?}``, ``/approvals/<fid>/reject {reason}``,
  ``POST /approvals/bulk-approve {ids}``: htmx answers the row's outcome (409 when someone decided
  first, 422 with the inline error) and the counter out of band; a plain form post is redirected
  back to the page with the outcome flashed.
- ``GET /approvals/mine`` (``ReplyTicket``): the user's own suggestions and what became of them.

The rules (who may decide, one winner per suggestion) are ``inbox.approval.service``'s; this module
only maps its answers to fragments. A suggestion on a ticket the user cannot see is a 404 like a
missing one.
"""
from __future__ import annotations

from datetime import datetime

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, literal, or_, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import selectinload

import workers
from inbox import hx, visibility
from inbox.auth.permissions import permission_required
from inbox.connectors.base import Rejected
from inbox.db import get_session
from models import (Direction, Followup, FollowupStatus, FollowupType, Message, Notification, Ticket, utcnow)

from . import policy, service
from .waiting import is_overdue, waited

bp = Blueprint("approvals", __name__)

SHOWN = 200              # rows on the approvals page (the oldest: they matter most)
MINE_SHOWN = 200
CONTEXT_MESSAGES = 3     # the customer's latest messages shown beside each suggestion
BULK_MAX = 100


# -- the navigation's counters --------------------------------------------------------------------

def pending_count_query(user):
    """Pending suggestions ``user`` can see: a COUNT on the indexed status column (plus the
    visibility sub-select for those who do not see everything)."""
    query = select(func.count()).select_from(Followup).where(Followup.status == FollowupStatus.SUGGESTED)
    if not visibility.sees_all(user):
        query = query.where(Followup.ticket_id.in_(visibility.ticket_ids_visible(user)))
    return query


@bp.app_template_global()
def nav_counts() -> dict[str, int]:
    """The navigation's "Approvals (N)" and unread notifications, in ONE statement, once per
    request and only for pages that show the navigation (fragments never call it)."""
    if "nav_counts" in g:
        return g.nav_counts
    counts = {"approvals": 0, "unread": 0}
    if current_user.is_authenticated:
        pending = (pending_count_query(current_user).scalar_subquery()
                   if current_user.can("ApproveSuggestion") else literal(0))
        unread = (select(func.count()).select_from(Notification)
                  .where(Notification.user_id == current_user.id, Notification.read_at.is_(None)).scalar_subquery())
        try:
            approvals, unread_count = get_session().execute(select(pending, unread)).one()
            counts = {"approvals": int(approvals or 0), "unread": int(unread_count or 0)}
        except SQLAlchemyError:      # an error page after a failed transaction: the page, without counts
            get_session().rollback()
    g.nav_counts = counts
    return counts


# -- the page --------------------------------------------------------------------------------------

def latest_messages(session, ticket_ids: list[int], per_ticket: int = CONTEXT_MESSAGES) -> dict[int, list[Message]]:
    """The customer's latest messages per ticket, oldest of them first: one statement (a window
    function) however many tickets, instead of loading every ticket's whole thread."""
    if not ticket_ids:
        return {}
    ranked = (select(Message.id, func.row_number().over(
        partition_by=Message.ticket_id, order_by=(Message.created_at.desc(), Message.id.desc())).label("n"))
        .where(Message.ticket_id.in_(ticket_ids), Message.direction == Direction.IN).subquery())
    rows = session.scalars(select(Message).join(ranked, ranked.c.id == Message.id).where(ranked.c.n <= per_ticket)
                           .order_by(Message.ticket_id, Message.created_at, Message.id)).all()
    found: dict[int, list[Message]] = {}
    for message in rows:
        found.setdefault(message.ticket_id, []).append(message)
    return found


def _rows(session) -> tuple[list[dict], policy.ApprovalPolicy, bool]:
    """The page's rows: overdue first (highlighted), then oldest first."""
    rules = policy.load(session)
    query = service.pending_query(current_user).options(
        selectinload(Followup.author), selectinload(Followup.ticket).selectinload(Ticket.channel),
        selectinload(Followup.ticket).selectinload(Ticket.interactor))
    found = session.scalars(query.limit(SHOWN + 1)).all()
    more = len(found) > SHOWN
    found = found[:SHOWN]
    context = latest_messages(session, list({f.ticket_id for f in found}))
    now = utcnow()
    rows = [_row(f, rules, context.get(f.ticket_id, []), now) for f in found]
    rows.sort(key=lambda r: not r["overdue"])      # stable: oldest first within each group
    return rows, rules, more


def _row(followup: Followup, rules: policy.ApprovalPolicy, messages: list[Message], now: datetime) -> dict:
    return {"followup": followup, "ticket": followup.ticket, "messages": messages,
            "waited": waited(followup.created_at, now), "overdue": is_overdue(followup, rules, now),
            "can_approve": service.can_approve(current_user, followup)}


@bp.get("/approvals")
@permission_required("ApproveSuggestion")
def approvals():
    rows, rules, more = _rows(get_session())
    return render_template("approvals/index.html", rows=rows, rules=rules, more=more, shown=SHOWN)


# -- decisions -------------------------------------------------------------------------------------

def _suggestion(followup_id: int) -> Followup:
    """A followup of a ticket the user sees, or 404 (a missing one and a hidden one alike)."""
    session = get_session()
    followup = session.get(Followup, followup_id)
    if followup is None or followup.type == FollowupType.NOTE \
            or not visibility.can_see_ticket(session, current_user, followup.ticket):
        abort(404)
    return followup


class _Outcome:
    """What became of one decision, for its row: ``kind`` is approved, rejected, decided (409),
    invalid (422: shown inline, the row stays) or refused (403/404)."""

    def __init__(self, kind: str, message: str, status: int = 200, followup: Followup | None = None,
                 field: str | None = None):
        self.kind, self.message, self.status, self.followup, self.field = kind, message, status, followup, field


def _decide(followup_id: int, step, done_message) -> _Outcome:
    """Run one decision in its own transaction and say what became of it (never raises for a
    refusal: bulk approve reports each row)."""
    session = get_session()
    try:
        followup = _suggestion(followup_id)
        result = step(session, followup)
    except service.Decided as exc:
        session.rollback()
        return _Outcome("decided", exc.message, 409, session.get(Followup, followup_id))
    except service.Refused as exc:
        session.rollback()
        return _Outcome("refused", exc.message, exc.status)
    except Rejected as exc:
        session.rollback()
        return _Outcome("invalid", exc.message, 422, session.get(Followup, followup_id),
                        field="reason" if exc.code.startswith("reason") else "text")
    except Exception:
        session.rollback()
        raise
    session.commit()
    followup, action = result if isinstance(result, tuple) else (result, None)
    message = done_message(followup)
    if action is not None and not workers.send_soon(action.id):
        message += " " + workers.QUEUE_DOWN_NOTICE
    return _Outcome("approved" if followup.type == FollowupType.REPLY else "rejected", message, 200, followup)


def _approved_message(followup: Followup) -> str:
    edited = "Edited & approved" if followup.original_text is not None else "Approved"
    return f"{edited} · the worker sends it."


def _answer(followup_id: int, outcome: _Outcome, *, text: str | None = None, reason: str = ""):
    """htmx: the row's outcome (or the row again with its inline error) and the counter out of band.
    A plain form post: back to the page with the outcome said (or the page with the error, 422)."""
    if outcome.status in (403, 404):
        abort(outcome.status)
    if not hx.is_htmx():
        if outcome.kind == "invalid":
            rows, rules, more = _rows(get_session())
            return render_template("approvals/index.html", rows=rows, rules=rules, more=more, shown=SHOWN,
                                   errors={followup_id: outcome}, drafts={followup_id: {"text": text, "reason": reason}}
                                   ), 422
        flash(outcome.message, "error" if outcome.kind == "decided" else "info")
        return redirect(url_for("approvals.approvals"), 303)
    if outcome.kind == "invalid":
        session = get_session()
        rules = policy.load(session)
        followup = outcome.followup
        row = _row(followup, rules, latest_messages(session, [followup.ticket_id]).get(followup.ticket_id, []), utcnow())
        return render_template("approvals/_row.html", row=row, error=outcome, draft={"text": text, "reason": reason},
                               count=nav_counts()["approvals"]), 422
    return render_template("approvals/_outcome.html", followup_id=followup_id, outcome=outcome,
                           count=_fresh_count()), outcome.status


def _fresh_count() -> int:
    g.pop("nav_counts", None)
    return nav_counts()["approvals"]


@bp.post("/approvals/<int:followup_id>/approve")
@permission_required("ApproveSuggestion")
def approve(followup_id: int):
    """Approve as is, or "edit & approve" when the form carries ``text`` (the original is kept)."""
    text = request.form.get("text")
    if text is not None:
        text = text.replace("\r\n", "\n")
    outcome = _decide(followup_id, lambda session, f: service.approve(session, f, current_user, text),
                      _approved_message)
    return _answer(followup_id, outcome, text=text)


@bp.post("/approvals/<int:followup_id>/reject")
@permission_required("ApproveSuggestion")
def reject(followup_id: int):
    reason = request.form.get("reason", "")
    outcome = _decide(followup_id, lambda session, f: service.reject(session, f, current_user, reason),
                      lambda f: "Rejected · its author reads why.")
    return _answer(followup_id, outcome, reason=reason)


@bp.post("/approvals/bulk-approve")
@permission_required("ApproveSuggestion")
def bulk_approve():
    """Approve each selected suggestion in its own transaction (one refusal does not undo the
    others) and report per row: approved, already decided, or refused with the reason."""
    raw = request.form.getlist("ids")
    ids = list(dict.fromkeys(int(v) for v in raw if v.isdigit() and len(v) <= 10))
    message = None
    if not raw:
        message = "Select the suggestions to approve first."
    elif len(ids) != len(set(raw)):
        message = "Those are not suggestion ids."
    elif len(ids) > BULK_MAX:
        message = f"Select at most {BULK_MAX} suggestions at a time."
    if message:
        if not hx.is_htmx():
            flash(message, "error")
            rows, rules, more = _rows(get_session())
            return render_template("approvals/index.html", rows=rows, rules=rules, more=more, shown=SHOWN), 422
        return render_template("approvals/_bulk_result.html", outcomes=[], error=message), 422
    outcomes = []
    for followup_id in ids:
        try:
            outcome = _decide(followup_id, lambda session, f: service.approve(session, f, current_user),
                              _approved_message)
        except Exception as exc:      # a 404 (abort) for one id must not hide the others' outcomes
            if getattr(exc, "code", None) not in (403, 404):
                raise
            outcome = _Outcome("refused", "No such suggestion.", 404)
        outcomes.append((followup_id, outcome))
    if not hx.is_htmx():
        approved = sum(1 for _, o in outcomes if o.kind == "approved")
        flash(f"Approved {approved} of {len(outcomes)}.", "info")
        for _, outcome in outcomes:
            if outcome.kind != "approved":
                flash(outcome.message, "error")
        return redirect(url_for("approvals.approvals"), 303)
    return render_template("approvals/_bulk_result.html", outcomes=outcomes, error=None, count=_fresh_count())


# -- my suggestions --------------------------------------------------------------------------------

MINE_STATES = {FollowupStatus.SUGGESTED: "pending", FollowupStatus.REJECTED: "rejected",
               FollowupStatus.WITHDRAWN: "withdrawn"}


@bp.get("/approvals/mine")
@permission_required("ReplyTicket")
def mine():
    """The user's suggestions, newest first: pending, rejected (with the reason), approved (now
    replies, with their delivery), withdrawn — each linking to its ticket."""
    session = get_session()
    query = (select(Followup).where(Followup.author_id == current_user.id,
                                    or_(Followup.type == FollowupType.SUGGESTION, Followup.approved_by_id.is_not(None)))
             .options(selectinload(Followup.ticket).selectinload(Ticket.channel), selectinload(Followup.decided_by))
             .order_by(Followup.created_at.desc(), Followup.id.desc()).limit(MINE_SHOWN))
    if not visibility.sees_all(current_user):
        query = query.where(Followup.ticket_id.in_(visibility.ticket_ids_visible(current_user)))
    items = session.scalars(query).all()
    rows = [{"followup": f, "state": MINE_STATES.get(f.status, "approved"), "waited": waited(f.created_at)}
            for f in items]
    return render_template("approvals/mine.html", rows=rows)
