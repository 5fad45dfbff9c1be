"""The rule editor's form, both ways: a rule in SocialHub's shape to the fields the editor shows,
and the posted fields back to that shape — plus where a refusal belongs on the form.

The editor is a plain server-rendered form whose rows are numbered fields
(``conditions-0-condition``, ``conditions-0-config-keywordList``, ``actions-1-userId`` ...), so it
works without JavaScript: adding a row, removing one or changing a row's type posts the form and
re-renders it with what was typed. Nothing here validates a rule: what was typed is carried over as
typed (a minutes field of "abc" stays "abc") and ``inbox.settings.rules`` — the engine's parser —
refuses it with the path of the field at fault, which :func:`error_at` turns into the row and field
to show the message next to. No Flask and no database here: the view passes the posted
``MultiDict`` and the choices (lists, users, tags ...) it loaded.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# What the editor offers, in the order of its selects; labels as an admin reads them.
CONDITION_LABELS: dict[str, str] = {
    "message_has_keyword": "Text has a keyword from a list",
    "message_matches_regex": "Text matches a regular expression",
    "message_has_mention": "Text has a mention",
    "message_consists_of_mentions": "Text is only mentions",
    "type": "Kind of item",
    "ticket_belongs_to_channel": "Channel",
    "ticket_belongs_to_network": "Network",
    "ticket_from_provider": "Provider",
    "ticket_from_user": "Author is in an interactor list",
    "author_first_contact": "Author's first contact with us",
    "message_has_attachment": "Has an attachment",
    "message_has_link": "Has a link",
    "message_language": "Language",
    "message_sentiment": "Sentiment",
    "business_hours": "Business hours",
}
ACTION_LABELS: dict[str, str] = {
    "assign": "Assign",
    "tag": "Categorise",
    "add_tags": "Add tags",
    "mark_as_priority": "Mark as priority",
    "sentiment": "Set sentiment",
    "snooze": "Snooze",
    "add_note": "Add a note",
    "suggest_reply": "Suggest a saved reply (through approval)",
    "require_approval": "Require approval for replies",
    "forward_by_mail": "Forward by email",
    "archive": "Archive",
    "hide": "Hide on the network",
    "delete": "Delete on the network",
    "like": "Like on the network",
}
TRIGGER_LABELS = {"ticket_creation": "A new item arrives",
                  "message_received": "A new message arrives in an existing conversation"}
SENTIMENTS = ("POSITIVE", "NEUTRAL", "NEGATIVE")
NETWORKS = ("FACEBOOK", "INSTAGRAM", "TELEGRAM", "WHATSAPP", "TWITTER", "VK", "YOUTUBE", "TIKTOK",
            "LINKEDIN", "GOOGLE", "CUSTOM")

# Per type, its config fields: (key, kind). Kinds: "id" one id (select), "ids" several ids,
# "strings" several strings (checkboxes), "lines" "a, b" text list, "bool", "text", "int", "choice".
CONDITION_FIELDS: dict[str, tuple[tuple[str, str], ...]] = {
    "message_has_keyword": (("keywordList", "id"), ("wholeWord", "bool")),
    "type": (("types", "types"),),
    "ticket_belongs_to_channel": (("channelIds", "ids"),),
    "ticket_belongs_to_network": (("networks", "strings"),),
    "ticket_from_provider": (("providers", "strings"),),
    "ticket_from_user": (("interactorList", "id"),),
    "message_language": (("languages", "strings"),),
    "message_sentiment": (("sentiments", "strings"),),
    "business_hours": (("when", "choice"),),
    "message_matches_regex": (("pattern", "text"), ("ignoreCase", "bool")),
}
ACTION_FIELDS: dict[str, tuple[tuple[str, str], ...]] = {
    "assign": (("assignee", "assignee"),),
    "tag": (("categoryIds", "ids"),),
    "add_tags": (("tagIds", "ids"),),
    "sentiment": (("sentiment", "choice"),),
    "snooze": (("minutes", "int"),),
    "add_note": (("text", "text"),),
    "suggest_reply": (("savedReplyId", "id"),),
    "forward_by_mail": (("recipients", "lines"), ("cc", "lines"), ("subject", "text"), ("message", "text"),
                        ("replyTo", "text"), ("context", "bool")),
}
DEFAULTS: dict[str, dict[str, Any]] = {
    "message_has_keyword": {"wholeWord": True},
    "message_matches_regex": {"ignoreCase": True},
    "business_hours": {"when": "inside"},
    "forward_by_mail": {"context": True},
}
ROWS_MAX = 50
COMPARED = ("name", "description", "active", "trigger", "match", "stop", "weight", "conditions", "actions")
CHANGES = {"create": "Created", "update": "Changed", "restore": "Restored", "reorder": "Moved"}


@dataclass
class Draft:
    """The rule as the editor holds it: SocialHub's shape, values as typed."""

    rule: dict[str, Any]
    focus: str | None = None  # the id of the field to focus after a re-render (a new row's type)
    errors: dict[str, str] = field(default_factory=dict)  # field id ("conditions-1-keywordList") → message
    general: str | None = None  # a refusal that belongs to no one field


