"""Two requests that race past the same uniqueness check: the second is refused with a 409 in the
caller's format and nothing of it is kept (never a 500).

The race is made real on PostgreSQL: just before the request's INSERT reaches the database, a
second connection commits the same name. SQLite cannot have this race (every writer begins
IMMEDIATE and holds the write lock from its first statement), so there the test is skipped.
"""
from __future__ import annotations

import pytest
from sqlalchemy import event, func, select, text

from inbox import db
from models import Tag, Team


@pytest.fixture
def racing_insert(db_url):
    """Arm: the next INSERT into ``table`` is preceded by a committed row named ``name`` from
    another connection (another worker process, as far as the request can tell)."""
    if db_url.startswith("sqlite"):
        pytest.skip("SQLite serializes writers from their first statement: no check-then-insert race")
    engine, armed = db.engine(), {}

    def before(conn, _cursor, statement, *_args):
        if armed and statement.lstrip().upper().startswith(f"INSERT INTO {armed['table'].upper()} "):
            table, name = armed.pop("table"), armed.pop("name")
            with engine.connect() as other:
                other.execute(text(f"INSERT INTO {table} (name{armed.pop('extra_cols', '')}) "
                                   f"VALUES (:name{armed.pop('extra_vals', '')})"), {"name": name})
                other.commit()

    event.listen(engine, "before_cursor_execute", before)
    yield armed
    event.remove(engine, "before_cursor_execute", before)


def test_api_answers_409_conflict_when_a_tag_name_is_taken_meanwhile(client, token_for, racing_insert):
    racing_insert.update(table="tag", name="VIP", extra_cols=", color, data", extra_vals=", '#888888', '{}'")
    answer = client.post("/api/v1/tags", json={"name": "VIP"}, headers={"Authorization": f"Bearer {token_for('admin')}"})
    assert answer.status_code == 409, answer.get_data(as_text=True)
    assert answer.get_json()["error"]["code"] == "conflict"
    with db.session_scope() as s:
        assert s.scalar(select(func.count()).select_from(Tag).where(Tag.name == "VIP")) == 1   # the other's only


def test_page_answers_409_with_a_message_when_a_team_name_is_taken_meanwhile(client, users, racing_insert):
    from helpers import csrf_of, login

    login(client, "admin")
    racing_insert.update(table="team", name="Support", extra_cols=", created_at, updated_at",
                         extra_vals=", now(), now()")
    token = csrf_of(client, "/settings/teams")
    answer = client.post("/settings/teams", data={"csrf_token": token, "name": "Support"})
    assert answer.status_code == 409
    assert "conflicting change" in answer.get_data(as_text=True)
    with db.session_scope() as s:
        assert s.scalar(select(func.count()).select_from(Team)) == 1
