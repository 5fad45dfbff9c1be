"""Every folder's number for one user, without counting tickets.

The built-in folders whose number is the same for everyone who sees a ticket (Inbox, Unassigned,
Priority, Snoozed, Awaiting approval, Failed sends, Archived, All) are sums over ``folder_total``,
a row per channel and team, of the rows the user sees: by channel, or by the team a ticket is
handed to (``inbox.visibility``'s rule). The third way to see a ticket, being its assignee, and
Mine are read from the user's own rows of ``ticket_count`` (``ix_ticket_count_assignee``). Both
tables are kept by triggers in the same transaction as each ticket's change (``models/folder.py``).
Mentions counts a range of ``ticket_mention`` (a user's open mentioned tickets, with the copies of
the columns visibility reads, in its index: ``models/mention.py``), My suggestions a user's pending
suggestions through the partial index ``ix_followup_suggested_author``. Measured at a million
tickets: summing the ~6,400 counter rows took 3–5 ms; the roll-up has ~90 rows and the whole
statement runs in about 0.1 ms for an admin and 1 ms for an agent.

``current_counts`` (what the sidebar shows) keeps a user's numbers in Redis under the queue's change
marker: the newest ``ticket.updated_at`` and the newest failed or unknown send
(``ix_ticket_updated``, ``ix_outbound_action_state``: three index lookups in one statement). Every
change that moves a number moves the marker — a ticket's status, assignee, team, priority or
approval, a note with a mention or a suggestion (they raise the ticket's version), a send that
fails — so a cached answer is never older than the data it was computed from; while nothing
changes, the sidebar costs one statement and one Redis read instead of the sums and sub-counts
(measured in docs/benchmarks.md: "all counters" idle and after a change). What does not move the
marker — a team's members or channels changing, a send leaving "failed" through the custom-channel
API — is caught by the entry's TTL.
"""
from __future__ import annotations

import functools
import json
from typing import Any

from redis import RedisError
from sqlalchemy import Integer, and_, bindparam, case, func, or_, select, true
from sqlalchemy.orm import Session

from inbox import visibility
from models import (PENDING_SUGGESTION, ActionState, Channel, Followup, FolderTotal, OutboundAction, Ticket, TicketCount,
                    TicketStatus, team_members, ticket_mentions)

TTL = 30          # seconds: the longest a change that does not move the marker can go unseen


def marker(session: Session) -> str:
    """What changes whenever a number may change (see the module's docstring)."""
    failed = [select(func.max(OutboundAction.updated_at)).where(OutboundAction.state == state).scalar_subquery()
              for state in (ActionState.FAILED, ActionState.UNKNOWN)]
    newest = session.execute(select(select(func.max(Ticket.updated_at)).scalar_subquery(), *failed)).one()
    return "|".join(value.isoformat() if value else "-" for value in newest)


def current_counts(session: Session, user: Any) -> dict[str, int]:
    """``builtin_counts`` for the sidebar: from Redis while the marker has not moved, else computed
    and kept. Without Redis, computed every time."""
    import workers

    scope = "all" if visibility.sees_all(user) else "teams"
    key = f"folder-counts:{user.id}:{scope}:{marker(session)}"
    try:
        redis = workers.connection()
        cached = redis.get(key)
    except (RedisError, RuntimeError):
        return builtin_counts(session, user)
    if cached is not None:
        return json.loads(cached)
    counts = builtin_counts(session, user)
    try:
        redis.set(key, json.dumps(counts), ex=TTL)
    except RedisError:
        pass
    return counts


def visible_rows(user: Any):
    """A condition on ticket_count rows: the buckets of tickets ``user`` sees (None: all)."""
    by_group = _by_group(TicketCount, user)
    return None if by_group is None else or_(by_group, TicketCount.assignee_id == user.id)


def _by_group(rows, user: Any):
    # The rule of inbox.visibility without its "assigned to me" part, on the columns ticket_count
    # and folder_total share: by channel, or by the team a ticket is handed to (None: all).
    if visibility.sees_all(user):
        return None
    channels = select(Channel.id).where(visibility.visible_channels(user))
    teams = select(team_members.c.team_id).where(team_members.c.user_id == user.id)
    return or_(rows.channel_id.in_(channels), rows.team_id.in_(teams))


# The folders folder_total holds, and the same folders as conditions on ticket_count rows.
_TOTALS = ("inbox", "unassigned", "priority", "snoozed", "approval", "failed", "archived", "everything")


