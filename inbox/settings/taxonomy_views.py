"""The tags and category-tree settings pages (admins), and the ticket pane's tag and category pickers.

Pages post ordinary forms (CSRF token in each) and redirect; a refused form is re-rendered with
its message next to the form it came from (422). The pickers are htmx partials of the pane: they
go through the ticket actions (``tag``, ``categorize``), so the history is written, permissions
are checked and a provider with tags (Resont) gets the new set, exactly as from the API.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select

import workers
from inbox.auth.permissions import permission_required
from inbox.connectors.base import Rejected
from inbox.db import get_session
from inbox.queue.actions import NotPermitted, queue_ticket_action
from inbox.queue.pane import load_ticket
from models import Channel, Tag, Ticket

from . import taxonomy

bp = Blueprint("taxonomy", __name__)

SEARCH_MAX = 120
SUGGESTIONS = 12


def _int(value: str | None) -> int | None:
    """A form's id field: empty is None, anything but a whole number is refused inline."""
    if value in (None, ""):
        return None
    try:
        return int(value)
    except ValueError:
        raise Rejected("invalid_value", f"{value!r} is not an id") from None


def _search_arg(name: str) -> str:
    q = request.args.get(name, "").strip()
    if len(q) > SEARCH_MAX:
        abort(400, f"{name} must be at most {SEARCH_MAX} characters")
    return q


# -- settings: tags ----------------------------------------------------------------------------

def _tags_page(status: int = 200, error: str | None = None, error_for: str | None = None, form=None):
    session = get_session()
    return render_template("settings/tags.html", tags=taxonomy.all_tags(session), counts=taxonomy.tag_counts(session),
                           palette=taxonomy.PALETTE, error=error, error_for=error_for, form=form or {}), status


@bp.get("/settings/tags")
@permission_required("EditCategories")
def tags():
    return _tags_page()


def _tag_or_404(tag_id: int) -> Tag:
    tag = taxonomy.get_tag(get_session(), tag_id)
    if tag is None:
        abort(404)
    return tag


def _done(endpoint: str, message: str, anchor: str = ""):
    get_session().commit()
    flash(message)
    return redirect(url_for(endpoint) + anchor)


@bp.post("/settings/tags")
@permission_required("EditCategories")
def create_tag():
    session = get_session()
    try:
        tag = taxonomy.create_tag(session, request.form.get("name", ""), request.form.get("color") or None)
    except Rejected as exc:
        session.rollback()
        return _tags_page(422, exc.message, "new", request.form)
    return _done("taxonomy.tags", f"Created the tag {tag.name}.", f"#tag-{tag.id}")


@bp.post("/settings/tags/<int:tag_id>")
@permission_required("EditCategories")
def update_tag(tag_id: int):
    session, tag = get_session(), _tag_or_404(tag_id)
    changes = {k: request.form[k] for k in ("name", "color") if k in request.form}
    try:
        taxonomy.update_tag(session, tag, changes)
    except Rejected as exc:
        session.rollback()
        return _tags_page(422, exc.message, f"tag-{tag_id}")
    return _done("taxonomy.tags", f"Saved the tag {tag.name}.", f"#tag-{tag.id}")


@bp.post("/settings/tags/<int:tag_id>/merge")
@permission_required("EditCategories")
def merge_tag(tag_id: int):
    session, source = get_session(), _tag_or_404(tag_id)
    name = source.name
    try:
        into = taxonomy.get_tag(session, _int(request.form.get("into_id")))
        if into is None:
            raise Rejected("unknown_tag", "Choose the tag to merge into")
        taxonomy.merge_tags(session, source, into)
    except Rejected as exc:
        session.rollback()
        return _tags_page(422, exc.message, f"tag-{tag_id}")
    return _done("taxonomy.tags", f"Merged {name} into {into.name}.", f"#tag-{into.id}")


@bp.post("/settings/tags/<int:tag_id>/delete")
@permission_required("EditCategories")
def delete_tag(tag_id: int):
    session, tag = get_session(), _tag_or_404(tag_id)
    name = tag.name
    taxonomy.delete_tag(session, tag)
    return _done("taxonomy.tags", f"Deleted the tag {name}.")


# -- settings: categories ----------------------------------------------------------------------

