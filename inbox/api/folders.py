"""``/api/v1/folders``: the user's custom folders (list, create, read, update, delete) and every
folder's number (``/api/v1/folders/counts``). Shape: ``{id, name, args{}, team_id, shared,
owner_id, position}``; a folder's tickets are ``GET /api/v1/tickets?folder=ID`` (or a built-in
slug: ``folder=mine``)."""
from __future__ import annotations

from flask import g, jsonify

from inbox.auth.permissions import api_permission
from inbox.db import get_session
from inbox.errors import ApiError
from inbox.queue import folder_service as service
from inbox.queue.folder_service import sidebar, visible_folders
from models import Folder

from .views import bp, json_body


def _folder(folder_id: int) -> Folder:
    session = get_session()
    folder = session.scalar(visible_folders(session, g.api_user).where(Folder.id == folder_id))
    if folder is None:
        raise ApiError(404, "not_found", f"No folder {folder_id}")
    return folder


def _forbidden(exc: service.NotAllowed) -> ApiError:
    return ApiError(403, "insufficient_permissions", str(exc))


@bp.get("/folders")
@api_permission("ViewTickets")
def list_folders():
    session = get_session()
    return jsonify(data=[service.as_json(f) for f in session.scalars(visible_folders(session, g.api_user))])


@bp.get("/folders/counts")
@api_permission("ViewTickets")
def folder_counts():
    """Every folder the user has, built-in and custom, with its number (null: not counted)."""
    found = sidebar(get_session(), g.api_user, None)
    data = [{"id": f["id"], "name": f["name"], "builtin": True, "key": f["key"], "count": f["count"]}
            for f in found["folder_items"]]
    data += [{"id": int(f["id"]), "name": f["name"], "builtin": False, "count": f["count"]}
             for f in found["custom_folders"]]
    return jsonify(data=data)


@bp.post("/folders")
@api_permission("ViewTickets")
def create_folder():
    session = get_session()
    try:
        folder = service.create(session, g.api_user, service.values(json_body(), partial=False))
    except service.NotAllowed as exc:
        raise _forbidden(exc) from None
    session.commit()
    return jsonify(service.as_json(folder)), 201


@bp.get("/folders/<int:folder_id>")
@api_permission("ViewTickets")
def show_folder(folder_id: int):
    return jsonify(service.as_json(_folder(folder_id)))


@bp.patch("/folders/<int:folder_id>")
@api_permission("ViewTickets")
def update_folder(folder_id: int):
    session, folder = get_session(), _folder(folder_id)
    try:
        service.update(session, g.api_user, folder, service.values(json_body(), partial=True))
    except service.NotAllowed as exc:
        raise _forbidden(exc) from None
    session.commit()
    return jsonify(service.as_json(folder))


@bp.delete("/folders/<int:folder_id>")
@api_permission("ViewTickets")
def delete_folder(folder_id: int):
    session, folder = get_session(), _folder(folder_id)
    try:
        service.delete(session, g.api_user, folder)
    except service.NotAllowed as exc:
        raise _forbidden(exc) from None
    session.commit()
    return "", 204
