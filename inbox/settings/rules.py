"""Smart rules: create, read, change, reorder, delete, and every version kept and restorable — the
rules behind ``/api/v1/rules`` (and later the rules page).

A rule is stored and answered in SocialHub's shape (digest §2.1): ``{id, name, description, active,
weight, trigger, entity, conditions: [{condition, config, negate?}], actions: [{action, config}]}``
plus our optional ``match`` ("all" | "any", default "all") and ``stop`` (a match ends the rules
after it). The top-level fields are checked here; conditions and actions are checked by the rules
engine's own parser (``inbox.rules.engine.parse_rule``) against what exists now — keyword and
interactor lists, channels, users, teams, tags, categories — so that a rule the engine could not
run is refused when it is saved (422 with the path of what is wrong), never discovered later.

Every change writes a ``RuleVersion`` with the rule as it became and who changed it; restoring a
version writes a new version equal to it (history is never rewritten).
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from inbox import fields
from models import Rule, RuleVersion, User

NAME_MAX, DESCRIPTION_MAX = 50, 255            # SocialHub's limits
WEIGHT_MAX = 1_000_000
TRIGGERS = ("ticket_creation", "message_received")
FIELDS = frozenset({"name", "description", "active", "weight", "trigger", "entity", "conditions", "actions",
                    "match", "stop"})
REQUIRED = ("name", "active", "weight", "trigger", "entity", "conditions", "actions")


def all_rules(session: Session) -> list[Rule]:
    """In the order they run: weight, then id."""
    return list(session.scalars(select(Rule).order_by(Rule.weight, Rule.id)))


def create(session: Session, user: User, data: Any) -> Rule:
    values = _checked(session, data, partial=False)
    rule = Rule(**values, updated_by_id=user.id)
    session.add(rule)
    session.flush()
    _record(session, rule, user, "create")
    return rule


def update(session: Session, rule: Rule, user: User, data: Any) -> Rule:
    values = _checked(session, {**as_json(rule), **_object(data)}, partial=False, keep_id=True)
    _apply(session, rule, user, values, "update")
    return rule


def restore(session: Session, rule: Rule, user: User, version: int) -> Rule:
    """The rule becomes what it was at ``version`` (checked again: a list it used may be gone)."""
    old = session.scalar(select(RuleVersion).where(RuleVersion.rule_id == rule.id, RuleVersion.version == version))
    if old is None:
        raise fields.Rejected("unknown_version", f"Rule {rule.id} has no version {version}")
    values = _checked(session, old.data, partial=False, keep_id=True)
    _apply(session, rule, user, values, "restore")
    return rule


def reorder(session: Session, user: User, data: Any) -> list[Rule]:
    """SocialHub's bulk reorder: ``[{id, weight}]``; every id must be a rule (nothing changes otherwise)."""
    if not isinstance(data, list) or not data or len(data) > 1000:
        raise fields.Rejected("invalid_value", "Send a list of 1 to 1000 {id, weight} objects")
    wanted: dict[int, int] = {}
    for entry in data:
        if not isinstance(entry, dict) or set(entry) != {"id", "weight"}:
            raise fields.Rejected("invalid_value", "Each entry is {id, weight}")
        wanted[_int(entry["id"], "id", 1, 2**31 - 1)] = _int(entry["weight"], "weight", 0, WEIGHT_MAX)
    rules = {r.id: r for r in session.scalars(select(Rule).where(Rule.id.in_(wanted)))}
    missing = sorted(set(wanted) - set(rules))
    if missing:
        raise fields.Rejected("unknown_rule", f"No rule with id {', '.join(map(str, missing))}")
    for rule_id, weight in wanted.items():
        rule = rules[rule_id]
        if rule.weight != weight:
            _apply(session, rule, user, {"weight": weight}, "reorder")
    return all_rules(session)


def versions(session: Session, rule: Rule) -> list[RuleVersion]:
    return list(session.scalars(select(RuleVersion).where(RuleVersion.rule_id == rule.id)
                                .order_by(RuleVersion.version.desc())))


def as_json(rule: Rule) -> dict[str, Any]:
    return {"id": rule.id, "name": rule.name, "description": rule.description or "", "active": rule.active,
            "weight": rule.weight, "trigger": rule.trigger, "entity": rule.entity,
            "conditions": list(rule.conditions or []), "actions": list(rule.actions or []),
            "match": rule.match, "stop": rule.stop, "version": rule.version}


def version_json(row: RuleVersion) -> dict[str, Any]:
    from inbox.api.serialize import iso

    return {"version": row.version, "change": row.change, "user_id": row.user_id,
            "created_at": iso(row.created_at), "rule": row.data}


# -- checks -----------------------------------------------------------------------------------------