def blank_rule() -> dict[str, Any]:
    return {"name": "", "description": "", "active": True, "trigger": "ticket_creation", "entity": "ticket",
            "match": "all", "stop": False, "conditions": [], "actions": []}


def from_form(form, op: str = "") -> Draft:
    """The posted editor form as a rule (values as typed), with ``op`` applied: ``add_condition``,
    ``add_action``, ``remove_condition:N``, ``remove_action:N``; a row whose type changed since its
    fields were shown gets that type's defaults."""
    rule = {"name": form.get("name", ""), "description": form.get("description", ""),
            "active": form.get("active") == "on", "trigger": form.get("trigger", "ticket_creation"),
            "entity": "ticket", "match": "any" if form.get("match") == "any" else "all",
            "stop": form.get("stop") == "on"}
    rule["conditions"] = [_condition(form, i) for i in _indexes(form, "conditions", "condition")]
    rule["actions"] = [_action(form, i) for i in _indexes(form, "actions", "action")]
    draft = Draft(rule)
    kind, _, index = op.partition(":")
    if kind == "add_condition" and len(rule["conditions"]) < ROWS_MAX:
        rule["conditions"].append({"condition": "message_has_keyword",
                                   "config": dict(DEFAULTS["message_has_keyword"]), "negate": False})
        draft.focus = f"conditions-{len(rule['conditions']) - 1}-condition"
    elif kind == "add_action" and len(rule["actions"]) < ROWS_MAX:
        rule["actions"].append({"action": "add_tags", "config": {}})
        draft.focus = f"actions-{len(rule['actions']) - 1}-action"
    elif kind in ("remove_condition", "remove_action") and index.isdigit():
        rows = rule["conditions" if kind == "remove_condition" else "actions"]
        if int(index) < len(rows):
            del rows[int(index)]
        draft.focus = "add-condition" if kind == "remove_condition" else "add-action"
    return draft


def _indexes(form, part: str, key: str) -> list[int]:
    found = set()
    pattern = re.compile(rf"^{part}-(\d+)-{key}$")
    for name in form.keys():
        match = pattern.match(name)
        if match and len(match.group(1)) <= 3:
            found.add(int(match.group(1)))
    return sorted(found)[:ROWS_MAX]


def _condition(form, i: int) -> dict[str, Any]:
    prefix = f"conditions-{i}-"
    kind = form.get(prefix + "condition", "")
    return {"condition": kind, "config": _config(form, prefix, kind, CONDITION_FIELDS),
            "negate": form.get(prefix + "negate") == "on"}


def _action(form, i: int) -> dict[str, Any]:
    prefix = f"actions-{i}-"
    kind = form.get(prefix + "action", "")
    return {"action": kind, "config": _config(form, prefix, kind, ACTION_FIELDS)}


def _config(form, prefix: str, kind: str, table) -> dict[str, Any]:
    if form.get(prefix + "shown") != kind:          # a new type: its fields were never on the form
        return dict(DEFAULTS.get(kind, {}))
    config: dict[str, Any] = {}
    for key, how in table.get(kind, ()):
        name = prefix + key
        if how == "bool":
            config[key] = form.get(name) == "on"
        elif how in ("ids", "strings"):
            values = [v for v in form.getlist(name) if v != ""]
            config[key] = [_id(v) for v in values] if how == "ids" else values
        elif how == "lines":
            config[key] = [v.strip() for v in re.split(r"[,\n;]", form.get(name, "")) if v.strip()]
        elif how == "types":
            config[key] = _types(form.get(name, ""))
        elif how == "assignee":
            who, _, ident = form.get(name, "").partition(":")
            if who in ("user", "team") and ident:
                config["userId" if who == "user" else "teamId"] = _id(ident)
        elif how == "int":
            raw = form.get(name, "").strip()
            if raw:
                config[key] = int(raw) if re.fullmatch(r"\d{1,9}", raw) else raw
        elif how == "id":
            raw = form.get(name, "")
            if raw:
                config[key] = _id(raw)
        else:                                        # text, choice
            raw = form.get(name, "")
            if raw != "" or how == "text" and key in ("subject", "message"):
                config[key] = raw
    return config


def _id(value: str) -> Any:
    return int(value) if re.fullmatch(r"\d{1,12}", value) else value


def _types(text: str) -> list[dict[str, Any]]:
    """``"INSTAGRAM:comment, dm"`` → ``[{network: INSTAGRAM, type: comment}, {network: None, type: dm}]``."""
    out = []
    for entry in re.split(r"[,\n;]", text):
        entry = entry.strip()
        if not entry:
            continue
        network, _, kind = entry.rpartition(":")
        out.append({"network": network.strip() or None, "type": kind.strip()})
    return out


def types_text(types: Any) -> str:
    if not isinstance(types, list):
        return ""
    return ", ".join(f"{t['network']}:{t.get('type', '')}" if isinstance(t, Mapping) and t.get("network")
                     else str(t.get("type", "")) if isinstance(t, Mapping) else str(t) for t in types)