def _categories_page(status: int = 200, error: str | None = None, error_for: str | None = None, form=None):
    session = get_session()
    channels = session.scalars(select(Channel).order_by(Channel.name)).all()
    return render_template("settings/categories.html", nodes=taxonomy.tree(session),
                           counts=taxonomy.category_counts(session), channels=channels, error=error,
                           error_for=error_for, form=form or {}), status


@bp.get("/settings/categories")
@permission_required("EditCategories")
def categories():
    return _categories_page()


def _category_or_404(category_id: int):
    node = taxonomy.get_category(get_session(), category_id)
    if node is None:
        abort(404)
    return node


@bp.post("/settings/categories")
@permission_required("EditCategories")
def create_category():
    session, form = get_session(), request.form
    try:
        node = taxonomy.create_category(session, form.get("name", ""), parent_id=_int(form.get("parent_id")),
                                        description=form.get("description", ""))
    except Rejected as exc:
        session.rollback()
        return _categories_page(422, exc.message, "new", form)
    return _done("taxonomy.categories", f"Created {node.name}.", f"#category-{node.id}")


@bp.post("/settings/categories/<int:category_id>")
@permission_required("EditCategories")
def update_category(category_id: int):
    """The node's form: name, description, parent and hidden, all at once."""
    session, node, form = get_session(), _category_or_404(category_id), request.form
    try:
        changes = {"name": form.get("name", ""), "description": form.get("description", ""),
                   "parent_id": _int(form.get("parent_id")), "hidden": form.get("hidden") == "on"}
        taxonomy.update_category(session, node, changes)
    except Rejected as exc:
        session.rollback()
        return _categories_page(422, exc.message, f"category-{category_id}")
    return _done("taxonomy.categories", f"Saved {node.name}.", f"#category-{node.id}")


@bp.post("/settings/categories/<int:category_id>/move")
@permission_required("EditCategories")
def move_category(category_id: int):
    session, node = get_session(), _category_or_404(category_id)
    step = {"up": -1, "down": 1}.get(request.form.get("direction", ""))
    if step is None:
        return _categories_page(422, "Move up or down", f"category-{category_id}")
    taxonomy.move_step(session, node, step)
    session.commit()
    return redirect(url_for("taxonomy.categories") + f"#category-{node.id}")


@bp.post("/settings/categories/<int:category_id>/delete")
@permission_required("EditCategories")
def delete_category(category_id: int):
    session, node = get_session(), _category_or_404(category_id)
    name = node.name
    try:
        taxonomy.delete_category(session, node, _int(request.form.get("reassign_to")))
    except Rejected as exc:
        session.rollback()
        return _categories_page(422, exc.message, f"category-{category_id}")
    return _done("taxonomy.categories", f"Deleted {name}; its subcategories moved up a level.")


@bp.post("/settings/categories/import")
@permission_required("EditCategories")
def import_categories():
    session, form = get_session(), request.form
    try:
        created = taxonomy.import_outline(session, form.get("text", ""), _int(form.get("parent_id")))
    except Rejected as exc:
        session.rollback()
        return _categories_page(422, exc.message, "import", form)
    return _done("taxonomy.categories", f"Imported {len(created)} new categories.")


@bp.post("/settings/categories/required")
@permission_required("EditChannels")
def require_category():
    """SocialHub's "force tagging", per channel: the channels whose boxes are ticked require a
    category before a ticket is archived."""
    session = get_session()
    wanted = set(request.form.getlist("channel_id"))
    for channel in session.scalars(select(Channel)):
        settings = dict(channel.settings or {})
        if (str(channel.id) in wanted) != bool(settings.get("require_category")):
            settings["require_category"] = str(channel.id) in wanted
            channel.settings = settings
    return _done("taxonomy.categories", "Saved which channels require a category.", "#required")


# -- the ticket pane's pickers -----------------------------------------------------------------

def picker_context(ticket: Ticket, error: str | None = None) -> dict:
    return {"ticket": ticket, "error": error, "tag_options": _tag_options(ticket, ""),
            "category_options": _category_options(ticket, "")}


def _tag_options(ticket: Ticket, q: str) -> list[Tag]:
    have = {t.id for t in ticket.tags}
    return [t for t in taxonomy.all_tags(get_session(), q or None, SUGGESTIONS + len(have)) if t.id not in have][:SUGGESTIONS]