def _object(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise fields.Rejected("invalid_body", "Expected a JSON object")
    unknown = sorted(set(data) - FIELDS - {"id", "version"})
    if unknown:
        raise fields.Rejected("unknown_field", f"Unknown fields: {', '.join(unknown)}")
    return data


def _checked(session: Session, data: Any, *, partial: bool, keep_id: bool = False) -> dict[str, Any]:
    data = _object(data)
    if not keep_id and ("id" in data or "version" in data):
        raise fields.Rejected("unknown_field", "id and version are given by the server")
    missing = [k for k in REQUIRED if k not in data]
    if missing and not partial:
        raise fields.Rejected("missing_field", f"Required: {', '.join(missing)}")
    name = fields.text(data["name"], "name", NAME_MAX).strip()
    if not name:
        raise fields.Rejected("missing_field", "name is required")
    values: dict[str, Any] = {
        "name": name,
        "description": fields.text(data.get("description") or "", "description", DESCRIPTION_MAX),
        "active": fields.flag(data["active"], "active"),
        "weight": _int(data["weight"], "weight", 0, WEIGHT_MAX),
        "trigger": _choice(data["trigger"], "trigger", TRIGGERS),
        "entity": _choice(data["entity"], "entity", ("ticket",)),
        "match": _choice(data.get("match", "all"), "match", ("all", "any")),
        "stop": fields.flag(data.get("stop", False), "stop"),
    }
    conditions, actions = data["conditions"], data["actions"]
    if not isinstance(conditions, list) or not isinstance(actions, list):
        raise fields.Rejected("invalid_value", "conditions and actions must be lists")
    if not actions:
        raise fields.Rejected("no_actions", "A rule needs at least one action")
    values["conditions"], values["actions"] = check_parts(session, {**values, "conditions": conditions,
                                                                    "actions": actions})
    return values


def check_parts(session: Session, rule: dict[str, Any]) -> tuple[list, list]:
    """Conditions and actions as the engine's parser accepts them, normalised (``RuleError`` →
    422 whose message names the part that is wrong, e.g. ``conditions[1].config.keywordList``)."""
    from inbox.rules.engine import RuleError, parse_rule

    try:
        parsed = parse_rule(rule, lookups(session))
    except RuleError as exc:
        raise fields.Rejected(exc.code, f"{exc.path}: {exc.message}" if exc.path else exc.message) from exc
    shape = parsed.as_dict()
    return shape["conditions"], shape["actions"]


def lookups(session: Session):
    """What rules may refer to, as the engine knows it: the ids of what exists now, and the lists
    with their entries (an interactor list's authors by network id and by ``@handle``)."""
    from inbox.rules import engine
    from models import Category, Channel, InteractorList, KeywordList, SavedReply, Tag, Team

    # A list's automaton is cached by (id, version): the creation time joins the version, because
    # a deleted list's id can be given again (SQLite) to a new list starting at version 1.
    keyword_lists = {row.id: engine.KeywordList(row.id, f"{row.version}@{row.created_at.isoformat()}",
                                                tuple(row.keywords or ()))
                     for row in session.scalars(select(KeywordList))}
    interactor_lists = {}
    for row in session.scalars(select(InteractorList)):
        entries = set()
        for member in row.members or ():
            if member.get("external_id"):
                entries.add((member.get("channel_id"), member["external_id"]))
            if member.get("username"):
                entries.add((member.get("channel_id"), "@" + member["username"].casefold()))
        interactor_lists[row.id] = engine.InteractorList(row.id, frozenset(entries))
    ids = lambda model: set(session.scalars(select(model.id)))  # noqa: E731
    return engine.Lookups(keyword_lists=keyword_lists, interactor_lists=interactor_lists,
                          channel_ids=ids(Channel), category_ids=ids(Category), tag_ids=ids(Tag),
                          user_ids=ids(User), team_ids=ids(Team), saved_reply_ids=ids(SavedReply))


def _int(value: Any, name: str, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise fields.Rejected("invalid_value", f"{name} must be a whole number from {low} to {high}")
    return value


def _choice(value: Any, name: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise fields.Rejected("invalid_value", f"{name} must be one of {', '.join(allowed)}")
    return value


def _apply(session: Session, rule: Rule, user: User, values: dict[str, Any], change: str) -> None:
    for key, value in values.items():
        setattr(rule, key, value)
    rule.version = (rule.version or 1) + 1
    rule.updated_by_id = user.id
    session.flush()
    _record(session, rule, user, change)


def _record(session: Session, rule: Rule, user: User, change: str) -> None:
    session.add(RuleVersion(rule_id=rule.id, version=rule.version, data=as_json(rule), change=change,
                            user_id=user.id))
    session.flush()


def count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Rule)) or 0
