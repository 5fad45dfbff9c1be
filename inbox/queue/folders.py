"""The queue's folders: built-in ones (named views every user has) and custom ones (saved filters).

A folder is only a set of filter arguments (``Filters.from_args``): ``/?folder=mine`` is the same
page as ``/?status=open&assignee=me``, so everything the filter bar can do a folder can keep, and
the filter bar still narrows a folder. ``key`` is the letter after ``g`` that jumps to it.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Builtin:
    slug: str
    name: str
    key: str
    args: dict[str, str] = field(default_factory=dict)


BUILTINS: tuple[Builtin, ...] = (
    Builtin("inbox", "Inbox", "i", {"status": "open"}),
    Builtin("mine", "Mine", "m", {"status": "open", "assignee": "me"}),
    Builtin("unassigned", "Unassigned", "u", {"status": "open", "assignee": "none"}),
    Builtin("mentions", "Mentions", "n", {"status": "open", "mentions": "me"}),
    Builtin("priority", "Priority", "p", {"status": "open", "priority": "1"}),
    Builtin("snoozed", "Snoozed", "s", {"status": "snoozed"}),
    Builtin("approval", "Awaiting approval", "v", {"awaiting": "1"}),
    Builtin("suggestions", "My suggestions", "y", {"suggested_by": "me"}),
    Builtin("failed", "Failed sends", "f", {"failed": "1"}),
    Builtin("archived", "Archived", "e", {"status": "archived"}),
    Builtin("all", "All", "l", {}),
)
BY_SLUG = {b.slug: b for b in BUILTINS}
DEFAULT = "inbox"


def builtin(slug: str) -> Builtin | None:
    return BY_SLUG.get(slug)
