"""Teams: their names, members and the channels they own — the rules behind ``/settings/teams``,
``/api/v1/teams`` and the ``team_ids`` of ``/api/v1/users``.

One service for both doors, so a page and an API client are refused the same things the same way
(``Rejected``: the API answers 422, the page shows it inline). Every value is checked before
anything changes and every function only changes the session (the caller commits), so a refusal
leaves nothing half-written.

Decisions:
- Names are unique regardless of case ("Support" and "support" would be one team to a person):
  422 ``name_taken``.
- Members may be any existing user, deactivated ones included (a deactivated member stays listed
  until someone unticks them; the page offers active users plus the team's current members).
- Deleting a team unlinks its members and channels and hands its tickets back to no team
  (``team_id`` null, done here explicitly rather than trusting each database's ``ON DELETE``);
  the tickets' history keeps what happened.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, selectinload

from inbox import fields
from models import Channel, Team, Ticket, TicketStatus, User, team_channels, team_members

TEAM_NAME_MAX = 120         # the column
FIELDS = frozenset({"name", "member_ids", "channel_ids"})


@dataclass
class TeamValues:
    """A checked create or update: ``None`` for what an update leaves as it is."""

    name: str | None = None
    member_ids: list[int] | None = None
    channel_ids: list[int] | None = None


def _ids(value: Any, name: str) -> list[int]:
    if not isinstance(value, list):
        raise fields.Rejected("invalid_value", f"{name} must be a list of ids")
    if len(value) > fields.LIST_MAX:
        raise fields.Rejected("too_many", f"{name} may hold at most {fields.LIST_MAX} ids")
    return sorted({fields.whole_id(item, f"each of {name}") for item in value})


def clean_name(value: Any) -> str:
    name = fields.text(value, "name", TEAM_NAME_MAX).strip()
    if not name:
        raise fields.Rejected("invalid_value", "The team needs a name")
    if any(c in name for c in "\r\n\t"):
        raise fields.Rejected("invalid_value", "A team name is one line")
    return name


def values(data: dict[str, Any], *, partial: bool) -> TeamValues:
    """Check a JSON body or the page's form; a create needs ``name``. Unknown keys are refused
    (a misspelt ``members`` would otherwise be silently ignored)."""
    unknown = sorted(set(data) - FIELDS)
    if unknown:
        raise fields.Rejected("unknown_field", f"Unknown field(s): {', '.join(map(str, unknown))}; "
                                               f"a team takes {', '.join(sorted(FIELDS))}")
    found = TeamValues()
    if data.get("name") is None:
        if not partial:
            raise fields.Rejected("missing_field", "name is required")
    else:
        found.name = clean_name(data["name"])
    for key in ("member_ids", "channel_ids"):
        if data.get(key) is not None:
            setattr(found, key, _ids(data[key], key))
    return found


def _name_free(session: Session, name: str, but: int | None = None) -> None:
    query = select(Team.id).where(func.lower(Team.name) == name.lower())
    if but is not None:
        query = query.where(Team.id != but)
    if session.scalars(query).first() is not None:
        raise fields.Rejected("name_taken", f"A team named {name!r} already exists")


def _users(session: Session, ids: list[int]) -> list[User]:
    found = list(session.scalars(select(User).where(User.id.in_(ids)))) if ids else []
    missing = sorted(set(ids) - {u.id for u in found})
    if missing:
        raise fields.Rejected("unknown_user", f"There is no user {', '.join(map(str, missing))}")
    return found


def _channels(session: Session, ids: list[int]) -> list[Channel]:
    found = list(session.scalars(select(Channel).where(Channel.id.in_(ids)))) if ids else []
    missing = sorted(set(ids) - {c.id for c in found})
    if missing:
        raise fields.Rejected("unknown_channel", f"There is no channel {', '.join(map(str, missing))}")
    return found


def get(session: Session, team_id: Any) -> Team | None:
    if isinstance(team_id, bool) or not isinstance(team_id, int) or not 1 <= team_id <= fields.MAX_ID:
        return None
    return session.get(Team, team_id)


def create_team(session: Session, checked: TeamValues) -> Team:
    if checked.name is None:
        raise fields.Rejected("missing_field", "name is required")
    _name_free(session, checked.name)
    members = _users(session, checked.member_ids or [])
    channels = _channels(session, checked.channel_ids or [])
    team = Team(name=checked.name, members=members, channels=channels)
    session.add(team)
    session.flush()
    return team


def update_team(session: Session, team: Team, checked: TeamValues) -> Team:
    """Rename and/or replace the members or the channels (each list replaces the old one)."""
    if checked.name is not None:
        _name_free(session, checked.name, but=team.id)
    members = _users(session, checked.member_ids) if checked.member_ids is not None else None
    channels = _channels(session, checked.channel_ids) if checked.channel_ids is not None else None
    if checked.name is not None:
        team.name = checked.name
    if members is not None:
        team.members = members
    if channels is not None:
        team.channels = channels
    session.flush()
    return team


def delete_team(session: Session, team: Team) -> None:
    """Tickets handed to the team go back to no team; members and channels are unlinked."""
    session.execute(update(Ticket).where(Ticket.team_id == team.id).values(team_id=None)
                    .execution_options(synchronize_session=False))
    session.execute(delete(team_members).where(team_members.c.team_id == team.id))
    session.execute(delete(team_channels).where(team_channels.c.team_id == team.id))
    session.expire(team)
    session.delete(team)
    session.flush()
    session.expire_all()


def all_teams(session: Session) -> list[Team]:
    """Every team by name, with members and channels loaded (three queries, whatever the count)."""
    return list(session.scalars(select(Team).options(selectinload(Team.members), selectinload(Team.channels))
                                .order_by(func.lower(Team.name), Team.id)))


def open_counts(session: Session) -> dict[int, int]:
    """Open tickets handed to each team (teams without any are absent)."""
    rows = session.execute(select(Ticket.team_id, func.count()).where(
        Ticket.team_id.is_not(None), Ticket.status == TicketStatus.OPEN).group_by(Ticket.team_id)).all()
    return {team_id: count for team_id, count in rows}


def team_ids_by_user(session: Session, user_ids: Iterable[int] | None = None) -> dict[int, list[int]]:
    """Each user's team ids (sorted), in one query; users without a team are absent."""
    query = select(team_members.c.user_id, team_members.c.team_id).order_by(team_members.c.team_id)
    if user_ids is not None:
        query = query.where(team_members.c.user_id.in_(list(user_ids)))
    found: dict[int, list[int]] = {}
    for user_id, team_id in session.execute(query).all():
        found.setdefault(user_id, []).append(team_id)
    return found


