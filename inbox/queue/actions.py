"""Ticket and channel actions: validated now, recorded as outbound actions, sent by a worker.

Local actions (archive, reopen) change only our copy; network actions (like, hide, delete, tag,
close, reschedule, inject, custom actions) are rows committed before their job is queued, exactly
like replies.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from inbox import fields
from inbox.connectors import connector_class
from inbox.connectors.base import Rejected
from inbox.ingest.store import get_or_create
from . import notes, triage
from models import Channel, ChannelStatus, History, OutboundAction, Tag, Ticket, TicketStatus, User

# The permission each action needs (SocialHub's names).
PERMISSIONS = {
    "archive": "ArchiveTicket", "reopen": "ArchiveTicket", "close": "ArchiveTicket",
    "like": "LikeTicket", "unlike": "LikeTicket", "hide": "HideTicket", "delete": "DeleteTicket",
    "tag": "ViewTickets", "categorize": "ViewTickets", "reschedule": "EditPosts", "custom_action": "ReplyTicket", "inject": "ReplyTicket",
    "assign": "AssignTicket", "priority": "ViewTickets", "sentiment": "ViewTickets", "status": "ArchiveTicket",
    "snooze": "ArchiveTicket", "note": "ViewTickets", "note_edit": "ViewTickets", "note_delete": "ViewTickets",
    "require_approval": "ApproveSuggestion",
}
LOCAL_ACTIONS = {"archive", "reopen"}
LABELS = {"like": "Like", "unlike": "Unlike", "hide": "Hide", "delete": "Delete on the network", "close": "Close",
          "reschedule": "Reschedule", "archive": "Archive", "reopen": "Reopen"}


def available_actions(ticket: Ticket) -> list[str]:
    """The buttons the ticket pane offers: what the provider can do on this kind of item."""
    cls = connector_class(ticket.channel.provider)
    offered = []
    for kind in ("like", "unlike", "hide", "delete", "close", "reschedule"):
        if kind not in cls.ACTIONS:
            continue
        try:
            cls.validate_action(kind, ticket.kind, {"due_at": "2999-01-01T00:00:00+00:00"})
        except Rejected:
            continue
        if (kind == "like" and ticket.data.get("liked")) or (kind == "unlike" and not ticket.data.get("liked")):
            continue
        if ticket.data.get("deleted"):
            continue   # gone from the network: nothing left to act on there
        offered.append(kind)
    offered.append("reopen" if ticket.status == TicketStatus.ARCHIVED else "archive")
    return offered


class NotPermitted(Exception):
    """The user lacks ``permission`` for this action. Our own exception, not the builtin
    ``PermissionError`` (an ``OSError``), which handlers for I/O failures would also catch."""

    def __init__(self, permission: str):
        super().__init__(permission)
        self.permission = permission


def queue_ticket_action(session: Session, ticket: Ticket, user: User, kind: str,
                        params: dict[str, Any], via: str | None = None) -> OutboundAction | None:
    """Validate and record one action; returns the outbound action to queue (None: local only).

    ``params["version"]``, when given, is the ticket's version its author saw: ``triage.Stale``
    if it has changed since. Every accepted action raises the version. ``via="api"``: a token made
    the change (the history says so beside the user).
    """
    if kind not in PERMISSIONS or kind == "inject":
        raise Rejected("unknown_action", f"Unknown action {kind!r}")
    if not user.can(PERMISSIONS[kind]):
        raise NotPermitted(PERMISSIONS[kind])
    params = dict(params)
    seen = triage.parse_version(params.pop("version", None))
    fields.params(params)       # strings within limits, ids in range: before anything is stored
    triage.check_version(ticket, seen)
    if kind == "archive" or (kind == "status" and params.get("value") == "archived"):
        check_category_required(session, ticket)
    action = _apply(session, ticket, user, kind, params, via)
    triage.bump_version(session, ticket)
    return action


def _apply(session: Session, ticket: Ticket, user: User, kind: str, params: dict[str, Any],
           via: str | None) -> OutboundAction | None:
    if kind in triage.TRIAGE_ACTIONS:
        triage.apply(session, ticket, user, kind, params, via=via)
        return None
    if kind in notes.NOTE_ACTIONS:     # ours only: a note never reaches a network
        notes.apply(session, ticket, user, kind, params, via=via)
        return None
    if kind in LOCAL_ACTIONS:
        ticket.status = TicketStatus.ARCHIVED if kind == "archive" else TicketStatus.OPEN
        ticket.snoozed_until = None
        session.add(History(ticket_id=ticket.id, user_id=user.id, action=kind, data={"via": via} if via else {}))
        return None
    channel = session.get(Channel, ticket.channel_id)
    if kind == "tag":
        return _tag(session, ticket, channel, user, params)
    if kind == "categorize":
        return _categorize(session, ticket, user, params)
    if kind == "custom_action":
        _check_manifest_action(channel, params)
    cls = connector_class(channel.provider)
    if kind not in cls.ACTIONS:
        raise Rejected("unsupported_action", f"{channel.provider} cannot {kind} items")
    cls.validate_action(kind, ticket.kind, params)
    return _record(session, channel, ticket, user, kind, {k: v for k, v in params.items() if not k.startswith("_")})


def _check_manifest_action(channel: Channel, params: dict[str, Any]) -> None:
    """A custom channel's action must be one its integration declared in the manifest."""
    from inbox.connectors.custom import manifest_actions

    if channel.provider != "custom":
        raise Rejected("unsupported_action", "Only custom channels have manifest actions")
    actions = manifest_actions(channel.settings)
    if params.get("action_id") not in actions:
        raise Rejected("unknown_manifest_action",
                             f"This channel's manifest has no action {params.get('action_id')!r}; "
                             f"it has: {', '.join(sorted(actions)) or 'none'}")


