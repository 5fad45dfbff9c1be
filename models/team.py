"""Teams: who works which channels.

A team has members (users) and owns channels. An agent sees the tickets of channels owned by one of
their teams, of channels no team owns (shared by everyone), and tickets handed to them or to their
team by assignment; supervisors and admins see everything (``inbox/visibility.py`` holds the rule).
Both association tables are indexed on their second column as well: visibility looks channels up
by team and teams up by member.
"""
from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, TimestampMixin

team_members = Table(
    "team_member", Base.metadata,
    Column("team_id", ForeignKey("team.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("user.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_team_member_user_id", "user_id"),
)
team_channels = Table(
    "team_channel", Base.metadata,
    Column("team_id", ForeignKey("team.id", ondelete="CASCADE"), primary_key=True),
    Column("channel_id", ForeignKey("channel.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_team_channel_channel_id", "channel_id"),
)


class Team(TimestampMixin, Base):
    __tablename__ = "team"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)

    members: Mapped[list["User"]] = relationship(secondary=team_members, order_by="User.name")  # noqa: F821
    channels: Mapped[list["Channel"]] = relationship(secondary=team_channels, order_by="Channel.name")  # noqa: F821
