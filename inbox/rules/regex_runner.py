"""Regular expressions from rules, run with a time limit so a catastrophic pattern cannot hang.

The standard ``re`` module has no timeout and holds the GIL while it matches, so a thread cannot
be interrupted and a signal is not checked inside the matcher. The ``regex`` package (which has
``timeout=``) is not a dependency of this project. So a pattern runs in a small child process,
started once and reused: the caller waits at most ``timeout`` seconds for the answer; when the
child does not answer in time it is killed (and started again on the next call) and the condition
fails with "timed out". A round trip costs a fraction of a millisecond, and only rules with a
regex condition pay it. The text is also capped (``MAX_TEXT``) before it is sent.
"""
from __future__ import annotations

import multiprocessing
import re
import threading
from dataclasses import dataclass

MAX_TEXT = 20_000
DEFAULT_TIMEOUT = 0.25


class RegexTimeout(Exception):
    """The pattern ran longer than the time limit."""


def compile_flags(ignore_case: bool) -> int:
    return re.IGNORECASE if ignore_case else 0


def _serve(conn) -> None:  # pragma: no cover - runs in the child
    compiled: dict[tuple[str, int], re.Pattern] = {}
    while True:
        try:
            pattern, flags, text = conn.recv()
        except EOFError:
            return
        try:
            rx = compiled.get((pattern, flags))
            if rx is None:
                if len(compiled) > 512:
                    compiled.clear()
                rx = compiled[(pattern, flags)] = re.compile(pattern, flags)
            found = rx.search(text)
            conn.send(("ok", (found.start(), found.end(), found.group(0)[:200]) if found else None))
        except Exception as exc:  # a bad pattern answers an error, the child lives on
            conn.send(("error", str(exc)))


@dataclass
class RegexRunner:
    """Runs ``re.search`` in a reusable child process with a time limit per call."""

    timeout: float = DEFAULT_TIMEOUT

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._process = None
        self._conn = None

    def _start(self) -> None:
        context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe()
        process = context.Process(target=_serve, args=(child,), daemon=True,
                                  name="rules-regex")
        process.start()
        child.close()
        self._process, self._conn = process, parent

    def _kill(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.join(1)
        if self._conn is not None:
            self._conn.close()
        self._process = self._conn = None

    def search(self, pattern: str, flags: int, text: str) -> tuple[int, int, str] | None:
        """``(start, end, matched text)`` of the first match, or None; raises
        :class:`RegexTimeout` when the time limit passes, ``re.error`` for a bad pattern."""
        with self._lock:
            if self._process is None or not self._process.is_alive():
                self._kill()
                self._start()
            self._conn.send((pattern, flags, text[:MAX_TEXT]))
            if not self._conn.poll(self.timeout):
                self._kill()
                raise RegexTimeout(f"the pattern ran longer than {self.timeout:g} s")
            status, value = self._conn.recv()
        if status == "error":
            raise re.error(value)
        return tuple(value) if value else None

    def close(self) -> None:
        with self._lock:
            self._kill()


_default: RegexRunner | None = None


def default_runner() -> RegexRunner:
    """The process-wide runner (its child starts on first use)."""
    global _default
    if _default is None:
        _default = RegexRunner()
    return _default
