"""Support tickets with Resont itself: list (pages), departments, create, read, reply, close."""
from __future__ import annotations

from typing import Any

from flask import Blueprint

from .calls import documented
from .state import ApiError, Ctx, ResontSandbox, to_int

bp = Blueprint("tickets", __name__)
CLOSED = 4      # TICKET_STATUS[4] == "Closed"


@documented(bp, "GET", "/ticket", "ticket.list")
def ticket_list(s: ResontSandbox, ctx: Ctx) -> Any:
    rows = sorted((t for t in s.tickets.values() if t["user_id"] == ctx["user_id"]),
                  key=lambda t: t["id"], reverse=True)
    page = s.paginate(rows, ctx)
    page["data"] = [s.render_ticket(t) for t in page["data"]]
    return page


@documented(bp, "POST", "/ticket", "ticket.create")
def ticket_create(s: ResontSandbox, ctx: Ctx) -> Any:
    # The docs list "content" twice (title and text); we take ``title`` for the first.
    title = str(ctx["params"].get("title") or "").strip()
    content = str(ctx["params"].get("content") or "").strip()
    if not title or not content:
        raise ApiError(400, "The title and content fields are required.")
    if to_int(ctx["params"].get("department_id")) not in {d["id"] for d in s.departments}:
        raise ApiError(400, "The selected department id is invalid.")
    ticket = s.add_ticket(title, content, to_int(ctx["params"]["department_id"]), ctx["user_id"])
    s.write("ticket.create", ticket_id=ticket["id"])
    return ticket


@documented(bp, "GET", "/ticket/departments", "ticket.departments")
def ticket_departments(s: ResontSandbox, ctx: Ctx) -> Any:
    return [dict(d) for d in s.departments]


@documented(bp, "GET", "/ticket/<int:tid>", "ticket.detail")
def ticket_detail(s: ResontSandbox, ctx: Ctx, tid: int) -> Any:
    return s.render_ticket(s.find_ticket(ctx, tid))


@documented(bp, "GET", "/ticket/<int:tid>/meta", "ticket.meta")
def ticket_meta(s: ResontSandbox, ctx: Ctx, tid: int) -> Any:
    s.find_ticket(ctx, tid)
    return [s.render_meta(m) for m in sorted(s.metas.values(), key=lambda m: m["id"])
            if m["ticket_id"] == tid]


@documented(bp, "POST", "/ticket/<int:tid>/meta", "ticket.reply")
def ticket_reply(s: ResontSandbox, ctx: Ctx, tid: int) -> Any:
    ticket = s.find_ticket(ctx, tid)
    content = str(ctx["params"].get("content") or "")
    if ticket["status"] == CLOSED:
        # The docs do not say what a reply to a closed ticket gets; the sandbox refuses it (a
        # validation error), as the product does before sending.
        raise ApiError(400, "The ticket is closed.")
    if not content.strip():
        raise ApiError(400, "The content field is required.")
    mid = s.next_id(s.metas)
    s.metas[mid] = {"id": mid, "ticket_id": tid, "content": content, "date": s.tick(),
                       "attachment": None, "report": None, "staff": False}
    ticket["status"] = 3
    s.write("ticket.reply", ticket_id=tid, meta_id=mid, content=content)
    return s.render_ticket(ticket)


@documented(bp, "PUT", "/ticket/<int:tid>/close", "ticket.close")
def ticket_close(s: ResontSandbox, ctx: Ctx, tid: int) -> Any:
    ticket = s.find_ticket(ctx, tid)
    ticket["status"] = CLOSED
    s.write("ticket.close", ticket_id=tid)
    return {"success": True}
