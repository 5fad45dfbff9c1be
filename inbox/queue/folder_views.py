"""Folders in the page: which folder a request is in, and the sidebar with every folder's number."""
from __future__ import annotations

from typing import Any

from flask import abort, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import Session

from inbox import fields, hx
from inbox.auth.permissions import permission_required
from inbox.db import get_session
from models import Folder, Team

from . import bp
from . import folder_service
from .folder_service import UnknownFolder, resolve, sidebar, visible_folders  # noqa: F401  (the pages' names)
from .folders import BUILTINS

def resolve_or_404(session: Session, user: Any, args) -> tuple[str | None, dict[str, str] | None]:
    try:
        return resolve(session, user, args)
    except UnknownFolder:
        abort(404)


@bp.get("/queue/folders")
@permission_required("ViewTickets")
def folders_fragment():
    """Just the sidebar (live updates refresh the numbers with it)."""
    session = get_session()
    active = request.args.get("folder") or None
    return hx.fragment("queue/_folders.html", "folders", **sidebar(session, current_user, active))


def _editable(session: Session, folder_id: int) -> Folder:
    folder = session.scalar(visible_folders(session, current_user).where(Folder.id == folder_id))
    if folder is None:
        abort(404)
    return folder


def _manage_page(error: str | None = None, status: int = 200, name: str = ""):
    session = get_session()
    folders = session.scalars(visible_folders(session, current_user)).all()
    teams = session.scalars(select(Team).order_by(Team.name)).all() if current_user.can(folder_service.SUPERVISE) else []
    return render_template("queue/folders.html", folders=folders, teams=teams, error=error, name=name,
                           may_edit=lambda f: folder_service.may_edit(current_user, f),
                           builtins=BUILTINS), status


@bp.get("/folders")
@permission_required("ViewTickets")
def manage():
    """The user's custom folders: rename, share with a team, reorder, delete."""
    return _manage_page()


def _form_team() -> int | None:
    raw = request.form.get("team_id") or ""
    if not raw:
        return None
    if not raw.isdigit() or not 1 <= int(raw) <= 2**31 - 1:
        raise fields.Rejected("invalid_value", "Pick a team from the list")
    return int(raw)


@bp.post("/folders")
@permission_required("ViewTickets")
def create():
    """"Save as folder" under the sidebar: the current view's filters under a name."""
    session = get_session()
    args = {k[len("arg_"):]: v for k, v in request.form.items() if k.startswith("arg_")}
    try:
        checked = folder_service.values({"name": request.form.get("name", ""), "args": args,
                                         "team_id": _form_team()}, partial=False)
        folder = folder_service.create(session, current_user, checked)
    except (fields.Rejected, folder_service.NotAllowed) as exc:
        session.rollback()
        return _manage_page(str(exc), 422 if isinstance(exc, fields.Rejected) else 403, request.form.get("name", ""))
    session.commit()
    return redirect(url_for("queue.index", folder=folder.id))


@bp.post("/folders/<int:folder_id>")
@permission_required("ViewTickets")
def change(folder_id: int):
    """Rename, share (or make personal), move up / down, or delete one folder."""
    session = get_session()
    folder = _editable(session, folder_id)
    action = request.form.get("action", "")
    try:
        if action == "rename":
            folder_service.update(session, current_user, folder,
                                  folder_service.values({"name": request.form.get("name", "")}, partial=True))
        elif action == "share":
            folder_service.update(session, current_user, folder,
                                  folder_service.values({"team_id": _form_team()}, partial=True))
        elif action in ("up", "down"):
            visible = list(session.scalars(visible_folders(session, current_user)))
            folder_service.move(session, current_user, folder, -1 if action == "up" else 1, visible)
        elif action == "delete":
            folder_service.delete(session, current_user, folder)
        else:
            raise fields.Rejected("invalid_value", "Unknown change")
    except (fields.Rejected, folder_service.NotAllowed) as exc:
        session.rollback()
        return _manage_page(str(exc), 422 if isinstance(exc, fields.Rejected) else 403)
    session.commit()
    return redirect(url_for("queue.manage"))
