"""Custom folders: checking what people send, who may change which, and ordering.

Shared by the sidebar's forms, the folders page and ``/api/v1/folders``, so each refuses the same
values the same way (``Rejected``: the API answers 422, the pages show it inline).

Rules (the issue's words: "personal or shared with a team, reorderable, editable by their owner
(shared ones by supervisors)"):
- everyone who sees the queue has personal folders, which only they see and change;
- a folder shared with a team is seen by that team's members (and by those who see every team);
  sharing, and changing a shared folder, takes a supervisor (``ViewAllTickets``: the people who
  oversee every team) — its owner keeps it only while they are one;
- a folder is its filter arguments, checked by ``Filters.from_args`` exactly as the queue checks
  them, so a folder that saves is a folder that opens.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from inbox import fields, visibility
from models import Folder, Team, team_members

from .counters import current_counts
from .folders import BUILTINS, DEFAULT, builtin

from .queries import FilterError, Filters

FOLDERS_MAX = 100       # custom folders one user may own
ARG_KEYS = ("status", "kind", "channel_id", "network", "assignee", "mentions", "sentiment", "team", "tag",
            "category", "q", "priority", "failed", "awaiting", "suggested_by")
SUPERVISE = visibility.VIEW_ALL


class NotAllowed(Exception):
    """The user may see this folder but not change it (403), or may not share it."""


@dataclass
class FolderValues:
    name: str | None = None
    args: dict[str, str] | None = None
    team_id: int | None = None
    team_set: bool = False          # team_id was sent (None then means "make it personal")
    position: int | None = None


def clean_args(value: Any) -> dict[str, str]:
    """The folder's filter: known keys only, each value as the queue would accept it."""
    if not isinstance(value, dict):
        raise fields.Rejected("invalid_value", "args must be an object of filter arguments")
    unknown = sorted(set(map(str, value)) - set(ARG_KEYS))
    if unknown:
        raise fields.Rejected("unknown_field", f"Unknown filter(s): {', '.join(unknown)}; known: {', '.join(ARG_KEYS)}")
    args = {}
    for key, raw in value.items():
        if raw in (None, ""):
            continue
        if isinstance(raw, bool):
            raw = "1" if raw else "0"
        if not isinstance(raw, (str, int)):
            raise fields.Rejected("invalid_value", f"{key} must be a string or a number")
        args[key] = str(raw)
    try:
        Filters.from_args(args)
    except FilterError as exc:
        raise fields.Rejected("invalid_value", exc.message) from None
    return args


def clean_name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise fields.Rejected("invalid_value", "The folder needs a name")
    name = " ".join(value.split())
    if len(name) > 120:
        raise fields.Rejected("too_long", "A folder name is at most 120 characters")
    return name


def values(data: dict[str, Any], *, partial: bool) -> FolderValues:
    unknown = sorted(set(map(str, data)) - {"name", "args", "team_id", "position"})
    if unknown:
        raise fields.Rejected("unknown_field", f"Unknown field(s): {', '.join(unknown)}; known: name, args, team_id, position")
    if not partial and "name" not in data:
        raise fields.Rejected("missing_field", "name is required")
    checked = FolderValues()
    if "name" in data:
        checked.name = clean_name(data["name"])
    if "args" in data:
        checked.args = clean_args(data["args"])
    if "team_id" in data:
        checked.team_set = True
        checked.team_id = None if data["team_id"] is None else fields.whole_id(data["team_id"], "team_id")
    if "position" in data:
        position = data["position"]
        if isinstance(position, bool) or not isinstance(position, int) or not 0 <= position <= 10_000:
            raise fields.Rejected("invalid_value", "position must be a whole number from 0 to 10000")
        checked.position = position
    return checked


def may_edit(user: Any, folder: Folder) -> bool:
    if folder.team_id is None:
        return folder.owner_id == user.id
    return user.can(SUPERVISE)


def _check_team(session: Session, user: Any, team_id: int | None) -> None:
    if team_id is None:
        return
    if not user.can(SUPERVISE):
        raise NotAllowed("Only supervisors share folders with a team")
    if session.get(Team, team_id) is None:
        raise fields.Rejected("unknown_team", f"There is no team {team_id}")


def create(session: Session, user: Any, checked: FolderValues) -> Folder:
    owned = session.scalar(select(func.count()).select_from(Folder).where(Folder.owner_id == user.id))
    if owned >= FOLDERS_MAX:
        raise fields.Rejected("too_many", f"A user may have at most {FOLDERS_MAX} folders")
    _check_team(session, user, checked.team_id)
    last = session.scalar(select(func.max(Folder.position)).where(Folder.owner_id == user.id)) or 0
    folder = Folder(name=checked.name, owner_id=user.id, team_id=checked.team_id, args=checked.args or {},
                    position=checked.position if checked.position is not None else last + 1)
    session.add(folder)
    session.flush()
    return folder


