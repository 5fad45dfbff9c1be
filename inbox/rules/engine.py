"""Rules, parsed from SocialHub's shape and evaluated on one item: pure data in, pure data out.

No Flask, no database, no models: the caller (a worker, the dry run, the rule editor) loads what
the rules refer to into a :class:`Lookups` and turns a ticket or message into an :class:`Item`.
:func:`evaluate` answers an :class:`Evaluation`: a trace per rule (each condition, passed or not,
and why) and the :class:`PlannedAction` list of the matching rules, in order. Nothing here runs
an action. Running them, once per (rule, item, event), and making sure that what an action does
never triggers rules again is the caller's business: this module never sees an action's effect.

A rule is SocialHub's shape (digest §2.1), with our additions as new names and optional keys::

    {"name", "description"?, "active", "weight", "trigger", "entity": "ticket",
     "conditions": [{"condition", "config", "negate"?}], "actions": [{"action", "config"}],
     "match"?: "all" | "any", "stop"?: bool}

- ``trigger``: ``ticket_creation`` (SocialHub's, a new item: ``Item.event == "created"``) or
  ``message_received`` (ours: a new inbound message in an existing conversation or thread,
  ``Item.event == "message"``).
- ``match``: ``all`` (the default, SocialHub's implied AND) or ``any``. No conditions at all
  match every item of the trigger.
Conditions (SocialHub's first, then ours) and their ``config``:

    message_has_keyword {keywordList, wholeWord? (default true)}   text has a keyword of the list
    message_consists_of_mentions {}   message_has_mention {}
    type {types: [{network?, type}]}   the item's kind, on a network (any network if omitted)
    ticket_belongs_to_channel {channelIds}   ticket_belongs_to_network {networks}
    ticket_from_user {interactorList}   the author is in the interactor list
    ticket_from_provider {providers}   author_first_contact {}   message_has_attachment {}
    message_has_link {}   message_language {languages}   message_sentiment {sentiments}
    business_hours {when: inside|outside}   per channel (``Lookups.business_hours``)
    message_matches_regex {pattern, ignoreCase? (default true)}   Python ``re``, time-limited

Actions: SocialHub's ``archive``, ``mark_as_priority``, ``assign {userId | teamId}`` (a team
means round-robin; SocialHub names no key), ``hide``, ``delete``, ``like``, ``tag {categoryIds}``,
``sentiment {sentiment}``, ``forward_by_mail {recipients, cc?, subject?, message?, context?,
replyTo?}``; ours: ``add_tags {tagIds}``, ``snooze {minutes}``, ``add_note {text}``,
``suggest_reply {savedReplyId}`` (a suggestion, so always through approval), ``require_approval``.

- ``negate`` on a condition inverts it (a condition that could not be evaluated at all, say a
  regex over its time limit, fails either way); ``stop`` ends the evaluation after this rule when it
  matches. Rules run by ``weight`` (lowest first), then by id.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from inbox.rules.keywords import ListHits, MatcherCache, default_cache
from inbox.rules.regex_runner import RegexRunner, RegexTimeout, compile_flags, default_runner
from inbox.rules.text import normalize

TRIGGERS = {"ticket_creation": "created", "message_received": "message"}
SENTIMENTS = ("POSITIVE", "NEUTRAL", "NEGATIVE")
NAME_MAX, DESCRIPTION_MAX, PATTERN_MAX = 50, 255, 1_000
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_MENTION = re.compile(r"(?<![\w@])@[\w.]+")


class RuleError(ValueError):
    """A rule that cannot be saved: ``code`` for the API, ``path`` to the field at fault
    (``conditions[1].config.keywordList``) so the editor can show the message next to it."""

    def __init__(self, code: str, message: str, path: str = ""):
        super().__init__(message)
        self.code, self.message, self.path = code, message, path

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message, "path": self.path}


# ---------------------------------------------------------------------------------------------
# What a rule sees, and what it refers to


@dataclass
class Item:
    """What a rule sees of a new item or message (filled by the caller from the ticket/message)."""

    kind: str = ""  # comment, dm, review, mention, post, ...
    provider: str = ""  # resont, getloo, socialwall, socialposts, custom
    network: str = ""  # FACEBOOK, INSTAGRAM, TELEGRAM, ...
    channel_id: Hashable = None
    text: str = ""
    author_id: Hashable = None
    author_username: str = ""
    author_first_contact: bool = False
    has_attachment: bool = False
    has_link: bool = False
    language: str | None = None
    sentiment: str | None = None
    mentions: list[str] = field(default_factory=list)
    received_at: datetime | None = None  # aware
    event: str = "created"  # "created" | "message"
    ticket_id: Hashable = None
    message_id: Hashable = None


@dataclass(frozen=True)
class KeywordList:
    id: Hashable
    version: Hashable
    keywords: tuple[str, ...]


@dataclass(frozen=True)
class InteractorList:
    """Authors, as SocialHub keeps them: ``(channel id, interactor id)`` pairs. A channel of
    ``None`` means the author on any channel."""

    id: Hashable
    entries: frozenset[tuple[Hashable, Hashable]]

    def contains(self, channel_id: Hashable, author_id: Hashable) -> bool:
        author = _key(author_id)
        return ((_key(channel_id), author) in self._keys) or ((None, author) in self._keys)

    @property
    def _keys(self) -> frozenset:
        cached = self.__dict__.get("_cached_keys")
        if cached is None:
            cached = frozenset((None if c is None else _key(c), _key(a)) for c, a in self.entries)
            object.__setattr__(self, "_cached_keys", cached)
        return cached


@dataclass(frozen=True)
class BusinessHours:
    """A channel's opening hours: weekday (0 = Monday) → ``[(start, end), ...]`` local times in
    ``zone`` (``end`` of ``time.max`` or "24:00" = midnight), and holiday dates (closed all day).
    An interval does not cross midnight: split 22:00–02:00 into two."""

    zone: str
    week: Mapping[int, tuple[tuple[time, time], ...]]
    holidays: frozenset[date] = frozenset()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "BusinessHours":
        """From ``{"zone": "Asia/Tehran", "week": {"0": [["09:00", "17:00"]]}, "holidays":
        ["2026-03-21"]}`` (what a channel's settings would store); raises ValueError."""
        ZoneInfo(str(data["zone"]))
        week = {}
        for day, intervals in dict(data.get("week") or {}).items():
            day = int(day)
            if not 0 <= day <= 6:
                raise ValueError(f"weekday {day} is not 0–6")
            week[day] = tuple((_parse_time(s), _parse_time(e)) for s, e in intervals)
        holidays = frozenset(d if isinstance(d, date) else date.fromisoformat(str(d))
                             for d in data.get("holidays") or ())
        return cls(str(data["zone"]), week, holidays)

    def is_open(self, moment: datetime) -> bool:
        if moment.tzinfo is None:
            raise ValueError("a naive datetime has no place in time")
        local = moment.astimezone(ZoneInfo(self.zone))
        if local.date() in self.holidays:
            return False
        now = local.time().replace(tzinfo=None)
        return any(start <= now < end or (end == time.max and now >= start)
                   for start, end in self.week.get(local.weekday(), ()))


def _parse_time(value: Any) -> time:
    if isinstance(value, time):
        return value
    if str(value) == "24:00":
        return time.max
    return time.fromisoformat(str(value))


@dataclass
class Lookups:
    """What rules refer to, loaded by the caller. At parse time an id not found here is an
    error; a collection left as ``None`` is not checked (the caller does not know it)."""

    keyword_lists: Mapping[Hashable, KeywordList] = field(default_factory=dict)
    interactor_lists: Mapping[Hashable, InteractorList] = field(default_factory=dict)
    business_hours: Mapping[Hashable, BusinessHours] = field(default_factory=dict)
    channel_ids: Iterable[Hashable] | None = None
    category_ids: Iterable[Hashable] | None = None
    tag_ids: Iterable[Hashable] | None = None
    user_ids: Iterable[Hashable] | None = None
    team_ids: Iterable[Hashable] | None = None
    saved_reply_ids: Iterable[Hashable] | None = None
    regex_runner: RegexRunner | None = None
    keyword_cache: MatcherCache = field(default_factory=default_cache)

    def find(self, mapping: Mapping[Hashable, Any], ident: Hashable) -> Any:
        """``mapping[ident]``, also when one side spells the id as a string and the other not."""
        if ident in mapping:
            return mapping[ident]
        wanted = _key(ident)
        for key, value in mapping.items():
            if _key(key) == wanted:
                return value
        return None

    def knows(self, ids: Iterable[Hashable] | None, ident: Hashable) -> bool:
        return ids is None or _key(ident) in {_key(i) for i in ids}


def _key(value: Hashable) -> str:
    return str(value)


# ---------------------------------------------------------------------------------------------
# Parsed rules


@dataclass(frozen=True)
class Condition:
    condition: str
    config: Mapping[str, Any]
    negate: bool = False


@dataclass(frozen=True)
class Action:
    action: str
    config: Mapping[str, Any]


@dataclass(frozen=True)
class Rule:
    id: Hashable
    name: str
    description: str
    active: bool
    weight: float
    trigger: str
    entity: str
    conditions: tuple[Condition, ...]
    actions: tuple[Action, ...]
    match: str = "all"
    stop: bool = False

    def as_dict(self) -> dict[str, Any]:
        """SocialHub's shape again (with our optional keys), as the API answers it."""
        return {
            "id": self.id, "name": self.name, "description": self.description,
            "active": self.active, "weight": self.weight, "trigger": self.trigger,
            "entity": self.entity, "match": self.match, "stop": self.stop,
            "conditions": [{"condition": c.condition, "config": dict(c.config),
                            "negate": c.negate} for c in self.conditions],
            "actions": [{"action": a.action, "config": dict(a.config)} for a in self.actions],
        }


# Per condition: its required config keys and their kind ("list" = non-empty list of ...).
def _no_config(config, path, lookups):
    return {}


def _ids_list(key: str, what: str, lookups_attr: str | None = None):
    def check(config, path, lookups):
        values = _non_empty_list(config, key, path)
        if lookups_attr:
            for i, value in enumerate(values):
                if not lookups.knows(getattr(lookups, lookups_attr), value):
                    raise RuleError("unknown_id", f"No {what} with id {value!r}.",
                                    f"{path}.{key}[{i}]")
        return {key: list(values)}
    return check


def _strings_list(key: str, allowed: Iterable[str] | None = None, upper: bool = False,
                  lower: bool = False):
    def check(config, path, lookups):
        values = _non_empty_list(config, key, path)
        out = []
        for i, value in enumerate(values):
            if not isinstance(value, str) or not value.strip():
                raise RuleError("invalid_value", "Each value must be a non-empty string.",
                                f"{path}.{key}[{i}]")
            value = value.strip()
            value = value.upper() if upper else value.lower() if lower else value
            if allowed is not None and value not in allowed:
                raise RuleError("invalid_value",
                                f"{value!r} is not one of {', '.join(allowed)}.",
                                f"{path}.{key}[{i}]")
            out.append(value)
        return {key: out}
    return check


def _non_empty_list(config, key, path) -> list:
    if key not in config:
        raise RuleError("missing_config", f"The setting {key!r} is required.", f"{path}.{key}")
    values = config[key]
    if not isinstance(values, list):
        raise RuleError("invalid_value", f"{key!r} must be a list.", f"{path}.{key}")
    if not values:
        raise RuleError("empty_list", f"{key!r} must not be empty.", f"{path}.{key}")
    return values


def _list_ref(key: str, attr: str, what: str):
    def check(config, path, lookups):
        if key not in config or config[key] in (None, ""):
            raise RuleError("missing_config", f"The setting {key!r} is required.",
                            f"{path}.{key}")
        if lookups.find(getattr(lookups, attr), config[key]) is None:
            raise RuleError("unknown_id", f"No {what} with id {config[key]!r}.", f"{path}.{key}")
        return {key: config[key]}
    return check


def _keyword_config(config, path, lookups):
    out = _list_ref("keywordList", "keyword_lists", "keyword list")(config, path, lookups)
    whole = config.get("wholeWord", True)
    if not isinstance(whole, bool):
        raise RuleError("invalid_value", "'wholeWord' must be true or false.",
                        f"{path}.wholeWord")
    out["wholeWord"] = whole
    return out


def _types_config(config, path, lookups):
    values = _non_empty_list(config, "types", path)
    out = []
    for i, pair in enumerate(values):
        if not isinstance(pair, Mapping) or not isinstance(pair.get("type"), str) \
                or not pair["type"].strip():
            raise RuleError("invalid_value",
                            "Each type is {network, type} with a non-empty type.",
                            f"{path}.types[{i}]")
        network = pair.get("network")
        if network is not None and not isinstance(network, str):
            raise RuleError("invalid_value", "'network' must be a string.",
                            f"{path}.types[{i}].network")
        out.append({"network": network.strip().upper() if network else None,
                    "type": pair["type"].strip().lower()})
    return {"types": out}


def _hours_config(config, path, lookups):
    when = config.get("when", "inside")
    if when not in ("inside", "outside"):
        raise RuleError("invalid_value", "'when' must be 'inside' or 'outside'.",
                        f"{path}.when")
    return {"when": when}


def _regex_config(config, path, lookups):
    pattern = config.get("pattern")
    if not isinstance(pattern, str) or not pattern:
        raise RuleError("missing_config", "The setting 'pattern' is required.",
                        f"{path}.pattern")
    if len(pattern) > PATTERN_MAX:
        raise RuleError("invalid_regex", f"The pattern is longer than {PATTERN_MAX} characters.",
                        f"{path}.pattern")
    ignore_case = config.get("ignoreCase", True)
    if not isinstance(ignore_case, bool):
        raise RuleError("invalid_value", "'ignoreCase' must be true or false.",
                        f"{path}.ignoreCase")
    try:
        re.compile(pattern, compile_flags(ignore_case))
    except re.error as exc:
        raise RuleError("invalid_regex", f"Invalid regular expression: {exc}.",
                        f"{path}.pattern") from None
    return {"pattern": pattern, "ignoreCase": ignore_case}


CONDITIONS: dict[str, Callable] = {
    # SocialHub's
    "message_has_keyword": _keyword_config,
    "message_consists_of_mentions": _no_config,
    "message_has_mention": _no_config,
    "type": _types_config,
    "ticket_belongs_to_channel": _ids_list("channelIds", "channel", "channel_ids"),
    "ticket_from_user": _list_ref("interactorList", "interactor_lists", "interactor list"),
    "ticket_belongs_to_network": _strings_list("networks", upper=True),
    # ours
    "ticket_from_provider": _strings_list("providers", lower=True),
    "author_first_contact": _no_config,
    "message_has_attachment": _no_config,
    "message_has_link": _no_config,
    "message_language": _strings_list("languages", lower=True),
    "message_sentiment": _strings_list("sentiments", allowed=SENTIMENTS, upper=True),
    "business_hours": _hours_config,
    "message_matches_regex": _regex_config,
}


def _assign_config(config, path, lookups):
    user, team = config.get("userId"), config.get("teamId")
    if (user is None) == (team is None):
        raise RuleError("missing_config",
                        "Assign needs either 'userId' (a user) or 'teamId' (round-robin).",
                        f"{path}.userId")
    if user is not None:
        if not lookups.knows(lookups.user_ids, user):
            raise RuleError("unknown_id", f"No user with id {user!r}.", f"{path}.userId")
        return {"userId": user}
    if not lookups.knows(lookups.team_ids, team):
        raise RuleError("unknown_id", f"No team with id {team!r}.", f"{path}.teamId")
    return {"teamId": team}


def _sentiment_action(config, path, lookups):
    value = config.get("sentiment")
    if value is None:
        raise RuleError("missing_config", "The setting 'sentiment' is required.",
                        f"{path}.sentiment")
    if not isinstance(value, str) or value.upper() not in SENTIMENTS:
        raise RuleError("invalid_value", f"'sentiment' must be one of {', '.join(SENTIMENTS)}.",
                        f"{path}.sentiment")
    return {"sentiment": value.upper()}


def _forward_config(config, path, lookups):
    out: dict[str, Any] = {}
    for key, required in (("recipients", True), ("cc", False)):
        if not required and not config.get(key):
            out[key] = []
            continue
        values = _non_empty_list(config, key, path)
        for i, value in enumerate(values):
            if not isinstance(value, str) or not _EMAIL.match(value):
                raise RuleError("invalid_value", f"{value!r} is not an email address.",
                                f"{path}.{key}[{i}]")
        out[key] = list(values)
    reply_to = config.get("replyTo")
    if reply_to not in (None, "") and not (isinstance(reply_to, str) and _EMAIL.match(reply_to)):
        raise RuleError("invalid_value", f"{reply_to!r} is not an email address.",
                        f"{path}.replyTo")
    for key in ("subject", "message"):
        if config.get(key) is not None and not isinstance(config[key], str):
            raise RuleError("invalid_value", f"{key!r} must be text.", f"{path}.{key}")
    out.update(subject=config.get("subject") or "", message=config.get("message") or "",
               replyTo=reply_to or None, context=bool(config.get("context", False)))
    return out


def _snooze_config(config, path, lookups):
    minutes = config.get("minutes")
    if minutes is None:
        raise RuleError("missing_config", "The setting 'minutes' is required.", f"{path}.minutes")
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not 1 <= minutes <= 525_600:
        raise RuleError("invalid_value", "'minutes' must be a whole number from 1 to 525600.",
                        f"{path}.minutes")
    return {"minutes": minutes}


def _note_config(config, path, lookups):
    text = config.get("text")
    if not isinstance(text, str) or not text.strip():
        raise RuleError("missing_config", "The setting 'text' is required.", f"{path}.text")
    return {"text": text}


def _saved_reply_config(config, path, lookups):
    ident = config.get("savedReplyId")
    if ident is None:
        raise RuleError("missing_config", "The setting 'savedReplyId' is required.",
                        f"{path}.savedReplyId")
    if not lookups.knows(lookups.saved_reply_ids, ident):
        raise RuleError("unknown_id", f"No saved reply with id {ident!r}.",
                        f"{path}.savedReplyId")
    return {"savedReplyId": ident}


ACTIONS: dict[str, Callable] = {
    # SocialHub's
    "archive": _no_config,
    "mark_as_priority": _no_config,
    "assign": _assign_config,
    "hide": _no_config,
    "delete": _no_config,
    "like": _no_config,
    "tag": _ids_list("categoryIds", "category", "category_ids"),
    "sentiment": _sentiment_action,
    "forward_by_mail": _forward_config,
    # ours
    "add_tags": _ids_list("tagIds", "tag", "tag_ids"),
    "snooze": _snooze_config,
    "add_note": _note_config,
    "suggest_reply": _saved_reply_config,
    "require_approval": _no_config,
}


def parse_rule(data: Any, lookups: Lookups) -> Rule:
    """A validated :class:`Rule` from SocialHub's shape; raises :class:`RuleError` on the first
    problem, with the path of the field at fault."""
    if not isinstance(data, Mapping):
        raise RuleError("invalid_rule", "A rule is a JSON object.", "")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise RuleError("missing_field", "A rule needs a name.", "name")
    if len(name.strip()) > NAME_MAX:
        raise RuleError("invalid_value", f"The name is longer than {NAME_MAX} characters.", "name")
    description = data.get("description") or ""
    if not isinstance(description, str) or len(description) > DESCRIPTION_MAX:
        raise RuleError("invalid_value",
                        f"The description is text of at most {DESCRIPTION_MAX} characters.",
                        "description")
    active = data.get("active", None)
    if not isinstance(active, bool):
        raise RuleError("missing_field", "'active' must be true or false.", "active")
    weight = data.get("weight")
    if isinstance(weight, bool) or not isinstance(weight, (int, float)) or weight < 0 \
            or weight != weight:
        raise RuleError("invalid_value", "'weight' must be a number of at least 0.", "weight")
    trigger = data.get("trigger")
    if trigger not in TRIGGERS:
        raise RuleError("invalid_value", f"'trigger' must be one of {', '.join(TRIGGERS)}.",
                        "trigger")
    entity = data.get("entity")
    if entity != "ticket":
        raise RuleError("invalid_value", "'entity' must be 'ticket'.", "entity")
    match = data.get("match", "all")
    if match not in ("all", "any"):
        raise RuleError("invalid_value", "'match' must be 'all' or 'any'.", "match")
    stop = data.get("stop", False)
    if not isinstance(stop, bool):
        raise RuleError("invalid_value", "'stop' must be true or false.", "stop")

    raw_conditions = data.get("conditions")
    if not isinstance(raw_conditions, list):
        raise RuleError("missing_field", "'conditions' must be a list.", "conditions")
    conditions = []
    for i, raw in enumerate(raw_conditions):
        path = f"conditions[{i}]"
        name_, config = _entry(raw, "condition", path)
        if name_ not in CONDITIONS:
            raise RuleError("unknown_condition", f"Unknown condition {name_!r}.",
                            f"{path}.condition")
        negate = raw.get("negate", False)
        if not isinstance(negate, bool):
            raise RuleError("invalid_value", "'negate' must be true or false.", f"{path}.negate")
        conditions.append(Condition(name_, CONDITIONS[name_](config, f"{path}.config", lookups),
                                    negate))

    raw_actions = data.get("actions")
    if not isinstance(raw_actions, list):
        raise RuleError("missing_field", "'actions' must be a list.", "actions")
    if not raw_actions:
        raise RuleError("empty_list", "A rule needs at least one action.", "actions")
    actions = []
    for i, raw in enumerate(raw_actions):
        path = f"actions[{i}]"
        name_, config = _entry(raw, "action", path)
        if name_ not in ACTIONS:
            raise RuleError("unknown_action", f"Unknown action {name_!r}.", f"{path}.action")
        actions.append(Action(name_, ACTIONS[name_](config, f"{path}.config", lookups)))

    return Rule(id=data.get("id", data.get("_id")), name=name.strip(), description=description,
                active=active, weight=weight, trigger=trigger, entity=entity,
                conditions=tuple(conditions), actions=tuple(actions), match=match, stop=stop)


def _entry(raw: Any, key: str, path: str) -> tuple[str, Mapping[str, Any]]:
    if not isinstance(raw, Mapping):
        raise RuleError("invalid_value", f"Each {key} is an object.", path)
    name = raw.get(key)
    if not isinstance(name, str) or not name:
        raise RuleError("missing_field", f"'{key}' is required.", f"{path}.{key}")
    config = raw.get("config")
    if config is None:
        config = {}
    if not isinstance(config, Mapping):
        raise RuleError("invalid_value", "'config' must be an object.", f"{path}.config")
    return name, config


# ---------------------------------------------------------------------------------------------
# Evaluation


@dataclass(frozen=True)
class ConditionTrace:
    index: int
    condition: str
    negate: bool
    passed: bool | None  # None: not evaluated (an earlier condition decided)
    detail: str


@dataclass(frozen=True)
class RuleTrace:
    rule_id: Hashable
    name: str
    matched: bool
    skipped: str | None  # why the rule was not evaluated ("inactive", "other trigger")
    conditions: tuple[ConditionTrace, ...]
    stopped: bool = False  # this rule matched and ended the evaluation


@dataclass(frozen=True)
class PlannedAction:
    rule_id: Hashable
    action: str
    config: Mapping[str, Any]


@dataclass(frozen=True)
class Evaluation:
    traces: tuple[RuleTrace, ...]
    actions: tuple[PlannedAction, ...]

    @property
    def matched_rule_ids(self) -> list[Hashable]:
        return [t.rule_id for t in self.traces if t.matched]


class _State:
    """Per-item work shared by all rules, done once: the normalised text, and one scan of it
    with the merged automaton of every keyword list the rules use."""

    def __init__(self, item: Item, lookups: Lookups, keyword_lists: list[KeywordList]):
        self.item, self.lookups = item, lookups
        self._keyword_lists = keyword_lists
        self._folded: str | None = None
        self._hits: dict[Hashable, ListHits] | None = None

    @property
    def folded(self) -> str:
        if self._folded is None:
            self._folded = normalize(self.item.text or "")
        return self._folded

    def keyword_hits(self, keyword_list: KeywordList) -> ListHits:
        if self._hits is None:
            lists = self._keyword_lists
            if keyword_list not in lists:
                lists = [*lists, keyword_list]
            self._hits = self.lookups.keyword_cache.index(lists).scan(self.folded)
        return self._hits.get(_key(keyword_list.id), ListHits())


def _rule_order(rule: Rule) -> tuple:
    ident = rule.id
    return (rule.weight, (0, ident, "") if isinstance(ident, int) and not isinstance(ident, bool)
            else (1, 0, str(ident)))


def evaluate(rules: Iterable[Rule], item: Item, context: Lookups) -> Evaluation:
    """Every rule on ``item``, in order of weight then id: the traces and the planned actions.

    Inactive rules and rules of another trigger are traced as skipped. A condition that raises
    (say, a regular expression over its time limit) fails with the reason in its detail, it
    never stops the other rules. Planned actions are data; running them is the caller's, and
    their effects must never trigger rules again.
    """
    rules = sorted(rules, key=_rule_order)
    state = _State(item, context, _keyword_lists(rules, item, context))
    traces: list[RuleTrace] = []
    planned: list[PlannedAction] = []
    for rule in rules:
        if not rule.active:
            traces.append(RuleTrace(rule.id, rule.name, False, "inactive", ()))
            continue
        if TRIGGERS.get(rule.trigger) != item.event:
            traces.append(RuleTrace(rule.id, rule.name, False, "other trigger", ()))
            continue
        matched, condition_traces = _match_rule(rule, state)
        stopped = matched and rule.stop
        traces.append(RuleTrace(rule.id, rule.name, matched, None, condition_traces, stopped))
        if matched:
            planned.extend(PlannedAction(rule.id, a.action, a.config) for a in rule.actions)
        if stopped:
            break
    return Evaluation(tuple(traces), tuple(planned))


def _keyword_lists(rules: list[Rule], item: Item, lookups: Lookups) -> list[KeywordList]:
    """The keyword lists the rules to evaluate use (for one merged automaton)."""
    found: dict[str, KeywordList] = {}
    for rule in rules:
        if not rule.active or TRIGGERS.get(rule.trigger) != item.event:
            continue
        for condition in rule.conditions:
            if condition.condition == "message_has_keyword":
                kl = lookups.find(lookups.keyword_lists, condition.config["keywordList"])
                if kl is not None:
                    found.setdefault(_key(kl.id), kl)
    return list(found.values())


def _match_rule(rule: Rule, state: _State) -> tuple[bool, tuple[ConditionTrace, ...]]:
    want_all = rule.match == "all"
    traces = []
    decided: bool | None = None
    for index, condition in enumerate(rule.conditions):
        if decided is not None:
            traces.append(ConditionTrace(index, condition.condition, condition.negate, None,
                                         "not evaluated"))
            continue
        try:
            passed, detail = _CHECKS[condition.condition](condition.config, state)
        except Exception as exc:  # the trace says why; the rule simply does not match
            passed, detail = False, f"error: {exc}"
            if condition.negate:
                # A condition that could not be evaluated fails, negated or not.
                traces.append(ConditionTrace(index, condition.condition, True, False, detail))
                if want_all:
                    decided = False
                continue
        if condition.negate:
            passed, detail = not passed, f"not ({detail})"
        traces.append(ConditionTrace(index, condition.condition, condition.negate, passed,
                                     detail))
        if want_all and not passed:
            decided = False
        elif not want_all and passed:
            decided = True
    if not rule.conditions:
        return True, ()
    if decided is None:
        decided = want_all  # all passed (all) / none passed (any)
    return decided, tuple(traces)


# Each check answers (passed, detail) before negation.
def _check_keyword(config, state):
    lookups = state.lookups
    kl = lookups.find(lookups.keyword_lists, config["keywordList"])
    if kl is None:
        return False, f"keyword list {config['keywordList']!r} no longer exists"
    hit = state.keyword_hits(kl).first(config.get("wholeWord", True))
    if hit is None:
        return False, "no keyword of the list found"
    return True, f"found {hit.keyword!r}"


def _mentions(item: Item) -> list[str]:
    found = list(item.mentions or ())
    for m in _MENTION.findall(item.text or ""):
        if m not in found and m.lstrip("@") not in {x.lstrip("@") for x in found}:
            found.append(m)
    return found


def _check_has_mention(config, state):
    found = _mentions(state.item)
    if found:
        return True, "mentions " + ", ".join(found[:5])
    return False, "no mention"


def _check_only_mentions(config, state):
    found = _mentions(state.item)
    if not found:
        return False, "no mention"
    rest = _MENTION.sub(" ", state.item.text or "")
    for m in found:
        rest = rest.replace(m if m.startswith("@") else "@" + m, " ")
    leftover = [c for c in rest if c.isalnum()]
    if leftover:
        return False, "has text besides the mentions"
    return True, "only mentions " + ", ".join(found[:5])


def _check_type(config, state):
    item = state.item
    kind, network = (item.kind or "").lower(), (item.network or "").upper()
    for pair in config["types"]:
        if pair["type"] == kind and (pair["network"] is None or pair["network"] == network):
            return True, f"is a {network} {kind}".replace("  ", " ")
    return False, f"is a {network} {kind}, not one of the types"


def _check_channel(config, state):
    channel = _key(state.item.channel_id)
    if channel in {_key(c) for c in config["channelIds"]}:
        return True, f"channel {state.item.channel_id!r}"
    return False, f"channel {state.item.channel_id!r} is not in the list"


def _check_in_strings(attr: str, key: str, what: str, fold=str.lower):
    def check(config, state):
        value = getattr(state.item, attr)
        if not value:
            return False, f"{what} unknown"
        value = fold(str(value))
        if key == "languages":
            value = value.replace("_", "-").split("-")[0]
            wanted = {v.replace("_", "-").split("-")[0] for v in config[key]}
        else:
            wanted = set(config[key])
        if value in wanted:
            return True, f"{what} {value}"
        return False, f"{what} {value} is not in the list"
    return check


def _check_interactor(config, state):
    lookups, item = state.lookups, state.item
    il = lookups.find(lookups.interactor_lists, config["interactorList"])
    if il is None:
        return False, f"interactor list {config['interactorList']!r} no longer exists"
    if item.author_id is None and not item.author_username:
        return False, "author unknown"
    # An author is listed by network id, or by "@handle" (any case).
    handle = "@" + item.author_username.lstrip("@").casefold() if item.author_username else None
    if (item.author_id is not None and il.contains(item.channel_id, item.author_id)) or \
            (handle is not None and il.contains(item.channel_id, handle)):
        return True, f"author {item.author_username or item.author_id} is in the list"
    return False, f"author {item.author_username or item.author_id} is not in the list"


def _flag(attr: str, yes: str, no: str):
    def check(config, state):
        return (True, yes) if getattr(state.item, attr) else (False, no)
    return check


def _check_hours(config, state):
    lookups, item = state.lookups, state.item
    hours = lookups.find(lookups.business_hours, item.channel_id)
    if hours is None:
        return False, "the channel has no business hours"
    if item.received_at is None:
        return False, "no time received"
    try:
        is_open = hours.is_open(item.received_at)
    except (ValueError, ZoneInfoNotFoundError) as exc:
        return False, f"business hours unusable: {exc}"
    local = item.received_at.astimezone(ZoneInfo(hours.zone)).strftime("%a %H:%M")
    inside = f"inside business hours ({local} {hours.zone})"
    outside = f"outside business hours ({local} {hours.zone})"
    if config["when"] == "inside":
        return (True, inside) if is_open else (False, outside)
    return (True, outside) if not is_open else (False, inside)


def _check_regex(config, state):
    runner = state.lookups.regex_runner or default_runner()
    try:
        found = runner.search(config["pattern"], compile_flags(config["ignoreCase"]),
                              state.item.text or "")
    except RegexTimeout as exc:
        raise RuntimeError(f"timed out: {exc}") from None
    if found is None:
        return False, "the pattern does not match"
    return True, f"matched {found[2]!r}"


_CHECKS: dict[str, Callable] = {
    "message_has_keyword": _check_keyword,
    "message_consists_of_mentions": _check_only_mentions,
    "message_has_mention": _check_has_mention,
    "type": _check_type,
    "ticket_belongs_to_channel": _check_channel,
    "ticket_from_user": _check_interactor,
    "ticket_belongs_to_network": _check_in_strings("network", "networks", "network", str.upper),
    "ticket_from_provider": _check_in_strings("provider", "providers", "provider"),
    "author_first_contact": _flag("author_first_contact", "the author's first contact",
                                  "the author wrote before"),
    "message_has_attachment": _flag("has_attachment", "has an attachment", "no attachment"),
    "message_has_link": _flag("has_link", "has a link", "no link"),
    "message_language": _check_in_strings("language", "languages", "language"),
    "message_sentiment": _check_in_strings("sentiment", "sentiments", "sentiment", str.upper),
    "business_hours": _check_hours,
    "message_matches_regex": _check_regex,
}
assert set(_CHECKS) == set(CONDITIONS)
