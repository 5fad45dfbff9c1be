"""Folders (saved filters of the queue) and the counters behind every folder's number.

Why counters in a table of their own: a folder's number is on screen all day for every user, and
``COUNT(*)`` over a million tickets per request costs tens of milliseconds each. ``ticket_count``
holds one row per combination of the columns the built-in folders and team visibility filter on
(channel, team, assignee, status, priority, awaiting approval) with how many tickets have it. The
database itself keeps it, with triggers on ``ticket`` (insert, delete, and updates of those
columns), so every writer — a request, a worker, a bulk UPDATE, a migration — keeps it current in
the same transaction as its change, and no code path can forget to. A user's counters are then a
sum over a few thousand small rows (``inbox/queue/counters.py``).
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, TimestampMixin


class Folder(TimestampMixin, Base):
    """A saved filter: personal (``team_id`` None) or shared with a team. ``args`` are the queue's
    query arguments (``inbox.queue.queries.Filters.as_args``)."""

    __tablename__ = "folder"
    __table_args__ = (Index("ix_folder_owner", "owner_id"), Index("ix_folder_team", "team_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    owner_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(default=0, server_default="0")
    args: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    owner = relationship("User")
    team = relationship("Team")


class TicketCount(Base):
    """How many tickets have this combination of the counted columns (0 stands for "none" in the
    id columns: a primary key cannot hold NULL). Written only by the triggers below."""

    __tablename__ = "ticket_count"

    channel_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    team_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    assignee_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    status: Mapped[str] = mapped_column(String(20), primary_key=True)
    priority: Mapped[bool] = mapped_column(primary_key=True)
    pending: Mapped[bool] = mapped_column(primary_key=True)
    n: Mapped[int] = mapped_column(default=0)


_KEY = "channel_id, team_id, assignee_id, status, priority, pending"


def _values(row: str) -> str:
    return (f"{row}.channel_id, coalesce({row}.team_id, 0), coalesce({row}.assignee_id, 0), {row}.status, "
            f"{row}.priority, {row}.has_pending_suggestion")


def _sqlite_bump(row: str, delta: str) -> str:
    return (f"INSERT INTO ticket_count ({_KEY}, n) VALUES ({_values(row)}, {delta}) "
            f"ON CONFLICT ({_KEY}) DO UPDATE SET n = n + ({delta});")


_COUNTED = "channel_id, team_id, assignee_id, status, priority, has_pending_suggestion"
_CHANGED = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in _COUNTED.split(", "))

SQLITE_TRIGGERS = [
    f"CREATE TRIGGER IF NOT EXISTS ticket_count_insert AFTER INSERT ON ticket BEGIN {_sqlite_bump('NEW', '1')} END",
    f"CREATE TRIGGER IF NOT EXISTS ticket_count_delete AFTER DELETE ON ticket BEGIN {_sqlite_bump('OLD', '-1')} END",
    f"CREATE TRIGGER IF NOT EXISTS ticket_count_update AFTER UPDATE OF {_COUNTED} ON ticket WHEN {_CHANGED} "
    f"BEGIN {_sqlite_bump('OLD', '-1')} {_sqlite_bump('NEW', '1')} END",
]

# PostgreSQL: one function for the three events. An update applies its two changes in key order, so
# two transactions moving tickets between the same two buckets in opposite directions lock the rows
# in the same order (no deadlock between single-ticket changes).
POSTGRES_TRIGGERS = [
    f"""CREATE OR REPLACE FUNCTION ticket_count_bump() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  old_key text; new_key text;
