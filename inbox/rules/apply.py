"""What each rule action does to a ticket: one function per action, in the runner's transaction.

The runner (``inbox.rules.runner``) calls :func:`run` for every planned action inside a SAVEPOINT:
an action that raises (``Rejected``, ``ValueError``, a target deleted since the rule was saved)
is rolled back alone and recorded as failed in the trace, and the other actions still run.

Every change is written as the same History row a person's change writes (so the ticket pane
shows it the usual way), with ``user_id=None`` and ``data={"by": "rule", "rule_id", "rule", ...}``.
Nothing here calls a network or Redis: work that leaves the process (an outbound action, a mail,
a snooze's wake-up) is recorded as a row now and handed to ``Context.after_commit`` to be queued
once the transaction has committed. Nothing here stores an inbound message either, so rule
actions can never create rule runs: rules never trigger rules.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from inbox.connectors import connector_class
from inbox.connectors.base import Rejected
from inbox.ingest.store import get_or_create
from models import (Category, Channel, ChannelStatus, Followup, FollowupStatus, FollowupType, History,
                    OutboundAction, SavedReply, Setting, Tag, Team, Ticket, TicketStatus, User, utcnow)


@dataclass
class Context:
    """One run's action context: the ticket, the rule whose action this is, and what to do after
    the commit (callables taking nothing; the runner calls them only if the run committed)."""

    session: Session
    ticket: Ticket
    rule_id: Any = None
    rule_name: str = ""
    after_commit: list[Callable[[], object]] = field(default_factory=list)
    changed: bool = False   # an action wrote something: the ticket's version is raised once

    def history(self, action: str, data: dict[str, Any] | None = None) -> None:
        self.changed = True
        self.session.add(History(ticket_id=self.ticket.id, user_id=None, action=action,
                                 data={**(data or {}), "by": "rule", "rule_id": self.rule_id,
                                       "rule": self.rule_name}))


class ActionFailed(Exception):
    """An action that cannot be done on this ticket now (its reason goes into the trace)."""


def run(ctx: Context, action: str, config: dict[str, Any]) -> str:
    """Do ``action`` on the ticket; returns what was done, in words, for the trace.
    Raises when it could not be done (the caller's savepoint undoes anything half-written)."""
    handler = ACTIONS.get(action)
    if handler is None:
        raise ActionFailed(f"unknown action {action!r}")
    return handler(ctx, dict(config or {}))


# -- our own fields ---------------------------------------------------------------------------


def archive(ctx: Context, config: dict[str, Any]) -> str:
    from inbox.queue.actions import check_category_required

    ticket = ctx.ticket
    check_category_required(ctx.session, ticket)   # Rejected, as for a person: the trace says why
    if ticket.status == TicketStatus.ARCHIVED:
        return "already archived"
    ticket.status, ticket.snoozed_until = TicketStatus.ARCHIVED, None
    ctx.history("archive")
    return "archived"


def mark_as_priority(ctx: Context, config: dict[str, Any]) -> str:
    if ctx.ticket.priority:
        return "already a priority"
    ctx.ticket.priority = True
    ctx.history("priority", {"on": True})
    return "marked as priority"


def require_approval(ctx: Context, config: dict[str, Any]) -> str:
    if ctx.ticket.approval_required:
        return "replies already need approval"
    ctx.ticket.approval_required = True
    ctx.history("approval_required", {"on": True})
    return "replies on this ticket now need approval"


def sentiment(ctx: Context, config: dict[str, Any]) -> str:
    value = str(config.get("sentiment") or "").lower()
    if value not in ("positive", "neutral", "negative"):
        raise ActionFailed(f"unknown sentiment {config.get('sentiment')!r}")
    ctx.ticket.sentiment = value
    ctx.history("sentiment", {"value": value})
    return f"sentiment set to {value}"


def snooze(ctx: Context, config: dict[str, Any]) -> str:
    minutes = config.get("minutes")
    if isinstance(minutes, bool) or not isinstance(minutes, int) or minutes < 1:
        raise ActionFailed("minutes must be a whole number of at least 1")
    until = utcnow() + timedelta(minutes=minutes)
    ticket = ctx.ticket
    ticket.status, ticket.snoozed_until = TicketStatus.SNOOZED, until
    ctx.history("snoozed", {"until": until.isoformat() + "Z"})
    ticket_id = ticket.id

    def wake_later() -> None:
        from workers.triage import wake_soon   # the sweep wakes it if this cannot be queued

        wake_soon(ticket_id, until)

    ctx.after_commit.append(wake_later)
    return f"snoozed for {minutes} min, until {until.isoformat(timespec='minutes')} UTC"


def assign(ctx: Context, config: dict[str, Any]) -> str:
    """A user, or round-robin among a team's active members (the pointer in a ``Setting`` row)."""
    session, ticket = ctx.session, ctx.ticket
    if config.get("userId") is not None:
        user = session.get(User, _id(config["userId"], "user"))
        if user is None:
            raise ActionFailed(f"user {config['userId']} no longer exists")
        if not user.active:
            raise ActionFailed(f"user {user.display_name} is deactivated")
        return _assign_user(ctx, user)
    team = session.get(Team, _id(config.get("teamId"), "team"))
    if team is None:
        raise ActionFailed(f"team {config.get('teamId')} no longer exists")
    members = sorted((u for u in team.members if u.active), key=lambda u: u.id)
    if not members:
        raise ActionFailed(f"team {team.name} has no active member")
    pointer, _ = get_or_create(session, Setting, {"key": f"round_robin:{team.id}"}, {"value": {}})
    # Locked (PostgreSQL) until the commit: two runs at once pick one member each, in turn.
    session.refresh(pointer, with_for_update=True)
    last = (pointer.value or {}).get("last_user_id")
    chosen = next((u for u in members if last is None or u.id > last), members[0])
    pointer.value = {"last_user_id": chosen.id}
    before = ticket.team
    if ticket.team_id != team.id:
        ticket.team_id, ticket.team = team.id, team
        ctx.history("assigned_team", {"team_id": team.id, "name": team.name,
                                      "from_team_id": before.id if before else None,
                                      "from_name": before.name if before else None})
    _assign_user(ctx, chosen)
    return f"assigned to {chosen.display_name} (round-robin in team {team.name})"


def _assign_user(ctx: Context, user: User) -> str:
    if ctx.ticket.assignee_id == user.id:
        return f"already assigned to {user.display_name}"
    ctx.ticket.assignee_id = user.id
    ctx.history("assigned", {"user_id": user.id, "name": user.display_name})
    return f"assigned to {user.display_name}"


def tag(ctx: Context, config: dict[str, Any]) -> str:
    """SocialHub's "tag" is our categories: add them to the ticket's."""
    ids = [_id(i, "category") for i in config.get("categoryIds") or ()]
    found = {c.id: c for c in ctx.session.scalars(select(Category).where(Category.id.in_(ids)))} if ids else {}
    missing = [i for i in ids if i not in found]
    if missing:
        raise ActionFailed(f"category {', '.join(map(str, missing))} no longer exists")
    have = {c.id for c in ctx.ticket.categories}
    new = [found[i] for i in dict.fromkeys(ids) if i not in have]
    if not new:
        return "already in these categories"
    ctx.ticket.categories = sorted([*ctx.ticket.categories, *new], key=lambda c: c.id)
    ctx.history("categorized", {"categories": [c.name for c in ctx.ticket.categories]})
    return "categorised " + ", ".join(c.name for c in new)


def add_tags(ctx: Context, config: dict[str, Any]) -> str:
    """Add our tags; where the provider keeps tags too, send it the new set (as the pane does)."""
    session, ticket = ctx.session, ctx.ticket
    ids = [_id(i, "tag") for i in config.get("tagIds") or ()]
    found = {t.id: t for t in session.scalars(select(Tag).where(Tag.id.in_(ids)))} if ids else {}
    missing = [i for i in ids if i not in found]
    if missing:
        raise ActionFailed(f"tag {', '.join(map(str, missing))} no longer exists")
    have = {t.id for t in ticket.tags}
    new = [found[i] for i in dict.fromkeys(ids) if i not in have]
    if not new:
        return "already tagged"
    ticket.tags = [*ticket.tags, *new]
    ctx.history("tagged", {"tags": [t.name for t in ticket.tags]})
    channel = session.get(Channel, ticket.channel_id)
    cls = connector_class(channel.provider)
    done = "tagged " + ", ".join(t.name for t in new)
    if "tag" not in cls.ACTIONS:
        return done
    params = {"tags": sorted(t.name for t in ticket.tags)}
    cls.validate_action("tag", ticket.kind, params)
    action = _outbound(ctx, channel, "tag", params)
    return f"{done}; sent to {channel.provider} (action {action.id})"


# -- followups ------------------------------------------------------------------------------


def add_note(ctx: Context, config: dict[str, Any]) -> str:
    from inbox.queue.notes import mentioned_users

    text = str(config.get("text") or "").strip()
    if not text:
        raise ActionFailed("the note has no text")
    note = Followup(ticket_id=ctx.ticket.id, type=FollowupType.NOTE, status=FollowupStatus.SAVED, text=text,
                    author_id=None)
    note.mentioned = mentioned_users(ctx.session, text)
    ctx.session.add(note)
    ctx.session.flush()
    ctx.history("note_added", {"followup_id": note.id, "mentions": [u.id for u in note.mentioned]})
    return "note added"


def suggest_reply(ctx: Context, config: dict[str, Any]) -> str:
    """A suggestion from a saved reply, checked like a reply, waiting for an approver: a rule never
    replies by itself. ``request["by_rule"]`` names the rule for the approvals page."""
    from inbox.replies.service import check_reply

    session, ticket = ctx.session, ctx.ticket
    saved = session.get(SavedReply, _id(config.get("savedReplyId"), "saved reply"))
    if saved is None:
        raise ActionFailed(f"saved reply {config.get('savedReplyId')} no longer exists")
    text, _request, _extra = check_reply(session, ticket, saved.text)
    followup = Followup(ticket_id=ticket.id, type=FollowupType.SUGGESTION, status=FollowupStatus.SUGGESTED,
                        text=text, author_id=None, request={"by_rule": ctx.rule_name})
    session.add(followup)
    session.flush()
    ticket.has_pending_suggestion = True
    ctx.history("suggested", {"followup_id": followup.id, "saved_reply_id": saved.id})
    return f"suggested the saved reply “{saved.name}” for approval"


def forward_by_mail(ctx: Context, config: dict[str, Any]) -> str:
    from inbox import mail

    followup = mail.forward(ctx.session, ctx.ticket, config, rule_name=ctx.rule_name)
    ctx.session.flush()
    ctx.changed = True
    followup_id = followup.id
    ctx.after_commit.append(lambda: mail.send_soon(followup_id))
    return "forwarded to " + ", ".join(config.get("recipients") or ())


# -- on the network -------------------------------------------------------------------------


def _network(kind: str) -> Callable[[Context, dict[str, Any]], str]:
    def act(ctx: Context, config: dict[str, Any]) -> str:
        ticket = ctx.ticket
        channel = ctx.session.get(Channel, ticket.channel_id)
        cls = connector_class(channel.provider)
        if kind not in cls.ACTIONS:
            raise ActionFailed(f"{channel.provider} cannot {kind} items")
        cls.validate_action(kind, ticket.kind, {})
        if (ticket.data or {}).get("deleted"):
            raise ActionFailed("the item was deleted on the network")
        if kind == "like" and (ticket.data or {}).get("liked"):
            return "already liked"
        action = _outbound(ctx, channel, kind, {})
        return f"{kind} queued (action {action.id})"
    act.__name__ = kind
    act.__doc__ = f"``{kind}`` on the network: an outbound action, sent by a worker after the commit."
    return act


def _outbound(ctx: Context, channel: Channel, kind: str, params: dict[str, Any]) -> OutboundAction:
    if channel.status == ChannelStatus.DISABLED:
        raise ActionFailed("the channel has been disconnected")
    action = OutboundAction(channel_id=channel.id, ticket_id=ctx.ticket.id, kind=kind, request=params)
    ctx.session.add(action)
    ctx.session.flush()
    ctx.history(f"{kind}_requested", {"action_id": action.id})
    action_id = action.id

    def send() -> None:
        import workers

        workers.send_soon(action_id)   # the sweep queues it if Redis is down

    ctx.after_commit.append(send)
    return action


def _id(value: Any, what: str) -> int:
    if isinstance(value, bool):
        raise ActionFailed(f"{what} id {value!r} is not an id")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ActionFailed(f"{what} id {value!r} is not an id") from None


ACTIONS: dict[str, Callable[[Context, dict[str, Any]], str]] = {
    "archive": archive, "mark_as_priority": mark_as_priority, "assign": assign, "tag": tag,
    "add_tags": add_tags, "sentiment": sentiment, "snooze": snooze, "add_note": add_note,
    "suggest_reply": suggest_reply, "require_approval": require_approval, "forward_by_mail": forward_by_mail,
    "hide": _network("hide"), "delete": _network("delete"), "like": _network("like"),
}
# The failures an action may raise that are its own, expected ones (anything else is logged too).
EXPECTED = (ActionFailed, Rejected, ValueError, LookupError)
