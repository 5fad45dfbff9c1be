"""The SQLAlchemy engine and sessions, for web requests (on ``g``) and for workers and the CLI.

Models carry no Flask code, so workers use ``session_scope()`` without an app context.
"""
from __future__ import annotations

import os
import re
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import Flask, g, has_request_context, request
from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.orm import Session, sessionmaker

_engine: Engine | None = None
_factory: sessionmaker[Session] | None = None
_read_factory: sessionmaker[Session] | None = None


# Statements that write (or open a savepoint, which only writers do).
_WRITE = re.compile(r"\s*(INSERT|UPDATE|DELETE|REPLACE|SAVEPOINT|CREATE|DROP|ALTER)\b", re.IGNORECASE)
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def private_sqlite_file(url: str) -> None:
    """Create an SQLite database file readable by us only (0600, its folder 0700 when we make it).

    The file holds every customer message and the encrypted credentials; SQLite would create it
    with the umask's mode (often world-readable), and its -wal/-shm files take the file's mode.
    """
    path = make_url(url).database
    if not path or path == ":memory:" or path.startswith("file:"):
        return
    target = Path(path)
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.close(os.open(target, os.O_WRONLY | os.O_CREAT, 0o600))
    target.chmod(0o600)


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        private_sqlite_file(url)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        gate = _WriteGate()

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            # Transactions are managed below; WAL lets readers work while one writer writes.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _begin(conn):
            # Writers take the write lock up front: a deferred transaction that later writes can
            # fail at once with "database is locked" (busy_timeout does not apply to a read
            # transaction's upgrade to a write one, and WAL refuses it if another writer committed
            # since it began). Read sessions (see new_session) begin DEFERRED and take no lock.
            #
            # "AUTOCOMMIT" and "READ AUTOCOMMIT": one statement that is a transaction of its own
            # (the webhook intake's INSERT, and its lookup): no BEGIN, so SQLite holds its write
            # lock only while the INSERT runs in C, not while Python moves between BEGIN, the
            # statement and COMMIT (with the lookup's: 425 → about 490 webhooks/s, 8 senders). A writer
            # still takes the process's gate, left at the (empty) commit.
            mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
            conn.info["sqlite_read_transaction"] = mode == "DEFERRED"
            if mode in ("IMMEDIATE", "AUTOCOMMIT"):
                gate.enter(conn.info)
            if mode not in ("AUTOCOMMIT", "READ AUTOCOMMIT"):
                conn.exec_driver_sql(f"BEGIN {mode}")

        @event.listens_for(engine, "before_cursor_execute")
        def _write_from_a_read_session(conn, _cursor, statement, *_args):
            # A read session that writes after all (an API token's "last used", an OAuth callback)
            # never upgrades its read transaction in place (that is what fails with SQLITE_BUSY):
            # it ends it (it has written nothing) and begins IMMEDIATE, waiting for the lock under
            # busy_timeout like any writer. Its reads so far came from the earlier snapshot, as
            # they may under PostgreSQL's READ COMMITTED.
            if conn.info.get("sqlite_read_transaction") and _WRITE.match(statement):
                conn.info["sqlite_read_transaction"] = False
                raw = conn.connection.dbapi_connection
                raw.execute("COMMIT")
                gate.enter(conn.info)
                raw.execute("BEGIN IMMEDIATE")

        @event.listens_for(engine, "commit")
        @event.listens_for(engine, "rollback")
        def _end(conn):
            gate.leave(conn.info)

        @event.listens_for(engine.pool, "reset")
        @event.listens_for(engine.pool, "checkin")
        def _returned(_dbapi_connection, record, *_args):
            if record is not None:   # a connection returned without an ORM rollback
                gate.leave(record.info)
        return engine
    return create_engine(url, pool_pre_ping=True)


