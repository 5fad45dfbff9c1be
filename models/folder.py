"""Folders (saved filters of the queue) and the counters behind every folder's number.

Why counters in a table of their own: a folder's number is on screen all day for every user, and
``COUNT(*)`` over a million tickets per request costs tens of milliseconds each. ``ticket_count``
holds one row per combination of the columns the built-in folders and team visibility filter on
(channel, team, assignee, status, priority, awaiting approval, failed sends) with how many tickets
have it. The
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
    # ``ticket.has_failed_send`` (models/failed_send.py): "Failed sends" is a sum like the others,
    # instead of fetching every flagged ticket to apply an agent's visibility.
    failed: Mapped[bool] = mapped_column(primary_key=True)
    n: Mapped[int] = mapped_column(default=0)


# (counter column, the ticket's column, its value in a counter row): the bucket a ticket counts in.
# Listed once; the triggers and the rebuild below are written from it.
COUNTED = (("channel_id", "channel_id", "{0}.channel_id"), ("team_id", "team_id", "coalesce({0}.team_id, 0)"),
           ("assignee_id", "assignee_id", "coalesce({0}.assignee_id, 0)"), ("status", "status", "{0}.status"),
           ("priority", "priority", "{0}.priority"), ("pending", "has_pending_suggestion", "{0}.has_pending_suggestion"),
           ("failed", "has_failed_send", "{0}.has_failed_send"))


def counter_statements(dialect: str, counted=COUNTED) -> tuple[list[str], list[str]]:
    """The triggers that keep ``ticket_count`` and the statements that recount it, for the
    ``counted`` columns (a migration passes the columns its revision had)."""
    key = ", ".join(c for c, _t, _v in counted)

    def values(row: str) -> str:
        return ", ".join(v.format(row) for _c, _t, v in counted)

    rebuild = ["DELETE FROM ticket_count",
               f"INSERT INTO ticket_count ({key}, n) SELECT {values('ticket')}, count(*) FROM ticket "
               f"GROUP BY {values('ticket')}"]
    if dialect != "postgresql":
        def bump(row: str, delta: str) -> str:
            return (f"INSERT INTO ticket_count ({key}, n) VALUES ({values(row)}, {delta}) "
                    f"ON CONFLICT ({key}) DO UPDATE SET n = n + ({delta});")

        columns = ", ".join(t for _c, t, _v in counted)
        changed = " OR ".join(f"OLD.{t} IS NOT NEW.{t}" for _c, t, _v in counted)
        return [
            f"CREATE TRIGGER IF NOT EXISTS ticket_count_insert AFTER INSERT ON ticket BEGIN {bump('NEW', '1')} END",
            f"CREATE TRIGGER IF NOT EXISTS ticket_count_delete AFTER DELETE ON ticket BEGIN {bump('OLD', '-1')} END",
            f"CREATE TRIGGER IF NOT EXISTS ticket_count_update AFTER UPDATE OF {columns} ON ticket WHEN {changed} "
            f"BEGIN {bump('OLD', '-1')} {bump('NEW', '1')} END",
        ], rebuild

    def add(row: str, delta: int) -> str:
        sign = "+" if delta > 0 else "-"
        return (f"INSERT INTO ticket_count ({key}, n) VALUES ({values(row)}, {delta}) "
                f"ON CONFLICT ({key}) DO UPDATE SET n = ticket_count.n {sign} 1;")

    # PostgreSQL: one function for the three events. An update applies its two changes in key
    # order, so two transactions moving tickets between the same two buckets in opposite directions
    # lock the rows in the same order (no deadlock between single-ticket changes).
    return [
        f"""CREATE OR REPLACE FUNCTION ticket_count_bump() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  old_key text; new_key text;
