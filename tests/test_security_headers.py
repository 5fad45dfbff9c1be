"""Headers, cookies and files: what a browser is told to refuse, and what other users of the machine
cannot read.

Each test starts from what an attacker or a careless deployment would meet: a page framed by
another site, a script injected into a page, a cookie sent over plain http, a database file
readable by every account on the host, a guessable SECRET_KEY.
"""
from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

import workers
from app import create_app
from helpers import PASSWORDS, _csrf, csrf_of
from inbox import config, db
from inbox.access_log import redact
from models import Base, Role, User

ROOT = Path(__file__).resolve().parent.parent
LONG_KEY = "k" * 40


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# -- headers -----------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/auth/login", "/api/v1/channels", "/static/app.css", "/nowhere",
                                  "/api2/public"])
def test_every_answer_carries_the_security_headers(client, path):
    response = client.get(path)
    csp = response.headers["Content-Security-Policy"]
    for directive in ("default-src 'self'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'",
                      "object-src 'none'", "base-uri 'self'", "form-action 'self'"):
        assert directive in csp, (path, csp)
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_pages_configure_htmx_for_the_policy(client, users):
    client.post("/auth/login", data={"email": "agent@example.test", "password": PASSWORDS["agent"],
                                     "csrf_token": csrf_of(client, "/auth/login")})
    page = client.get("/").get_data(as_text=True)
    assert '"includeIndicatorStyles":false' in page and '"allowEval":false' in page
    assert "hx-on" not in page and "<script>" not in page and " style=" not in page


# -- cookies -----------------------------------------------------------------------------------

@pytest.fixture
def https_app(db_url, redis_url, monkeypatch):
    monkeypatch.setenv("INBOX_PUBLIC_URL", "https://inbox.example.com")
    app = create_app({"TESTING": True, "DATABASE_URL": db_url, "REDIS_URL": redis_url,
                      "SECRET_KEY": os.environ["SECRET_KEY"]})
    Base.metadata.create_all(db.engine())
    workers.connection().flushdb()
    with db.session_scope() as s:
        user = User(email="agent@example.test", role=Role.AGENT, name="Agent")
        user.set_password(PASSWORDS["agent"])
        s.add(user)
    yield app
    db.engine().dispose()


def _set_cookies(response) -> dict[str, str]:
    return {h.split("=", 1)[0]: h for h in response.headers.getlist("Set-Cookie")}


def test_cookies_are_secure_when_served_over_https(https_app):
    client, site = https_app.test_client(), "https://inbox.example.com"
    token = _csrf(client.get("/auth/login", base_url=site).get_data(as_text=True))
    response = client.post("/auth/login", base_url=site, headers={"Referer": f"{site}/auth/login"},
                           data={"email": "agent@example.test", "password": PASSWORDS["agent"],
                                 "remember": "1", "csrf_token": token})
    cookies = _set_cookies(response)
    assert {"session", "remember_token"} <= set(cookies), cookies
    for name in ("session", "remember_token"):
        assert "Secure" in cookies[name] and "HttpOnly" in cookies[name] and "SameSite=Lax" in cookies[name]


def test_cookies_work_over_plain_http_when_not_served_over_https(client, users):
    token = csrf_of(client, "/auth/login")
    response = client.post("/auth/login", data={"email": "agent@example.test", "password": PASSWORDS["agent"],
                                                 "remember": "1", "csrf_token": token})
    cookies = _set_cookies(response)
    assert "Secure" not in cookies["session"] and "SameSite=Lax" in cookies["session"]
    assert "HttpOnly" in cookies["remember_token"] and "SameSite=Lax" in cookies["remember_token"]


# -- SECRET_KEY and the instance folder ---------------------------------------------------------

def test_a_short_secret_key_is_refused_with_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("SECRET_KEY", "short")
    with pytest.raises(config.ConfigError, match="at least 32 characters"):
        config.secret_key(tmp_path)
    monkeypatch.setenv("SECRET_KEY", LONG_KEY)
    assert config.secret_key(tmp_path) == LONG_KEY


def _flask(instance: Path, redis_url: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items()
                   if k not in ("DATABASE_URL", "SECRET_KEY", "INBOX_PUBLIC_URL", "INBOX_DEMO")}
    environment.update(INBOX_INSTANCE_PATH=str(instance), REDIS_URL=redis_url, **env)
    return subprocess.run([sys.executable, "-m", "flask", "--app", "app", *args], cwd=ROOT, env=environment,
                          capture_output=True, text=True, timeout=120)


def test_first_run_with_secret_key_creates_a_private_instance_folder(tmp_path, redis_url):
    instance = tmp_path / "fresh" / "instance"          # does not exist yet
    done = _flask(instance, redis_url, "db", "upgrade", SECRET_KEY=LONG_KEY)
    assert done.returncode == 0, done.stderr
    assert mode(instance) == 0o700
    assert mode(instance / "inbox.db") == 0o600
    assert not (instance / "secret_key").exists()      # the configured key is used, none generated


def test_first_run_without_secret_key_generates_a_private_one(tmp_path, redis_url):
    instance = tmp_path / "instance"
    done = _flask(instance, redis_url, "db", "upgrade")
    assert done.returncode == 0, done.stderr
    assert mode(instance) == 0o700 and mode(instance / "secret_key") == 0o600 and mode(instance / "inbox.db") == 0o600
    assert len((instance / "secret_key").read_text().strip()) >= config.MIN_SECRET_KEY_LENGTH


def test_a_short_secret_key_stops_the_command_with_the_reason(tmp_path, redis_url):
    done = _flask(tmp_path / "instance", redis_url, "db", "upgrade", SECRET_KEY="too-short")
    assert done.returncode != 0
    assert "SECRET_KEY must be at least 32 characters" in done.stderr


def test_the_embedded_redis_dump_is_private(tmp_path):
    """Its dump holds queued jobs (reply texts) and login counters: 0600 like the database."""
    from inbox import redisconn

    server = redisconn.start_embedded(tmp_path)
    try:
        server.set("inbox:probe", "1")
        server.save()
    finally:
        redisconn.stop_embedded(tmp_path)
    assert mode(tmp_path / redisconn.DATA_FILE) == 0o600


def test_an_existing_world_readable_database_is_made_private(tmp_path):
    path = tmp_path / "old.db"
    path.write_bytes(b"")
    path.chmod(0o644)
    db.private_sqlite_file(f"sqlite:///{path}")
    assert mode(path) == 0o600


# -- access log ----------------------------------------------------------------------------------

@pytest.mark.parametrize("line, secret", [
    ("GET /api2/public/inbox/tickets?accesstoken=Sekr3t-_x&limit=5 HTTP/1.1", "Sekr3t-_x"),
    ("POST /webhooks/getloo/AbCdEf0123456789_-xyz HTTP/1.1", "AbCdEf0123456789_-xyz"),
    ("GET /api/v1/x?access_token=tok1 HTTP/1.1", "tok1"),
    ("GET /x?a=1&token=tok2#frag HTTP/1.1", "tok2"),
    ("GET /settings/resont/callback?state=s&code=oauthcode HTTP/1.1", "oauthcode"),
    ("accesstoken=only", "only"),
])
def test_redact_removes_tokens_from_log_lines(line, secret):
    redacted = redact(line)
    assert secret not in redacted and "[redacted]" in redacted


def test_redact_keeps_what_is_not_a_secret():
    line = "GET /tickets?status=open&mytoken=visible&q=token HTTP/1.1"
    assert redact(line) == line
    assert redact("/webhooks/getloo/abc?x=1").startswith("/webhooks/getloo/[redacted]?x=1")
