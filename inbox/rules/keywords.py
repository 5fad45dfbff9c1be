"""Keyword lists matched with one Aho-Corasick automaton per list version, built once and cached.

Scanning a text with an automaton costs the length of the text plus the number of hits, whatever
the number of keywords, so a list of 10,000 keywords costs about what a list of 10 does (a loop
over the keywords, or one giant alternation regex, grows with the list). Keywords and texts are
normalised by :mod:`inbox.rules.text` (case, diacritics, Persian/Arabic letters, ZWNJ, ё/е).

The automaton is built once per ``(list id, version)`` and kept in an LRU (:func:`matcher_for`):
a list's version changes when it is edited, so a stale automaton is never used and an old one
simply ages out.

An automaton's scan does grow a little with its size (a bigger trie is slower to walk: about
3 µs for 300 characters with 10 keywords, 22 µs with 10,000), so the engine does not scan once
per rule: :class:`KeywordIndex` merges every list the rules use into one automaton (cached by the
set of ``(list id, version)``) and one scan per item answers every keyword condition.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
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


@dataclass(frozen=True)
class ListHits:
    """The first hit of one list in a text: anywhere (``substring``) and as a whole word."""

    substring: Hit | None = None
    whole_word: Hit | None = None

    def first(self, whole_word: bool) -> Hit | None:
        return self.whole_word if whole_word else self.substring


class KeywordIndex:
    """Several keyword lists in one automaton: one scan of a text finds the hits of all of them."""

    def __init__(self, lists: Iterable[tuple[Hashable, Iterable[str]]]):
        self._automaton = ahocorasick.Automaton()
        entries: dict[str, list[tuple[Hashable, str]]] = {}
        for list_key, keywords in lists:
            seen = set()
            for keyword in keywords:
                if not isinstance(keyword, str):
                    continue
                folded = normalize(keyword).strip()
                if folded and folded not in seen:
                    seen.add(folded)
                    entries.setdefault(folded, []).append((list_key, keyword.strip()))
        for folded, owners in entries.items():
            self._automaton.add_word(folded, (len(folded), tuple(owners)))
        self.size = len(entries)
        if self.size:
            self._automaton.make_automaton()

    def scan(self, folded: str) -> dict[Hashable, ListHits]:
        """For each list with a hit in the normalised ``folded``, its first hits."""
        found: dict[Hashable, ListHits] = {}
        if not self.size or not folded:
            return found
        for end_index, (length, owners) in self._automaton.iter(folded):
            start, end = end_index - length + 1, end_index + 1
            whole = None
            for list_key, keyword in owners:
                hits = found.get(list_key)
                if hits is not None and hits.whole_word is not None:
                    continue
                if whole is None:
                    whole = is_whole_word(folded, start, end)
                hit = Hit(keyword, start, end)
                if hits is None:
                    found[list_key] = ListHits(hit, hit if whole else None)
                elif whole:
                    found[list_key] = ListHits(hits.substring, hit)
        return found


class _LRU:
    def __init__(self, maxsize: int):
        self.maxsize = maxsize
        self.items: OrderedDict = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key):
        with self.lock:
            value = self.items.get(key)
            if value is not None:
                self.items.move_to_end(key)
            return value

    def put(self, key, value) -> None:
        with self.lock:
            self.items[key] = value
            self.items.move_to_end(key)
            while len(self.items) > self.maxsize:
                self.items.popitem(last=False)


class MatcherCache:
    """LRUs of matchers keyed by ``(list id, version)`` and of merged indexes keyed by the set of
    ``(list id, version)`` they hold; safe to share between threads."""

    def __init__(self, maxsize: int = 256, index_maxsize: int = 16):
        self._matchers = _LRU(maxsize)
        self._indexes = _LRU(index_maxsize)
        self.builds = 0

    @property
    def maxsize(self) -> int:
        return self._matchers.maxsize

    def get(self, list_id: Hashable, version: Hashable,
            keywords: Iterable[str] | Callable[[], Iterable[str]]) -> KeywordMatcher:
        """The matcher for this list version; ``keywords`` (or a function that loads them, called
        only on a miss) is compiled when it is not cached yet."""
        key = (list_id, version)
        matcher = self._matchers.get(key)
        if matcher is None:
            matcher = KeywordMatcher(keywords() if callable(keywords) else keywords)
            self.builds += 1
            self._matchers.put(key, matcher)
        return matcher

    def index(self, lists: Iterable) -> KeywordIndex:
        """The merged index of ``lists`` (objects with ``id``, ``version``, ``keywords``), its
        hits keyed by ``str(list id)``."""
        lists = {str(kl.id): kl for kl in lists}
        key = tuple(sorted((ident, str(kl.version)) for ident, kl in lists.items()))
        index = self._indexes.get(key)
        if index is None:
            index = KeywordIndex((ident, kl.keywords) for ident, kl in lists.items())
            self.builds += 1
            self._indexes.put(key, index)
        return index

    def clear(self) -> None:
        for lru in (self._matchers, self._indexes):
            with lru.lock:
                lru.items.clear()


_cache = MatcherCache()


def default_cache() -> MatcherCache:
    """The process-wide cache."""
    return _cache


def matcher_for(list_id: Hashable, version: Hashable,
                keywords: Iterable[str] | Callable[[], Iterable[str]]) -> KeywordMatcher:
    """The process-wide cached matcher for ``(list_id, version)``."""
    return _cache.get(list_id, version, keywords)