def teams_by_user(session: Session) -> dict[int, list[Team]]:
    """Each user's teams by name, for the users page (two queries)."""
    teams = {t.id: t for t in session.scalars(select(Team))}
    return {user_id: sorted((teams[i] for i in ids), key=lambda t: t.name.lower())
            for user_id, ids in team_ids_by_user(session).items()}


def check_team_ids(session: Session, value: Any) -> list[int]:
    """A client's ``team_ids`` for a user: a list of existing teams' ids (unknown ones are named)."""
    ids = _ids(value, "team_ids")
    known = set(session.scalars(select(Team.id).where(Team.id.in_(ids)))) if ids else set()
    missing = sorted(set(ids) - known)
    if missing:
        raise fields.Rejected("unknown_team", f"There is no team {', '.join(map(str, missing))}")
    return ids


def set_user_teams(session: Session, user: User, team_ids: list[int]) -> None:
    """Make ``user`` a member of exactly these teams (ids already checked by ``check_team_ids``)."""
    session.execute(delete(team_members).where(team_members.c.user_id == user.id))
    if team_ids:
        session.execute(team_members.insert(), [{"team_id": i, "user_id": user.id} for i in team_ids])
    session.flush()
    session.expire_all()


def as_json(team: Team) -> dict[str, Any]:
    return {"id": team.id, "name": team.name, "member_ids": sorted(u.id for u in team.members),
            "channel_ids": sorted(c.id for c in team.channels)}
