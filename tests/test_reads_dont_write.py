"""Reads don't write: an API read or a page takes no write lock and writes nothing.

Every API request used to UPDATE its token's "last used" and COMMIT, and on SQLite every
transaction began IMMEDIATE, so every read took the database's one write lock and queued behind
(and held up) webhook intake and workers. "Last used" is now recorded at most once a minute, and
requests that only read (GET) read without the write lock.
"""
from __future__ import annotations

import sqlite3
import threading
from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select, update

from helpers import csrf_of, local_ticket, login
from inbox import db
from models import ApiToken, hash_token, utcnow
from statements import recorded, writes


def _last_used(token: str):
    with db.session_scope() as s:
        return s.scalar(select(ApiToken.last_used_at).filter_by(token_hash=hash_token(token)))


def _set_last_used(token: str, ago: timedelta | None) -> None:
    with db.session_scope() as s:
        s.execute(update(ApiToken).filter_by(token_hash=hash_token(token))
                  .values(last_used_at=None if ago is None else utcnow() - ago))


@pytest.fixture
def ticket_id(app) -> int:
    return local_ticket("hello", kind="comment", external_id="c1")


def test_an_api_read_with_a_token_used_in_the_last_minute_writes_nothing(client, token_for, ticket_id):
    token = token_for("agent")
    _set_last_used(token, timedelta(seconds=20))
    before = _last_used(token)
    headers = {"Authorization": f"Bearer {token}"}
    for path in ("/api/v1/tickets", f"/api/v1/tickets/{ticket_id}", "/api/v1/channels"):
        with recorded() as statements:
            assert client.get(path, headers=headers).status_code == 200
        assert statements and not writes(statements), (path, writes(statements))
    assert _last_used(token) == before