BEGIN
  IF TG_OP = 'UPDATE' THEN
    IF ROW({values('OLD')}) IS NOT DISTINCT FROM ROW({values('NEW')}) THEN RETURN NULL; END IF;
    old_key := concat_ws('|', {values('OLD')}); new_key := concat_ws('|', {values('NEW')});
    IF old_key < new_key THEN
      {add('OLD', -1)}
      {add('NEW', 1)}
    ELSE
      {add('NEW', 1)}
      {add('OLD', -1)}
    END IF;
  ELSIF TG_OP = 'INSERT' THEN
    {add('NEW', 1)}
  ELSE
    {add('OLD', -1)}
  END IF;
  RETURN NULL;
END $$""",
        "DROP TRIGGER IF EXISTS ticket_count_change ON ticket",
        "CREATE TRIGGER ticket_count_change AFTER INSERT OR DELETE OR UPDATE ON ticket "
        "FOR EACH ROW EXECUTE FUNCTION ticket_count_bump()",
    ], rebuild


DROP_SQLITE = ["DROP TRIGGER IF EXISTS ticket_count_insert", "DROP TRIGGER IF EXISTS ticket_count_delete",
               "DROP TRIGGER IF EXISTS ticket_count_update"]
DROP_POSTGRES = ["DROP TRIGGER IF EXISTS ticket_count_change ON ticket", "DROP FUNCTION IF EXISTS ticket_count_bump()"]


def _present(connection) -> tuple[tuple, bool, bool]:
    """What of the derived data this database's schema has: the counted columns (without "failed"
    before migration 9ae1f2a3b4c5), whether ticket.has_failed_send (98c9d0e1f2a3) and ticket_mention
    (99d0e1f2a3b4) exist. The migrations that came before those call these functions too, and must
    install what their revision's schema can hold."""
    from sqlalchemy import inspect

    inspector = inspect(connection)
    counter_columns = {c["name"] for c in inspector.get_columns("ticket_count")}
    ticket_columns = {c["name"] for c in inspector.get_columns("ticket")}
    counted = tuple(c for c in COUNTED if c[0] in counter_columns)
    return counted, "has_failed_send" in ticket_columns, inspector.has_table("ticket_mention")


def install_triggers(connection) -> None:
    """Create every trigger that keeps a derived column or table current on ``connection``'s
    database: ``ticket_count`` here, the activity copies of ``models/taxonomy.py``, the
    ``has_failed_send`` flag of ``models/failed_send.py``, ``ticket_mention`` of ``models/mention.py``
    (create_all, the bulk loader and the migrations call it)."""
    from .failed_send import POSTGRES_FAILED_SEND_TRIGGERS, SQLITE_FAILED_SEND_TRIGGERS
    from .mention import POSTGRES_MENTION_TRIGGERS, SQLITE_MENTION_TRIGGERS
    from .taxonomy import POSTGRES_ACTIVITY_TRIGGERS, SQLITE_ACTIVITY_TRIGGERS

    pg = connection.dialect.name == "postgresql"
    counted, has_failed, has_mentions = _present(connection)
    statements = counter_statements(connection.dialect.name, counted)[0]
    statements += POSTGRES_ACTIVITY_TRIGGERS if pg else SQLITE_ACTIVITY_TRIGGERS
    if has_failed:
        statements += POSTGRES_FAILED_SEND_TRIGGERS if pg else SQLITE_FAILED_SEND_TRIGGERS
    if has_mentions:
        statements += POSTGRES_MENTION_TRIGGERS if pg else SQLITE_MENTION_TRIGGERS
    for statement in statements:
        connection.exec_driver_sql(statement)


def rebuild_counts(connection) -> None:
    """Recount from the tickets (a migration, or a bulk load that wrote around the triggers): what
    the triggers would have made from an empty table."""
    for statement in counter_statements(connection.dialect.name, _present(connection)[0])[1]:
        connection.exec_driver_sql(statement)


@event.listens_for(Base.metadata, "after_create")
def _after_create(target, connection, **kw) -> None:   # noqa: ARG001
    install_triggers(connection)



