"""Provider credentials are encrypted at rest with a key derived from SECRET_KEY.

Rotating SECRET_KEY therefore makes stored credentials unreadable: reconnect the channels.
"""
from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

_fernet: Fernet | None = None


def configure(secret_key: str) -> None:
    global _fernet
    digest = hashlib.sha256(b"inbox-credentials:" + secret_key.encode()).digest()
    _fernet = Fernet(base64.urlsafe_b64encode(digest))


def _f() -> Fernet:
    if _fernet is None:
        raise RuntimeError("inbox.crypto.configure() has not been called")
    return _fernet


def encrypt_json(value: dict[str, Any]) -> str:
    return _f().encrypt(json.dumps(value).encode()).decode()


def decrypt_json(token: str) -> dict[str, Any]:
    if not token:
        return {}
    try:
        return json.loads(_f().decrypt(token.encode()))
    except InvalidToken as exc:
        raise RuntimeError("stored credentials cannot be decrypted: was SECRET_KEY changed?") from exc
