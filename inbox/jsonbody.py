"""Reading a JSON body we were sent: strict, bounded, and never an unexpected exception.

One reader for every place that takes JSON from outside (``/api/v1``, ``/api2/public``, the
webhook intake and the worker that parses stored webhook bodies), so they refuse the same
things for the same reasons: bytes that are not UTF-8 (refused, never "repaired": a mangled
body once went out to a customer as ``%FF%FE%FD``), text that is not JSON, ``NaN``/``Infinity``
(not JSON, though Python accepts them), nesting deeper than ``MAX_DEPTH`` (deep enough nesting
raises ``RecursionError`` in the parser and later in every walker of the value), and lone UTF-16
surrogates such as ``"\\ud800"`` (valid JSON escapes, but no character: they cannot be encoded
to store or send, so they failed later, in the database or a worker). ``BadBody`` says which,
in words for the sender; each caller answers it in its own documented error body.
"""
from __future__ import annotations

import json
from typing import Any

MAX_DEPTH = 32


class BadBody(ValueError):
    """A body we refuse; ``message`` is for the sender."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _no_constant(name: str) -> Any:
    raise BadBody(f"The body is not valid JSON: {name} is not a JSON number")


def decode_utf8(raw: bytes) -> str:
    """The body as text; invalid UTF-8 is refused with the offset of the first bad byte."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadBody(f"The body is not valid UTF-8 (byte {exc.start})") from None


def loads(raw: bytes | str) -> Any:
    """Parse ``raw`` as JSON under the rules above; ``BadBody`` for anything refused."""
    text = decode_utf8(raw) if isinstance(raw, bytes) else raw
    try:
        value = json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        raise BadBody(f"The body is nested too deeply (at most {MAX_DEPTH} levels)") from None
    except ValueError as exc:
        if isinstance(exc, BadBody):
            raise
        raise BadBody(f"The body is not valid JSON: {exc}") from None
    check_value(value)
    return value


def check_value(value: Any) -> None:
    """Refuse nesting beyond ``MAX_DEPTH`` and lone surrogates in keys or strings (iteratively:
    a recursive walk of hostile input is what raised RecursionError in the first place)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            _check_text(item)
        elif isinstance(item, (dict, list)):
            if depth > MAX_DEPTH:
                raise BadBody(f"The body is nested too deeply (at most {MAX_DEPTH} levels)")
            if isinstance(item, dict):
                for key, child in item.items():
                    _check_text(key)
                    stack.append((child, depth + 1))
            else:
                stack.extend((child, depth + 1) for child in item)


def _check_text(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise BadBody(f"The body holds a lone surrogate (\\u{ord(text[exc.start]):04x}), "
                      "which is no character: send valid Unicode") from None


def has_lone_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
