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

``folder_total`` rolls those rows up once more, by channel and team only: per (channel, team), how
many tickets are in each built-in folder whose number is the same for everyone who sees them
(Inbox, Unassigned, Priority, Snoozed, Awaiting approval, Failed sends, Archived, All). The
triggers keep it beside ``ticket_count``. Why: after any change, every user's numbers are computed
again, and summing ~6,400 counter rows took 3–5 ms at a million tickets; the roll-up has one row
per channel and team that has tickets (88 at a million tickets over 50 channels), and only a user's own rows of ``ticket_count``
(Mine; for an agent, what is assigned to them outside their channels and teams) are read beside it.
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
    # A user's own rows (Mine, and what an agent sees only because it is assigned to them).
    __table_args__ = (Index("ix_ticket_count_assignee", "assignee_id"),)

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


class FolderTotal(Base):
    """Per channel and team (0: none): the number of tickets in each built-in folder that does not
    depend on the user. Written only by the triggers below."""

    __tablename__ = "folder_total"

    channel_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    team_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    inbox: Mapped[int] = mapped_column(default=0)
    unassigned: Mapped[int] = mapped_column(default=0)
    priority: Mapped[int] = mapped_column(default=0)
    snoozed: Mapped[int] = mapped_column(default=0)
    approval: Mapped[int] = mapped_column(default=0)
    failed: Mapped[int] = mapped_column(default=0)
    archived: Mapped[int] = mapped_column(default=0)
    everything: Mapped[int] = mapped_column(default=0)


# (folder_total column, whether a ticket row counts in it): the same folders as
# inbox/queue/counters.py, written on a ticket row so the triggers and the rebuild share them.
TOTALS = (("inbox", "{0}.status = 'open'"), ("unassigned", "{0}.status = 'open' AND {0}.assignee_id IS NULL"),
          ("priority", "{0}.status = 'open' AND {0}.priority"), ("snoozed", "{0}.status = 'snoozed'"),
          ("approval", "{0}.has_pending_suggestion"), ("failed", "{0}.has_failed_send"),
          ("archived", "{0}.status = 'archived'"), ("everything", "1 = 1"))
_TOTAL_COLUMNS = ", ".join(c for c, _ in TOTALS)


def _total_values(row: str, sign: str) -> str:
    return ", ".join(f"CASE WHEN {condition.format(row)} THEN {sign} ELSE 0 END" for _c, condition in TOTALS)


def _total_bump(row: str, sign: str) -> str:
    """Add a ticket row (sign 1) or take it away (-1) from its channel and team's totals."""
    sets = ", ".join(f"{c} = folder_total.{c} + excluded.{c}" for c, _ in TOTALS)
    return (f"INSERT INTO folder_total (channel_id, team_id, {_TOTAL_COLUMNS}) "
            f"VALUES ({row}.channel_id, coalesce({row}.team_id, 0), {_total_values(row, sign)}) "
            f"ON CONFLICT (channel_id, team_id) DO UPDATE SET {sets};")


TOTALS_REBUILD = ["DELETE FROM folder_total",
                  f"INSERT INTO folder_total (channel_id, team_id, {_TOTAL_COLUMNS}) "
                  f"SELECT channel_id, coalesce(team_id, 0), "
                  + ", ".join(f"sum(CASE WHEN {condition.format('ticket')} THEN 1 ELSE 0 END)" for _c, condition in TOTALS)
                  + " FROM ticket GROUP BY channel_id, coalesce(team_id, 0)"]


# (counter column, the ticket's column, its value in a counter row): the bucket a ticket counts in.
# Listed once; the triggers and the rebuild below are written from it.
COUNTED = (("channel_id", "channel_id", "{0}.channel_id"), ("team_id", "team_id", "coalesce({0}.team_id, 0)"),
           ("assignee_id", "assignee_id", "coalesce({0}.assignee_id, 0)"), ("status", "status", "{0}.status"),
           ("priority", "priority", "{0}.priority"), ("pending", "has_pending_suggestion", "{0}.has_pending_suggestion"),
           ("failed", "has_failed_send", "{0}.has_failed_send"))


