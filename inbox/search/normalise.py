"""One folding of text for search, used when a ticket is indexed AND when the search box is read.

Why in Python and not in the database: SQLite's ``lower()`` folds ASCII only (it missed
"Здравствуйте" for "здравствуйте"), FTS5's and PostgreSQL's folding differ from each other, and
neither knows that Arabic ``ي`` and Persian ``ی`` are the same letter for a Persian reader. So the
index stores text already folded by :func:`normalise` (tokens joined by single spaces), the query
is folded by the same function, and both databases only have to match equal tokens.

The folding, in order:

- NFKD, then case folding for every script (``str.casefold``), then NFKD again (folding can
  produce decomposable letters);
- combining marks dropped: Latin accents ("café" = "cafe"), Russian ``ё`` → ``е``, and Arabic and
  Persian harakat and hamza marks (``أ إ آ`` → ``ا``, ``ۀ`` → ``ه``, ``ؤ`` → ``و``). The one
  exception is Russian ``й``: it is a letter of its own, not ``и`` with an accent;
- format characters dropped: ZWNJ (U+200C, Persian "می‌خواهم" = "میخواهم"), ZWJ, the direction
  marks, and tatweel (the Arabic elongation ``ـ``);
- Persian letter variants unified: Arabic ``ي ى ئ`` → ``ی``, ``ك`` → ``ک``, ``ة`` → ``ه``;
- every decimal digit (Persian ``۱۲``, Arabic-Indic ``١٢``, ...) → ASCII;
- tokens are runs of letters and digits; everything else separates them. A symbol such as an
  emoji is a token of its own, spelled ``sym`` + its code point in hex (``😀`` → ``sym1f600``),
  so searching for an emoji finds it and never breaks the query syntax of either database.
"""
from __future__ import annotations

import re
import unicodedata

_KEEP = {"й": "\ue000"}                       # letters NFKD would split but that are letters of their own
_RESTORE = {v: k for k, v in _KEEP.items()}
_LETTERS = str.maketrans({
    "\u064a": "\u06cc", "\u0649": "\u06cc", "\u0626": "\u06cc",   # ي ى ئ → ی
    "\u0643": "\u06a9",                                          # ك → ک
    "\u0629": "\u0647", "\u06d5": "\u0647",                      # ة, and ە (what ۀ decomposes to) → ه
    "\u0640": None,                                              # tatweel
})
_TOKEN = re.compile(r"[^\W_]+")
# Scripts written without spaces between words: a token of them is matched as a substring.
_UNSPACED = re.compile(r"[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def fold(text: str) -> str:
    """``text`` case-folded, without marks and format characters, Persian letters unified, ASCII
    digits; symbols (emoji) spelled as ``sym<hex>`` between spaces. Not yet split into tokens."""
    text = (text or "").casefold()
    for keep, mark in _KEEP.items():
        text = text.replace(keep, mark)
    out: list[str] = []
    for char in unicodedata.normalize("NFKD", text).casefold():
        for c in unicodedata.normalize("NFKD", char):
            category = unicodedata.category(c)
            if category[0] == "M" or category == "Cf":
                continue
            if category == "Nd":
                out.append(str(unicodedata.decimal(c)))
            elif category == "So":
                out.append(f" sym{ord(c):x} ")
            else:
                out.append(_RESTORE.get(c, c))
    return unicodedata.normalize("NFC", "".join(out).translate(_LETTERS))


def tokens(text: str) -> list[str]:
    """The search tokens of ``text``, in order (duplicates kept)."""
    return _TOKEN.findall(fold(text))


def normalise(text: str) -> str:
    """The tokens of ``text`` joined by single spaces: what the index stores and what queries match."""
    return " ".join(tokens(text))


def unspaced(token: str) -> bool:
    """A token of a script written without spaces (Thai, Chinese, Japanese ...): the tokenizers
    cannot find the words inside it, so it is matched as a substring of the document instead."""
    return bool(_UNSPACED.search(token))


def is_word_char(char: str) -> bool:
    """Part of a word as the folding sees it (letters, digits, marks, ZWNJ, tatweel): the
    highlighter cuts the original text into runs of these and folds each run."""
    category = unicodedata.category(char)
    return (category[0] in "LNM" or char in "\u200c\u200d") and char != "_"