def custom_actions(ticket: Ticket) -> dict[str, str]:
    """Manifest actions (id -> English label) for a custom channel's ticket pane."""
    if ticket.channel.provider != "custom":
        return {}
    from inbox.connectors.custom import label_text, manifest_actions

    return {aid: label_text(label) for aid, label in manifest_actions(ticket.channel.settings).items()}


def check_category_required(session: Session, ticket: Ticket) -> None:
    """SocialHub's "force tagging": a channel with ``settings.require_category`` archives a ticket
    only once it has a category, so every closed ticket is counted somewhere in the reports."""
    channel = session.get(Channel, ticket.channel_id)
    if channel is not None and (channel.settings or {}).get("require_category") is True and not ticket.categories:
        raise Rejected("category_required", "This channel requires a category before a ticket is archived.")


def _categorize(session: Session, ticket: Ticket, user: User, params: dict[str, Any]) -> None:
    """Replace the ticket's categories (ours only: no provider has our tree)."""
    from inbox.settings.taxonomy import categories_by_ids

    ids = params.get("category_ids")
    if not isinstance(ids, list):
        raise Rejected("invalid_value", "category_ids must be a list of category ids")
    found = categories_by_ids(session, ids)
    ticket.categories = sorted(found, key=lambda c: c.id)
    session.add(History(ticket_id=ticket.id, user_id=user.id, action="categorized",
                        data={"categories": [c.name for c in ticket.categories]}))
    return None


def _tag_named(session: Session, name: str) -> Tag:
    """The tag of that name regardless of case (tag names are unique that way: see
    inbox.settings.taxonomy), created when there is none."""
    found = session.scalars(select(Tag).where(func.lower(Tag.name) == name.lower())).first()
    return found or get_or_create(session, Tag, {"name": name}, {})[0]


def _tag(session: Session, ticket: Ticket, channel: Channel, user: User, params: dict[str, Any]) -> OutboundAction | None:
    """Set our tags; where the provider has tags too, send the new set so both stay in sync.

    ``tags`` (the contract's name) is a list of names, new ones created; the pane's form sends
    ``tag_names`` (comma-separated); ``tag_ids`` names existing tags."""
    if isinstance(params.get("tags"), list):
        if not all(isinstance(n, str) for n in params["tags"]):
            raise Rejected("invalid_value", "tags must be a list of tag names")
        params = {**params, "tag_names": ",".join(n.replace(",", " ") for n in params["tags"])}
    if isinstance(params.get("tag_names"), str):   # the pane's form: names, new ones created
        names = sorted({n.strip()[:80] for n in params["tag_names"].split(",") if n.strip()})
        if len(names) > fields.TAGS_MAX:
            raise Rejected("too_many", f"A ticket takes at most {fields.TAGS_MAX} tags at a time "
                                       f"(these are {len(names)}).")
        tags = list({tag.id: tag for tag in (_tag_named(session, name) for name in names)}.values())
    else:
        ids = params.get("tag_ids")
        if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
            raise Rejected("invalid_tag_ids", "tag_ids must be a list of tag ids")
        if len(set(ids)) > fields.TAGS_MAX:
            raise Rejected("too_many", f"A ticket takes at most {fields.TAGS_MAX} tags at a time.")
        for i in ids:
            fields.whole_id(i, "each of tag_ids")
        tags = session.scalars(select(Tag).where(Tag.id.in_(ids))).all() if ids else []
        if len(tags) != len(set(ids)):
            raise Rejected("unknown_tag", "Some of these tags do not exist")
    ticket.tags = list(tags)
    session.add(History(ticket_id=ticket.id, user_id=user.id, action="tagged", data={"tags": [t.name for t in tags]}))
    cls = connector_class(channel.provider)
    if "tag" not in cls.ACTIONS:
        return None
    params = {"tags": sorted(t.name for t in tags)}
    cls.validate_action("tag", ticket.kind, params)
    return _record(session, channel, ticket, user, "tag", params)


def queue_channel_action(session: Session, channel: Channel, user: User, kind: str,
                         params: dict[str, Any]) -> OutboundAction:
    if not user.can(PERMISSIONS.get(kind, "EditChannels")):
        raise NotPermitted(PERMISSIONS.get(kind, "EditChannels"))
    fields.params(params)
    for key in ("text", "avatar_name", "real_name", "media_url"):   # a wall post's fields are text
        fields.optional_text(params.get(key), key, fields.PARAM_LIMITS[key])
    cls = connector_class(channel.provider)
    if kind not in cls.CHANNEL_ACTIONS:
        raise Rejected("unsupported_action", f"{channel.provider} channels have no {kind!r} action")
    cls.validate_action(kind, None, params)
    return _record(session, channel, None, user, kind, params)


def _record(session: Session, channel: Channel, ticket: Ticket | None, user: User, kind: str,
            params: dict[str, Any]) -> OutboundAction:
    if channel.status == ChannelStatus.DISABLED:
        raise Rejected("channel_disabled", "This channel has been disconnected.")
    action = OutboundAction(channel_id=channel.id, ticket_id=ticket.id if ticket else None, kind=kind,
                            request=params)
    session.add(action)
    session.flush()
    if ticket is not None:
        session.add(History(ticket_id=ticket.id, user_id=user.id, action=f"{kind}_requested",
                            data={"action_id": action.id}))
    return action
