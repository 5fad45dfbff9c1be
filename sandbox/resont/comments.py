"""Comments on the accounts' posts: list (cursor), read, reply, like, tag, delete, subscribe."""
from __future__ import annotations

from typing import Any

from flask import Blueprint

from .accounts import subscribe
from .calls import documented
from .state import ApiError, as_list, COMMENT_MAX, Ctx, ResontSandbox, to_int

bp = Blueprint("comments", __name__)


@documented(bp, "GET", "/comment", "comment.list")
def comment_list(s: ResontSandbox, ctx: Ctx) -> Any:
    params = ctx["params"]
    rows = [c for c in s.comments.values() if c["user_id"] == ctx["user_id"]]
    if params.get("tag"):
        wanted = {to_int(t) for t in as_list(params["tag"])}
        rows = [c for c in rows if wanted & set(c["tag_ids"])]
    if params.get("status"):
        rows = [c for c in rows if str(c["status"]) == str(params["status"])]
    if params.get("search"):
        rows = [c for c in rows if str(params["search"]).lower() in c["text"].lower()]
    for key, keep in (("date_from", lambda d, x: d >= x), ("date_to", lambda d, x: d <= x)):
        if params.get(key):
            bound = s.parse_date(params[key], ctx["user_id"])
            rows = [c for c in rows if keep(c["date"], bound)]
    page = s.cursor_page(rows, "date", ctx)
    page["data"] = [s.render_comment(c, ctx["expand"]) for c in page["data"]]
    return page


@documented(bp, "POST", "/comment/subscribe", "comment.subscribe")
def comment_subscribe(s: ResontSandbox, ctx: Ctx) -> Any:
    return subscribe(s, ctx, "comment_subscribe", "comment.subscribe")


@documented(bp, "GET", "/comment/user/<int:social_user_id>", "comment.user")
def comment_user(s: ResontSandbox, ctx: Ctx, social_user_id: int) -> Any:
    user = s.render_social_user(social_user_id)
    if user is None:
        raise ApiError(404)
    return user


@documented(bp, "GET", "/comment/<int:cid>", "comment.detail")
def comment_detail(s: ResontSandbox, ctx: Ctx, cid: int) -> Any:
    return s.render_comment(s.find_comment(ctx, cid), ctx["expand"])


@documented(bp, "GET", "/comment/<int:cid>/replies", "comment.replies")
def comment_replies(s: ResontSandbox, ctx: Ctx, cid: int) -> Any:
    s.find_comment(ctx, cid)
    rows = sorted((c for c in s.comments.values() if c["from"] == cid), key=lambda c: (c["date"], c["id"]))
    page = s.paginate(rows, ctx)
    page["data"] = [s.render_comment(c, ctx["expand"]) for c in page["data"]]
    return page


@documented(bp, "GET", "/comment/<int:cid>/post", "comment.post")
def comment_post(s: ResontSandbox, ctx: Ctx, cid: int) -> Any:
    post = s.posts.get(s.find_comment(ctx, cid)["post_ref"])
    if post is None:
        raise ApiError(404)
    return s.render_post(post)


@documented(bp, "POST", "/comment/<int:cid>/reply", "comment.reply")
def comment_reply(s: ResontSandbox, ctx: Ctx, cid: int) -> Any:
    parent = s.find_comment(ctx, cid)
    text, username = str(ctx["params"].get("comment") or ""), str(ctx["params"].get("username") or "")
    if not text.strip():
        raise ApiError(400, "The comment field is required.")
    if len(text) > COMMENT_MAX:
        raise ApiError(400, f"The comment may not be greater than {COMMENT_MAX} characters.")
    if not username.strip():
        raise ApiError(400, "The username field is required.")
    if username.lstrip("@") != s.social_users[parent["social_user_id"]]["username"]:
        raise ApiError(400, "The username does not match the author of the comment.")
    if not parent["can_reply"]:
        raise ApiError(403, "This comment cannot be replied to.")
    account = s.accounts[parent["account_id"]]
    reply = s.put_comment(s.next_id(s.comments), account["id"], parent["post_ref"], account["own"],
                              text, s.tick(), cid)
    s.write("comment.reply", comment_id=cid, reply_id=reply["id"], comment=text, username=username,
                account_id=account["id"])
    return s.render_comment(reply, ctx["expand"])


@documented(bp, "PUT", "/comment/<int:cid>/like", "comment.like")
def comment_like(s: ResontSandbox, ctx: Ctx, cid: int) -> Any:
    comment = s.find_comment(ctx, cid)
    if not comment["can_like"]:
        raise ApiError(400, "This comment cannot be liked.")
    comment["like"] = 0 if comment["like"] else 1
    s.write("comment.like", comment_id=cid, liked=bool(comment["like"]), account_id=comment["account_id"])
    return {"success": True}


@documented(bp, "POST", "/comment/<int:cid>/tag", "comment.tag")
def comment_tag(s: ResontSandbox, ctx: Ctx, cid: int) -> Any:
    comment = s.find_comment(ctx, cid)
    ids = [to_int(t) for t in as_list(ctx["params"].get("tag"))]
    if any(t not in s.comment_tags for t in ids):
        raise ApiError(400, "The selected tag is invalid.")
    comment["tag_ids"] = ids
    s.write("comment.tag", comment_id=cid, tag_ids=ids, account_id=comment["account_id"])
    return s.render_comment(comment, ctx["expand"])


@documented(bp, "DELETE", "/comment/<int:cid>", "comment.delete")
def comment_delete(s: ResontSandbox, ctx: Ctx, cid: int) -> Any:
    comment = s.find_comment(ctx, cid)
    if not comment["can_delete"]:
        raise ApiError(403, "This comment cannot be deleted.")
    del s.comments[cid]
    s.write("comment.delete", comment_id=cid, account_id=comment["account_id"])
    return {"success": True}
