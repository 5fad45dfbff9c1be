"""The search folding (inbox/search/normalise.py) and the search box's language (parse.py): pure."""
from __future__ import annotations

import pytest

from inbox.search import mark
from inbox.search.normalise import normalise, tokens
from inbox.search.parse import Term, parse


@pytest.mark.parametrize("typed, stored", [
    ("ميخواهم", "میخواهم"),              # Arabic yeh → Persian yeh
    ("كتاب", "کتاب"),                    # Arabic kaf → Persian keheh
    ("می\u200cخواهم", "میخواهم"),         # ZWNJ inside a word
    ("مدرسة", "مدرسه"),                  # teh marbuta → heh
    ("خانۀ", "خانه"),                    # heh with yeh above → heh
    ("أحمد إبراهيم آب", "احمد ابراهیم اب"),
    ("سـلام", "سلام"),                    # tatweel
    ("مَنْ", "من"),                       # harakat
    ("Здравствуйте", "здравствуйте"),     # Cyrillic case
    ("Ёлка", "елка"),                     # ё → е
    ("мой", "мой"),                       # й stays й
    ("Café ÉCOLE Straße", "cafe ecole strasse"),
    ("۱۲۳ ١٢٣ 123", "123 123 123"),       # Persian and Arabic-Indic digits
    ("foo_bar-baz, qux!", "foo bar baz qux"),
])
def test_normalise_folds_case_marks_and_letter_variants(typed, stored):
    assert normalise(typed) == stored


def test_emoji_are_tokens_of_their_own_and_modifiers_vanish():
    assert tokens("ok 😀👍🏽 ok") == ["ok", "sym1f600", "sym1f44d", "ok"]
    assert normalise("🎉") == normalise("🎉\ufe0f") == "sym1f389"
    assert normalise("") == normalise("\u200c\u200d") == ""


def test_parse_reads_operators_words_phrases_and_prefix():
    q = parse('from:@John.Doe tag:"Late Delivery" is:mine is:Unassigned "where is" parc')
    assert q.authors == [Term(("john", "doe"))]
    assert q.tags == ["late delivery"]
    assert q.flags == {"mine", "unassigned"}
    assert q.terms == [Term(("where", "is")), Term(("parc",), prefix=True)]


def test_unknown_operators_and_values_are_plain_words():
    q = parse("foo:bar is:bogus 10:30")
    assert q.terms == [Term(("foo", "bar")), Term(("is", "bogus")), Term(("10", "30"), prefix=True)]
    assert not q.flags and not q.authors and not q.tags


def test_a_one_letter_or_quoted_last_word_is_not_a_prefix():
    assert parse("parcel a").terms[-1] == Term(("a",))
    assert parse('"parcel"').terms == [Term(("parcel",))]
    assert parse("").empty and parse("   ").empty and parse("!!!").empty


def test_mark_escapes_and_marks_words_the_way_the_index_folds():
    terms = parse("ميخواهم ЗДРАВСТВУЙТЕ").marked()
    html = str(mark("<script>x</script> سلام، می\u200cخواهم! Здравствуйте.", terms))
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<mark>می\u200cخواهم</mark>" in html and "<mark>Здравствуйте</mark>" in html
    assert "<mark>سلام" not in html


def test_mark_marks_the_prefix_of_the_last_word_and_emoji():
    assert str(mark("my parcels 🎉", parse("🎉 parc").marked())) == "my <mark>parcels</mark> <mark>🎉</mark>"
    assert str(mark("a & b", [])) == "a &amp; b"
