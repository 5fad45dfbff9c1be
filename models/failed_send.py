"""``ticket.has_failed_send``: the ticket has an outbound action that failed or whose outcome is
unknown — the "Failed sends" folder.

Why a column kept by triggers: the folder's page is the newest tickets with such an action. Asked
through ``outbound_action`` it is either "walk every ticket newest first and probe its actions"
(PostgreSQL's choice: 73 ms at 200,000 tickets, growing with the queue) or "collect every failed
ticket and sort them"; with the flag on the ticket it is one range of the partial index
``ix_ticket_failed_activity`` in the queue's order, stopping after a page, like "Awaiting approval".
Triggers on ``outbound_action`` keep it, so every writer (the worker, a retry, "Mark as sent", a
bulk UPDATE, a cascade) keeps it in the same transaction, and no code path can forget to.

They run only when an action enters or leaves failed/unknown (or moves between tickets while in
it): queued → sending → sent never runs them. They then recompute the ticket's flag from its
actions and write the ticket only when the value changes, leaving ``updated_at`` and ``version``
alone (the flag is derived; it is not a change a user made).

PostgreSQL: the ticket row is locked (``FOR NO KEY UPDATE``: foreign-key checks still pass) before
its actions are read, so two transactions changing two actions of one ticket at once — a retry of
one while another fails — recompute one after the other, each seeing the other's committed action,
instead of both deciding from a snapshot that misses the other's. SQLite writes one at a time.
"""
from __future__ import annotations

_FAILED = "('failed', 'unknown')"


def _sqlite_refresh(ticket: str) -> str:
    has = f"EXISTS (SELECT 1 FROM outbound_action WHERE ticket_id = {ticket} AND state IN {_FAILED})"
    return f"UPDATE ticket SET has_failed_send = {has} WHERE id = {ticket} AND has_failed_send <> {has};"


def _update_matters(differ: str) -> str:
    """An update matters when the action enters or leaves failed/unknown, or moves between tickets
    while in it (``differ``: each dialect's null-safe "not equal")."""
    return (f"(OLD.state IN {_FAILED}) <> (NEW.state IN {_FAILED}) "
            f"OR (OLD.ticket_id {differ} NEW.ticket_id AND OLD.state IN {_FAILED})")


SQLITE_FAILED_SEND_TRIGGERS = [
    f"CREATE TRIGGER IF NOT EXISTS outbound_action_failed_insert AFTER INSERT ON outbound_action "
    f"WHEN NEW.state IN {_FAILED} BEGIN {_sqlite_refresh('NEW.ticket_id')} END",
    f"CREATE TRIGGER IF NOT EXISTS outbound_action_failed_update AFTER UPDATE OF state, ticket_id ON outbound_action "
    f"WHEN {_update_matters('IS NOT')} BEGIN {_sqlite_refresh('OLD.ticket_id')} {_sqlite_refresh('NEW.ticket_id')} END",
    f"CREATE TRIGGER IF NOT EXISTS outbound_action_failed_delete AFTER DELETE ON outbound_action "
    f"WHEN OLD.state IN {_FAILED} BEGIN {_sqlite_refresh('OLD.ticket_id')} END",
]

POSTGRES_FAILED_SEND_TRIGGERS = [
    f"""CREATE OR REPLACE FUNCTION ticket_failed_send_refresh(ticket_key integer) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  was boolean; now_failed boolean;
BEGIN
  IF ticket_key IS NULL THEN RETURN; END IF;
  SELECT has_failed_send INTO was FROM ticket WHERE id = ticket_key FOR NO KEY UPDATE;
  IF NOT FOUND THEN RETURN; END IF;   -- the ticket is being deleted (a cascade)
  now_failed := EXISTS (SELECT 1 FROM outbound_action WHERE ticket_id = ticket_key AND state IN {_FAILED});
  IF now_failed IS DISTINCT FROM was THEN
    UPDATE ticket SET has_failed_send = now_failed WHERE id = ticket_key;
  END IF;
END $$""",
    # Two tickets (an action moved between them) are refreshed in id order, so two such moves in
    # opposite directions lock them in the same order.
    # (least/greatest skip NULLs: an action with no ticket on one side refreshes the other once).
    """CREATE OR REPLACE FUNCTION outbound_action_failed_send() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  first_key integer; second_key integer;
BEGIN
  IF TG_OP = 'INSERT' THEN
    PERFORM ticket_failed_send_refresh(NEW.ticket_id);
  ELSIF TG_OP = 'DELETE' THEN
    PERFORM ticket_failed_send_refresh(OLD.ticket_id);
  ELSE
    first_key := least(OLD.ticket_id, NEW.ticket_id);
    second_key := greatest(OLD.ticket_id, NEW.ticket_id);
    PERFORM ticket_failed_send_refresh(first_key);
    IF second_key IS DISTINCT FROM first_key THEN
      PERFORM ticket_failed_send_refresh(second_key);
    END IF;
  END IF;
  RETURN NULL;
END $$""",
    "DROP TRIGGER IF EXISTS outbound_action_failed_insert ON outbound_action",
    "DROP TRIGGER IF EXISTS outbound_action_failed_update ON outbound_action",
    "DROP TRIGGER IF EXISTS outbound_action_failed_delete ON outbound_action",
    # The WHEN clauses decide without calling the function: a normal send costs nothing here.
    f"CREATE TRIGGER outbound_action_failed_insert AFTER INSERT ON outbound_action FOR EACH ROW "
    f"WHEN (NEW.state IN {_FAILED}) EXECUTE FUNCTION outbound_action_failed_send()",
    f"CREATE TRIGGER outbound_action_failed_update AFTER UPDATE OF state, ticket_id ON outbound_action FOR EACH ROW "
    f"WHEN ({_update_matters('IS DISTINCT FROM')}) EXECUTE FUNCTION outbound_action_failed_send()",
    f"CREATE TRIGGER outbound_action_failed_delete AFTER DELETE ON outbound_action FOR EACH ROW "
    f"WHEN (OLD.state IN {_FAILED}) EXECUTE FUNCTION outbound_action_failed_send()",
]

DROP_SQLITE_FAILED_SEND = ["DROP TRIGGER IF EXISTS outbound_action_failed_insert",
                           "DROP TRIGGER IF EXISTS outbound_action_failed_update",
                           "DROP TRIGGER IF EXISTS outbound_action_failed_delete"]
DROP_POSTGRES_FAILED_SEND = [*(f"{s} ON outbound_action" for s in DROP_SQLITE_FAILED_SEND),
                             "DROP FUNCTION IF EXISTS outbound_action_failed_send()",
                             "DROP FUNCTION IF EXISTS ticket_failed_send_refresh(integer)"]

# The flags of the actions already there, for a column just added with every flag false (the
# migration): one statement that writes only the tickets it raises.
RAISE_FAILED_SEND = [
    f"UPDATE ticket SET has_failed_send = true WHERE id IN "
    f"(SELECT ticket_id FROM outbound_action WHERE state IN {_FAILED} AND ticket_id IS NOT NULL)"
]
