"""Count the SQL statements a request runs, with SQLAlchemy's ``before_cursor_execute`` event."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event

from inbox import db


@contextmanager
def recorded() -> Iterator[list[str]]:
    """Every statement the app's engine sends while the block runs (BEGIN and COMMIT included)."""
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        statements.append(" ".join(statement.split()))

    def commit(_conn):   # the driver's commit() is not a cursor statement: record it too
        statements.append("COMMIT")

    event.listen(db.engine(), "before_cursor_execute", record)
    event.listen(db.engine(), "commit", commit)
    try:
        yield statements
    finally:
        event.remove(db.engine(), "before_cursor_execute", record)
        event.remove(db.engine(), "commit", commit)


def writes(statements: list[str]) -> list[str]:
    """The statements that write, or take SQLite's write lock up front, and the COMMITs that
    follow them. A COMMIT after reads alone writes nothing (a read request on PostgreSQL ends with
    one: inbox.db._ends_with_commit)."""
    found = [s for s in statements
             if s.split(" ", 1)[0].upper() in ("INSERT", "UPDATE", "DELETE", "REPLACE")
             or s.upper().startswith("BEGIN IMMEDIATE")]
    return found + [s for s in statements if s == "COMMIT"] if found else []