def assignee_value(config: Mapping[str, Any]) -> str:
    if config.get("userId") is not None:
        return f"user:{config['userId']}"
    if config.get("teamId") is not None:
        return f"team:{config['teamId']}"
    return ""


# A refusal's message starts with the path of what is wrong: "conditions[1].config.keywordList: No ..."
_PATH = re.compile(r"^(?P<part>conditions|actions)\[(?P<index>\d+)\]"
                   r"(?:\.config\.(?P<key>\w+)|\.(?P<own>condition|action|negate))?(?:\[\d+\])?"
                   r"(?:\.\w+)?:\s*(?P<message>.*)$", re.S)
_TOP = re.compile(r"^(?P<key>name|description|active|trigger|match|stop|actions|conditions):\s*(?P<message>.*)$", re.S)


def error_at(draft: Draft, message: str) -> Draft:
    """Put ``message`` next to the field its path names (the row's type when the key is not one of
    the type's fields, the row when no key), or at the top of the form."""
    match = _PATH.match(message)
    if match:
        part, index = match["part"], int(match["index"])
        rows = draft.rule.get(part) or []
        key = match["key"] or match["own"]
        if index < len(rows):
            kind = rows[index].get("condition" if part == "conditions" else "action", "")
            table = CONDITION_FIELDS if part == "conditions" else ACTION_FIELDS
            known = {k for k, _ in table.get(kind, ())}
            if key in ("userId", "teamId") and kind == "assign":
                key = "assignee"
            if key not in known and key not in ("condition", "action", "negate"):
                key = "condition" if part == "conditions" else "action"
            draft.errors[f"{part}-{index}-{key}"] = match["message"]
            return draft
    top = _TOP.match(message)
    if top:
        draft.errors[top["key"]] = top["message"]
        return draft
    lowered = message.lower()
    for key in ("name", "description"):
        if lowered.startswith(key + " "):
            draft.errors[key] = message
            return draft
    if "at least one action" in lowered:
        draft.errors["actions"] = message
        return draft
    draft.general = message
    return draft


# -- a rule as a sentence or two, for the list and the versions --------------------------------

def describe(rule: Mapping[str, Any], names: Mapping[str, Mapping[Any, str]]) -> dict[str, list[str]]:
    """``{"conditions": [...], "actions": [...]}`` in words, ids replaced by the names in
    ``names`` (``{"keyword_lists": {id: name}, "users": ..., "teams": ..., "tags": ...,
    "categories": ..., "channels": ..., "interactor_lists": ..., "saved_replies": ...}``)."""
    def name(kind: str, ident: Any) -> str:
        found = (names.get(kind) or {}).get(ident)
        if found is None and isinstance(ident, str) and ident.isdigit():
            found = (names.get(kind) or {}).get(int(ident))
        return f"“{found}”" if found is not None else f"#{ident} (missing)"

    conditions = []
    for c in rule.get("conditions") or []:
        kind, config = c.get("condition"), c.get("config") or {}
        label = CONDITION_LABELS.get(kind, kind)
        detail = ""
        if kind == "message_has_keyword":
            detail = f"{name('keyword_lists', config.get('keywordList'))}" + \
                     (", whole words" if config.get("wholeWord", True) else ", anywhere in a word")
        elif kind == "ticket_from_user":
            detail = name("interactor_lists", config.get("interactorList"))
        elif kind == "ticket_belongs_to_channel":
            detail = ", ".join(name("channels", i) for i in config.get("channelIds") or [])
        elif kind == "type":
            detail = types_text(config.get("types"))
        elif kind == "message_matches_regex":
            detail = f"/{config.get('pattern', '')}/" + ("i" if config.get("ignoreCase", True) else "")
        elif kind == "business_hours":
            detail = config.get("when", "inside")
        else:
            for key in ("networks", "providers", "languages", "sentiments"):
                if key in config:
                    detail = ", ".join(map(str, config[key]))
        conditions.append(("not " if c.get("negate") else "") + label + (f": {detail}" if detail else ""))
    actions = []
    for a in rule.get("actions") or []:
        kind, config = a.get("action"), a.get("config") or {}
        label = ACTION_LABELS.get(kind, kind)
        detail = ""
        if kind == "assign":
            detail = name("users", config["userId"]) if config.get("userId") is not None else \
                f"round-robin in {name('teams', config.get('teamId'))}"
        elif kind == "tag":
            detail = ", ".join(name("categories", i) for i in config.get("categoryIds") or [])
        elif kind == "add_tags":
            detail = ", ".join(name("tags", i) for i in config.get("tagIds") or [])
        elif kind == "sentiment":
            detail = str(config.get("sentiment", ""))
        elif kind == "snooze":
            detail = f"{config.get('minutes')} minutes"
        elif kind == "add_note":
            detail = str(config.get("text", ""))
        elif kind == "suggest_reply":
            detail = name("saved_replies", config.get("savedReplyId"))
        elif kind == "forward_by_mail":
            detail = "to " + ", ".join(config.get("recipients") or [])
        actions.append(label + (f": {detail}" if detail else ""))
    return {"conditions": conditions, "actions": actions}
