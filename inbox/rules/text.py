"""Text normalisation and word boundaries for keyword matching, the same for keywords and items.

A keyword list written by an admin must match what people really type: any case, with or without
diacritics, with the Arabic or the Persian form of a letter, with or without a zero-width
non-joiner. Both the keywords and the item's text go through :func:`normalize`, one character at
a time, so that every character of the result points back to the original (``offsets``) and a
match can be shown where it is in the original text.

What :func:`normalize` does, in order, per character:

- Unicode NFKC (full-width and compatibility forms, ligatures, presentation forms of Arabic
  letters become the plain letters), then ``casefold`` (``ß`` → ``ss``, ``İ`` → ``i``);
- diacritics removed: every combining mark (category ``Mn``/``Me``) after NFD, so ``é`` → ``e``,
  Russian ``ё`` → ``е``, Arabic harakat (fatha, kasra, damma, shadda, sukun, tanwin, superscript
  alef) vanish, and ``أ``/``إ``/``آ`` → ``ا``, ``ؤ`` → ``و``, ``ئ`` → ``ی``. One exception: Russian
  ``й`` keeps its breve (``й`` and ``и`` are different letters, not a letter and its accent);
- Arabic letter variants → the Persian letter: ``ي``/``ى`` (yeh, alef maksura) → ``ی``,
  ``ك`` → ``ک``, ``ة``/``ە`` (teh marbuta, ae) → ``ه`` (so ``ۀ`` → ``ه`` too), ``ٱ`` (alef wasla)
  → ``ا``; Arabic-Indic and Persian digits → ASCII digits. Hamza on its own (``ء``) is kept;
- ZWNJ (U+200C), tatweel/kashida (U+0640), soft hyphen and the bidi marks are removed: they shape
  or direct text, not spell it. ZWNJ therefore *joins* words for matching: ``می‌خواهم`` and
  ``میخواهم`` are the same word, and ``خواهم`` alone is not a whole word inside either.
  A zero-width space (U+200B) becomes a space (it separates words). ZWJ (U+200D) is kept: it
  glues emoji sequences together.

Word boundaries (:func:`is_word_char`): letters, marks and numbers of any script are word
characters, and so is ``_``; everything else (spaces, punctuation, symbols, emoji) separates
words. A whole-word match needs a boundary only on a side where the keyword itself starts or ends
with a word character (as ``\\b`` does), so the keyword ``🔥`` matches in ``fire🔥``.
"""
from __future__ import annotations

import unicodedata
from functools import lru_cache

ZWNJ = "\u200c"
ZWJ = "\u200d"
TATWEEL = "\u0640"

# Removed outright: they shape or direct text and never change the word.
_DROP = frozenset({ZWNJ, TATWEEL, "\u00ad", "\u200e", "\u200f", "\u202a", "\u202b", "\u202c",
                   "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069", "\ufeff"})
_SPACE = frozenset({"\u200b"})

# Arabic forms → the Persian letter (after marks are gone).
_LETTERS = {
    "\u064a": "\u06cc",  # ي Arabic yeh → ی
    "\u0649": "\u06cc",  # ى alef maksura → ی
    "\u0643": "\u06a9",  # ك Arabic kaf → ک
    "\u0629": "\u0647",  # ة teh marbuta → ه
    "\u06d5": "\u0647",  # ە ae (what ۀ decomposes to) → ه
    "\u0671": "\u0627",  # ٱ alef wasla → ا
}
for _i in range(10):
    _LETTERS[chr(0x0660 + _i)] = str(_i)  # Arabic-Indic digits
    _LETTERS[chr(0x06F0 + _i)] = str(_i)  # Persian digits

_BREVE = "\u0306"
_SHORT_I = {"\u0438": "\u0439"}  # и + breve → й (a decomposed й in the input)


@lru_cache(maxsize=8192)
def _fold_char(char: str) -> str:
    """One original character → its normalised form (possibly empty or several characters)."""
    if char in _DROP:
        return ""
    if char in _SPACE:
        return " "
    folded = unicodedata.normalize("NFKC", char).casefold()
    out = []
    for c in unicodedata.normalize("NFD", folded):
        if unicodedata.category(c) in ("Mn", "Me"):
            if c == _BREVE and out and out[-1] in _SHORT_I:
                out[-1] = _SHORT_I[out[-1]]
            continue
        if c in _DROP:
            continue
        out.append(_LETTERS.get(c, c))
    return unicodedata.normalize("NFC", "".join(out))


def normalize_with_offsets(text: str) -> tuple[str, list[int]]:
    """The normalised text and, for each of its characters, the index of the original character
    it came from (plus one final entry: ``len(text)``), to map a match back onto the original."""
    parts: list[str] = []
    offsets: list[int] = []
    for index, char in enumerate(text):
        if char == _BREVE and parts and parts[-1][-1:] in _SHORT_I:
            # A decomposed й: fold the breve into the и before it rather than dropping it.
            parts[-1] = parts[-1][:-1] + _SHORT_I[parts[-1][-1]]
            continue
        folded = _fold_char(char)
        if not folded:
            continue
        parts.append(folded)
        offsets.extend([index] * len(folded))
    offsets.append(len(text))
    return "".join(parts), offsets


def normalize(text: str) -> str:
    """``text`` normalised for matching (see the module's docstring)."""
    return normalize_with_offsets(text)[0]


@lru_cache(maxsize=8192)
def is_word_char(char: str) -> bool:
    """True for a letter, mark or number of any script, or ``_``: what words are made of."""
    if char == "_":
        return True
    return unicodedata.category(char)[0] in ("L", "M", "N")


def is_whole_word(text: str, start: int, end: int) -> bool:
    """Whether ``text[start:end]`` stands as a whole word in ``text`` (both already normalised)."""
    if start >= end:
        return False
    if is_word_char(text[start]) and start > 0 and is_word_char(text[start - 1]):
        return False
    if is_word_char(text[end - 1]) and end < len(text) and is_word_char(text[end]):
        return False
    return True
