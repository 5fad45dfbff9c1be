"""Comment tags and conversation tags (``/comment-tag``, ``/conversation-tag``): they behave alike."""
from __future__ import annotations

import re
from typing import Any

from flask import Blueprint

from .calls import documented
from .state import ApiError, Ctx, ResontSandbox

bp = Blueprint("tags", __name__)


def tags_of(s: ResontSandbox, kind: str) -> dict[int, dict[str, Any]]:
    return s.comment_tags if kind == "comment" else s.conversation_tags


def tag_list(s: ResontSandbox, ctx: Ctx, kind: str) -> list[dict[str, Any]]:
    return [dict(t) for t in sorted(tags_of(s, kind).values(), key=lambda t: t["id"])
            if t["user_id"] == ctx["user_id"]]


def tag_save(s: ResontSandbox, ctx: Ctx, kind: str, tag_id: int | None = None) -> dict[str, Any]:
    name = str(ctx["params"].get("name") or "").strip()
    if not name:
        raise ApiError(400, "The name field is required.")
    color = str(ctx["params"].get("color") or "#888888")
    if not re.fullmatch(r"#[0-9a-fA-F]{6}", color):
        raise ApiError(400, "The color must be a HEX color code.")
    table = tags_of(s, kind)
    if tag_id is None:
        tag_id = max(s.next_id(s.comment_tags), s.next_id(s.conversation_tags), 31)
    elif tag_id not in table:
        raise ApiError(404)
    table[tag_id] = {"id": tag_id, "name": name, "color": color, "user_id": ctx["user_id"]}
    s.write(f"{kind}_tag.save", tag_id=tag_id, name=name, color=color)
    return dict(table[tag_id])


def tag_detail(s: ResontSandbox, ctx: Ctx, kind: str, tag_id: int) -> dict[str, Any]:
    tag = tags_of(s, kind).get(tag_id)
    if tag is None or tag["user_id"] != ctx["user_id"]:
        raise ApiError(404)
    return dict(tag)


def tag_delete(s: ResontSandbox, ctx: Ctx, kind: str, tag_id: int) -> dict[str, bool]:
    tag_detail(s, ctx, kind, tag_id)
    del tags_of(s, kind)[tag_id]
    s.write(f"{kind}_tag.delete", tag_id=tag_id)
    return {"success": True}


@documented(bp, "GET", "/comment-tag", "comment_tag.list")
def comment_tag_list(s: ResontSandbox, ctx: Ctx) -> Any:
    return tag_list(s, ctx, "comment")


@documented(bp, "POST", "/comment-tag", "comment_tag.create")
def comment_tag_create(s: ResontSandbox, ctx: Ctx) -> Any:
    return tag_save(s, ctx, "comment")


@documented(bp, "GET", "/comment-tag/<int:tag_id>", "comment_tag.detail")
def comment_tag_detail(s: ResontSandbox, ctx: Ctx, tag_id: int) -> Any:
    return tag_detail(s, ctx, "comment", tag_id)


@documented(bp, "POST", "/comment-tag/<int:tag_id>", "comment_tag.edit")
def comment_tag_edit(s: ResontSandbox, ctx: Ctx, tag_id: int) -> Any:
    return tag_save(s, ctx, "comment", tag_id)


@documented(bp, "DELETE", "/comment-tag/<int:tag_id>", "comment_tag.delete")
def comment_tag_delete(s: ResontSandbox, ctx: Ctx, tag_id: int) -> Any:
    return tag_delete(s, ctx, "comment", tag_id)


@documented(bp, "GET", "/conversation-tag", "conversation_tag.list")
def conversation_tag_list(s: ResontSandbox, ctx: Ctx) -> Any:
    return tag_list(s, ctx, "conversation")


@documented(bp, "POST", "/conversation-tag", "conversation_tag.create")
def conversation_tag_create(s: ResontSandbox, ctx: Ctx) -> Any:
    return tag_save(s, ctx, "conversation")


@documented(bp, "GET", "/conversation-tag/<int:tag_id>", "conversation_tag.detail")
def conversation_tag_detail(s: ResontSandbox, ctx: Ctx, tag_id: int) -> Any:
    return tag_detail(s, ctx, "conversation", tag_id)


@documented(bp, "POST", "/conversation-tag/<int:tag_id>", "conversation_tag.edit")
def conversation_tag_edit(s: ResontSandbox, ctx: Ctx, tag_id: int) -> Any:
    return tag_save(s, ctx, "conversation", tag_id)


@documented(bp, "DELETE", "/conversation-tag/<int:tag_id>", "conversation_tag.delete")
def conversation_tag_delete(s: ResontSandbox, ctx: Ctx, tag_id: int) -> Any:
    return tag_delete(s, ctx, "conversation", tag_id)
