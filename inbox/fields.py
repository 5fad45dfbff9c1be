"""Type and range checks for the values people and clients send us, with one set of limits.

The API, the pages' forms and the services behind both call these, so a value is refused the
same way wherever it comes in, and before it can reach the database or a provider: an integer
beyond our 32-bit keys overflowed SQLite (a 500), an object posted as a wall's text went out as
its Python repr, a 1 MB "reply" was accepted, one call created 20,000 tags. Refusals are
``Rejected`` (``invalid_value`` / ``too_long`` / ``too_many``): the API answers them 422 and the
forms show them inline.
"""
from __future__ import annotations

from typing import Any

from inbox.connectors.base import Rejected

__all__ = ["Rejected", "whole_id", "text", "optional_text", "flag", "params"]

MAX_ID = 2**31 - 1          # our primary keys are 32-bit integers (PostgreSQL INTEGER)
TEXT_MAX = 10_000           # a reply, a note, a wall post
NAME_MAX = 200              # names: channels, tags, avatars (our name columns hold 200)
URL_MAX = 2_000
SHORT_MAX = 256             # identifiers: action ids, options, provider names
TAGS_MAX = 20               # tags one call may set or create
LIST_MAX = 50               # any other list in a request
DEPTH_MAX = 8               # nesting of an action's parameters

# Limits of the action parameters we know by name; other strings get URL_MAX.
PARAM_LIMITS = {"text": TEXT_MAX, "reason": TEXT_MAX, "tag_names": TAGS_MAX * 81, "media_url": URL_MAX,
                "attachment_url": URL_MAX, "avatar_name": NAME_MAX, "real_name": NAME_MAX, "name": NAME_MAX,
                "action_id": SHORT_MAX, "option": SHORT_MAX, "due_at": 64}


def whole_id(value: Any, name: str) -> int:
    """An id we hand out: a JSON integer (not a bool) from 1 to 2^31-1."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise Rejected("invalid_value", f"{name} must be a whole number")
    if not 1 <= value <= MAX_ID:
        raise Rejected("invalid_value", f"{name} must be between 1 and {MAX_ID}")
    return value


def text(value: Any, name: str, max_length: int = TEXT_MAX) -> str:
    """A string of at most ``max_length`` characters (objects, numbers and lists are refused)."""
    if not isinstance(value, str):
        raise Rejected("invalid_value", f"{name} must be a string")
    if len(value) > max_length:
        raise Rejected("too_long", f"{name} must be at most {max_length} characters (it has {len(value)})")
    return value


def optional_text(value: Any, name: str, max_length: int = TEXT_MAX) -> str | None:
    return None if value is None else text(value, name, max_length)


def flag(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise Rejected("invalid_value", f"{name} must be true or false")
    return value


def params(values: dict[str, Any]) -> dict[str, Any]:
    """An action's parameters: strings within their limits, ids in range, bounded lists and nesting.

    Which keys an action takes is its provider's business (``validate_action``); this keeps any
    of them from carrying what no provider could take.
    """
    for key, value in values.items():
        _param(value, str(key), PARAM_LIMITS.get(str(key), URL_MAX), 1)
    return values


def _param(value: Any, name: str, limit: int, depth: int) -> None:
    if depth > DEPTH_MAX:
        raise Rejected("invalid_value", f"{name} is nested too deeply")
    if value is None or isinstance(value, (bool, float)):
        return
    if isinstance(value, int):
        if not -MAX_ID <= value <= MAX_ID:
            raise Rejected("invalid_value", f"{name} must be between {-MAX_ID} and {MAX_ID}")
    elif isinstance(value, str):
        text(value, name, limit)
    elif isinstance(value, list):
        if len(value) > LIST_MAX:
            raise Rejected("too_many", f"{name} may hold at most {LIST_MAX} values")
        for item in value:
            _param(item, name, limit, depth + 1)
    elif isinstance(value, dict):
        if len(value) > LIST_MAX:
            raise Rejected("too_many", f"{name} may hold at most {LIST_MAX} keys")
        for key, item in value.items():
            text(key, f"a key of {name}", SHORT_MAX)
            _param(item, f"{name}.{key}", PARAM_LIMITS.get(key, URL_MAX), depth + 1)
    else:
        raise Rejected("invalid_value", f"{name} has a value of an unknown type")
