"""Language and sentiment of an item's text, offline on CPU: the rules' ``language`` and
``sentiment`` conditions read them.

Nothing is downloaded at run time: both come from data that ships inside installed wheels.

Language: ``lingua-language-detector`` (Apache-2.0), in its low-accuracy mode (trigrams
only: ~40 MB of memory and 0.1 s to load, against ~300 MB and 2 s for the high-accuracy
n-grams, which matters because an RQ worker forks a fresh work-horse per job), restricted to
``SUPPORTED_LANGUAGES`` so that a short English line is not taken for Tagalog. Before lingua:
mentions and links are dropped (a handle says nothing about the language); the words of the
script most of the words are written in are kept, so "Thank you 🙏 спасибо" is English; and in
Arabic script the letters that only one language writes decide first (lingua's trigrams alone
take short Persian for Arabic or Urdu): ٹ ڈ ڑ ں ے ہ ھ are Urdu, پ چ ژ گ and the Persian ک ی are
Persian; in Cyrillic, ы э ё without і ї є ґ ў (or Kazakh letters) are Russian, so "Ёлка" is not
taken for Belarusian. Too few letters (emoji, "ok", "@shop") or a close call → ``None``.

Sentiment: VADER (``vaderSentiment``, MIT; its lexicon and emoji lexicon ship in the wheel)
for English, and for emoji and English words in any text; for Russian and Persian a small
lexicon of our own (``sentiment_lexicon``: nothing small on the registry ships Russian or
Persian sentiment data) with stems and the negations that turn a word ("не работает",
"خوب نیست"). Other languages get VADER alone, so mostly their emoji.

Pure: no Flask, no database. Both models are built once per process, on first use or by
``warm()`` (call it in the worker process before it forks, so work-horses share the pages).
"""
from __future__ import annotations

import functools
import re
import unicodedata
from typing import TYPE_CHECKING, Literal

from inbox.rules import sentiment_lexicon as lex

if TYPE_CHECKING:  # pragma: no cover
    from lingua import LanguageDetector
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

Sentiment = Literal["positive", "neutral", "negative"]
SENTIMENTS: tuple[Sentiment, ...] = ("positive", "neutral", "negative")

# ISO 639-1 codes that detect_language can answer: the inbox's languages (fa, ru, en) and the
# ones they are most often confused with, or that their customers also write in.
SUPPORTED_LANGUAGES: tuple[str, ...] = (
    "en", "ru", "fa", "ar", "ur", "uk", "be", "bg", "kk", "tr", "de", "fr", "es", "it", "pt",
)
MIN_LETTERS = 3  # fewer letters than this (after mentions and links) is too short to tell
# lingua's minimum relative distance between the best two languages: below it, None.
MIN_RELATIVE_DISTANCE = 0.05
# VADER's own thresholds for its compound score.
VADER_POSITIVE = 0.05
VADER_NEGATIVE = -0.05
# Our lexicon's score for a message (sum of word values, plus EMOJI_WEIGHT × VADER's score
# of the same text for its emoji and English words) must reach ±LEXICON_THRESHOLD.
LEXICON_THRESHOLD = 0.5
EMOJI_WEIGHT = 1.5
NEGATED_WEIGHT = 0.75  # "не плохо" is less good than "хорошо"

_NOISE = re.compile(r"https?://\S+|www\.\S+|@[\w.]+")
_WORD = re.compile(r"[\w\u200c]+")
_URDU_ONLY = frozenset("ٹڈڑںےۓہھ")
_PERSIAN_ONLY = frozenset("پچژگکی")  # U+067E U+0686 U+0698 U+06AF U+06A9 U+06CC
_ARABIC_ONLY = frozenset("ةىيك")  # U+0629 U+0649 U+064A U+0643
# Cyrillic: ы э ё are written in Russian and Belarusian, not in Ukrainian, Bulgarian or
# Kazakh; і ї є ґ ў and Kazakh's own letters are not written in Russian.
_RUSSIAN_MARKS = frozenset("ыэё")
_NOT_RUSSIAN = frozenset("іїєґўәғқңөұүһ")
_FOLD = str.maketrans({"ё": "е", "ي": "ی", "ى": "ی", "ك": "ک", "\u200c": None, "\u0640": None})


@functools.cache
def _detector() -> "LanguageDetector":
    from lingua import IsoCode639_1, LanguageDetectorBuilder

    codes = [getattr(IsoCode639_1, code.upper()) for code in SUPPORTED_LANGUAGES]
    return (
        LanguageDetectorBuilder.from_iso_codes_639_1(*codes)
        .with_low_accuracy_mode()
        .with_minimum_relative_distance(MIN_RELATIVE_DISTANCE)
        .with_preloaded_language_models()
        .build()
    )


