"""Direct-message conversations and their messages: list (cursor), read, reply (with an attachment), react, tag, subscribe."""
from __future__ import annotations

import secrets
from typing import Any

from flask import Blueprint

from .accounts import subscribe
from .calls import documented
from .state import ApiError, as_list, ATTACHMENT_MAX, Ctx, MESSAGE_MAX, ResontSandbox, to_int

bp = Blueprint("conversations", __name__)


@documented(bp, "GET", "/conversation", "conversation.list")
def conversation_list(s: ResontSandbox, ctx: Ctx) -> Any:
    params = ctx["params"]
    rows = [dict(c, update_date=s.conversation_date(c)) for c in s.conversations.values()
            if s.accounts[c["account_id"]]["user_id"] == ctx["user_id"]]
    if params.get("tag"):
        wanted = {to_int(t) for t in as_list(params["tag"])}
        rows = [c for c in rows if wanted & set(c["tag_ids"])]
    if params.get("status") not in (None, ""):
        rows = [c for c in rows if str(c["status"]) == str(params["status"])]
    if params.get("search"):
        needle = str(params["search"]).lower()
        rows = [c for c in rows if any(needle in m["text"].lower() for m in s.conversation_messages(c["id"]))]
    page = s.cursor_page(rows, "update_date", ctx)
    page["data"] = [s.render_conversation(s.conversations[c["id"]], ctx["expand"]) for c in page["data"]]
    return page


@documented(bp, "POST", "/conversation/subscribe", "conversation.subscribe")
def conversation_subscribe(s: ResontSandbox, ctx: Ctx) -> Any:
    return subscribe(s, ctx, "direct_subscribe", "conversation.subscribe")


@documented(bp, "GET", "/conversation/message/<int:mid>", "conversation.message")
def conversation_message(s: ResontSandbox, ctx: Ctx, mid: int) -> Any:
    return s.render_message(s.find_message(ctx, mid), ctx["expand"])


@documented(bp, "PUT", "/conversation/message/<int:mid>/reaction", "conversation.reaction")
def conversation_reaction(s: ResontSandbox, ctx: Ctx, mid: int) -> Any:
    message = s.find_message(ctx, mid)
    if ctx["params"].get("type") != "like":
        raise ApiError(400, "The selected type is invalid.")
    if not message["can_reaction"]:
        raise ApiError(400, "This message cannot get a reaction.")
    own = s.accounts[message["account_id"]]["own"]
    if own in message["reactions"]:
        message["reactions"].remove(own)
    else:
        message["reactions"].append(own)
    s.write("conversation.reaction", message_id=mid, type="like", liked=own in message["reactions"],
                account_id=message["account_id"])
    return {"success": True}


@documented(bp, "GET", "/conversation/<int:cid>", "conversation.detail")
def conversation_detail(s: ResontSandbox, ctx: Ctx, cid: int) -> Any:
    return s.render_conversation(s.find_conversation(ctx, cid), ctx["expand"])


@documented(bp, "GET", "/conversation/<int:cid>/messages", "conversation.messages")
def conversation_messages(s: ResontSandbox, ctx: Ctx, cid: int) -> Any:
    s.find_conversation(ctx, cid)
    rows = s.conversation_messages(cid)
    for key, keep in (("date_from", lambda d, x: d >= x), ("date_to", lambda d, x: d <= x)):
        if ctx["params"].get(key):
            bound = s.parse_date(ctx["params"][key], ctx["user_id"])
            rows = [m for m in rows if keep(m["date"], bound)]
    return [s.render_message(m, ctx["expand"]) for m in rows]


@documented(bp, "POST", "/conversation/<int:cid>/reply", "conversation.reply")
def conversation_reply(s: ResontSandbox, ctx: Ctx, cid: int) -> Any:
    conversation = s.find_conversation(ctx, cid)
    content = str(ctx["params"].get("content") or "")
    upload = ctx["files"].get("attachment")
    if not content.strip() and upload is None:
        raise ApiError(400, "The content field is required when attachment is not present.")
    if len(content) > MESSAGE_MAX:
        raise ApiError(400, f"The content may not be greater than {MESSAGE_MAX} characters.")
    attachment = None
    if upload is not None:
        filename, data, content_type = upload
        if not data or len(data) > ATTACHMENT_MAX:
            raise ApiError(400, "The attachment must be a file of at most 10 MB.")
        key = secrets.token_hex(8)
        s.files[key] = (data, content_type)
        attachment = f"{ctx['url'].split('/sandbox/resont/')[0]}/sandbox/resont/files/{key}/{filename}"
    account = s.accounts[conversation["account_id"]]
    message = s.put_message(cid, account["own"], content, s.tick(), attachment)
    s.write("conversation.reply", conversation_id=cid, message_id=message["id"], content=content,
                attachment=(ctx["files"]["attachment"][0], len(ctx["files"]["attachment"][1]),
                            ctx["files"]["attachment"][2]) if upload else None, account_id=account["id"])
    return s.render_message(message, ctx["expand"])


@documented(bp, "POST", "/conversation/<int:cid>/tag", "conversation.tag")
def conversation_tag(s: ResontSandbox, ctx: Ctx, cid: int) -> Any:
    conversation = s.find_conversation(ctx, cid)
    ids = [to_int(t) for t in as_list(ctx["params"].get("tag"))]
    if any(t not in s.conversation_tags for t in ids):
        raise ApiError(400, "The selected tag is invalid.")
    conversation["tag_ids"] = ids
    s.write("conversation.tag", conversation_id=cid, tag_ids=ids, account_id=conversation["account_id"])
    return s.render_conversation(conversation, ctx["expand"])
