"""Normalisation, word boundaries and keyword matching (Persian, Russian, English, emoji)."""
from __future__ import annotations

import pytest

from inbox.rules.keywords import KeywordMatcher, MatcherCache
from inbox.rules.text import is_whole_word, normalize, normalize_with_offsets

ZWNJ = "\u200c"


@pytest.mark.parametrize("a, b", [
    ("می" + ZWNJ + "خواهم", "میخواهم"),          # ZWNJ joins, it does not spell
    ("ميخواهم", "میخواهم"),                      # Arabic yeh → Persian yeh
    ("كتاب", "کتاب"),                            # Arabic kaf → Persian kaf
    ("مدرسة", "مدرسه"),                          # teh marbuta → heh
    ("خانۀ", "خانه"),                            # heh with yeh above → heh
    ("أحمد", "احمد"), ("إيران", "ایران"), ("آب", "اب"),  # alef with hamza / madda → alef
    ("كـــتاب", "کتاب"),                          # tatweel removed
    ("مُحَمَّد", "محمد"),                         # harakat removed
    ("۱۲۳", "123"), ("١٢٣", "123"),              # Persian and Arabic-Indic digits
    ("Ёлка", "елка"), ("ЁЛКА", "ёлка"),          # ё/е and case
    ("Refund", "REFUND"), ("Straße", "STRASSE"), ("Café", "cafe"),
    ("ＦＵＬＬ", "full"),                          # NFKC
    ("и\u0306од", "йод"),                        # decomposed й is й
])
def test_same_after_normalising(a, b):
    assert normalize(a) == normalize(b)


@pytest.mark.parametrize("a, b", [
    ("йод", "иод"),        # й is a letter of its own, not и with an accent
    ("می خواهم", "میخواهم"),  # a real space still separates words
])
def test_still_different(a, b):
    assert normalize(a) != normalize(b)


def test_offsets_point_back_to_the_original():
    text = "Straße می" + ZWNJ + "خواهم"
    folded, offsets = normalize_with_offsets(text)
    assert len(offsets) == len(folded) + 1 and offsets[-1] == len(text)
    start = folded.index("میخواهم")
    assert text[offsets[start]:offsets[start + len("میخواهم") - 1] + 1] == "می" + ZWNJ + "خواهم"


@pytest.mark.parametrize("text, word, whole", [
    ("i want a refund now", "refund", True),
    ("refunded", "refund", False),
    ("(refund)", "refund", True),
    ("میخواهم", "خواهم", False),
    ("من خواهم رفت", "خواهم", True),
    ("ёлка.", "елка", True),
    ("fire🔥", "🔥", True),
    ("a_refund", "refund", False),
])
def test_whole_word(text, word, whole):
    folded = normalize(text)
    start = folded.index(normalize(word))
    assert is_whole_word(folded, start, start + len(normalize(word))) is whole


LIST = ["refund", "می" + ZWNJ + "خواهم", "كتاب", "Ёлка", "🔥", "late delivery"]


@pytest.mark.parametrize("text, whole_word, found", [
    ("I want a REFUND!", True, ["refund"]),
    ("refunds please", True, []),
    ("refunds please", False, ["refund"]),
    ("من یک کتاب میخواهم", True, ["كتاب", "می" + ZWNJ + "خواهم"]),
    ("من یک كتاب مي" + ZWNJ + "خواهم", True, ["كتاب", "می" + ZWNJ + "خواهم"]),
    ("کتابخانه", True, []),
    ("نمی" + ZWNJ + "خواهم", True, []),  # "I do not want" is another word
    ("کتابخانه", False, ["كتاب"]),
    ("Купил елку", True, []),          # елку is another form: not the word ёлка
    ("Красивая ЕЛКА", True, ["Ёлка"]),
    ("so hot🔥🔥", True, ["🔥", "🔥"]),
    ("Late   delivery", True, []),      # spaces are not squeezed
    ("very late delivery.", True, ["late delivery"]),
    ("", True, []),
])
def test_matcher_finds(text, whole_word, found):
    matcher = KeywordMatcher(LIST)
    hits = matcher.find(text, whole_word=whole_word)
    assert [h.keyword for h in hits] == found
    assert matcher.matches(text, whole_word) is bool(found)
    for hit in hits:  # offsets are in the original text
        assert normalize(text[hit.start:hit.end]) == normalize(hit.keyword)


def test_matcher_ignores_empty_and_duplicate_keywords():
    matcher = KeywordMatcher(["", "  ", "Refund", "refund", None])
    assert matcher.size == 1
    assert [h.keyword for h in matcher.find("refund")] == ["Refund"]
    assert KeywordMatcher([]).find("anything") == []


def test_cache_builds_once_per_version_and_evicts_the_oldest():
    cache = MatcherCache(maxsize=2)
    loads = []

    def loader():
        loads.append(1)
        return ["a"]

    first = cache.get("list", 1, loader)
    assert cache.get("list", 1, loader) is first and len(loads) == 1
    second = cache.get("list", 2, ["b"])  # a new version: a new automaton
    assert second is not first and second.matches("b") and not second.matches("a")
    cache.get("other", 1, ["c"])
    cache.get("list", 1, loader)  # evicted by the LRU: built again
    assert len(loads) == 2 and cache.builds == 4


def test_one_index_answers_every_list_in_one_scan():
    from inbox.rules.keywords import KeywordIndex

    index = KeywordIndex([("a", ["refund", "late"]), ("b", ["REFUNDED", "ёлка"]), ("c", ["x"])])
    hits = index.scan(normalize("Refunded late, ЁЛКА"))
    assert hits["a"].substring.keyword == "refund" and hits["a"].whole_word.keyword == "late"
    assert hits["b"].first(True).keyword == "REFUNDED"
    assert "c" not in hits
    assert KeywordIndex([]).scan("anything") == {}
