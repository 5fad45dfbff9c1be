"""Forwarding a ticket by email (the rules' ``forward_by_mail``), and what the outbox needs.

Why a followup row and not just a job: the row is the outbox. It is written in the caller's
transaction (the rule run), so a forward is never lost when Redis or the SMTP server is down; the
job (``workers.mail.send_mail``) only sends a row it can move from QUEUED to SENDING in one
UPDATE, so a retried or duplicated job never sends twice.

States of a mail followup: QUEUED (waiting, or waiting for a retry with the last ``error``),
"held" (QUEUED with ``error == NO_SMTP``: nothing to send it with until INBOX_SMTP_URL is set),
SENDING (claimed), SENT, FAILED (refused by the server, or out of retries).

SMTP comes from ``INBOX_SMTP_URL`` (``smtp://user:pass@host:port``, ``smtp+starttls://…``,
``smtps://…``) and the sender from ``INBOX_MAIL_FROM``: the app's configuration when there is an
app, else the environment (a worker started outside ``flask worker``).
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import unquote, urlsplit

from sqlalchemy import or_, update
from sqlalchemy.orm import Session

from inbox.connectors.base import Rejected
from models import Followup, FollowupStatus, FollowupType, History, utcnow

NO_SMTP = "No SMTP server is configured (INBOX_SMTP_URL)"
DEFAULT_FROM = "inbox@localhost"
EMAIL = re.compile(r"^[^@\s,;<>()\"]+@[^@\s,;<>()\"]+\.[^@\s,;<>()\"]+$")
RECIPIENTS_MAX = 50
SCHEMES = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}
STUCK_AFTER = timedelta(minutes=15)    # longer than the job's retries wait in all


def forward(session: Session, ticket: Any, config: dict[str, Any], *, rule_name: str) -> Followup:
    """Record a mail followup on ``ticket`` (in the caller's transaction) from a
    ``forward_by_mail`` config ``{recipients, cc, subject, message, replyTo, context}``; returns it.
    Raises ``inbox.connectors.base.Rejected`` when it cannot be recorded (no valid recipient)."""
    recipients = _addresses(config.get("recipients"), "recipients", required=True)
    cc = _addresses(config.get("cc"), "cc", required=False)
    reply_to = config.get("replyTo") or None
    if reply_to is not None and not (isinstance(reply_to, str) and EMAIL.match(reply_to)):
        raise Rejected("invalid_value", f"replyTo {reply_to!r} is not an email address")
    # One line: a header cannot hold a line break (and must not smuggle in another header).
    subject = " ".join(str(config.get("subject") or "").split()) or default_subject(ticket)
    followup = Followup(ticket_id=ticket.id, type=FollowupType.MAIL, status=FollowupStatus.QUEUED,
                        text=str(config.get("message") or ""), author_id=None, status_at=utcnow(),
                        request={"recipients": recipients, "cc": cc, "subject": subject[:300],
                                 "replyTo": reply_to, "context": bool(config.get("context")), "rule": rule_name})
    session.add(followup)
    session.flush()
    session.add(History(ticket_id=ticket.id, user_id=None, action="forwarded",
                        data={"by": "rule", "rule": rule_name, "followup_id": followup.id, "to": recipients}))
    return followup


def send_soon(followup_id: int) -> bool:
    """After the commit: queue the send (False when Redis is down; "Send again" sends it later)."""
    import workers
    from workers.mail import enqueue_mail

    return workers.enqueue_committed(enqueue_mail, followup_id)


def send_again(session: Session, followup_id: int) -> bool:
    """The outbox's "Send again": a held or failed mail goes back to QUEUED (error cleared) in one
    conditional UPDATE, so a double click queues it once. True when this call did it; the caller
    commits, then ``send_soon``."""
    stale = utcnow() - STUCK_AFTER
    done = session.execute(
        update(Followup).where(Followup.id == followup_id, Followup.type == FollowupType.MAIL,
                               or_(Followup.status == FollowupStatus.FAILED,
                                   (Followup.status == FollowupStatus.QUEUED)
                                   & (Followup.error.is_not(None) | (Followup.status_at < stale))))
        .values(status=FollowupStatus.QUEUED, error=None, status_at=utcnow())
        .execution_options(synchronize_session=False))
    return done.rowcount == 1


def is_held(followup: Followup) -> bool:
    """Waiting with a reason (no SMTP server, the last try's error), or queued so long ago that its
    job was surely lost (Redis was down when it was queued): "Send again" is offered."""
    return followup.status == FollowupStatus.QUEUED and (
        bool(followup.error) or followup.status_at < utcnow() - STUCK_AFTER)


def default_subject(ticket: Any) -> str:
    snippet = " ".join((getattr(ticket, "text", "") or "").split())
    if len(snippet) > 60:
        snippet = snippet[:59] + "…"
    return f"Fwd: {snippet or f'ticket {ticket.id}'}"


# -- configuration ------------------------------------------------------------------------------

@dataclass(frozen=True)
class SmtpServer:
    scheme: str
    host: str
    port: int
    username: str | None
    password: str | None

    def describe(self) -> str:
        """For the outbox page: where mail goes, never the password."""
        who = f"{self.username}@" if self.username else ""
        return f"{self.scheme}://{who}{self.host}:{self.port}"


def _setting(name: str) -> str | None:
    from flask import current_app, has_app_context

    value = current_app.config.get(name) if has_app_context() else None
    return (value or os.environ.get(name) or "").strip() or None


def smtp_server() -> SmtpServer | None:
    """The configured server, or None when INBOX_SMTP_URL is unset. Raises ValueError when it is
    set but cannot be read (the outbox says so; the job records it as the error)."""
    url = _setting("INBOX_SMTP_URL")
    if url is None:
        return None
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES or not parts.hostname:
        raise ValueError("INBOX_SMTP_URL must look like smtp://user:pass@host:port "
                         "(or smtp+starttls://…, smtps://…)")
    try:
        port = parts.port or SCHEMES[scheme]
    except ValueError:
        raise ValueError("INBOX_SMTP_URL has a port that is not a number") from None
    return SmtpServer(scheme, parts.hostname, port, unquote(parts.username) if parts.username else None,
                      unquote(parts.password) if parts.password else None)


def mail_from() -> str:
    return _setting("INBOX_MAIL_FROM") or DEFAULT_FROM


def _addresses(value: Any, name: str, *, required: bool) -> list[str]:
    if value in (None, "", []):
        if required:
            raise Rejected("missing_field", f"{name}: at least one email address is needed")
        return []
    if isinstance(value, str):
        value = [v for v in re.split(r"[,\s]+", value) if v]
    if not isinstance(value, list) or len(value) > RECIPIENTS_MAX:
        raise Rejected("invalid_value", f"{name} must be a list of at most {RECIPIENTS_MAX} email addresses")
    out = []
    for address in value:
        if not isinstance(address, str) or not EMAIL.match(address.strip()):
            raise Rejected("invalid_value", f"{name}: {address!r} is not an email address")
        if address.strip() not in out:
            out.append(address.strip())
    return out