@pytest.mark.parametrize("ago", [timedelta(seconds=75), None], ids=["a minute ago", "never"])
def test_an_api_read_records_last_used_when_not_recorded_in_the_last_minute(client, token_for, ticket_id, ago):
    token = token_for("agent")
    _set_last_used(token, ago)
    with recorded() as statements:
        assert client.get("/api/v1/tickets", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert [s for s in statements if s.startswith("UPDATE api_token")], statements
    assert utcnow() - _last_used(token) < timedelta(seconds=5)


def test_a_page_read_writes_nothing(client, users, ticket_id):
    login(client, "agent")
    for path in ("/", f"/tickets/{ticket_id}", f"/tickets/{ticket_id}/actions", "/settings/channels"):
        with recorded() as statements:
            assert client.get(path).status_code == 200
        assert statements and not writes(statements), (path, writes(statements))


def test_a_writing_request_still_takes_the_write_lock_up_front(client, users, ticket_id, db_url):
    """Writers begin IMMEDIATE on SQLite, so they wait for the lock instead of failing on upgrade."""
    if not db_url.startswith("sqlite"):
        pytest.skip("SQLite's locking")
    login(client, "agent")
    token = csrf_of(client, f"/tickets/{ticket_id}")
    with recorded() as statements:
        assert client.post(f"/tickets/{ticket_id}/actions/archive", data={"csrf_token": token}).status_code == 200
    assert statements[0] == "BEGIN IMMEDIATE"


class _Writer:
    """Another process's write transaction, held open on the same SQLite file."""

    def __init__(self, db_url: str):
        self.conn = sqlite3.connect(db_url.removeprefix("sqlite:///"), isolation_level=None, timeout=0.1)
        self.conn.execute("BEGIN IMMEDIATE")
        self.conn.execute("INSERT INTO tag (name, color, data) VALUES ('held', '#000', '{}')")

    def release(self) -> None:
        if self.conn.in_transaction:
            self.conn.execute("COMMIT")
        self.conn.close()


def _in_thread(client: FlaskClient, path: str, headers=None):
    result: dict = {}
    thread = threading.Thread(target=lambda: result.update(response=client.get(path, headers=headers)), daemon=True)
    thread.start()
    return thread, result


def test_reads_answer_while_another_connection_holds_the_write_lock(app, client, users, token_for, ticket_id, db_url):
    if not db_url.startswith("sqlite"):
        pytest.skip("SQLite's write lock")
    token = token_for("agent")
    _set_last_used(token, timedelta(seconds=10))
    login(client, "agent")
    api = app.test_client()
    writer = _Writer(db_url)
    try:
        started = [_in_thread(api, "/api/v1/tickets", {"Authorization": f"Bearer {token}"}),
                   _in_thread(client, f"/tickets/{ticket_id}")]
        for thread, _ in started:
            thread.join(timeout=5)
        assert not any(thread.is_alive() for thread, _ in started), "a read waited for the write lock"
        assert [result["response"].status_code for _, result in started] == [200, 200]
    finally:
        writer.release()


def test_a_read_that_records_last_used_waits_for_the_lock_instead_of_failing(app, token_for, ticket_id, db_url):
    """The read session's first write starts a new IMMEDIATE transaction (never an in-place upgrade,
    which SQLite refuses at once with "database is locked" while another writer holds the lock)."""
    if not db_url.startswith("sqlite"):
        pytest.skip("SQLite's write lock")
    token = token_for("agent")
    _set_last_used(token, timedelta(minutes=5))
    writer = _Writer(db_url)
    try:
        thread, result = _in_thread(app.test_client(), "/api/v1/tickets", {"Authorization": f"Bearer {token}"})
        thread.join(timeout=1)
        assert thread.is_alive(), "it should wait for the other writer"
    finally:
        writer.release()
    thread.join(timeout=10)
    assert result["response"].status_code == 200
    assert utcnow() - _last_used(token) < timedelta(seconds=15)


def test_a_writer_that_ends_in_any_way_lets_the_next_writer_in_at_once(app, db_url):
    """Threads queue for the write lock in-process (see inbox.db._WriteGate): however a write
    transaction ends, the next writer of another thread must not wait for it."""
    if not db_url.startswith("sqlite"):
        pytest.skip("SQLite's write lock")

    def commit(s):
        s.commit()

    def rollback(s):
        s.rollback()

    def close(s):
        s.close()

    def connection_closed(s):
        s.connection().close()
        s.close()

    for end in (commit, rollback, close, connection_closed):
        s = db.new_session()
        s.execute(update(ApiToken).values(name="x"))    # holds the write lock
        end(s)
        done = threading.Event()

        def write():
            with db.session_scope() as other:
                other.execute(update(ApiToken).values(name="y"))
            done.set()

        threading.Thread(target=write, daemon=True).start()
        assert done.wait(timeout=3), f"the next writer waited after {end.__name__}"
        s.close()


def test_a_change_left_in_a_read_requests_session_is_not_written(app, ticket_id):
    """A read request's transaction may end with COMMIT on PostgreSQL (below), but never when its
    session holds a change: what a GET changed on an object by mistake is dropped, as before."""
    from models import Ticket

    with app.test_request_context("/", method="GET"):
        session = db.get_session()
        session.get(Ticket, ticket_id).text = "changed by a read"
    with db.session_scope() as s:
        assert s.get(Ticket, ticket_id).text == "hello"


def test_a_read_requests_statements_stay_prepared_on_postgresql(client, users, db_url):
    """psycopg prepares a statement at its fifth run on a connection, and forgets every prepared
    statement at ROLLBACK: a read request ends with COMMIT instead, so the statements of pages
    and polls keep their plans across requests."""
    if not db_url.startswith("postgresql"):
        pytest.skip("prepared statements are PostgreSQL's")
    login(client, "agent")
    for _ in range(7):
        assert client.get("/queue/folders", headers={"HX-Request": "true"}).status_code == 200
    with db.engine().connect() as conn:     # the pool hands back the connection those requests used
        prepared = conn.connection.driver_connection._prepared._names
    assert prepared, "no statement of the read requests stayed prepared"