def counter_statements(dialect: str, counted=COUNTED, totals: bool = True) -> tuple[list[str], list[str]]:
    """The triggers that keep ``ticket_count`` (and ``folder_total`` when ``totals``) and the
    statements that recount them, for the ``counted`` columns (a migration passes what its
    revision had)."""
    key = ", ".join(c for c, _t, _v in counted)

    def values(row: str) -> str:
        return ", ".join(v.format(row) for _c, _t, v in counted)

    rebuild = ["DELETE FROM ticket_count",
               f"INSERT INTO ticket_count ({key}, n) SELECT {values('ticket')}, count(*) FROM ticket "
               f"GROUP BY {values('ticket')}"] + (TOTALS_REBUILD if totals else [])
    if dialect != "postgresql":
        def bump(row: str, delta: str) -> str:
            return (f"INSERT INTO ticket_count ({key}, n) VALUES ({values(row)}, {delta}) "
                    f"ON CONFLICT ({key}) DO UPDATE SET n = n + ({delta});"
                    + (_total_bump(row, delta) if totals else ""))

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

    def total(row: str, delta: int) -> str:
        return _total_bump(row, str(delta)) if totals else ""

    # PostgreSQL: one function for the three events. An update applies its two changes in key
    # order, so two transactions moving tickets between the same two buckets in opposite directions
    # lock the rows in the same order (no deadlock between single-ticket changes); the totals
    # after the counters, in (channel, team) order, for the same reason.
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
    IF ROW(OLD.channel_id, coalesce(OLD.team_id, 0)) <= ROW(NEW.channel_id, coalesce(NEW.team_id, 0)) THEN
      {total('OLD', -1)}
      {total('NEW', 1)}
    ELSE
      {total('NEW', 1)}
      {total('OLD', -1)}
    END IF;
  ELSIF TG_OP = 'INSERT' THEN
    {add('NEW', 1)}
    {total('NEW', 1)}
  ELSE
    {add('OLD', -1)}
    {total('OLD', -1)}
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


def _present(connection) -> tuple[tuple, bool, bool, bool]:
    """What of the derived data this database's schema has: the counted columns (without "failed"
    before migration 9ae1f2a3b4c5), whether ticket.has_failed_send (98c9d0e1f2a3), ticket_mention
    (99d0e1f2a3b4) and folder_total (9bf2a3b4c5d6) exist. The migrations that came before those call these functions too, and must
    install what their revision's schema can hold."""
    from sqlalchemy import inspect

    inspector = inspect(connection)
    counter_columns = {c["name"] for c in inspector.get_columns("ticket_count")}
    ticket_columns = {c["name"] for c in inspector.get_columns("ticket")}
    counted = tuple(c for c in COUNTED if c[0] in counter_columns)
    return (counted, "has_failed_send" in ticket_columns, inspector.has_table("ticket_mention"),
            inspector.has_table("folder_total"))


def install_triggers(connection) -> None:
    """Create every trigger that keeps a derived column or table current on ``connection``'s
    database: ``ticket_count`` here, the activity copies of ``models/taxonomy.py``, the
    ``has_failed_send`` flag of ``models/failed_send.py``, ``ticket_mention`` of ``models/mention.py``
    (create_all, the bulk loader and the migrations call it)."""
    from .failed_send import POSTGRES_FAILED_SEND_TRIGGERS, SQLITE_FAILED_SEND_TRIGGERS
    from .mention import POSTGRES_MENTION_TRIGGERS, SQLITE_MENTION_TRIGGERS
    from .taxonomy import POSTGRES_ACTIVITY_TRIGGERS, SQLITE_ACTIVITY_TRIGGERS

    pg = connection.dialect.name == "postgresql"
    counted, has_failed, has_mentions, has_totals = _present(connection)
    statements = counter_statements(connection.dialect.name, counted, has_totals)[0]
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
    counted, _failed, _mentions, has_totals = _present(connection)
    for statement in counter_statements(connection.dialect.name, counted, has_totals)[1]:
        connection.exec_driver_sql(statement)


@event.listens_for(Base.metadata, "after_create")
def _after_create(target, connection, **kw) -> None:   # noqa: ARG001
    install_triggers(connection)



