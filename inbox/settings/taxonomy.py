"""Tags and the category tree: the rules behind the settings pages, the JSON API and the pickers.

One service for both doors, so a page and an API client are refused the same things for the same
reasons (``Rejected``: the API answers 422, the pages show the message inline) and nothing is
half-written: every function only changes the session; the caller commits.

Decisions:
- Tag names are unique regardless of case ("VIP" and "vip" would be one tag to a person);
  category names only among siblings ("Other" may sit under several nodes).
- Deleting a category moves its tickets to ``reassign_to`` (or just drops the category from them
  when none is given) and moves its children up to its parent, keeping their subtrees: deleting a
  node never silently deletes a branch a colleague built.
- Importing an indented list reuses nodes that already exist at the same place, so importing the
  same list twice changes nothing.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, insert, literal, select, update
from sqlalchemy.orm import Session

from inbox import fields, visibility
from inbox.connectors.base import Rejected
from models import Category, Tag, ticket_categories, ticket_tags

TAG_NAME_MAX = 80           # the column
CATEGORY_NAME_MAX = 120     # the column
DESCRIPTION_MAX = 2_000
IMPORT_LINES_MAX = 2_000
DEPTH_MAX = 20
COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
DEFAULT_COLOR = "#888888"
# The colours the settings page offers (any #rrggbb is accepted).
PALETTE = ("#888888", "#dc2626", "#ea580c", "#ca8a04", "#16a34a", "#0d9488", "#2563eb", "#7c3aed", "#db2777")


# -- tags --------------------------------------------------------------------------------------

def clean_name(value: Any, what: str, max_length: int) -> str:
    name = fields.text(value, f"{what} name", max_length).strip()
    if not name:
        raise Rejected("invalid_value", f"The {what} needs a name")
    if "\n" in name or "\r" in name or "\t" in name:
        raise Rejected("invalid_value", f"A {what} name is one line")
    return name


def clean_color(value: Any) -> str:
    color = fields.text(value, "color", 20).strip()
    if not COLOR.match(color):
        raise Rejected("invalid_value", "color must be a hex colour like #2563eb")
    return color.lower()


def _tag_name_free(session: Session, name: str, but: int | None = None) -> None:
    query = select(Tag.id).where(func.lower(Tag.name) == name.lower())
    if but is not None:
        query = query.where(Tag.id != but)
    if session.scalars(query).first() is not None:
        raise Rejected("name_taken", f"A tag named {name!r} already exists")


def get_tag(session: Session, tag_id: Any) -> Tag | None:
    if isinstance(tag_id, bool) or not isinstance(tag_id, int) or not 1 <= tag_id <= fields.MAX_ID:
        return None
    return session.get(Tag, tag_id)


def create_tag(session: Session, name: Any, color: Any = None) -> Tag:
    name = clean_name(name, "tag", TAG_NAME_MAX)
    _tag_name_free(session, name)
    tag = Tag(name=name, color=DEFAULT_COLOR if color in (None, "") else clean_color(color))
    session.add(tag)
    session.flush()
    return tag


def update_tag(session: Session, tag: Tag, changes: dict[str, Any]) -> Tag:
    if "name" in changes:
        name = clean_name(changes["name"], "tag", TAG_NAME_MAX)
        _tag_name_free(session, name, but=tag.id)
        tag.name = name
    if "color" in changes:
        tag.color = clean_color(changes["color"])
    session.flush()
    return tag


def merge_tags(session: Session, source: Tag, into: Tag) -> Tag:
    """Every ticket tagged ``source`` gets ``into`` instead; ``source`` is deleted.

    Local only: the providers keep their old tag on items already synced until the ticket is tagged
    again (a provider call per ticket for a rename would flood the outbound queue)."""
    if source.id == into.id:
        raise Rejected("invalid_value", "A tag cannot be merged into itself")
    already = select(ticket_tags.c.ticket_id).where(ticket_tags.c.tag_id == into.id)
    session.execute(insert(ticket_tags).from_select(
        ["ticket_id", "tag_id"],
        select(ticket_tags.c.ticket_id, literal(into.id)).where(ticket_tags.c.tag_id == source.id,
                                                                ticket_tags.c.ticket_id.not_in(already))))
    session.execute(delete(ticket_tags).where(ticket_tags.c.tag_id == source.id))
    session.delete(source)
    session.flush()
    session.expire_all()
    return into


def delete_tag(session: Session, tag: Tag) -> None:
    session.execute(delete(ticket_tags).where(ticket_tags.c.tag_id == tag.id))
    session.delete(tag)
    session.flush()


def tag_counts(session: Session, viewer: Any = None) -> dict[int, int]:
    """Tickets per tag; with ``viewer``, only the tickets they may see (``inbox.visibility``)."""
    query = select(ticket_tags.c.tag_id, func.count())
    if viewer is not None and not visibility.sees_all(viewer):
        query = query.where(ticket_tags.c.ticket_id.in_(visibility.ticket_ids_visible(viewer)))
    return dict(session.execute(query.group_by(ticket_tags.c.tag_id)).all())


def all_tags(session: Session, q: str | None = None, limit: int | None = None) -> list[Tag]:
    query = select(Tag).order_by(func.lower(Tag.name))
    if q:
        escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(Tag.name.ilike(f"%{escaped}%", escape="\\"))
    if limit:
        query = query.limit(limit)
    return list(session.scalars(query))


# -- categories --------------------------------------------------------------------------------

def get_category(session: Session, category_id: Any) -> Category | None:
    if isinstance(category_id, bool) or not isinstance(category_id, int) or not 1 <= category_id <= fields.MAX_ID:
        return None
    return session.get(Category, category_id)


def _category_ref(session: Session, value: Any, name: str) -> Category | None:
    """A category id sent by a client (None allowed: the root); unknown ids are refused."""
    if value is None:
        return None
    fields.whole_id(value, name)
    found = session.get(Category, value)
    if found is None:
        raise Rejected("unknown_category", f"There is no category {value} ({name})")
    return found


def _siblings(session: Session, parent_id: int | None, but: int | None = None) -> list[Category]:
    query = select(Category).where(Category.parent_id.is_(None) if parent_id is None else Category.parent_id == parent_id)
    if but is not None:
        query = query.where(Category.id != but)
    return list(session.scalars(query.order_by(Category.position, Category.id)))


def _category_name_free(session: Session, parent_id: int | None, name: str, but: int | None = None) -> None:
    if any(c.name.lower() == name.lower() for c in _siblings(session, parent_id, but)):
        raise Rejected("name_taken", f"{name!r} already exists at this place in the tree")


def subtree_ids(session: Session, root_id: int) -> set[int]:
    """The node and every node below it (one recursive query)."""
    tree = select(Category.id).where(Category.id == root_id).cte("subtree", recursive=True)
    tree = tree.union_all(select(Category.id).where(Category.parent_id == tree.c.id))
    return set(session.scalars(select(tree.c.id)))


def subtree_select(root_id: int):
    """A SELECT of the ids in ``root_id``'s subtree, to embed in another query (the queue filter)."""
    tree = select(Category.id).where(Category.id == root_id).cte("category_subtree", recursive=True)
    tree = tree.union_all(select(Category.id).where(Category.parent_id == tree.c.id))
    return select(tree.c.id)


