"""Rotating a channel's secrets: its webhook URL, a custom channel's access token and webhook secret.

A secret that leaked (an agent saw it before issue 7, a log kept it, a laptop was lost) must be
replaceable without disconnecting the channel and losing its tickets. Each new value takes effect
in the same commit, so the old one stops working at once: the webhook intake finds channels by
``webhook_token``, ``/api2/public`` finds custom channels by ``account_ref`` (the hash of the
access token), and deliveries to a custom integration are signed with the stored webhook secret.
Shared by the JSON API and the channels page; the caller commits and then calls ``after_commit``.
"""
from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

import workers
from inbox import crypto
from inbox.connectors import connector_class
from inbox.connectors.custom import account_ref_for, new_credentials
from inbox.errors import ApiError
from models import Channel, ChannelStatus
from models.channel import new_webhook_token

SECRET_NAMES = ("webhook_url", "access_token", "webhook_secret")


class RotationError(ApiError):
    """A rotation that cannot be done as asked (422): a secret the channel does not have."""

    def __init__(self, code: str, message: str):
        super().__init__(422, code, message)


def secrets_of(channel: Channel) -> tuple[str, ...]:
    """The secrets this channel has: a webhook URL where the provider posts to us, and a custom
    channel's access token and webhook secret (a custom channel gets no webhooks from us)."""
    names: list[str] = []
    if connector_class(channel.provider).webhooks:
        names.append("webhook_url")
    if channel.provider == "custom":
        names += ["access_token", "webhook_secret"]
    return tuple(names)


@dataclass
class Rotation:
    """What a rotation changed: the channels it touched (those sharing the rotated webhook URL
    too), which secrets, and the new access token, to be shown once."""

    channels: list[Channel]
    rotated: tuple[str, ...]
    access_token: str | None = None
    setup: list[int] = field(default_factory=list)   # channels whose provider must learn the new URL


def requested(channel: Channel, names: object) -> tuple[str, ...]:
    """The secrets to rotate: ``names`` as given (a list of names), or every secret the channel has."""
    available = secrets_of(channel)
    if names is None:
        if not available:
            raise RotationError("nothing_to_rotate", f"Channel {channel.id} has no secrets to rotate")
        return available
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise RotationError("invalid_field", f"secrets must be a non-empty list of: {', '.join(SECRET_NAMES)}")
    unknown = [n for n in names if n not in available]
    if unknown:
        has = ", ".join(available) or "none"
        raise RotationError("unknown_secret", f"Channel {channel.id} has no {', '.join(unknown)} (its secrets: {has})")
    return tuple(dict.fromkeys(names))


def rotate(session: Session, channel: Channel, names: object, public_url: str) -> Rotation:
    """Replace the named secrets (all the channel has when ``names`` is None); nothing is committed."""
    if channel.status == ChannelStatus.DISABLED:
        raise RotationError("channel_disabled", f"Channel {channel.id} is disconnected: connect it again instead")
    names = requested(channel, names)
    rotation = Rotation(channels=[channel], rotated=names)
    if "webhook_url" in names:
        rotation.channels = _rotate_webhook_url(session, channel, public_url)
        rotation.setup = [c.id for c in rotation.channels]
    if "access_token" in names or "webhook_secret" in names:
        credentials = crypto.decrypt_json(channel.credentials_encrypted)
        fresh = new_credentials()
        if "access_token" in names:
            credentials["access_token"] = rotation.access_token = fresh["access_token"]
            channel.account_ref = account_ref_for(fresh["access_token"])
        if "webhook_secret" in names:
            credentials["webhook_secret"] = fresh["webhook_secret"]
        channel.credentials_encrypted = crypto.encrypt_json(credentials)
    session.flush()
    return rotation


def _rotate_webhook_url(session: Session, channel: Channel, public_url: str) -> list[Channel]:
    """One new token for every channel that shares the URL (a Resont connection posts all its
    accounts' webhooks to one URL): the provider is told one address, and the old one is dead."""
    sharing = session.scalars(select(Channel).where(
        Channel.provider == channel.provider, Channel.webhook_token == channel.webhook_token,
        Channel.status != ChannelStatus.DISABLED).order_by(Channel.id)).all()
    token = new_webhook_token()
    for each in sharing:
        each.webhook_token = token
        each.webhook_url = f"{public_url.rstrip('/')}/webhooks/{each.provider}/{token}"
        each.webhook_registered_at = None    # the provider knows the old address until setup runs
    return list(sharing)


def after_commit(rotation: Rotation) -> bool:
    """Tell providers the new webhook URL (Getloo ``setWebHook``) through the channel setup job.
    Returns whether it was queued; when the queue is down the rotation stays committed, the
    channel shows its webhook as not registered, and the sweep queues the setup later."""
    return workers.setup_soon(rotation.setup)