def _category_options(ticket: Ticket, q: str) -> list[taxonomy.Node]:
    have = {c.id for c in ticket.categories}
    nodes = [n for n in taxonomy.tree(get_session()) if not n.hidden]
    if q:
        nodes = [n for n in nodes if q.lower() in n.path.lower()]
    return [n for n in nodes if n.category.id not in have or not q]


def _picker(ticket_id: int, error: str | None = None, status: int = 200):
    return render_template("queue/_taxonomy.html", **picker_context(load_ticket(ticket_id), error)), status


@bp.get("/tickets/<int:ticket_id>/taxonomy")
@permission_required("ViewTickets")
def picker(ticket_id: int):
    return _picker(ticket_id)


@bp.get("/tickets/<int:ticket_id>/tag-options")
@permission_required("ViewTickets")
def tag_options(ticket_id: int):
    # The picker's input is the add form's ``name`` field: what is typed is searched, and added on Enter.
    ticket, q = load_ticket(ticket_id), _search_arg("q") or _search_arg("name")
    return render_template("queue/_tag_options.html", ticket=ticket, tag_options=_tag_options(ticket, q), q=q)


@bp.get("/tickets/<int:ticket_id>/category-options")
@permission_required("ViewTickets")
def category_options(ticket_id: int):
    ticket, q = load_ticket(ticket_id), _search_arg("q")
    return render_template("queue/_category_options.html", ticket=ticket,
                           category_options=_category_options(ticket, q), q=q)


def _act(ticket_id: int, kind: str, params: dict):
    """Run a ticket action for the picker; answer the re-rendered picker (422 with the message)."""
    session, ticket = get_session(), load_ticket(ticket_id)
    try:
        action = queue_ticket_action(session, ticket, current_user, kind, params)
    except Rejected as exc:
        session.rollback()
        return _picker(ticket_id, exc.message, 422)
    except NotPermitted:
        session.rollback()
        abort(403)
    session.commit()
    if action is not None and not workers.send_soon(action.id):
        action.error = workers.QUEUE_DOWN_NOTICE
        session.commit()
    session.expire_all()
    return _picker(ticket_id)


@bp.post("/tickets/<int:ticket_id>/tags")
@permission_required("ViewTickets")
def add_tag(ticket_id: int):
    """Add one tag by id (a suggestion) or by name (found regardless of case, else created)."""
    session, ticket = get_session(), load_ticket(ticket_id)
    try:
        tag_id = _int(request.form.get("tag_id"))
        if tag_id is not None:
            tag = taxonomy.get_tag(session, tag_id)
            if tag is None:
                raise Rejected("unknown_tag", f"There is no tag {tag_id}")
        else:
            name = taxonomy.clean_name(request.form.get("name", ""), "tag", taxonomy.TAG_NAME_MAX)
            tag = session.scalars(select(Tag).where(func.lower(Tag.name) == name.lower())).first() \
                or taxonomy.create_tag(session, name)
    except Rejected as exc:
        session.rollback()
        return _picker(ticket_id, exc.message, 422)
    return _act(ticket_id, "tag", {"tag_ids": sorted({t.id for t in ticket.tags} | {tag.id})})


@bp.post("/tickets/<int:ticket_id>/tags/<int:tag_id>/remove")
@permission_required("ViewTickets")
def remove_tag(ticket_id: int, tag_id: int):
    ticket = load_ticket(ticket_id)
    return _act(ticket_id, "tag", {"tag_ids": sorted(t.id for t in ticket.tags if t.id != tag_id)})


@bp.post("/tickets/<int:ticket_id>/categories")
@permission_required("ViewTickets")
def add_category(ticket_id: int):
    ticket = load_ticket(ticket_id)
    try:
        category_id = _int(request.form.get("category_id"))
    except Rejected as exc:
        return _picker(ticket_id, exc.message, 422)
    if category_id is None:
        return _picker(ticket_id, "Choose a category", 422)
    return _act(ticket_id, "categorize", {"category_ids": sorted({c.id for c in ticket.categories} | {category_id})})


@bp.post("/tickets/<int:ticket_id>/categories/<int:category_id>/remove")
@permission_required("ViewTickets")
def remove_category(ticket_id: int, category_id: int):
    ticket = load_ticket(ticket_id)
    return _act(ticket_id, "categorize", {"category_ids": sorted(c.id for c in ticket.categories
                                                                 if c.id != category_id)})
