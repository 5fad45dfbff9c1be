"""Folders in the page: which folder a request is in, and the sidebar with every folder's number."""
from __future__ import annotations

from typing import Any

from flask import abort, request
from flask_login import current_user
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from inbox import hx, visibility
from inbox.auth.permissions import permission_required
from inbox.db import get_session
from models import Folder, team_members

from . import bp
from .counters import builtin_counts
from .folders import BUILTINS, DEFAULT, builtin

# Arguments that narrow a list without choosing what it is: a request with only these stays in the
# default folder.
_NOT_FILTERS = {"cursor", "limit", "folder"}


def visible_folders(session: Session, user: Any):
    """The custom folders ``user`` sees: their own, and those shared with a team they are in (or
    every shared one, for those who see every team's work)."""
    shared = Folder.team_id.is_not(None)
    if not visibility.sees_all(user):
        shared = Folder.team_id.in_(select(team_members.c.team_id).where(team_members.c.user_id == user.id))
    return select(Folder).where(or_(Folder.owner_id == user.id, shared)).order_by(Folder.position, Folder.id)


def resolve(session: Session, user: Any, args) -> tuple[str | None, dict[str, str] | None]:
    """(folder, its arguments) for a request: ``folder=SLUG`` or ``folder=ID``; no folder and no
    filter means the default folder; filters without a folder mean no folder (a plain filter)."""
    name = args.get("folder") or None
    if name is None:
        if any(k not in _NOT_FILTERS and v not in (None, "") for k, v in args.items()):
            return None, None
        name = DEFAULT
    found = builtin(name)
    if found:
        return found.slug, found.args
    if not name.isdigit() or not 1 <= int(name) <= 2**31 - 1:
        abort(404)
    folder = session.scalar(visible_folders(session, user).where(Folder.id == int(name)))
    if folder is None:
        abort(404)
    return str(folder.id), {str(k): str(v) for k, v in (folder.args or {}).items()}


def sidebar(session: Session, user: Any, active: str | None) -> dict:
    """The folders with their numbers, for ``queue/_folders.html``."""
    counts = builtin_counts(session, user)
    items = [{"id": b.slug, "name": b.name, "key": b.key, "count": counts[b.slug], "custom": False,
              "active": active == b.slug} for b in BUILTINS]
    customs = session.scalars(visible_folders(session, user)).all()
    from .folder_counts import custom_counts

    numbers = custom_counts(session, user, customs)
    custom = [{"id": str(f.id), "name": f.name, "key": None, "count": numbers.get(f.id), "custom": True,
               "shared": f.team_id is not None, "folder": f, "active": active == str(f.id)} for f in customs]
    return {"folder_items": items, "custom_folders": custom}


@bp.get("/queue/folders")
@permission_required("ViewTickets")
def folders_fragment():
    """Just the sidebar (live updates refresh the numbers with it)."""
    session = get_session()
    active = request.args.get("folder") or None
    return hx.fragment("queue/_folders.html", "folders", **sidebar(session, current_user, active))