def _place(session: Session, node: Category, parent_id: int | None, position: int | None) -> None:
    """Put ``node`` among its new siblings at ``position`` (None: last) and renumber them 0..n."""
    siblings = _siblings(session, parent_id, but=node.id)
    index = len(siblings) if position is None else max(0, min(position, len(siblings)))
    siblings.insert(index, node)
    for number, sibling in enumerate(siblings):
        sibling.position = number


def create_category(session: Session, name: Any, parent_id: Any = None, description: Any = None,
                    hidden: Any = None, position: Any = None) -> Category:
    name = clean_name(name, "category", CATEGORY_NAME_MAX)
    parent = _category_ref(session, parent_id, "parent_id")
    _category_name_free(session, parent.id if parent else None, name)
    node = Category(name=name, parent_id=parent.id if parent else None,
                    description=_description(description) if description is not None else "",
                    hidden=fields.flag(hidden, "hidden") if hidden is not None else False)
    session.add(node)
    session.flush()
    _place(session, node, node.parent_id, _position(position))
    session.flush()
    return node


def _description(value: Any) -> str:
    return fields.text(value, "description", DESCRIPTION_MAX).strip()


def _position(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= fields.MAX_ID:
        raise Rejected("invalid_value", "position must be a whole number from 0")
    return value


def update_category(session: Session, node: Category, changes: dict[str, Any]) -> Category:
    """Rename, describe, hide, move under another node (never into its own subtree), reorder."""
    parent_id = node.parent_id
    if "parent_id" in changes:
        parent = _category_ref(session, changes["parent_id"], "parent_id")
        if parent is not None and parent.id in subtree_ids(session, node.id):
            raise Rejected("cycle", f"{node.name!r} cannot move under itself or one of its own subcategories")
        parent_id = parent.id if parent else None
    name = clean_name(changes["name"], "category", CATEGORY_NAME_MAX) if "name" in changes else node.name
    if parent_id != node.parent_id or name != node.name:
        _category_name_free(session, parent_id, name, but=node.id)
    if "description" in changes:
        node.description = _description(changes["description"] if changes["description"] is not None else "")
    if "hidden" in changes:
        node.hidden = fields.flag(changes["hidden"], "hidden")
    position = _position(changes.get("position"))
    moved = parent_id != node.parent_id
    old_parent = node.parent_id
    node.name = name
    if moved or "position" in changes:
        node.parent_id = parent_id
        _place(session, node, parent_id, position if "position" in changes else None)
        if moved:
            for number, sibling in enumerate(_siblings(session, old_parent, but=node.id)):
                sibling.position = number
    session.flush()
    return node


def move_step(session: Session, node: Category, step: int) -> None:
    """The settings page's up / down buttons: swap with the neighbour."""
    siblings = _siblings(session, node.parent_id)
    index = next(i for i, c in enumerate(siblings) if c.id == node.id)
    _place(session, node, node.parent_id, max(0, index + step))
    session.flush()


def delete_category(session: Session, node: Category, reassign_to: Any = None) -> None:
    """Tickets move to ``reassign_to`` (must exist and not be ``node``); children move up a level."""
    target = _category_ref(session, reassign_to, "reassign_to")
    if target is not None and target.id == node.id:
        raise Rejected("invalid_value", "reassign_to must be another category than the one deleted")
    if target is not None:
        already = select(ticket_categories.c.ticket_id).where(ticket_categories.c.category_id == target.id)
        session.execute(insert(ticket_categories).from_select(
            ["ticket_id", "category_id"],
            select(ticket_categories.c.ticket_id, literal(target.id)).where(
                ticket_categories.c.category_id == node.id, ticket_categories.c.ticket_id.not_in(already))))
    session.execute(delete(ticket_categories).where(ticket_categories.c.category_id == node.id))
    children = _siblings(session, node.id)
    for child in children:
        _category_name_free(session, node.parent_id, child.name, but=node.id)
    parent_id = node.parent_id
    session.execute(update(Category).where(Category.parent_id == node.id).values(parent_id=parent_id))
    session.delete(node)
    session.flush()
    session.expire_all()
    for number, sibling in enumerate(_siblings(session, parent_id)):
        sibling.position = number
    session.flush()


def category_counts(session: Session, viewer: Any = None) -> dict[int, int]:
    """Tickets per node, its subtree included (a ticket in two nodes of a subtree counts once):
    one recursive query over the (ancestor, descendant) pairs of the tree. With ``viewer``, only
    the tickets they may see (``inbox.visibility``)."""
    closure = select(Category.id.label("ancestor"), Category.id.label("descendant")).cte("closure", recursive=True)
    closure = closure.union_all(select(closure.c.ancestor, Category.id).where(Category.parent_id == closure.c.descendant))
    query = (select(closure.c.ancestor, func.count(func.distinct(ticket_categories.c.ticket_id)))
             .join(ticket_categories, ticket_categories.c.category_id == closure.c.descendant))
    if viewer is not None and not visibility.sees_all(viewer):
        query = query.where(ticket_categories.c.ticket_id.in_(visibility.ticket_ids_visible(viewer)))
    rows = session.execute(query.group_by(closure.c.ancestor)).all()
    return dict(rows)


@dataclass
class Node:
    """A category with its place in the tree, for pages and pickers (depth-first order)."""

    category: Category
    depth: int
    path: str          # "Parent › Child", for search and labels
    hidden: bool       # itself or an ancestor hidden


def tree(session: Session) -> list[Node]:
    """Every node depth-first, siblings by position: one query."""
    rows = list(session.scalars(select(Category).order_by(Category.position, Category.id)))
    children: dict[int | None, list[Category]] = {}
    for row in rows:
        children.setdefault(row.parent_id, []).append(row)
    out: list[Node] = []
    stack: list[tuple[Category, int, str, bool]] = [(c, 0, "", False) for c in reversed(children.get(None, []))]
    while stack:
        node, depth, prefix, hidden = stack.pop()
        path = f"{prefix} › {node.name}" if prefix else node.name
        out.append(Node(node, depth, path, hidden or node.hidden))
        stack.extend((c, depth + 1, path, hidden or node.hidden) for c in reversed(children.get(node.id, [])))
    return out


def parse_outline(text: Any) -> list[tuple[int, str]]:
    """An indented list (two spaces or a tab per level) as (depth, name) pairs; blank lines skipped.
    A line may go at most one level deeper than the one before it."""
    text = fields.text(text, "text", IMPORT_LINES_MAX * (CATEGORY_NAME_MAX + DEPTH_MAX * 2))
    items: list[tuple[int, str]] = []
    lines = text.splitlines()
    if len(lines) > IMPORT_LINES_MAX:
        raise Rejected("too_many", f"Import at most {IMPORT_LINES_MAX} lines at a time")
    previous = -1
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        stripped = line.lstrip(" \t")
        indent = line[:len(line) - len(stripped)]
        if "\t" in indent and " " in indent:
            raise Rejected("invalid_indent", f"Line {number}: indent with spaces or tabs, not both")
        if " " in indent and len(indent) % 2:
            raise Rejected("invalid_indent", f"Line {number}: indent by two spaces per level")
        depth = len(indent) if "\t" in indent else len(indent) // 2
        if depth > previous + 1:
            raise Rejected("invalid_indent", f"Line {number}: indented deeper than the line above allows")
        if depth >= DEPTH_MAX:
            raise Rejected("invalid_indent", f"Line {number}: at most {DEPTH_MAX} levels")
        name = stripped.strip()
        try:
            name = clean_name(name, "category", CATEGORY_NAME_MAX)
        except Rejected as exc:
            raise Rejected(exc.code, f"Line {number}: {exc.message}") from None
        items.append((depth, name))
        previous = depth
    if not items:
        raise Rejected("invalid_value", "The list is empty: one category per line, indented below its parent")
    return items


def import_outline(session: Session, text: Any, parent_id: Any = None) -> list[Category]:
    """Create the tree an indented list describes under ``parent_id`` (None: the root); nodes that
    exist already at the same place (same name, any case) are reused. Returns the created nodes."""
    items = parse_outline(text)
    root = _category_ref(session, parent_id, "parent_id")
    created: list[Category] = []
    chain: list[int | None] = [root.id if root else None]
    for depth, name in items:
        del chain[depth + 1:]
        parent = chain[depth]
        existing = next((c for c in _siblings(session, parent) if c.name.lower() == name.lower()), None)
        if existing is None:
            existing = create_category(session, name, parent_id=parent)
            created.append(existing)
        chain.append(existing.id)
    return created


def categories_by_ids(session: Session, ids: Iterable[Any], name: str = "category_ids") -> list[Category]:
    """Categories for a client's list of ids: all must exist."""
    ids = list(ids)
    if len(ids) > fields.LIST_MAX:
        raise Rejected("too_many", f"{name} may hold at most {fields.LIST_MAX} ids")
    for value in ids:
        fields.whole_id(value, f"each of {name}")
    found = list(session.scalars(select(Category).where(Category.id.in_(ids)))) if ids else []
    missing = sorted(set(ids) - {c.id for c in found})
    if missing:
        raise Rejected("unknown_category", f"There is no category {', '.join(map(str, missing))}")
    return found
