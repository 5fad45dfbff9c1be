"""Benchmark (``make bench``): the rules engine's cost per item, 50 rules, keyword lists of 10 and
of 10,000 keywords, next to a plain Python loop over the keywords on the same items.

Each of the 50 rules starts with a keyword condition (whole word) on one of 10 keyword lists,
then a network condition, and plans two actions; the items are a fixed pseudo-random mix of
Persian, Russian and English text of 20-60 words (some with ZWNJ, Arabic letter forms, ё, emoji,
and now and then a keyword). The engine's figure includes normalising the item's text and
building the traces. The engine merges the lists its rules use into one automaton (cached per
set of list versions) and scans each item once; it is built before timing, and the build time is
printed too. It prints figures and asserts nothing about speed.

Targets (issue 10): at most 1 ms per item; 10,000 keywords at most 1.5 x the cost of 10.
"""
from __future__ import annotations

import random
import statistics
import time
from datetime import datetime, timezone

from inbox.rules.engine import Item, KeywordList, Lookups, evaluate, parse_rule
from inbox.rules.keywords import MatcherCache
from inbox.rules.text import is_whole_word, normalize

RULES, LISTS, ITEMS = 50, 10, 300
ALPHABETS = ["abcdefghijklmnopqrstuvwxyz", "абвгдеёжзийклмнопрстуфхцчшщыэюя",
             "ابپتثجچحخدذرزژسشصضطظعغفقکگلمنوهی"]
COMMON = ["the", "order", "please", "hello", "спасибо", "заказ", "где", "سلام", "سفارش",
          "می\u200cخواهم", "ميخواهم", "كتاب", "ёлка", "🔥", "🙂", "!", "?", "@support"]


def _word(rng: random.Random, alphabet: str) -> str:
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(5, 10)))


def _keywords(rng: random.Random, count: int) -> tuple[str, ...]:
    return tuple(_word(rng, ALPHABETS[i % 3]) for i in range(count))


def _items(rng: random.Random, keywords: list[str], count: int) -> list[Item]:
    items = []
    for n in range(count):
        alphabet = ALPHABETS[n % 3]
        words = [rng.choice(COMMON) if rng.random() < 0.3 else _word(rng, alphabet)
                 for _ in range(rng.randint(20, 60))]
        if rng.random() < 0.2:  # one in five items carries a keyword somewhere
            words.insert(rng.randrange(len(words)), rng.choice(keywords))
        items.append(Item(kind="comment", provider="resont", network="FACEBOOK", channel_id=1,
                          text=" ".join(words), author_id=str(n),
                          received_at=datetime(2026, 11, 30, tzinfo=timezone.utc)))
    return items


def _setup(size: int):
    rng = random.Random(size)
    lists = {f"kl{i}": KeywordList(f"kl{i}", 1, _keywords(rng, size)) for i in range(LISTS)}
    cache = MatcherCache()
    lookups = Lookups(keyword_lists=lists, keyword_cache=cache)
    rules = [parse_rule({
        "id": i, "name": f"rule {i}", "active": True, "weight": i, "trigger": "ticket_creation",
        "entity": "ticket",
        "conditions": [
            {"condition": "message_has_keyword", "config": {"keywordList": f"kl{i % LISTS}"}},
            {"condition": "ticket_belongs_to_network", "config": {"networks": ["FACEBOOK"]}},
        ],
        "actions": [{"action": "mark_as_priority", "config": {}},
                    {"action": "sentiment", "config": {"sentiment": "NEGATIVE"}}],
    }, lookups) for i in range(RULES)]
    started = time.perf_counter()
    cache.index(lists.values())  # the engine's one merged automaton of the lists in use
    build = time.perf_counter() - started
    all_keywords = [k for kl in lists.values() for k in kl.keywords]
    items = _items(random.Random(1), all_keywords, ITEMS)
    return rules, lookups, lists, items, build


def _p50(samples: list[float]) -> float:
    return statistics.median(samples) * 1000  # ms


def _engine(rules, lookups, items) -> tuple[float, int]:
    times, matched = [], 0
    for item in items:
        started = time.perf_counter()
        result = evaluate(rules, item, lookups)
        times.append(time.perf_counter() - started)
        matched += len(result.matched_rule_ids)
    return _p50(times), matched


def _loop(rules, lists, items) -> tuple[float, int]:
    """The same rules as a plain loop: for each rule, each normalised keyword of its list,
    ``keyword in text`` and a whole-word check, stopping at the first hit."""
    folded_lists = {key: [normalize(k) for k in kl.keywords] for key, kl in lists.items()}
    times, matched = [], 0
    for item in items:
        started = time.perf_counter()
        text = normalize(item.text)
        for rule in rules:
            keywords = folded_lists[rule.conditions[0].config["keywordList"]]
            for keyword in keywords:
                at = text.find(keyword)
                while at != -1:
                    if is_whole_word(text, at, at + len(keyword)):
                        break
                    at = text.find(keyword, at + 1)
                if at != -1:
                    matched += item.network in rule.conditions[1].config["networks"]
                    break
        times.append(time.perf_counter() - started)
    return _p50(times), matched


def test_rules_cost_per_item():
    figures = {}
    for size in (10, 10_000):
        rules, lookups, lists, items, build = _setup(size)
        _engine(rules, lookups, items[:20])  # warm the caches
        engine_p50, engine_matched = _engine(rules, lookups, items)
        loop_items = items if size == 10 else items[:30]  # the loop is slow at 10,000
        loop_p50, loop_matched = _loop(rules, lists, loop_items)
        engine_on_loop_items = _engine(rules, lookups, loop_items)[1]
        assert loop_matched == engine_on_loop_items  # the same answers, or the figures lie
        figures[size] = engine_p50
        print(f"\n{RULES} rules, {LISTS} lists of {size:>6} keywords: engine p50 "
              f"{engine_p50:.3f} ms/item ({engine_matched} rule matches on {len(items)} items; "
              f"automata built in {build * 1000:.0f} ms) | plain loop p50 {loop_p50:.3f} ms/item "
              f"({len(loop_items)} items)")
    print(f"ratio engine 10,000 vs 10 keywords: {figures[10_000] / figures[10]:.2f} "
          f"(target <= 1.5; target <= 1 ms per item)")
