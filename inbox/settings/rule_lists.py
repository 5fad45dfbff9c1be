"""Keyword lists and interactor lists: the rules behind ``/api/v1/keyword-lists`` and
``/api/v1/interactor-lists`` (and, later, their settings pages and the sidebar's "add the author
to a list").

Every value is checked before anything changes (``Rejected`` → 422 in the API) and the caller
commits, so a refusal leaves nothing half-written. Each change raises the list's ``version``:
the rules engine caches what it builds from a list per (id, version).

Decisions:
- Names are unique regardless of case: 422 ``name_taken``.
- Keywords are stripped, empty lines dropped and duplicates (regardless of case) kept once, in
  the order given; at most ``KEYWORDS_MAX`` of at most ``KEYWORD_MAX`` characters each. A list may
  be empty (filled later by an import); a rule refuses an empty list when it is saved.
- Importing pasted text adds to the list: one keyword per line, or separated by commas.
- An interactor entry names an author by ``external_id`` (the network's id) and/or ``username``
  (a handle, without ``@``), optionally on one channel; pasted lines are ``@handle``,
  ``handle`` or ``id:12345``.
"""
from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from inbox import fields
from models import Channel, InteractorList, KeywordList

NAME_MAX = 120
KEYWORD_MAX = 200
KEYWORDS_MAX = 10_000
MEMBERS_MAX = 10_000
IMPORT_MAX = 1_000_000          # characters of pasted text
LIST_FIELDS = {KeywordList: frozenset({"name", "keywords", "text"}),
               InteractorList: frozenset({"name", "members", "text"})}
WHAT = {KeywordList: "keyword list", InteractorList: "interactor list"}


def all_lists(session: Session, model: type) -> list:
    return list(session.scalars(select(model).order_by(func.lower(model.name), model.id)))


def create(session: Session, model: type, data: Any) -> Any:
    data = _object(data, model)
    if not isinstance(data.get("name"), str) or not data["name"].strip():
        raise fields.Rejected("missing_field", "name is required")
    row = model(name=_name(session, model, data["name"]))
    _set_entries(session, row, data, replace=True)
    session.add(row)
    session.flush()
    return row


def update(session: Session, row: Any, data: Any) -> Any:
    """``name`` renames; ``keywords`` / ``members`` replace the entries; ``text`` adds pasted ones."""
    data = _object(data, type(row))
    name = _name(session, type(row), data["name"], row) if "name" in data else None
    _set_entries(session, row, data, replace="keywords" in data or "members" in data)
    if name is not None:
        row.name = name
    row.version = (row.version or 1) + 1
    return row


def import_text(session: Session, row: Any, text: Any) -> Any:
    return update(session, row, {"text": text})


def as_json(row: Any) -> dict[str, Any]:
    entries = {"keywords": list(row.keywords or [])} if isinstance(row, KeywordList) else {
        "members": [dict(m) for m in row.members or []]}
    return {"id": row.id, "name": row.name, **entries, "version": row.version}


# -- checks ---------------------------------------------------------------------------------------

def _object(data: Any, model: type) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise fields.Rejected("invalid_body", "Expected a JSON object")
    unknown = sorted(set(data) - LIST_FIELDS[model])
    if unknown:
        raise fields.Rejected("unknown_field", f"Unknown fields: {', '.join(unknown)}")
    return data


def _name(session: Session, model: type, value: Any, row: Any = None) -> str:
    name = fields.text(value, "name", NAME_MAX).strip()
    if not name:
        raise fields.Rejected("missing_field", "name is required")
    query = select(model.id).where(func.lower(model.name) == name.lower())
    if row is not None:
        query = query.where(model.id != row.id)
    if session.scalar(query) is not None:
        raise fields.Rejected("name_taken", f"A {WHAT[model]} named {name!r} already exists")
    return name


def _set_entries(session: Session, row: Any, data: dict[str, Any], replace: bool) -> None:
    keywords = isinstance(row, KeywordList)
    key = "keywords" if keywords else "members"
    current = [] if replace else list(getattr(row, key) or [])
    given = data.get(key, [])
    if not isinstance(given, list):
        raise fields.Rejected("invalid_value", f"{key} must be a list")
    if "text" in data:
        text = fields.text(data["text"], "text", IMPORT_MAX)
        given = [*given, *_split(text, keywords)]
    entries = _keywords(current + given) if keywords else _members(session, current + given)
    setattr(row, key, entries)


def _split(text: str, keywords: bool) -> list[Any]:
    # Keywords: one per line, or separated by a comma — the Latin one or the Arabic/Persian "،".
    parts = [p.strip() for line in text.splitlines()
             for p in (re.split("[,،]", line) if keywords else [line])]
    parts = [p for p in parts if p]
    if keywords:
        return parts
    members = []
    for part in parts:
        if part.lower().startswith("id:"):
            members.append({"external_id": part[3:].strip()})
        else:
            members.append({"username": part.lstrip("@")})
    return members


def _keywords(values: list[Any]) -> list[str]:
    seen, out = set(), []
    for value in values:
        if not isinstance(value, str):
            raise fields.Rejected("invalid_value", "keywords must be strings")
        word = " ".join(value.split())
        if not word:
            continue
        if len(word) > KEYWORD_MAX:
            raise fields.Rejected("too_long", f"A keyword takes at most {KEYWORD_MAX} characters: {word[:40]!r}…")
        if word.casefold() not in seen:
            seen.add(word.casefold())
            out.append(word)
    if len(out) > KEYWORDS_MAX:
        raise fields.Rejected("too_many", f"A keyword list holds at most {KEYWORDS_MAX} keywords (this one has {len(out)})")
    return out


HANDLE = re.compile(r"^[^\s@]{1,200}$")


def _members(session: Session, values: list[Any]) -> list[dict[str, Any]]:
    seen, out, channel_ids = set(), [], set()
    for value in values:
        if not isinstance(value, dict) or set(value) - {"channel_id", "external_id", "username"}:
            raise fields.Rejected("invalid_value",
                                  "members are objects {channel_id?, external_id?, username?}")
        external_id, username = value.get("external_id"), value.get("username")
        if isinstance(username, str):
            username = username.strip().removeprefix("@")
        channel_id = value.get("channel_id")
        for name, item in (("external_id", external_id), ("username", username)):
            if item is not None and (not isinstance(item, str) or not HANDLE.match(item.strip())):
                raise fields.Rejected("invalid_value", f"{name} must be an id or handle without spaces: {item!r}")
        if not (external_id or username):
            raise fields.Rejected("invalid_value", "each member needs an external_id or a username")
        if channel_id is not None:
            if not isinstance(channel_id, int) or isinstance(channel_id, bool) or not 1 <= channel_id <= 2**31 - 1:
                raise fields.Rejected("invalid_value", "channel_id must be a channel's id")
            channel_ids.add(channel_id)
        entry = {"channel_id": channel_id, "external_id": external_id.strip() if external_id else None,
                 "username": username or None}
        key = (entry["channel_id"], entry["external_id"], (entry["username"] or "").casefold())
        if key not in seen:
            seen.add(key)
            out.append(entry)
    if len(out) > MEMBERS_MAX:
        raise fields.Rejected("too_many", f"An interactor list holds at most {MEMBERS_MAX} members")
    if channel_ids:
        known = set(session.scalars(select(Channel.id).where(Channel.id.in_(channel_ids))))
        missing = sorted(channel_ids - known)
        if missing:
            raise fields.Rejected("unknown_channel", f"No channel with id {', '.join(map(str, missing))}")
    return out