def update(session: Session, user: Any, folder: Folder, checked: FolderValues) -> Folder:
    if not may_edit(user, folder):
        raise NotAllowed("Only supervisors change a shared folder" if folder.team_id else "Only its owner changes this folder")
    if checked.team_set and checked.team_id != folder.team_id:
        if not user.can(SUPERVISE):
            raise NotAllowed("Only supervisors share folders with a team")
        _check_team(session, user, checked.team_id)
        folder.team_id = checked.team_id
    if checked.name is not None:
        folder.name = checked.name
    if checked.args is not None:
        folder.args = checked.args
    if checked.position is not None:
        folder.position = checked.position
    session.flush()
    return folder


def delete(session: Session, user: Any, folder: Folder) -> None:
    if not may_edit(user, folder):
        raise NotAllowed("Only supervisors delete a shared folder" if folder.team_id else "Only its owner deletes this folder")
    session.delete(folder)
    session.flush()


def move(session: Session, user: Any, folder: Folder, direction: int, visible: list[Folder]) -> None:
    """Swap ``folder`` with its neighbour within its group (personal folders, or shared ones) in
    the order the user sees (``visible``), renumbering the group first so equal positions cannot
    make a move a no-op."""
    if not may_edit(user, folder):
        raise NotAllowed("Only supervisors reorder a shared folder" if folder.team_id else "Only its owner reorders this folder")
    group = [f for f in visible if (f.team_id is None) == (folder.team_id is None)]
    index = next((i for i, f in enumerate(group) if f.id == folder.id), None)
    other = None if index is None else index + direction
    if other is None or not 0 <= other < len(group):
        return
    for i, f in enumerate(group):
        f.position = i
    folder.position, group[other].position = other, index
    session.flush()


def as_json(folder: Folder) -> dict[str, Any]:
    return {"id": folder.id, "name": folder.name, "args": folder.args or {}, "team_id": folder.team_id,
            "shared": folder.team_id is not None, "owner_id": folder.owner_id, "position": folder.position}


# -- which folder a request is in, and every folder's number (the pages and the API share these) --

# Arguments that narrow a list without choosing what it is: a request with only these stays in the
# default folder.
_NOT_FILTERS = {"cursor", "limit", "folder"}


def visible_folders(session: Session, user: Any):
    """The custom folders ``user`` sees: their own personal ones first, then those shared with a
    team they are in (every shared one, for those who see every team's work), each group in its
    own order."""
    shared = Folder.team_id.is_not(None)
    if not visibility.sees_all(user):
        shared = Folder.team_id.in_(select(team_members.c.team_id).where(team_members.c.user_id == user.id))
    return (select(Folder).where(or_(and_(Folder.owner_id == user.id, Folder.team_id.is_(None)), shared))
            .order_by(Folder.team_id.is_not(None), Folder.position, Folder.id))


class UnknownFolder(LookupError):
    """No such folder, or not one this user sees (the same answer: no existence leak)."""


def resolve(session: Session, user: Any, args, default: str | None = DEFAULT) -> tuple[str | None, dict[str, str] | None]:
    """(folder, its arguments) for a request: ``folder=SLUG`` or ``folder=ID``; no folder and no
    filter means ``default`` (the page: Inbox; the API: none); filters without a folder mean no
    folder (a plain filter). Raises ``UnknownFolder``."""
    name = args.get("folder") or None
    if name is None:
        if default is None or any(k not in _NOT_FILTERS and v not in (None, "") for k, v in args.items()):
            return None, None
        name = default
    found = builtin(name)
    if found:
        return found.slug, found.args
    if not name.isdigit() or not 1 <= int(name) <= 2**31 - 1:
        raise UnknownFolder(name)
    folder = session.scalar(visible_folders(session, user).where(Folder.id == int(name)))
    if folder is None:
        raise UnknownFolder(name)
    return str(folder.id), {str(k): str(v) for k, v in (folder.args or {}).items()}


def sidebar(session: Session, user: Any, active: str | None) -> dict:
    """The folders with their numbers, for ``queue/_folders.html``."""
    counts = current_counts(session, user)
    items = [{"id": b.slug, "name": b.name, "key": b.key, "count": counts[b.slug], "custom": False,
              "active": active == b.slug} for b in BUILTINS]
    customs = session.scalars(visible_folders(session, user)).all()
    from .folder_counts import custom_counts

    numbers = custom_counts(session, user, customs)
    custom = [{"id": str(f.id), "name": f.name, "key": None, "count": numbers.get(f.id), "custom": True,
               "shared": f.team_id is not None, "folder": f, "active": active == str(f.id)} for f in customs]
    return {"folder_items": items, "custom_folders": custom}
