"""The JSON API of tags and the category tree (``/api/v1/tags``, ``/api/v1/categories``).

Reading needs ``ViewCategories`` (agents pick tags and categories); changing needs
``EditCategories`` (admins; SocialHub has no separate tag permission). The rules live in
``inbox.settings.taxonomy``; its ``Rejected`` answers 422 through the blueprint's error handlers.
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, g, jsonify, request

from inbox.auth.permissions import api_permission
from inbox.db import get_session
from inbox.errors import ApiError, register_json_errors
from inbox.settings import taxonomy
from models import Category, Tag

from .views import json_body

bp = Blueprint("api_taxonomy", __name__, url_prefix="/api/v1")
register_json_errors(bp)

TAG_FIELDS = {"name", "color"}
CATEGORY_FIELDS = {"name", "parent_id", "description", "position", "hidden"}


def tag_json(tag: Tag, count: int | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"id": tag.id, "name": tag.name, "color": tag.color}
    if count is not None:
        body["ticket_count"] = count
    return body


def category_json(node: Category, count: int | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"id": node.id, "name": node.name, "parent_id": node.parent_id,
                            "description": node.description or "", "position": node.position,
                            "hidden": bool(node.hidden)}
    if count is not None:
        body["ticket_count"] = count
    return body


def _only(body: dict, allowed: set[str]) -> dict:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise ApiError(422, "unknown_field", f"Unknown field(s): {', '.join(unknown)}; "
                                             f"this takes {', '.join(sorted(allowed))}")
    return body


def _tag(tag_id: int) -> Tag:
    tag = taxonomy.get_tag(get_session(), tag_id)
    if tag is None:
        raise ApiError(404, "not_found", f"No tag {tag_id}")
    return tag


def _category(category_id: int) -> Category:
    node = taxonomy.get_category(get_session(), category_id)
    if node is None:
        raise ApiError(404, "not_found", f"No category {category_id}")
    return node


# -- tags --------------------------------------------------------------------------------------

@bp.get("/tags")
@api_permission("ViewCategories")
def list_tags():
    session = get_session()
    q = request.args.get("q", "")
    if len(q) > taxonomy.TAG_NAME_MAX:
        raise ApiError(400, "invalid_q", f"q must be at most {taxonomy.TAG_NAME_MAX} characters")
    counts = taxonomy.tag_counts(session, g.api_user)
    return jsonify(data=[tag_json(t, counts.get(t.id, 0)) for t in taxonomy.all_tags(session, q.strip() or None)])


@bp.get("/tags/<int:tag_id>")
@api_permission("ViewCategories")
def show_tag(tag_id: int):
    tag = _tag(tag_id)
    return jsonify(tag_json(tag, taxonomy.tag_counts(get_session(), g.api_user).get(tag.id, 0)))


@bp.post("/tags")
@api_permission("EditCategories")
def create_tag():
    body, session = _only(json_body(), TAG_FIELDS), get_session()
    if "name" not in body:
        raise ApiError(422, "missing_field", "name is required")
    tag = taxonomy.create_tag(session, body["name"], body.get("color"))
    session.commit()
    return jsonify(tag_json(tag)), 201


@bp.patch("/tags/<int:tag_id>")
@api_permission("EditCategories")
def update_tag(tag_id: int):
    body, session = _only(json_body(), TAG_FIELDS), get_session()
    tag = taxonomy.update_tag(session, _tag(tag_id), body)
    session.commit()
    return jsonify(tag_json(tag))


@bp.delete("/tags/<int:tag_id>")
@api_permission("EditCategories")
def delete_tag(tag_id: int):
    session = get_session()
    taxonomy.delete_tag(session, _tag(tag_id))
    session.commit()
    return "", 204


@bp.post("/tags/<int:tag_id>/merge")
@api_permission("EditCategories")
def merge_tag(tag_id: int):
    """``{into_id}``: the tickets of this tag get that one; this tag is deleted. Answers the survivor."""
    body, session = _only(json_body(), {"into_id"}), get_session()
    source = _tag(tag_id)
    if "into_id" not in body:
        raise ApiError(422, "missing_field", "into_id is required")
    into = taxonomy.get_tag(session, body["into_id"])
    if into is None:
        raise ApiError(422, "unknown_tag", f"There is no tag {body['into_id']!r} to merge into")
    taxonomy.merge_tags(session, source, into)
    session.commit()
    return jsonify(tag_json(into, taxonomy.tag_counts(session, g.api_user).get(into.id, 0)))


# -- categories --------------------------------------------------------------------------------

@bp.get("/categories")
@api_permission("ViewCategories")
def list_categories():
    """Depth-first, siblings by position; ``ticket_count`` includes the subtree."""
    session = get_session()
    counts = taxonomy.category_counts(session, g.api_user)
    return jsonify(data=[category_json(n.category, counts.get(n.category.id, 0)) for n in taxonomy.tree(session)])


@bp.get("/categories/<int:category_id>")
@api_permission("ViewCategories")
def show_category(category_id: int):
    node = _category(category_id)
    return jsonify(category_json(node, taxonomy.category_counts(get_session(), g.api_user).get(node.id, 0)))


@bp.post("/categories")
@api_permission("EditCategories")
def create_category():
    body, session = _only(json_body(), CATEGORY_FIELDS), get_session()
    if "name" not in body:
        raise ApiError(422, "missing_field", "name is required")
    node = taxonomy.create_category(session, body["name"], parent_id=body.get("parent_id"),
                                    description=body.get("description"), hidden=body.get("hidden"),
                                    position=body.get("position"))
    session.commit()
    return jsonify(category_json(node)), 201


@bp.patch("/categories/<int:category_id>")
@api_permission("EditCategories")
def update_category(category_id: int):
    """Rename, describe, hide, move (``parent_id``; a cycle is 422 ``cycle``), reorder (``position``)."""
    body, session = _only(json_body(), CATEGORY_FIELDS), get_session()
    node = taxonomy.update_category(session, _category(category_id), body)
    session.commit()
    return jsonify(category_json(node))


@bp.delete("/categories/<int:category_id>")
@api_permission("EditCategories")
def delete_category(category_id: int):
    """Optional body ``{reassign_to}``: its tickets move there. Its children move up to its parent."""
    body = _only(json_body(), {"reassign_to"}) if request.get_data() else {}
    session = get_session()
    taxonomy.delete_category(session, _category(category_id), body.get("reassign_to"))
    session.commit()
    return "", 204


@bp.post("/categories/import")
@api_permission("EditCategories")
def import_categories():
    """``{text, parent_id?}``: one name per line, two spaces or a tab per level. Existing nodes are
    reused; answers 201 with the nodes created and the whole tree."""
    body, session = _only(json_body(), {"text", "parent_id"}), get_session()
    if "text" not in body:
        raise ApiError(422, "missing_field", "text is required")
    created = taxonomy.import_outline(session, body["text"], body.get("parent_id"))
    session.commit()
    return jsonify(created=[category_json(c) for c in created],
                   data=[category_json(n.category) for n in taxonomy.tree(session)]), 201