def _on_counters():
    c = TicketCount
    open_ = c.status == TicketStatus.OPEN
    return (open_, and_(open_, c.assignee_id == 0), and_(open_, c.priority.is_(True)), c.status == TicketStatus.SNOOZED,
            c.pending.is_(True), c.failed.is_(True), c.status == TicketStatus.ARCHIVED, None)


class _Viewer:
    """Any user of one kind (who sees all tickets, or who sees by team), their id a bound
    parameter: the numbers' statement is built once per kind and then only run. Why: for an agent,
    building the statement (visibility sub-selects in five places) and its cache key took ~4 ms of
    Python at every change, running it 0.6 ms."""

    id = bindparam("viewer", type_=Integer)

    def __init__(self, sees_all: bool) -> None:
        self._sees_all = sees_all

    def can(self, permission: str) -> bool:
        return self._sees_all and permission == visibility.VIEW_ALL


@functools.cache
def _statement(sees_all: bool):
    """The statement behind ``builtin_counts`` for one kind of viewer (see ``_Viewer``).

    The folders that are the same for everyone are sums over ``folder_total`` (a row per channel
    and team) of the groups the viewer sees. Mine is summed from the viewer's own ``ticket_count``
    rows (``ix_ticket_count_assignee``); for an agent, so is what they see only because it is
    assigned to them, outside those groups."""
    viewer = _Viewer(sees_all)
    c, t = TicketCount, FolderTotal

    def total(condition=None):
        value = c.n if condition is None else case((condition, c.n), else_=0)
        return func.coalesce(func.sum(value), 0)

    groups = visibility.restrict(select(*(func.coalesce(func.sum(getattr(t, name)), 0) for name in _TOTALS)),
                                 _by_group(t, viewer)).subquery()
    mine = select(total(c.status == TicketStatus.OPEN)).where(c.assignee_id == viewer.id).scalar_subquery()
    query = select(groups, mine, _mentions(viewer), _my_suggestions(viewer))
    outside = _by_group(c, viewer)
    if outside is not None:
        extra = (select(*(total(condition) for condition in _on_counters()))
                 .where(c.assignee_id == viewer.id, ~outside).subquery())
        query = query.add_columns(extra).select_from(groups).join(extra, true())
    return query


@functools.lru_cache(maxsize=1024)
def _sql(dialect: Any, sees_all: bool, user_id: int) -> str:
    """``_statement`` for one user, as SQL with the user's id written in. Why: PostgreSQL planned
    the statement afresh on every run (1–2 ms of ~4 for an agent at a million tickets, a custom plan
    for each parameter value); with no parameter left, the statement psycopg prepares on a
    connection after five runs keeps its one plan."""
    statement = _statement(sees_all).params(viewer=user_id)
    return str(statement.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


def builtin_counts(session: Session, user: Any) -> dict[str, int]:
    """The number of tickets in each built-in folder, as ``user`` sees them: one statement."""
    connection = session.connection()
    row = connection.exec_driver_sql(_sql(connection.dialect, visibility.sees_all(user), int(user.id))).one()
    counts = dict(zip(_TOTALS, row[:8]))
    mine, mentions, suggestions = row[8:11]
    for name, extra in zip(_TOTALS, row[11:]):         # an agent's tickets outside their groups
        counts[name] += extra
    return {"inbox": counts["inbox"], "mine": mine, "unassigned": counts["unassigned"], "mentions": mentions or 0,
            "priority": counts["priority"], "snoozed": counts["snoozed"], "approval": counts["approval"],
            "suggestions": suggestions or 0, "failed": counts["failed"] or 0, "archived": counts["archived"],
            "all": counts["everything"]}


def _visible(query, user: Any):
    return visibility.restrict(query, visibility.visible_tickets(user))


def _mentions(user: Any):
    # A range of ix_ticket_mention_order (the user's open mentioned tickets, models/mention.py),
    # the visibility rule applied to the copies it carries: no ticket is fetched.
    held = ticket_mentions.c
    query = (select(func.count()).select_from(ticket_mentions)
             .where(held.user_id == user.id, held.status == TicketStatus.OPEN))
    return visibility.restrict(query, visibility.visible_by(held.channel_id, held.team_id, held.assignee_id,
                                                            user)).scalar_subquery()


def _my_suggestions(user: Any):
    # ix_followup_suggested_author: the user's pending suggestions; the ticket is joined only for
    # an agent's visibility.
    query = select(func.count(func.distinct(Followup.ticket_id))).where(PENDING_SUGGESTION, Followup.author_id == user.id)
    if not visibility.sees_all(user):
        query = _visible(query.join(Ticket, Ticket.id == Followup.ticket_id), user)
    return query.scalar_subquery()

