"""Keyword lists matched with one Aho-Corasick automaton per list version, built once and cached.

Scanning a text with an automaton costs the length of the text plus the number of hits, whatever
the number of keywords, so a list of 10,000 keywords costs about what a list of 10 does (a loop
over the keywords, or one giant alternation regex, grows with the list). Keywords and texts are
normalised by :mod:`inbox.rules.text` (case, diacritics, Persian/Arabic letters, ZWNJ, ё/е).

The automaton is built once per ``(list id, version)`` and kept in an LRU (:func:`matcher_for`):
a list's version changes when it is edited, so a stale automaton is never used and an old one
simply ages out.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from typing import NamedTuple

import ahocorasick

from inbox.rules.text import is_whole_word, normalize, normalize_with_offsets


class Hit(NamedTuple):
    """A keyword found: the keyword as the list spells it, and where (``text[start:end]``)."""

    keyword: str
    start: int
    end: int


class KeywordMatcher:
    """The keywords of one list, compiled into an automaton over their normalised forms."""

    def __init__(self, keywords: Iterable[str]):
        self._automaton = ahocorasick.Automaton()
        count = 0
        for keyword in keywords:
            if not isinstance(keyword, str):
                continue
            folded = normalize(keyword).strip()
            if folded and folded not in self._automaton:
                # The first spelling wins when two keywords normalise to the same text.
                self._automaton.add_word(folded, (keyword.strip(), len(folded)))
                count += 1
        self.size = count
        if count:
            self._automaton.make_automaton()

    def find_normalized(self, folded: str, whole_word: bool = False) -> Iterable[Hit]:
        """Hits in an already normalised text, offsets in that text, in order of their end."""
        if not self.size or not folded:
            return
        for end_index, (keyword, length) in self._automaton.iter(folded):
            start, end = end_index - length + 1, end_index + 1
            if whole_word and not is_whole_word(folded, start, end):
                continue
            yield Hit(keyword, start, end)

    def first_normalized(self, folded: str, whole_word: bool = False) -> Hit | None:
        """The first hit in an already normalised text, or None (stops at the first)."""
        return next(iter(self.find_normalized(folded, whole_word)), None)

    def find(self, text: str, whole_word: bool = False) -> list[Hit]:
        """Every hit in ``text``, with offsets in the original ``text`` (for highlighting)."""
        folded, offsets = normalize_with_offsets(text)
        hits = []
        for hit in self.find_normalized(folded, whole_word):
            start = offsets[hit.start]
            # The end is just after the last original character the match came from.
            end = offsets[hit.end - 1] + 1
            hits.append(Hit(hit.keyword, start, end))
        return hits

    def matches(self, text: str, whole_word: bool = False) -> bool:
        """Whether any keyword occurs in ``text`` (as a whole word when ``whole_word``)."""
        return self.first_normalized(normalize(text), whole_word) is not None


class MatcherCache:
    """An LRU of matchers keyed by ``(list id, version)``, safe to share between threads."""

    def __init__(self, maxsize: int = 256):
        self.maxsize = maxsize
        self._items: OrderedDict[tuple[Hashable, Hashable], KeywordMatcher] = OrderedDict()
        self._lock = threading.Lock()
        self.builds = 0

    def get(self, list_id: Hashable, version: Hashable,
            keywords: Iterable[str] | Callable[[], Iterable[str]]) -> KeywordMatcher:
        """The matcher for this list version; ``keywords`` (or a function that loads them, called
        only on a miss) is compiled when it is not cached yet."""
        key = (list_id, version)
        with self._lock:
            matcher = self._items.get(key)
            if matcher is not None:
                self._items.move_to_end(key)
                return matcher
        matcher = KeywordMatcher(keywords() if callable(keywords) else keywords)
        with self._lock:
            self.builds += 1
            self._items[key] = matcher
            self._items.move_to_end(key)
            while len(self._items) > self.maxsize:
                self._items.popitem(last=False)
        return matcher

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_cache = MatcherCache()


def matcher_for(list_id: Hashable, version: Hashable,
                keywords: Iterable[str] | Callable[[], Iterable[str]]) -> KeywordMatcher:
    """The process-wide cached matcher for ``(list_id, version)``."""
    return _cache.get(list_id, version, keywords)
