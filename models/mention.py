"""``ticket_mention``: the tickets whose notes @mention a user, with the ticket's status, activity
and what the visibility rule reads copied — the "Mentions" folder and the ``mentions=me`` filter.

Why a table kept by triggers: ``note_mention`` says which *note* mentions a user. Asked through it,
the Mentions page is "every note mentioning me → its ticket → open? → sort": PostgreSQL hash-joined
a scan of all 450,000 followups at a million tickets (72 ms p50), and the folder's number had to
count the same join after every change. One row per (user, ticket), carrying the ticket's
``status`` and ``last_activity_at``, makes the page one range of ``ix_ticket_mention_order``
(user, status, newest first) stopped after a page, and the number a count over that range that
never fetches a ticket, even for an agent who sees only some channels.

The triggers keep it in the same transaction as every write, whoever writes (a note, an edit of
its mentions, a rule's note, a deletion, a cascade), so no code path can forget to:

- a mention added → the (user, ticket) row, if it is not there yet;
- a mention removed, a note deleted or moved to another ticket → the row goes when no other note
  of that ticket mentions the user. Whether the note is still there is asked through ``followup``
  (a deleted note's mentions are gone with it, in whatever order a cascade runs);
- a ticket's status, activity, channel, team or assignee changed → copied to its rows (as
  ``ticket_tag`` copies activity);
- a ticket or a user deleted → their rows go by the foreign keys' cascade.
"""
from __future__ import annotations

from sqlalchemy import Column, DateTime, ForeignKey, Index, Integer, String, Table

from .base import Base

ticket_mentions = Table(
    "ticket_mention", Base.metadata,
    Column("user_id", ForeignKey("user.id", ondelete="CASCADE"), primary_key=True),
    Column("ticket_id", ForeignKey("ticket.id", ondelete="CASCADE"), primary_key=True),
    Column("status", String(20), nullable=False),
    Column("last_activity_at", DateTime, nullable=True),
    # What the visibility rule reads (inbox/visibility.py): the folder's number for an agent is
    # counted from these rows alone, without fetching each ticket.
    Column("channel_id", Integer, nullable=False),
    Column("team_id", Integer, nullable=True),
    Column("assignee_id", Integer, nullable=True),
    # The copies trail the order's columns so that the count reads the index alone (after any
    # write SQLite rereads the pages it touches: the table's rows were one page each).
    Index("ix_ticket_mention_order", "user_id", "status", "last_activity_at", "ticket_id", "channel_id", "team_id",
          "assignee_id"),
    Index("ix_ticket_mention_ticket", "ticket_id"),
)


# The ticket's columns each row carries a copy of (the same names on both tables).
_COPIED_FROM_TICKET = ("status", "last_activity_at", "channel_id", "team_id", "assignee_id")
_COLUMNS = f"ticket_mention (user_id, ticket_id, {', '.join(_COPIED_FROM_TICKET)})"
_COPIED = ", ".join(f"ticket.{c}" for c in _COPIED_FROM_TICKET)
_STILL = ("EXISTS (SELECT 1 FROM followup JOIN note_mention ON note_mention.followup_id = followup.id "
          "WHERE followup.ticket_id = ticket_mention.ticket_id AND note_mention.user_id = ticket_mention.user_id)")


def _drop_stale(ticket: str, user: str = "") -> str:
    """Delete ``ticket``'s rows (``user``'s only, if given) that no note of it backs any more."""
    mine = f" AND user_id = {user}" if user else ""
    return f"DELETE FROM ticket_mention WHERE ticket_id = {ticket}{mine} AND NOT {_STILL};"


def _add_one(user: str, followup: str, tail: str = "") -> str:
    """Add (``user``, the ticket of note ``followup``) unless it is there."""
    return (f"INSERT INTO {_COLUMNS} SELECT {user}, ticket.id, {_COPIED} "
            f"FROM followup JOIN ticket ON ticket.id = followup.ticket_id WHERE followup.id = {followup} "
            f"AND NOT EXISTS (SELECT 1 FROM ticket_mention WHERE user_id = {user} AND ticket_id = ticket.id){tail};")


def _add_moved(tail: str = "") -> str:
    """Add (each user note NEW mentions, NEW's ticket) unless it is there (a note moved tickets)."""
    return (f"INSERT INTO {_COLUMNS} SELECT DISTINCT note_mention.user_id, ticket.id, {_COPIED} "
            f"FROM note_mention JOIN ticket ON ticket.id = NEW.ticket_id "
            f"WHERE note_mention.followup_id = NEW.id AND NOT EXISTS (SELECT 1 FROM ticket_mention "
            f"WHERE user_id = note_mention.user_id AND ticket_id = ticket.id){tail};")


_NOTE_TICKET = "(SELECT ticket_id FROM followup WHERE id = OLD.followup_id)"
_COPY = (f"UPDATE ticket_mention SET {', '.join(f'{c} = NEW.{c}' for c in _COPIED_FROM_TICKET)} "
         f"WHERE ticket_id = NEW.id;")

