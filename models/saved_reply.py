"""Saved replies: texts an agent inserts into the composer with ``/`` (SocialHub's templates).

A reply is personal (its owner's) or shared (everyone's, managed with ``EditTemplates``), and may be
limited to some channels: no channels means every channel. The text may carry variables such as
``{{author.name}}``, filled in for the ticket when it is inserted (``inbox.settings.saved_replies``).
"""
from __future__ import annotations

from sqlalchemy import Column, ForeignKey, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, TimestampMixin
from .channel import Channel

saved_reply_channels = Table(
    "saved_reply_channel", Base.metadata,
    Column("saved_reply_id", ForeignKey("saved_reply.id", ondelete="CASCADE"), primary_key=True),
    Column("channel_id", ForeignKey("channel.id", ondelete="CASCADE"), primary_key=True),
)


class SavedReply(TimestampMixin, Base):
    __tablename__ = "saved_reply"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    shared: Mapped[bool] = mapped_column(default=False)
    # Personal replies go with their owner; shared ones outlive them (the owner is then unknown).
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)

    channels: Mapped[list[Channel]] = relationship(secondary=saved_reply_channels, order_by=Channel.id)

    @property
    def channel_ids(self) -> list[int]:
        return [channel.id for channel in self.channels]
