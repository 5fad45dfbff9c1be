"""The ticket pane's data, shared by the pages and the JSON API: the ticket with its thread, the
post it is on, its parent comment, and the action bar's context.

Not a view module: ``inbox.api`` imports it, and the action bar is rendered by the template that
includes ``queue/_actions.html`` with ``action_bar()``'s context (no HTML built in Python).
"""
from __future__ import annotations

from typing import Any

from flask import abort, current_app, render_template
from sqlalchemy import or_, select
from sqlalchemy.orm import Session, contains_eager, joinedload, selectinload

from inbox import visibility
from inbox.links import http_url
from models import (ActionState, Followup, FollowupType, History, Interactor, OutboundAction, Post, RuleRun, Team,
                    Ticket, User)

from . import triage
from .actions import LABELS, available_actions, custom_actions

PENDING = (ActionState.QUEUED, ActionState.SENDING)
OTHER_TICKETS_SHOWN = 10
# A network's public profile address from a username, where the network has a stable one.
PROFILE_URLS = {"instagram": "https://www.instagram.com/{}/", "twitter": "https://x.com/{}",
                "x": "https://x.com/{}", "telegram": "https://t.me/{}", "tiktok": "https://www.tiktok.com/@{}"}


def find_ticket(session: Session, ticket_id: int, *, viewer: Any) -> Ticket | None:
    """The ticket with everything its pane and its API detail show, loaded in a fixed number of
    queries; None when it does not exist or ``viewer`` may not see it (``inbox.visibility``, in the
    same statement): callers answer both with the same 404, so no one learns it exists."""
    # One ticket: its author, channel, assignee and team are joined into its own statement, and the
    # followups' authors into theirs (a round trip each saved: on PostgreSQL ~1 ms apiece).
    query = select(Ticket).where(Ticket.id == ticket_id).options(
        selectinload(Ticket.messages), joinedload(Ticket.interactor), joinedload(Ticket.channel),
        selectinload(Ticket.tags), selectinload(Ticket.categories), joinedload(Ticket.assignee),
        joinedload(Ticket.team),
        selectinload(Ticket.followups).joinedload(Followup.author),
        selectinload(Ticket.followups).joinedload(Followup.decided_by),
        selectinload(Ticket.followups).selectinload(Followup.actions).selectinload(OutboundAction.attempt_log),
        selectinload(Ticket.followups).selectinload(Followup.mentioned))
    return session.scalars(visibility.restrict(query, visibility.visible_tickets(viewer))).first()


def load_ticket(ticket_id: int) -> Ticket:
    """``find_ticket`` in the request's session for the logged-in user, or a 404 — also when they
    may not see it (pages; the API answers its own JSON 404). Every ticket-scoped page comes here."""
    from flask_login import current_user

    from inbox.db import get_session

    ticket = find_ticket(get_session(), ticket_id, viewer=current_user)
    if ticket is None:
        abort(404)
    return ticket


def action_bar(session: Session, ticket: Ticket, error: str | None = None) -> dict[str, Any]:
    """What ``queue/_actions.html`` needs: the buttons on offer and the last few actions' states."""
    recent = session.scalars(select(OutboundAction).where(
        OutboundAction.ticket_id == ticket.id, OutboundAction.kind != "reply")
        .order_by(OutboundAction.id.desc()).limit(5)).all()
    return {"ticket": ticket, "available": available_actions(ticket), "custom": custom_actions(ticket),
            "labels": LABELS, "recent": recent, "pending": any(a.state in PENDING for a in recent),
            "error": error}


def pane_context(session: Session, ticket: Ticket, viewer: Any) -> dict[str, Any]:
    """The ticket, its thread, the post it is on, its parent comment, and the action bar's context
    (the interactor's other tickets: those ``viewer`` may see)."""
    post = None
    if ticket.post_external_id:
        post = session.scalars(select(Post).filter_by(channel_id=ticket.channel_id,
                                                      external_id=ticket.post_external_id)).first()
    if ticket.kind == "post_failure" and post is None and ticket.data.get("post_id"):
        post = session.scalars(select(Post).filter_by(channel_id=ticket.channel_id,
                                                      external_id=str(ticket.data["post_id"]))).first()
    parent = session.get(Ticket, ticket.parent_id) if ticket.parent_id else None
    if parent is not None and not visibility.can_see_ticket(session, viewer, parent):
        parent = None     # a comment handed over without its thread: the parent stays out of sight
    return {"ticket": ticket, "thread": thread_of(ticket), "post": post, "parent": parent,
            "bar": action_bar(session, ticket), "side": sidebar(session, ticket),
            "who": interactor_card(session, ticket, viewer)}