SQLITE_MENTION_TRIGGERS = [
    f"CREATE TRIGGER IF NOT EXISTS note_mention_ticket_insert AFTER INSERT ON note_mention "
    f"BEGIN {_add_one('NEW.user_id', 'NEW.followup_id')} END",
    f"CREATE TRIGGER IF NOT EXISTS note_mention_ticket_delete AFTER DELETE ON note_mention "
    f"BEGIN {_drop_stale(_NOTE_TICKET, 'OLD.user_id')} END",
    f"CREATE TRIGGER IF NOT EXISTS followup_mention_delete AFTER DELETE ON followup "
    f"BEGIN {_drop_stale('OLD.ticket_id')} END",
    f"CREATE TRIGGER IF NOT EXISTS followup_mention_move AFTER UPDATE OF ticket_id ON followup "
    f"WHEN OLD.ticket_id IS NOT NEW.ticket_id BEGIN {_drop_stale('OLD.ticket_id')} {_add_moved()} END",
    f"CREATE TRIGGER IF NOT EXISTS ticket_mention_copy AFTER UPDATE OF {', '.join(_COPIED_FROM_TICKET)} ON ticket "
    f"WHEN {' OR '.join(f'OLD.{c} IS NOT NEW.{c}' for c in _COPIED_FROM_TICKET)} BEGIN {_COPY} END",
]

# PostgreSQL: the same statements; the ticket row is locked first (FOR NO KEY UPDATE, as
# models/failed_send.py does), so a note removed while another of the same ticket mentioning the
# same user is added decide one after the other, each seeing the other's committed note, instead of
# the removal dropping the row the addition found present. ON CONFLICT: two additions at once.
_LOCK = "PERFORM 1 FROM ticket WHERE id = {0} FOR NO KEY UPDATE;"
_SKIP = " ON CONFLICT DO NOTHING"
POSTGRES_MENTION_TRIGGERS = [
    f"""CREATE OR REPLACE FUNCTION note_mention_ticket() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  ticket_key integer;
BEGIN
  IF TG_OP = 'INSERT' THEN
    SELECT ticket_id INTO ticket_key FROM followup WHERE id = NEW.followup_id;
    {_LOCK.format('ticket_key')}
    {_add_one('NEW.user_id', 'NEW.followup_id', _SKIP)}
  ELSE
    SELECT ticket_id INTO ticket_key FROM followup WHERE id = OLD.followup_id;
    IF FOUND THEN
      {_LOCK.format('ticket_key')}
      {_drop_stale('ticket_key', 'OLD.user_id')}
    END IF;
  END IF;
  RETURN NULL;
END $$""",
    f"""CREATE OR REPLACE FUNCTION followup_mention() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    {_LOCK.format('OLD.ticket_id')}
    {_drop_stale('OLD.ticket_id')}
  ELSIF OLD.ticket_id IS DISTINCT FROM NEW.ticket_id THEN
    {_LOCK.format('OLD.ticket_id')}
    {_drop_stale('OLD.ticket_id')}
    {_LOCK.format('NEW.ticket_id')}
    {_add_moved(_SKIP)}
  END IF;
  RETURN NULL;
END $$""",
    f"""CREATE OR REPLACE FUNCTION ticket_mention_copy() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF {' OR '.join(f'NEW.{c} IS DISTINCT FROM OLD.{c}' for c in _COPIED_FROM_TICKET)} THEN
    {_COPY}
  END IF;
  RETURN NULL;
END $$""",
    "DROP TRIGGER IF EXISTS note_mention_ticket ON note_mention",
    "CREATE TRIGGER note_mention_ticket AFTER INSERT OR DELETE ON note_mention FOR EACH ROW "
    "EXECUTE FUNCTION note_mention_ticket()",
    "DROP TRIGGER IF EXISTS followup_mention ON followup",
    "CREATE TRIGGER followup_mention AFTER DELETE OR UPDATE OF ticket_id ON followup FOR EACH ROW "
    "EXECUTE FUNCTION followup_mention()",
    "DROP TRIGGER IF EXISTS ticket_mention_copy ON ticket",
    f"CREATE TRIGGER ticket_mention_copy AFTER UPDATE OF {', '.join(_COPIED_FROM_TICKET)} ON ticket FOR EACH ROW "
    "EXECUTE FUNCTION ticket_mention_copy()",
]

DROP_SQLITE_MENTION = ["DROP TRIGGER IF EXISTS note_mention_ticket_insert", "DROP TRIGGER IF EXISTS note_mention_ticket_delete",
                       "DROP TRIGGER IF EXISTS followup_mention_delete", "DROP TRIGGER IF EXISTS followup_mention_move",
                       "DROP TRIGGER IF EXISTS ticket_mention_copy"]
DROP_POSTGRES_MENTION = ["DROP TRIGGER IF EXISTS note_mention_ticket ON note_mention",
                         "DROP TRIGGER IF EXISTS followup_mention ON followup",
                         "DROP TRIGGER IF EXISTS ticket_mention_copy ON ticket",
                         "DROP FUNCTION IF EXISTS note_mention_ticket()", "DROP FUNCTION IF EXISTS followup_mention()",
                         "DROP FUNCTION IF EXISTS ticket_mention_copy()"]

# The rows for mentions written before the triggers (the migration) or around them (a bulk load).
REFILL_MENTIONS = [
    "DELETE FROM ticket_mention",
    f"INSERT INTO {_COLUMNS} SELECT DISTINCT note_mention.user_id, ticket.id, {_COPIED} "
    "FROM note_mention JOIN followup ON followup.id = note_mention.followup_id "
    "JOIN ticket ON ticket.id = followup.ticket_id",
]
