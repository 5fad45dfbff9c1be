"""The keyword-list and interactor-list settings pages, and "Add to a list" on the ticket's author card.

Both pages are the same page over two models (``inbox.settings.rule_lists`` holds the rules): list,
create, rename, edit entries, import pasted text, delete. Ordinary forms with a CSRF token that
redirect; a refused one is re-rendered with its message next to the form it came from (422), and
nothing is written. A list that a rule reads cannot be deleted (the rule would stop running):
the page names the rules to change first.

Interactor entries are written one per line as ``@handle``, ``handle`` or ``id:12345``, and may
end with ``channel:ID`` to match on one channel only (several in a line: ``id:1 @anna channel:2``).
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from inbox import hx
from inbox.auth.permissions import permission_required
from inbox.connectors.base import Rejected
from inbox.db import get_session
from inbox.queue.pane import load_ticket
from models import Channel, InteractorList, KeywordList, Rule

from . import rule_lists as service

bp = Blueprint("rule_lists", __name__)

PAGES = {"keyword-lists": KeywordList, "interactor-lists": InteractorList}
TEMPLATES = {KeywordList: "settings/keyword_lists.html", InteractorList: "settings/interactor_lists.html"}
CONDITION_KEYS = {KeywordList: "keywordList", InteractorList: "interactorList"}


def _route(suffix: str, method: str):
    """Register the view on both pages' paths (explicit paths; ``kind`` comes as a default)."""
    def decorator(view):
        for kind in PAGES:
            bp.add_url_rule(f"/settings/{kind}{suffix}", endpoint=view.__name__, view_func=view,
                            methods=[method], defaults={"kind": kind})
        return view
    return decorator


def _model(kind: str) -> type:
    if kind not in PAGES:
        abort(404)
    return PAGES[kind]


def rules_using(session, model: type) -> dict[int, list[Rule]]:
    """List id → the rules whose conditions read it (the page shows them; delete refuses them)."""
    key, used = CONDITION_KEYS[model], {}
    for rule in session.scalars(select(Rule).order_by(Rule.weight, Rule.id)):
        for condition in rule.conditions or []:
            ref = (condition.get("config") or {}).get(key) if isinstance(condition, dict) else None
            if ref is not None and str(ref).isdigit() and rule not in used.setdefault(int(ref), []):
                used[int(ref)].append(rule)
    return used


def member_line(member: dict[str, Any]) -> str:
    parts = []
    if member.get("external_id"):
        parts.append(f"id:{member['external_id']}")
    if member.get("username"):
        parts.append(f"@{member['username']}")
    if member.get("channel_id"):
        parts.append(f"channel:{member['channel_id']}")
    return " ".join(parts)


def parse_members(text: str, channel_id: int | None = None) -> list[dict[str, Any]]:
    """Lines of ``id:123`` / ``@handle`` / ``handle`` with an optional ``channel:ID`` (or the
    form's channel) into the service's member objects (which it then checks)."""
    members = []
    for line in text.splitlines():
        entry: dict[str, Any] = {}
        for token in line.split():
            lowered = token.lower()
            if lowered.startswith("channel:"):
                value = token[8:]
                if not value.isdigit():
                    raise Rejected("invalid_value", f"{token!r}: a channel is written channel:ID (a number)")
                entry["channel_id"] = int(value)
            elif lowered.startswith("id:"):
                entry["external_id"] = token[3:]
            else:
                entry["username"] = token.removeprefix("@")
        if not entry:
            continue
        if "channel_id" not in entry and channel_id is not None:
            entry["channel_id"] = channel_id
        if not (entry.get("external_id") or entry.get("username")):
            raise Rejected("invalid_value", f"{line.strip()!r} names no @handle or id:")
        members.append(entry)
    return members


def _channel_choice() -> int | None:
    value = request.form.get("channel_id", "")
    if value == "":
        return None
    if not value.isdigit():
        raise Rejected("invalid_value", "Choose a channel from the list")
    return int(value)


# -- pages -----------------------------------------------------------------------------------------

def _page(model: type, status: int = 200, error: str | None = None, error_for: str | None = None, form=None):
    session = get_session()
    channels = session.scalars(select(Channel).order_by(Channel.name, Channel.id)).all()
    return render_template(TEMPLATES[model], lists=service.all_lists(session, model),
                           used=rules_using(session, model), channels=channels,
                           channel_names={c.id: c.name for c in channels}, member_line=member_line,
                           error=error, error_for=error_for, form=form or {}), status


def _row(model: type, list_id: int):
    row = get_session().get(model, list_id)
    if row is None:
        abort(404)
    return row


def _refused(model: type, exc: Rejected, key: str, form=None):
    get_session().rollback()
    return _page(model, 422, exc.message, key, form)


def _done(kind: str, message: str, anchor: str = ""):
    get_session().commit()
    flash(message)
    return redirect(url_for("rule_lists.page", kind=kind) + anchor)


@_route("", "GET")
@permission_required("EditRules")
def page(kind: str):
    return _page(_model(kind))