def interactor_card(session: Session, ticket: Ticket, viewer: Any) -> dict[str, Any] | None:
    """What ``queue/_interactor.html`` needs: who wrote, and their other tickets in every channel
    that ``viewer`` may see (a hidden one is not even counted).

    An interactor row belongs to one channel, so the same person on two channels is two rows: "the
    same network user" is the same ``network`` and the same network user id, or the same non-empty
    username (ids differ between providers that carry the same network). One query, the newest
    ``OTHER_TICKETS_SHOWN`` first, their channels joined in (the pane's cost stays fixed).
    """
    person = ticket.interactor
    if person is None:
        return None
    same = [Interactor.external_id == person.external_id]
    if person.username:
        same.append(Interactor.username == person.username)
    query = (select(Ticket).join(Ticket.interactor).join(Ticket.channel)
             .where(Ticket.network == ticket.network, Ticket.id != ticket.id, or_(*same))
             .options(contains_eager(Ticket.channel)))
    others = session.scalars(visibility.restrict(query, visibility.visible_tickets(viewer))
                             .order_by(Ticket.last_activity_at.desc(), Ticket.id.desc())
                             .limit(OTHER_TICKETS_SHOWN)).all()
    data = ticket.data or {}
    return {"person": person, "network": ticket.network, "others": others,
            "avatar": http_url(data.get("avatar_url")), "profile": profile_url(ticket.network, person.username, data)}


def profile_url(network: str, username: str, data: dict[str, Any]) -> str | None:
    """The provider's profile link when it gave one, else the network's address for the username."""
    given = http_url(data.get("profile_url"))
    if given:
        return given
    pattern = PROFILE_URLS.get((network or "").lower())
    name = (username or "").lstrip("@")
    if pattern is None or not name or any(c in name for c in "/?#%") or any(c.isspace() for c in name):
        return None
    return http_url(pattern.format(name))


def sidebar(session: Session, ticket: Ticket, message: str | None = None, error: str | None = None) -> dict[str, Any]:
    """What ``queue/_triage.html`` needs: the triage controls' choices and the history, newest first.

    ``message`` explains a refused stale action; ``error`` a refused value (both shown inline).
    """
    users = session.scalars(select(User).order_by(User.name, User.email)).all()
    teams = session.scalars(select(Team).order_by(Team.name)).all()
    entries = session.scalars(select(History).filter_by(ticket_id=ticket.id)
                              .order_by(History.created_at.desc(), History.id.desc()).limit(100)).all()
    return {"ticket": ticket, "assignable": [u for u in users if u.active], "teams": teams,
            "team_names": {t.id: t.name for t in teams},
            "names": {u.id: u.display_name for u in users}, "history": entries, "sentiments": triage.SENTIMENTS,
            # A note's history entry shows the note as it is now (read from the ticket, not copied
            # into the history): a deleted note's words leave the sidebar with it.
            "note_texts": {f.id: f.text for f in ticket.followups if f.type == FollowupType.NOTE},
            "rule_runs": rule_runs(session, entries),
            "statuses": [s.value for s in triage.SETTABLE_STATUSES],
            "presets": triage.SNOOZE_PRESETS, "message": message, "error": error}


def rule_runs(session: Session, entries: list[History]) -> dict[int, RuleRun]:
    """The rule runs that the history's "rules" entries name (their traces answer "why did this
    happen?"), in one query whatever their number."""
    ids = {h.data.get("run_id") for h in entries if h.action == "rules" and isinstance(h.data.get("run_id"), int)}
    if not ids:
        return {}
    return {run.id: run for run in session.scalars(select(RuleRun).where(RuleRun.id.in_(ids)))}


def thread_of(ticket: Ticket) -> list[tuple[str, object]]:
    """Inbound messages and our followups in one timeline.

    Our replies seen again on the network (polled, or confirmed by an integration) are shown once,
    as the reply card that carries their delivery status.
    """
    ours = {a.external_id for f in ticket.followups for a in f.actions if a.external_id}
    ours |= {a.idempotency_key for f in ticket.followups for a in f.actions}
    entries = [("message", m.created_at, m) for m in ticket.messages
               if not (m.direction == "out" and (m.external_id in ours or (m.data or {}).get("replyId") in ours))]
    entries += [("followup", f.created_at, f) for f in ticket.followups]
    return [(kind, obj) for kind, _, obj in sorted(entries, key=lambda e: (e[1], e[0] == "followup"))]


def render_pane(ticket_id: int, *, message: str | None = None, error: str | None = None, status: int = 200,
                retarget: bool = False, suggestion_card: dict[str, Any] | None = None):
    """The whole pane with the ticket as it is now (htmx swaps it into #pane; without htmx, the page).

    Here rather than in a view module because the queue's controls and the reply composer (another
    package's views) both answer with it. ``retarget``: the request came from a control that swaps
    only a part (the action bar, the composer), but a changed version must show everything afresh.
    ``suggestion_card``: a refusal to show on one suggestion's card in the thread (``replies/_suggestion.html``):
    ``{"id", "notice"}`` (decided meanwhile) or ``{"id", "error", "form", "text"}`` (the form to reopen).
    """
    from inbox import hx
    from inbox.db import get_session

    from flask_login import current_user

    get_session().expire_all()
    ticket = load_ticket(ticket_id)
    pane = pane_context(get_session(), ticket, current_user)
    pane["side"] = sidebar(get_session(), ticket, message=message, error=error)
    pane["suggestion_card"] = suggestion_card
    if hx.is_htmx():
        response = current_app.response_class(hx.fragment("queue/index.html", "pane", **pane), status=status)
        if retarget:
            response.headers["HX-Retarget"], response.headers["HX-Reswap"] = "#pane", "innerHTML"
        return response
    from .views import page_context

    return render_template("queue/index.html", **pane, **page_context()), status