@functools.cache
def _vader() -> "SentimentIntensityAnalyzer":
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def warm() -> None:
    """Load both models now (~0.2 s), e.g. in a worker before it forks work-horses."""
    _detector()
    _vader()


def _script(word: str) -> str:
    for char in word:
        if char.isalpha():
            name = unicodedata.name(char, "")
            for script in ("LATIN", "CYRILLIC", "ARABIC"):
                if name.startswith(script):
                    return script
            return "OTHER"
    return "NONE"


def _dominant_script_words(text: str) -> tuple[str, list[str]]:
    """The script most words are written in (ties: most letters) and those words."""
    by_script: dict[str, list[str]] = {}
    for word in _WORD.findall(_NOISE.sub(" ", text)):
        script = _script(word)
        if script != "NONE":
            by_script.setdefault(script, []).append(word)
    if not by_script:
        return "NONE", []
    script = max(
        by_script,
        key=lambda s: (len(by_script[s]), sum(c.isalpha() for w in by_script[s] for c in w)),
    )
    return script, by_script[script]


def detect_language(text: str | None) -> str | None:
    """ISO 639-1 code of ``text``'s language, or None when it is too short or unclear."""
    if not text:
        return None
    script, words = _dominant_script_words(text)
    if sum(c.isalpha() for w in words for c in w) < MIN_LETTERS:
        return None
    if script == "ARABIC":
        letters = set("".join(words))
        if letters & _URDU_ONLY:
            return "ur"
        persian = sum(1 for w in words for c in w if c in _PERSIAN_ONLY)
        arabic = sum(1 for w in words for c in w if c in _ARABIC_ONLY)
        if persian and persian >= arabic:
            return "fa"
    if script == "CYRILLIC":
        letters = set("".join(words).lower())
        if letters & _RUSSIAN_MARKS and not letters & _NOT_RUSSIAN:
            return "ru"
    language = _detector().detect_language_of(" ".join(words))
    if language is None:
        return None
    return language.iso_code_639_1.name.lower()


def _normalise(text: str) -> str:
    """Lower case, ё→е, Arabic ي/ك→Persian ی/ک, no ZWNJ, tatweel or diacritics."""
    folded = unicodedata.normalize("NFC", text).lower().translate(_FOLD)
    return "".join(c for c in folded if unicodedata.category(c) != "Mn")


def _value(word: str, stems: dict[str, float], words: dict[str, float]) -> float:
    """The word's own value, or that of the longest stem it starts with."""
    if word in words:
        return words[word]
    for end in range(len(word), 1, -1):
        value = stems.get(word[:end])
        if value is not None:
            return value
    return 0.0


def _russian_score(words: list[str]) -> float:
    score = 0.0
    negated = False
    for word in words:
        if word in lex.RU_NEGATIONS:
            negated = True
            continue
        value = _value(word, lex.RU_STEMS, lex.RU_WORDS)
        if negated:
            if value:
                value = -value * NEGATED_WEIGHT
            elif word.startswith(lex.RU_NEGATED_COMPLAINTS):
                value = -1.5
        score += value
        negated = False
    return score


def _persian_score(words: list[str]) -> float:
    score = 0.0
    for i, word in enumerate(words):
        value = _value(word, lex.FA_STEMS, lex.FA_WORDS)
        following = words[i + 1] if i + 1 < len(words) else ""
        if value and following in lex.FA_NEGATIONS_AFTER:
            value = -value * NEGATED_WEIGHT
        elif not value and i and words[i - 1] in lex.FA_COMPLAINT_OBJECTS and word.startswith(
            lex.FA_NEGATED_VERB_PREFIXES
        ):
            value = -1.5
        score += value
    return score


def sentiment(text: str | None, language: str | None) -> Sentiment:
    """positive, neutral or negative; ``language`` as ``detect_language`` gave it."""
    text = _NOISE.sub(" ", text or "")  # "@help" is a handle, not a feeling
    if not text.strip():
        return "neutral"
    vader = _vader().polarity_scores(text)["compound"]
    if language in ("ru", "fa"):
        words = _WORD.findall(_normalise(text))
        own = _russian_score(words) if language == "ru" else _persian_score(words)
        score = own + EMOJI_WEIGHT * vader
        if score >= LEXICON_THRESHOLD:
            return "positive"
        if score <= -LEXICON_THRESHOLD:
            return "negative"
        return "neutral"
    if vader >= VADER_POSITIVE:
        return "positive"
    if vader <= VADER_NEGATIVE:
        return "negative"
    return "neutral"
