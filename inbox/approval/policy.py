"""Who must ask: the reasons a reply goes through approval, decided per reply.

The switches, from the most personal to the most general:

- a user's ``reply_requires_approval`` ("suggest only": a new team member, say);
- the ticket's ``approval_required`` (set by a person or, later, by a rule's action);
- a channel's ``settings.require_approval``;
- the workspace policy (``Setting`` key ``"approval"``): public comments, tickets with negative
  sentiment, tickets in chosen categories (or below them).

A user who may approve their own suggestions (``ApproveSuggestion`` and ``ApproveOwnSuggestion``)
is not held by the ticket, channel or workspace rules: suggesting and then approving it oneself
would only add a click. Their own ``reply_requires_approval`` still holds them. A custom channel's
reply action with ``config.approvalProcess: false`` is never held (SocialHub's meaning: the action
does not take part in the approval process).

``reasons`` is pure (plain values in, sentences out) so that the composer, the pane, the JSON API
and the tests read the same answer.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Category, Setting, User

SETTING_KEY = "approval"
OVERDUE_DEFAULT_MINUTES = 60
OVERDUE_MAX_MINUTES = 7 * 24 * 60


@dataclass(frozen=True)
class ApprovalPolicy:
    """The workspace's rules (an admin edits them on Settings → Approval)."""

    public_comments: bool = False          # replies to public comments
    negative_sentiment: bool = False       # tickets marked negative
    category_ids: tuple[int, ...] = ()     # tickets in these categories or below them
    overdue_minutes: int = OVERDUE_DEFAULT_MINUTES   # a suggestion waiting longer is highlighted

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "category_ids": list(self.category_ids)}


class PolicyError(ValueError):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


@dataclass(frozen=True)
class ApprovalContext:
    """What ``reasons`` looks at, as plain values (built by ``context_for``)."""

    user_requires_approval: bool
    user_approves_own: bool
    ticket_requires_approval: bool
    channel_requires_approval: bool
    channel_name: str
    ticket_kind: str
    sentiment: str | None
    category_ids: frozenset[int] = field(default_factory=frozenset)   # the ticket's and their ancestors
    action_exempt: bool = False             # a custom reply action with approvalProcess: false


def reasons(ctx: ApprovalContext, policy: ApprovalPolicy) -> list[str]:
    """Why this reply must be suggested rather than sent; empty when it may be sent."""
    if ctx.action_exempt:
        return []
    found = []
    if ctx.user_requires_approval:
        found.append("Your replies go through approval.")
    if ctx.user_approves_own:
        return found
    if ctx.ticket_requires_approval:
        found.append("Replies on this ticket go through approval.")
    if ctx.channel_requires_approval:
        found.append(f"Replies on {ctx.channel_name} go through approval.")
    if policy.public_comments and ctx.ticket_kind == "comment":
        found.append("Replies to public comments go through approval.")
    if policy.negative_sentiment and ctx.sentiment == "negative":
        found.append("Replies to negative tickets go through approval.")
    if policy.category_ids and ctx.category_ids & set(policy.category_ids):
        found.append("Replies in this ticket's category go through approval.")
    return found


def load(session: Session) -> ApprovalPolicy:
    row = session.get(Setting, SETTING_KEY)
    value = (row.value if row else None) or {}
    try:
        return clean(value)
    except PolicyError:     # a stored value from an older shape: the defaults, never a 500
        return ApprovalPolicy()


def clean(value: Any, session: Session | None = None) -> ApprovalPolicy:
    """Validate an admin's policy (JSON or form values); ``PolicyError`` names what is wrong.
    With ``session``, the category ids must exist."""
    if not isinstance(value, dict):
        raise PolicyError("invalid_policy", "The approval policy must be an object.")
    unknown = set(value) - {"public_comments", "negative_sentiment", "category_ids", "overdue_minutes"}
    if unknown:
        raise PolicyError("unknown_field", f"Unknown approval settings: {', '.join(sorted(unknown))}.")
    flags = {}
    for name in ("public_comments", "negative_sentiment"):
        flag = value.get(name, False)
        if not isinstance(flag, bool):
            raise PolicyError("invalid_field", f"{name} must be true or false.")
        flags[name] = flag
    ids = value.get("category_ids", [])
    if not isinstance(ids, list) or len(ids) > 500 or not all(isinstance(i, int) and not isinstance(i, bool)
                                                             for i in ids):
        raise PolicyError("invalid_field", "category_ids must be a list of category ids.")
    minutes = value.get("overdue_minutes", OVERDUE_DEFAULT_MINUTES)
    if not isinstance(minutes, int) or isinstance(minutes, bool) or not 1 <= minutes <= OVERDUE_MAX_MINUTES:
        raise PolicyError("invalid_field", f"overdue_minutes must be a whole number from 1 to {OVERDUE_MAX_MINUTES}.")
    if session is not None and ids:
        known = set(session.scalars(select(Category.id).where(Category.id.in_(ids))))
        missing = sorted(set(ids) - known)
        if missing:
            raise PolicyError("unknown_category", f"No category with id {', '.join(map(str, missing))}.")
    return ApprovalPolicy(category_ids=tuple(dict.fromkeys(ids)), overdue_minutes=minutes, **flags)


def save(session: Session, policy: ApprovalPolicy, user: User) -> None:
    row = session.get(Setting, SETTING_KEY)
    if row is None:
        row = Setting(key=SETTING_KEY)
        session.add(row)
    row.value, row.updated_by_id = policy.as_dict(), user.id


def context_for(session: Session, user: User, ticket: Any, action_id: str | None = None) -> ApprovalContext:
    """The plain values ``reasons`` needs for ``user`` replying on ``ticket`` (with a custom
    channel's reply action ``action_id``, if one was chosen)."""
    channel = ticket.channel
    exempt = False
    if channel.provider == "custom":
        from inbox.connectors.custom import reply_actions

        actions = reply_actions(channel.settings, ticket.data)
        chosen = next((a for a in actions if a.id == action_id), actions[0] if len(actions) == 1 else None)
        exempt = chosen is not None and not chosen.approval_process
    return ApprovalContext(
        user_requires_approval=bool(user.reply_requires_approval),
        user_approves_own=user.can("ApproveSuggestion") and user.can("ApproveOwnSuggestion"),
        ticket_requires_approval=bool(ticket.approval_required),
        channel_requires_approval=(channel.settings or {}).get("require_approval") is True,
        channel_name=channel.name, ticket_kind=str(ticket.kind), sentiment=ticket.sentiment,
        category_ids=_with_ancestors(session, [c.id for c in ticket.categories]), action_exempt=exempt)


def approval_reasons(session: Session, user: User, ticket: Any, action_id: str | None = None) -> list[str]:
    """``reasons`` for a user and a ticket loaded from the database."""
    return reasons(context_for(session, user, ticket, action_id), load(session))


def _with_ancestors(session: Session, ids: list[int]) -> frozenset[int]:
    """The categories and every category above them (a policy on "Complaints" covers its children).
    The tree is a few levels deep: one query per level."""
    found, frontier = set(ids), set(ids)
    while frontier:
        parents = set(session.scalars(select(Category.parent_id).where(Category.id.in_(frontier),
                                                                       Category.parent_id.is_not(None))))
        frontier = parents - found
        found |= parents
    return frozenset(found)