BEGIN
  IF TG_OP = 'UPDATE' THEN
    IF ROW({_values('OLD')}) IS NOT DISTINCT FROM ROW({_values('NEW')}) THEN RETURN NULL; END IF;
    old_key := concat_ws('|', {_values('OLD')}); new_key := concat_ws('|', {_values('NEW')});
    IF old_key < new_key THEN
      INSERT INTO ticket_count ({_KEY}, n) VALUES ({_values('OLD')}, -1) ON CONFLICT ({_KEY}) DO UPDATE SET n = ticket_count.n - 1;
      INSERT INTO ticket_count ({_KEY}, n) VALUES ({_values('NEW')}, 1) ON CONFLICT ({_KEY}) DO UPDATE SET n = ticket_count.n + 1;
    ELSE
      INSERT INTO ticket_count ({_KEY}, n) VALUES ({_values('NEW')}, 1) ON CONFLICT ({_KEY}) DO UPDATE SET n = ticket_count.n + 1;
      INSERT INTO ticket_count ({_KEY}, n) VALUES ({_values('OLD')}, -1) ON CONFLICT ({_KEY}) DO UPDATE SET n = ticket_count.n - 1;
    END IF;
  ELSIF TG_OP = 'INSERT' THEN
    INSERT INTO ticket_count ({_KEY}, n) VALUES ({_values('NEW')}, 1) ON CONFLICT ({_KEY}) DO UPDATE SET n = ticket_count.n + 1;
  ELSE
    INSERT INTO ticket_count ({_KEY}, n) VALUES ({_values('OLD')}, -1) ON CONFLICT ({_KEY}) DO UPDATE SET n = ticket_count.n - 1;
  END IF;
  RETURN NULL;
END $$""",
    "DROP TRIGGER IF EXISTS ticket_count_change ON ticket",
    "CREATE TRIGGER ticket_count_change AFTER INSERT OR DELETE OR UPDATE ON ticket "
    "FOR EACH ROW EXECUTE FUNCTION ticket_count_bump()",
]

DROP_SQLITE = ["DROP TRIGGER IF EXISTS ticket_count_insert", "DROP TRIGGER IF EXISTS ticket_count_delete",
               "DROP TRIGGER IF EXISTS ticket_count_update"]
DROP_POSTGRES = ["DROP TRIGGER IF EXISTS ticket_count_change ON ticket", "DROP FUNCTION IF EXISTS ticket_count_bump()"]

# The counts of the tickets already there: what the triggers would have made from an empty table.
REBUILD = [
    "DELETE FROM ticket_count",
    f"INSERT INTO ticket_count ({_KEY}, n) SELECT {_values('ticket')}, count(*) FROM ticket "
    f"GROUP BY {_values('ticket')}",
]


def install_triggers(connection) -> None:
    """Create every trigger that keeps a derived column or table current on ``connection``'s
    database: ``ticket_count`` here, the activity copies of ``models/taxonomy.py``, the
    ``has_failed_send`` flag of ``models/failed_send.py``, ``ticket_mention`` of ``models/mention.py``
    (create_all and the migrations call it)."""
    from .failed_send import POSTGRES_FAILED_SEND_TRIGGERS, SQLITE_FAILED_SEND_TRIGGERS
    from .mention import POSTGRES_MENTION_TRIGGERS, SQLITE_MENTION_TRIGGERS
    from .taxonomy import POSTGRES_ACTIVITY_TRIGGERS, SQLITE_ACTIVITY_TRIGGERS

    if connection.dialect.name == "postgresql":
        statements = (POSTGRES_TRIGGERS + POSTGRES_ACTIVITY_TRIGGERS + POSTGRES_FAILED_SEND_TRIGGERS
                      + POSTGRES_MENTION_TRIGGERS)
    else:
        statements = SQLITE_TRIGGERS + SQLITE_ACTIVITY_TRIGGERS + SQLITE_FAILED_SEND_TRIGGERS + SQLITE_MENTION_TRIGGERS
    for statement in statements:
        connection.exec_driver_sql(statement)


def rebuild_counts(connection) -> None:
    """Recount from the tickets (a migration, or a bulk load that wrote around the triggers)."""
    for statement in REBUILD:
        connection.exec_driver_sql(statement)


@event.listens_for(Base.metadata, "after_create")
def _after_create(target, connection, **kw) -> None:   # noqa: ARG001
    install_triggers(connection)



