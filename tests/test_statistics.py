"""SQLite's planner statistics are refreshed by the sweep, once an hour (the queue's and the
search's plans depend on them); PostgreSQL leaves it to autovacuum."""
from __future__ import annotations

from sqlalchemy import text

from helpers import local_ticket
from inbox import db
from workers.sweep import refresh_statistics


def test_the_sweep_analyzes_sqlite_once_an_hour(app):
    local_ticket()
    if db.engine().dialect.name != "sqlite":
        assert refresh_statistics() == 0
        return
    assert refresh_statistics() == 1
    with db.engine().connect() as conn:
        analyzed = {row[0] for row in conn.execute(text("SELECT tbl FROM sqlite_stat1"))}
    assert "ticket" in analyzed
    assert refresh_statistics() == 0          # not again within the hour
