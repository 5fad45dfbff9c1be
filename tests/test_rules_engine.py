"""The pure rules engine: every condition (positive, negative, negated), all/any, ordering,
stop, triggers, traces, and the errors that parsing answers (with the path to the field)."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from inbox.rules.engine import (
    BusinessHours,
    InteractorList,
    Item,
    KeywordList,
    Lookups,
    RuleError,
    evaluate,
    parse_rule,
)
from inbox.rules.keywords import MatcherCache
from inbox.rules.regex_runner import RegexRunner

ZWNJ = "\u200c"
UTC = timezone.utc


@pytest.fixture(scope="module")
def runner():
    r = RegexRunner(timeout=0.3)
    yield r
    r.close()


@pytest.fixture
def lookups(runner):
    cache = MatcherCache()
    return Lookups(
        keyword_lists={
            "kw": KeywordList("kw", 1, ("refund", "می" + ZWNJ + "خواهم", "ёлка", "🔥")),
        },
        interactor_lists={
            "vip": InteractorList("vip", frozenset({("c1", "u-vip"), (None, "u-everywhere")})),
        },
        business_hours={
            # Tehran: Saturday to Wednesday 09:00–17:00, Nowruz closed.
            "c1": BusinessHours.from_dict({
                "zone": "Asia/Tehran",
                "week": {str(d): [["09:00", "17:00"]] for d in (5, 6, 0, 1, 2)},
                "holidays": ["2026-03-21"],
            }),
        },
        channel_ids=["c1", "c2"], category_ids=["cat1"], tag_ids=["t1"], user_ids=[7],
        team_ids=[3], saved_reply_ids=[11], regex_runner=runner, keyword_cache=cache,
    )


def item(**changes) -> Item:
    base = dict(kind="comment", provider="resont", network="FACEBOOK", channel_id="c1",
                text="hello there", author_id="u1", author_username="ann",
                received_at=datetime(2026, 11, 30, 8, 0, tzinfo=UTC), event="created",
                ticket_id=1)
    base.update(changes)
    return Item(**base)


def rule(conditions, actions=None, **extra) -> dict:
    data = {"name": "r", "active": True, "weight": 1, "trigger": "ticket_creation",
            "entity": "ticket", "conditions": conditions,
            "actions": actions or [{"action": "archive", "config": {}}]}
    data.update(extra)
    return data


def cond(name, config=None, negate=False) -> dict:
    return {"condition": name, "config": config or {}, "negate": negate}


# (condition, config, item changes that pass, item changes that fail)
CONDITIONS = [
    ("message_has_keyword", {"keywordList": "kw"},
     {"text": "I want a Refund"}, {"text": "refunded already"}),
    ("message_has_keyword", {"keywordList": "kw", "wholeWord": False},
     {"text": "refunded already"}, {"text": "nothing"}),
    ("message_has_keyword", {"keywordList": "kw"},
     {"text": "من یک کتاب ميخواهم"}, {"text": "من یک کتاب خواهم"}),
    ("message_has_keyword", {"keywordList": "kw"},
     {"text": "Красивая ЕЛКА"}, {"text": "Красивая ель"}),
    ("message_has_keyword", {"keywordList": "kw"}, {"text": "so hot🔥"}, {"text": "so hot"}),
    ("message_has_mention", {}, {"text": "hi @bob"}, {"text": "mail me at a@b.com"}),
    ("message_has_mention", {}, {"text": "hi", "mentions": ["bob"]}, {"text": "hi"}),
    ("message_consists_of_mentions", {}, {"text": "@bob @carol!"}, {"text": "@bob hello"}),
    ("message_consists_of_mentions", {}, {"text": "@bob"}, {"text": "  "}),
    ("type", {"types": [{"network": "FACEBOOK", "type": "COMMENT"}]},
     {}, {"network": "INSTAGRAM"}),
    ("type", {"types": [{"type": "dm"}]}, {"kind": "dm"}, {"kind": "comment"}),
    ("ticket_belongs_to_channel", {"channelIds": ["c1"]}, {}, {"channel_id": "c2"}),
    ("ticket_belongs_to_network", {"networks": ["facebook"]}, {}, {"network": "TELEGRAM"}),
    ("ticket_from_provider", {"providers": ["Resont"]}, {}, {"provider": "getloo"}),
    ("ticket_from_user", {"interactorList": "vip"}, {"author_id": "u-vip"},
     {"author_id": "u-vip", "channel_id": "c2"}),
    ("ticket_from_user", {"interactorList": "vip"},
     {"author_id": "u-everywhere", "channel_id": "c2"}, {"author_id": None}),
    ("author_first_contact", {}, {"author_first_contact": True}, {}),
    ("message_has_attachment", {}, {"has_attachment": True}, {}),
    ("message_has_link", {}, {"has_link": True}, {}),
    ("message_language", {"languages": ["fa", "ru"]}, {"language": "fa-IR"},
     {"language": "en"}),
    ("message_language", {"languages": ["en"]}, {"language": "EN"}, {"language": None}),
    ("message_sentiment", {"sentiments": ["negative"]}, {"sentiment": "NEGATIVE"},
     {"sentiment": "POSITIVE"}),
    # 2026-11-30 is a Monday; 08:00 UTC is 11:30 in Tehran: open.
    ("business_hours", {"when": "inside"}, {},
     {"received_at": datetime(2026, 11, 30, 14, 0, tzinfo=UTC)}),  # 17:30 local: closed
    ("business_hours", {"when": "outside"},
     {"received_at": datetime(2026, 12, 4, 8, 0, tzinfo=UTC)},  # a Friday: closed
     {}),
    ("business_hours", {"when": "outside"},
     {"received_at": datetime(2026, 3, 21, 8, 0, tzinfo=UTC)},  # Nowruz, a Saturday: holiday
     {"received_at": datetime(2026, 3, 22, 8, 0, tzinfo=UTC)}),
    ("business_hours", {"when": "inside"}, {}, {"channel_id": "c2"}),  # no hours: never inside
    ("message_matches_regex", {"pattern": r"order\s*#?\d{5}"}, {"text": "ORDER #12345 late"},
     {"text": "order 12"}),
    ("message_matches_regex", {"pattern": "Order", "ignoreCase": False}, {"text": "Order 1"},
     {"text": "order 1"}),
]


@pytest.mark.parametrize("name, config, passing, failing", CONDITIONS,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CONDITIONS)])
@pytest.mark.parametrize("negate", [False, True])
def test_each_condition(lookups, name, config, passing, failing, negate):
    parsed = parse_rule(rule([cond(name, config, negate)]), lookups)
    for changes, expected in ((passing, True), (failing, False)):
        result = evaluate([parsed], item(**changes), lookups)
        trace = result.traces[0]
        assert trace.matched is (expected != negate), (changes, trace)
        assert trace.conditions[0].passed is (expected != negate)
        assert trace.conditions[0].detail
        assert bool(result.actions) is (expected != negate)


def test_trace_says_which_keyword_and_why_not(lookups):
    parsed = parse_rule(rule([cond("message_has_keyword", {"keywordList": "kw"})]), lookups)
    yes = evaluate([parsed], item(text="need a REFUND"), lookups).traces[0].conditions[0]
    assert "'refund'" in yes.detail
    no = evaluate([parsed], item(text="nothing"), lookups).traces[0].conditions[0]
    assert no.passed is False and "no keyword" in no.detail


@pytest.mark.parametrize("match, results, expected", [
    ("all", (True, True), True), ("all", (True, False), False), ("all", (False, False), False),
    ("any", (True, False), True), ("any", (False, True), True), ("any", (False, False), False),
])
def test_all_and_any(lookups, match, results, expected):
    flags = {"has_attachment": results[0], "has_link": results[1]}
    parsed = parse_rule(rule([cond("message_has_attachment"), cond("message_has_link")],
                             match=match), lookups)
    assert evaluate([parsed], item(**flags), lookups).traces[0].matched is expected


def test_first_failing_condition_decides_and_the_rest_is_not_evaluated(lookups):
    parsed = parse_rule(rule([cond("message_has_link"), cond("message_has_attachment")]), lookups)
    trace = evaluate([parsed], item(), lookups).traces[0]
    assert [c.passed for c in trace.conditions] == [False, None]
    assert trace.conditions[1].detail == "not evaluated"


def test_no_conditions_match_every_item(lookups):
    parsed = parse_rule(rule([]), lookups)
    assert evaluate([parsed], item(), lookups).traces[0].matched


def test_order_by_weight_then_id_and_stop(lookups):
    rules = [parse_rule(rule([], [{"action": "like", "config": {}}], id=i, weight=w, stop=s),
                        lookups)
             for i, w, s in ((10, 5, False), (9, 5, False), (2, 1, False), (4, 3, True),
                             (1, 9, False))]
    result = evaluate(rules, item(), lookups)
    assert [t.rule_id for t in result.traces] == [2, 4]  # 4 matched and stopped the rest
    assert result.traces[-1].stopped
    assert [a.rule_id for a in result.actions] == [2, 4]


def test_stop_only_when_the_rule_matches(lookups):
    stopper = parse_rule(rule([cond("message_has_link")], id=1, weight=1, stop=True), lookups)
    after = parse_rule(rule([], id=2, weight=2), lookups)
    result = evaluate([stopper, after], item(), lookups)
    assert [t.matched for t in result.traces] == [False, True]


def test_actions_planned_in_order_with_their_config(lookups):
    parsed = parse_rule(rule([], [
        {"action": "tag", "config": {"categoryIds": ["cat1"]}},
        {"action": "sentiment", "config": {"sentiment": "negative"}},
        {"action": "assign", "config": {"teamId": 3}},
    ], id=5), lookups)
    result = evaluate([parsed], item(), lookups)
    assert [(a.rule_id, a.action, dict(a.config)) for a in result.actions] == [
        (5, "tag", {"categoryIds": ["cat1"]}),
        (5, "sentiment", {"sentiment": "NEGATIVE"}),
        (5, "assign", {"teamId": 3}),
    ]


@pytest.mark.parametrize("changes, event, evaluated", [
    ({}, "created", True),
    ({}, "message", False),
    ({"trigger": "message_received"}, "message", True),
    ({"active": False}, "created", False),
])
def test_triggers_and_inactive_rules_are_skipped_with_a_reason(lookups, changes, event, evaluated):
    parsed = parse_rule(rule([], **changes), lookups)
    trace = evaluate([parsed], item(event=event), lookups).traces[0]
    assert (trace.skipped is None) is evaluated and trace.matched is evaluated


def test_a_catastrophic_regex_times_out_and_the_other_rules_still_run(lookups):
    slow = parse_rule(rule([cond("message_matches_regex", {"pattern": r"(a+)+$"})], id=1),
                      lookups)
    other = parse_rule(rule([], id=2, weight=2), lookups)
    result = evaluate([slow, other], item(text="a" * 40 + "b"), lookups)
    assert result.traces[0].matched is False
    assert "timed out" in result.traces[0].conditions[0].detail
    assert result.traces[1].matched
    # The runner starts again and keeps working.
    quick = parse_rule(rule([cond("message_matches_regex", {"pattern": "b$"})]), lookups)
    assert evaluate([quick], item(text="ab"), lookups).traces[0].matched


def test_a_list_deleted_after_saving_fails_the_condition_with_a_reason(lookups):
    parsed = parse_rule(rule([cond("message_has_keyword", {"keywordList": "kw"})]), lookups)
    lookups.keyword_lists = {}
    trace = evaluate([parsed], item(text="refund"), lookups).traces[0]
    assert not trace.matched and "no longer exists" in trace.conditions[0].detail


def test_keyword_list_version_change_uses_the_new_keywords(lookups):
    parsed = parse_rule(rule([cond("message_has_keyword", {"keywordList": "kw"})]), lookups)
    assert evaluate([parsed], item(text="refund"), lookups).traces[0].matched
    lookups.keyword_lists = {"kw": KeywordList("kw", 2, ("voucher",))}
    assert not evaluate([parsed], item(text="refund"), lookups).traces[0].matched
    assert evaluate([parsed], item(text="a voucher"), lookups).traces[0].matched


def test_socialhub_shape_round_trips(lookups):
    data = rule([cond("ticket_belongs_to_channel", {"channelIds": ["c1"]})],
                [{"action": "forward_by_mail",
                  "config": {"recipients": ["a@example.com"], "subject": "fyi"}}],
                id="abc", description="d")
    parsed = parse_rule(data, lookups)
    again = parse_rule(parsed.as_dict(), lookups)
    assert again == parsed
    assert parsed.as_dict()["conditions"][0] == {
        "condition": "ticket_belongs_to_channel", "config": {"channelIds": ["c1"]},
        "negate": False}


def _with(path: str, value):
    data = rule([cond("message_has_link")])
    data[path] = value
    return data


PARSE_ERRORS = [
    ("not a dict", "invalid_rule", ""),
    (_with("name", ""), "missing_field", "name"),
    (_with("name", "x" * 51), "invalid_value", "name"),
    (_with("description", "x" * 256), "invalid_value", "description"),
    (_with("active", "yes"), "missing_field", "active"),
    (_with("weight", -1), "invalid_value", "weight"),
    (_with("weight", True), "invalid_value", "weight"),
    (_with("trigger", "ticket_update"), "invalid_value", "trigger"),
    (_with("entity", "message"), "invalid_value", "entity"),
    (_with("match", "some"), "invalid_value", "match"),
    (_with("stop", "no"), "invalid_value", "stop"),
    (_with("conditions", None), "missing_field", "conditions"),
    (_with("actions", []), "empty_list", "actions"),
    (rule([cond("message_is_rude")]), "unknown_condition", "conditions[0].condition"),
    (rule([cond("message_has_link", negate="yes")]), "invalid_value", "conditions[0].negate"),
    (rule([{"config": {}}]), "missing_field", "conditions[0].condition"),
    (rule([{"condition": "message_has_link", "config": []}]), "invalid_value",
     "conditions[0].config"),
    (rule([cond("message_has_link"), cond("message_has_keyword", {})]), "missing_config",
     "conditions[1].config.keywordList"),
    (rule([cond("message_has_keyword", {"keywordList": "gone"})]), "unknown_id",
     "conditions[0].config.keywordList"),
    (rule([cond("message_has_keyword", {"keywordList": "kw", "wholeWord": "yes"})]),
     "invalid_value", "conditions[0].config.wholeWord"),
    (rule([cond("ticket_from_user", {"interactorList": "gone"})]), "unknown_id",
     "conditions[0].config.interactorList"),
    (rule([cond("ticket_belongs_to_channel", {"channelIds": []})]), "empty_list",
     "conditions[0].config.channelIds"),
    (rule([cond("ticket_belongs_to_channel", {"channelIds": ["c1", "c9"]})]), "unknown_id",
     "conditions[0].config.channelIds[1]"),
    (rule([cond("ticket_belongs_to_network", {"networks": "FACEBOOK"})]), "invalid_value",
     "conditions[0].config.networks"),
    (rule([cond("type", {"types": [{"network": "FACEBOOK"}]})]), "invalid_value",
     "conditions[0].config.types[0]"),
    (rule([cond("message_sentiment", {"sentiments": ["ANGRY"]})]), "invalid_value",
     "conditions[0].config.sentiments[0]"),
    (rule([cond("message_language", {"languages": [""]})]), "invalid_value",
     "conditions[0].config.languages[0]"),
    (rule([cond("business_hours", {"when": "lunch"})]), "invalid_value",
     "conditions[0].config.when"),
    (rule([cond("message_matches_regex", {"pattern": "(unclosed"})]), "invalid_regex",
     "conditions[0].config.pattern"),
    (rule([cond("message_matches_regex", {})]), "missing_config",
     "conditions[0].config.pattern"),
    (rule([cond("message_matches_regex", {"pattern": "a" * 1001})]), "invalid_regex",
     "conditions[0].config.pattern"),
    (rule([], [{"action": "explode"}]), "unknown_action", "actions[0].action"),
    (rule([], [{"action": "tag", "config": {}}]), "missing_config",
     "actions[0].config.categoryIds"),
    (rule([], [{"action": "tag", "config": {"categoryIds": ["nope"]}}]), "unknown_id",
     "actions[0].config.categoryIds[0]"),
    (rule([], [{"action": "sentiment", "config": {"sentiment": "MEH"}}]), "invalid_value",
     "actions[0].config.sentiment"),
    (rule([], [{"action": "assign", "config": {}}]), "missing_config",
     "actions[0].config.userId"),
    (rule([], [{"action": "assign", "config": {"userId": 99}}]), "unknown_id",
     "actions[0].config.userId"),
    (rule([], [{"action": "assign", "config": {"teamId": 99}}]), "unknown_id",
     "actions[0].config.teamId"),
    (rule([], [{"action": "forward_by_mail", "config": {"recipients": []}}]), "empty_list",
     "actions[0].config.recipients"),
    (rule([], [{"action": "forward_by_mail", "config": {"recipients": ["not-an-email"]}}]),
     "invalid_value", "actions[0].config.recipients[0]"),
    (rule([], [{"action": "archive"}, {"action": "snooze", "config": {"minutes": 0}}]),
     "invalid_value", "actions[1].config.minutes"),
    (rule([], [{"action": "add_note", "config": {"text": " "}}]), "missing_config",
     "actions[0].config.text"),
    (rule([], [{"action": "suggest_reply", "config": {"savedReplyId": 12}}]), "unknown_id",
     "actions[0].config.savedReplyId"),
    (rule([], [{"action": "add_tags", "config": {"tagIds": ["t2"]}}]), "unknown_id",
     "actions[0].config.tagIds[0]"),
]


@pytest.mark.parametrize("data, code, path", PARSE_ERRORS,
                         ids=[f"{e[1]}:{e[2] or 'rule'}" for e in PARSE_ERRORS])
def test_parse_errors_say_what_and_where(lookups, data, code, path):
    with pytest.raises(RuleError) as caught:
        parse_rule(data, lookups)
    assert (caught.value.code, caught.value.path) == (code, path)
    assert caught.value.message


def test_unknown_collections_are_not_checked(runner):
    loose = Lookups(regex_runner=runner)  # the caller did not load channels or users
    parsed = parse_rule(rule([cond("ticket_belongs_to_channel", {"channelIds": [42]})],
                             [{"action": "assign", "config": {"userId": 5}}]), loose)
    assert evaluate([parsed], item(channel_id=42), loose).traces[0].matched


def test_ids_compare_across_int_and_string(lookups):
    lookups.channel_ids = [1, 2]
    parsed = parse_rule(rule([cond("ticket_belongs_to_channel", {"channelIds": ["1"]})]), lookups)
    assert evaluate([parsed], item(channel_id=1), lookups).traces[0].matched


def test_business_hours_reject_a_naive_time():
    hours = BusinessHours.from_dict({"zone": "Europe/Moscow", "week": {"0": [["00:00", "24:00"]]}})
    assert hours.is_open(datetime(2026, 11, 30, 23, 0, tzinfo=UTC)) is False  # Tue in Moscow
    assert hours.is_open(datetime(2026, 11, 30, 20, 59, tzinfo=UTC)) is True  # Mon 23:59
    with pytest.raises(ValueError):
        hours.is_open(datetime(2026, 11, 30, 12, 0))
    with pytest.raises(ValueError):
        BusinessHours.from_dict({"zone": "UTC", "week": {"7": []}})
    assert date(2026, 3, 21) not in hours.holidays


def test_the_engine_imports_no_web_or_database_code():
    import subprocess
    import sys

    code = ("import sys, inbox.rules.engine; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & "
            "{'flask', 'werkzeug', 'sqlalchemy', 'models', 'redis', 'rq', 'workers'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=str(__import__("pathlib").Path(__file__).parent.parent))
    assert out.stdout.strip() == "[]"