class _WriteGate:
    """Threads of one process queue here for an SQLite database's write lock.

    SQLite's busy handler polls with growing sleeps (up to 100 ms) and keeps no queue, so among
    many threads waiting for the write lock an early one can lose to newcomers for seconds (webhook
    intake under 8 concurrent senders had multi-second worst cases). Here a thread waits on a lock
    instead, and only processes contend inside SQLite. Held from BEGIN IMMEDIATE to the end of the
    transaction, i.e. exactly while this process would hold SQLite's write lock anyway.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        _GATES.add(self)

    def enter(self, info: dict) -> None:
        if info.get("sqlite_gate"):
            return
        if not self.lock.acquire(timeout=30):   # as busy_timeout: a writer that waits longer fails
            raise TimeoutError("database is locked: another write transaction of this process is open")
        info["sqlite_gate"] = self

    @staticmethod
    def leave(info: dict) -> None:
        gate = info.pop("sqlite_gate", None)
        if gate is not None and gate.lock.locked():
            gate.lock.release()


_GATES: weakref.WeakSet[_WriteGate] = weakref.WeakSet()


def init_engine(url: str) -> Engine:
    """Bind the process-wide engine (one per process, as RQ forks workers from it)."""
    global _engine, _factory, _read_factory
    if _engine is not None:
        _engine.dispose()
    _engine = make_engine(url)
    _factory = sessionmaker(_engine, expire_on_commit=False)
    # Same pool; on SQLite its transactions begin DEFERRED (the option means nothing elsewhere).
    _read_factory = sessionmaker(_engine.execution_options(sqlite_begin="DEFERRED"), expire_on_commit=False)
    return _engine


def engine() -> Engine:
    if _engine is None:
        raise RuntimeError("inbox.db.init_engine() has not been called")
    return _engine


def new_session(read: bool = False) -> Session:
    """A session. ``read=True``: on SQLite its transactions take no write lock until it writes
    (for requests that only read); otherwise each transaction takes the write lock at BEGIN."""
    factory = _read_factory if read else _factory
    if factory is None:
        raise RuntimeError("inbox.db.init_engine() has not been called")
    return factory()


@contextmanager
def session_scope() -> Iterator[Session]:
    """A unit of work for jobs and commands: commit on success, roll back on any error."""
    session = new_session()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def get_session() -> Session:
    """The request's session, created on first use and closed at teardown.

    GET, HEAD and OPTIONS requests get a read session: reads don't take SQLite's write lock, so
    pages, polls and API reads never hold up webhooks and workers. Other methods write, and take
    the lock at their first statement as before.
    """
    if "db_session" not in g:
        read = has_request_context() and request.method in READ_METHODS
        g.db_session = new_session(read=read)
        g.db_session.info["read_request"] = read
    return g.db_session


def release(session: Session) -> None:
    """End the current transaction before a slow network call.

    On SQLite a writing request's transactions start with BEGIN IMMEDIATE (see make_engine), so
    once it has read anything it holds the write lock; calling a provider while holding it would
    stall every webhook and worker for as long as the provider takes. Nothing pending may be left
    unflushed.
    """
    session.commit()


def _close_session(exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is None:
        return
    try:
        if exc is None and _ends_with_commit(session):
            session.commit()
    except Exception:   # noqa: BLE001 - closing rolls back; the answer has been made already
        pass
    finally:
        session.close()


def _ends_with_commit(session: Session) -> bool:
    """A read request's transaction on PostgreSQL ends with COMMIT, not ROLLBACK (it wrote
    nothing: same effect). Why: psycopg forgets every statement it has prepared on a connection at
    each ROLLBACK, and a statement is prepared (PostgreSQL keeps its plan) only at its fifth run on
    a connection; closing a session rolls back, so no statement of a web request was ever
    prepared and each was planned on every request. Not when the ORM holds a change (a read
    request must not write) or on SQLite (nothing to keep)."""
    return (session.info.get("read_request") and session.in_transaction()
            and session.get_bind().dialect.name == "postgresql"
            and not (session.new or session.dirty or session.deleted))


def _dispose_after_fork() -> None:
    # RQ runs each job in a forked child: it must not reuse the parent's pooled connections, nor
    # inherit a gate another thread of the parent held.
    for gate in list(_GATES):
        gate.lock = threading.Lock()
    if _engine is not None:
        _engine.dispose(close=False)


os.register_at_fork(after_in_child=_dispose_after_fork)


def init_app(app: Flask) -> None:
    init_engine(app.config["DATABASE_URL"])
    app.teardown_appcontext(_close_session)


class MigrateTarget:
    """What Flask-Migrate needs from a "db": our metadata and engine (we do not use Flask-SQLAlchemy)."""

    @property
    def metadata(self):
        from models import Base

        return Base.metadata

    @property
    def engine(self) -> Engine:
        return engine()