@_route("", "POST")
@permission_required("EditRules")
def create(kind: str):
    model, session, form = _model(kind), get_session(), request.form
    try:
        data: dict[str, Any] = {"name": form.get("name", "")}
        if model is KeywordList:
            data["text"] = form.get("entries", "")
        else:
            data["members"] = parse_members(form.get("entries", ""), _channel_choice())
        row = service.create(session, model, data)
    except Rejected as exc:
        return _refused(model, exc, "new", form)
    return _done(kind, f"Created the {service.WHAT[model]} {row.name}.", f"#list-{row.id}")


@_route("/<int:list_id>", "POST")
@permission_required("EditRules")
def update(kind: str, list_id: int):
    """Rename and replace the entries (the edit form shows them all, one per line)."""
    model, session, form = _model(kind), get_session(), request.form
    row = _row(model, list_id)
    try:
        data: dict[str, Any] = {"name": form["name"]} if "name" in form else {}
        if "entries" in form:
            if model is KeywordList:
                data["keywords"] = form["entries"].splitlines()
            else:
                data["members"] = parse_members(form["entries"])
        service.update(session, row, data)
    except Rejected as exc:
        return _refused(model, exc, f"list-{list_id}")
    return _done(kind, f"Saved the {service.WHAT[model]} {row.name}.", f"#list-{row.id}")


@_route("/<int:list_id>/import", "POST")
@permission_required("EditRules")
def import_text(kind: str, list_id: int):
    """Pasted text is added to the list (the service's import); interactors may name a channel."""
    model, session, form = _model(kind), get_session(), request.form
    row = _row(model, list_id)
    before = len(row.keywords if model is KeywordList else row.members or [])
    try:
        text = form.get("text", "")
        channel_id = _channel_choice() if model is InteractorList else None
        if model is InteractorList and (channel_id is not None or "channel:" in text.lower()):
            service.update(session, row, {"members": [*(row.members or []), *parse_members(text, channel_id)]})
        else:
            service.import_text(session, row, text)
    except Rejected as exc:
        return _refused(model, exc, f"import-{list_id}")
    after = len(row.keywords if model is KeywordList else row.members or [])
    return _done(kind, f"Added {after - before} to {row.name} ({after} in all).", f"#list-{row.id}")


@_route("/<int:list_id>/delete", "POST")
@permission_required("EditRules")
def delete(kind: str, list_id: int):
    model, session = _model(kind), get_session()
    row = _row(model, list_id)
    users = rules_using(session, model).get(row.id)
    if users:
        names = ", ".join(r.name for r in users)
        return _page(model, 422, f"{row.name} is used by the rules {names}: change them first.", f"list-{list_id}")
    name = row.name
    session.delete(row)
    return _done(kind, f"Deleted the {service.WHAT[model]} {name}.")


# -- the ticket's author card: "Add to a list" -----------------------------------------------------

def is_member(members: list[dict[str, Any]], channel_id: int, external_id: str, username: str) -> bool:
    for m in members or []:
        if m.get("channel_id") not in (None, channel_id):
            continue
        if (m.get("external_id") and m["external_id"] == external_id) or (
                m.get("username") and username and m["username"].casefold() == username.casefold()):
            return True
    return False


def _author_card(ticket, error: str | None = None, done: str | None = None, status: int = 200):
    person = ticket.interactor
    if person is None:
        abort(404)
    lists = service.all_lists(get_session(), InteractorList)
    inside = [l for l in lists if is_member(l.members, ticket.channel_id, person.external_id, person.username)]
    return render_template("queue/_author_lists.html", ticket=ticket, inside=inside,
                           others=[l for l in lists if l not in inside], error=error, done=done), status


@bp.get("/tickets/<int:ticket_id>/author-lists")
@permission_required("EditRules")
def author_lists(ticket_id: int):
    return _author_card(load_ticket(ticket_id))


@bp.post("/tickets/<int:ticket_id>/author-lists")
@permission_required("EditRules")
def add_author(ticket_id: int):
    """Append the author (this channel, their network id and handle) to the chosen list."""
    session, ticket = get_session(), load_ticket(ticket_id)
    person = ticket.interactor
    if person is None:
        abort(404)
    value = request.form.get("list_id", "")
    row = session.get(InteractorList, int(value)) if value.isdigit() and int(value) < 2**31 else None
    if row is None:
        return _author_card(ticket, error="Choose an interactor list.", status=422)
    if is_member(row.members, ticket.channel_id, person.external_id, person.username):
        return _author_card(ticket, done=f"Already in {row.name}.")
    entry = {"channel_id": ticket.channel_id, "external_id": person.external_id or None,
             "username": person.username or None}
    try:
        service.update(session, row, {"members": [*(row.members or []), entry]})
    except Rejected as exc:
        session.rollback()
        return _author_card(ticket, error=exc.message, status=422)
    session.commit()
    if not hx.is_htmx():        # a plain form post (no script): back to the ticket
        flash(f"Added the author to {row.name}.")
        return redirect(url_for("queue.ticket", ticket_id=ticket.id))
    return _author_card(ticket, done=f"Added to {row.name}.")
