"""The rules job end to end, as a worker runs it: items stored by ingestion (each with its rule
run), 50 rules over 10 keyword lists, then ``inbox.rules.runner.run_batch`` until none is pending
— the item built from our rows (language and sentiment included), the engine, the actions, the
trace, the counters and the history, one transaction per run. Prints runs per second; the floor
beside it is the engine alone on the same items (what the transaction costs on top of matching)."""
from __future__ import annotations

import random
import sys
import time
from pathlib import Path

from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from inbox import db  # noqa: E402
from inbox.rules import engine, items, runner  # noqa: E402
from models import Message, Rule, RuleRun, Ticket  # noqa: E402
from rules_world import inbound, local_channel, make_rule  # noqa: E402

ITEMS, RULES, LISTS = 400, 50, 10
WORDS = ["доставка", "возврат", "refund", "broken", "ارسال", "سفارش", "price", "size", "скидка", "خراب"]
TEXTS = ["Здравствуйте! Когда придёт мой заказ, доставка задерживается?", "Hi, my parcel arrived broken 😡",
         "سلام، سفارش من کی می‌رسد؟", "Love it! What's the price of the blue one?", "Есть ли скидка на куртку?"]


def test_rules_job_runs_per_second(api):
    rng = random.Random(7)
    lists = [api("admin").post("/api/v1/keyword-lists", json={
        "name": f"List {n}", "keywords": [WORDS[n], *[f"word{n}x{k}" for k in range(9)]]}).get_json()["id"]
        for n in range(LISTS)]
    for n in range(RULES):
        make_rule(api, [{"action": "add_note", "config": {"text": f"rule {n}"}}],
                  [{"condition": "message_has_keyword", "config": {"keywordList": lists[n % LISTS]}},
                   {"condition": "ticket_belongs_to_network", "config": {"networks": ["INSTAGRAM"]}}],
                  name=f"Rule {n}", weight=n)
    channel_id = local_channel()
    for n in range(ITEMS):
        inbound(channel_id, rng.choice(TEXTS) + f" #{n}", ticket=f"t{n}", author=f"u{n}")

    with db.session_scope() as s:           # the floor: the engine alone on the same items
        found = items.lookups(s)

        rules, _ = items.parsed_rules(s.scalars(select(Rule)).all(), found)
        built = [items.item_for(s, s.get(Ticket, m.ticket_id), m, "created")
                 for m in s.scalars(select(Message).order_by(Message.id))]
    started = time.perf_counter()
    for item in built:
        engine.evaluate(rules, item, found)
    floor = (time.perf_counter() - started) / len(built)

    started, done = time.perf_counter(), 0
    after = 0
    while True:
        read, after = runner.run_batch(after)
        if not read:
            break
        done += read
    seconds = time.perf_counter() - started
    with db.session_scope() as s:
        pending = s.scalars(select(RuleRun).where(RuleRun.status != "done")).all()
    assert done == ITEMS and not pending
    print(f"\nrules job: {ITEMS} runs, {RULES} rules over {LISTS} keyword lists: {done / seconds:.0f} runs/s "
          f"({seconds / done * 1000:.2f} ms per run, one transaction each) | engine alone "
          f"{floor * 1000:.3f} ms per item (ratio {seconds / done / floor:.0f}×)")
