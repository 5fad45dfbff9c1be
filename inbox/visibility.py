"""Who sees which tickets and channels: the one place the rule lives.

Why a rule at all: a team works its own channels, and an agent should neither be distracted by nor
read another team's customers. Why this rule:

- Users with ``ViewAllTickets`` (supervisors and admins) see everything: they oversee every team.
- An agent sees a ticket when ANY of these holds:
  * its channel is owned by no team: shared channels stay visible to everyone, so an install
    without teams behaves exactly as before teams existed;
  * its channel is owned by a team the agent is a member of;
  * the ticket was handed to one of the agent's teams (``ticket.team_id``, by assignment);
  * the ticket is assigned to the agent (whoever assigns it to someone means them to work it).
- A channel is visible when it is owned by no team or by one of the agent's teams.

Everything is SQL clauses built from sub-selects (no extra round trip), so a list stays ONE
statement for its rows whatever the viewer. ``None`` means "no restriction". A ticket the viewer
cannot see answers 404 exactly like a missing one (never 403: no existence leak) — the callers
make that so by adding the clause to the query that fetches it.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, exists, or_, select, true
from sqlalchemy.orm import Session

from models import Channel, Ticket, team_channels, team_members

VIEW_ALL = "ViewAllTickets"


def sees_all(user: Any) -> bool:
    return bool(user is not None and user.can(VIEW_ALL))


def _my_teams(user: Any):
    return select(team_members.c.team_id).where(team_members.c.user_id == user.id)


def channel_clause(channel_id: Any, user: Any) -> ColumnElement[bool] | None:
    """A condition on a channel id column: unowned, or owned by one of ``user``'s teams."""
    if sees_all(user):
        return None
    unowned = ~exists().where(team_channels.c.channel_id == channel_id)
    mine = exists().where(team_channels.c.channel_id == channel_id, team_channels.c.team_id.in_(_my_teams(user)))
    return or_(unowned, mine)


def visible_channels(user: Any) -> ColumnElement[bool] | None:
    """``select(Channel).where(clause)``: the channels ``user`` sees (None: all)."""
    return channel_clause(Channel.id, user)


def visible_tickets(user: Any) -> ColumnElement[bool] | None:
    """``select(Ticket).where(clause)``: the tickets ``user`` sees (None: all)."""
    return visible_by(Ticket.channel_id, Ticket.team_id, Ticket.assignee_id, user)


def visible_by(channel_id: Any, team_id: Any, assignee_id: Any, user: Any) -> ColumnElement[bool] | None:
    """The same rule on any row that carries a ticket's channel, team and assignee (a copy kept
    beside an index, as ``ticket_mention`` does, so counting never fetches the tickets)."""
    by_channel = channel_clause(channel_id, user)
    if by_channel is None:
        return None
    return or_(by_channel, team_id.in_(_my_teams(user)), assignee_id == user.id)


def ticket_ids_visible(user: Any):
    """The ids of the tickets ``user`` sees, as a sub-select (for rows that only carry a ticket id)."""
    clause = visible_tickets(user)
    return select(Ticket.id).where(clause if clause is not None else true())


def restrict(query, clause: ColumnElement[bool] | None):
    """``query`` with ``clause`` added, unless it is None (no restriction)."""
    return query if clause is None else query.where(clause)


def can_see_ticket(session: Session, user: Any, ticket: Ticket) -> bool:
    """One ticket already loaded (one indexed query, none for those who see everything)."""
    if sees_all(user) or ticket.assignee_id == user.id:
        return True
    return session.scalar(select(Ticket.id).where(Ticket.id == ticket.id, visible_tickets(user))) is not None


def can_see_channel(session: Session, user: Any, channel: Channel) -> bool:
    if sees_all(user):
        return True
    return session.scalar(select(Channel.id).where(Channel.id == channel.id, visible_channels(user))) is not None
