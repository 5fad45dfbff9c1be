"""The SQLAlchemy engine and sessions, for web requests (on ``g``) and for workers and the CLI.

Models carry no Flask code, so workers use ``session_scope()`` without an app context.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask, g
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

_engine: Engine | None = None
_factory: sessionmaker[Session] | None = None


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

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
        def _begin_immediate(conn):
            # Take the write lock up front: a deferred transaction that later writes can fail at
            # once with "database is locked" (busy_timeout does not apply to lock upgrades).
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        return engine
    return create_engine(url, pool_pre_ping=True)


def init_engine(url: str) -> Engine:
    """Bind the process-wide engine (one per process, as RQ forks workers from it)."""
    global _engine, _factory
    if _engine is not None:
        _engine.dispose()
    _engine = make_engine(url)
    _factory = sessionmaker(_engine, expire_on_commit=False)
    return _engine


def engine() -> Engine:
    if _engine is None:
        raise RuntimeError("inbox.db.init_engine() has not been called")
    return _engine


def new_session() -> Session:
    if _factory is None:
        raise RuntimeError("inbox.db.init_engine() has not been called")
    return _factory()


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
    """The request's session, created on first use and closed at teardown."""
    if "db_session" not in g:
        g.db_session = new_session()
    return g.db_session


def release(session: Session) -> None:
    """End the current transaction before a slow network call.

    On SQLite every transaction starts with BEGIN IMMEDIATE (see make_engine), so a request that
    has read anything holds the write lock; calling a provider while holding it would stall every
    webhook and worker for as long as the provider takes. Nothing pending may be left unflushed.
    """
    session.commit()


def _close_session(_exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


def _dispose_after_fork() -> None:
    # RQ runs each job in a forked child: it must not reuse the parent's pooled connections.
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
