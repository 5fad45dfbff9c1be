"""Send a mail followup (a rule's "forward by mail") over SMTP.

The followup row decides, not the job: the job claims it with a conditional UPDATE (QUEUED →
SENDING) before it connects, so a job run twice, or a retry racing a "Send again", sends one mail.
Outcomes: SENT; no server configured → held (QUEUED with ``inbox.mail.NO_SMTP``, nothing raised:
"Send again" once it is configured); the server refused the mail (5xx) → FAILED; anything else (it
is down, 4xx, a timeout) → QUEUED with the error and RQ tries again later, then FAILED when the
retries are used up.
"""
from __future__ import annotations

import logging
import smtplib
import ssl
from datetime import timedelta
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import make_msgid

from rq import Retry, get_current_job
from sqlalchemy import select, update

import workers
from inbox import mail
from inbox.db import session_scope
from models import Direction, Followup, FollowupStatus, FollowupType, Message, utcnow

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 10
RETRY_INTERVALS = [30, 120, 600]


def job_id(followup_id: int) -> str:
    return f"mail-{followup_id}"


def enqueue_mail(followup_id: int):
    return workers.queue(workers.OUTBOUND).enqueue(
        "workers.mail.send_mail", followup_id, job_id=job_id(followup_id), job_timeout=60,
        retry=Retry(max=len(RETRY_INTERVALS), interval=RETRY_INTERVALS), result_ttl=600, failure_ttl=86400)


class SendLater(Exception):
    """Raised so that RQ schedules the job's next try (the row already says why)."""


def send_mail(followup_id: int) -> str:
    """Returns what happened: sent | held | failed | retry | skipped (not ours to send)."""
    try:
        server = mail.smtp_server()
    except ValueError as exc:
        return _settle(followup_id, None, str(exc), hold=True)
    if server is None:
        return _settle(followup_id, None, mail.NO_SMTP, hold=True)
    with session_scope() as session:
        claimed = session.execute(
            update(Followup).where(Followup.id == followup_id, Followup.type == FollowupType.MAIL,
                                   Followup.status == FollowupStatus.QUEUED)
            .values(status=FollowupStatus.SENDING, status_at=utcnow())
            .execution_options(synchronize_session=False)).rowcount == 1
        if not claimed:
            return "skipped"
    try:
        with session_scope() as session:
            message = build_message(session, session.get(Followup, followup_id))
    except Exception as exc:      # a bug or bad data: say so on the row rather than leave it SENDING
        log.exception("could not build mail followup %s", followup_id)
        return _settle(followup_id, FollowupStatus.FAILED, f"Could not build the mail: {exc}")
    try:
        deliver(server, message)
    except smtplib.SMTPResponseException as exc:
        text = f"The SMTP server answered {exc.smtp_code}: {_decoded(exc.smtp_error)}"
        if exc.smtp_code >= 500:
            return _settle(followup_id, FollowupStatus.FAILED, text)
        return _retry(followup_id, text)
    except smtplib.SMTPRecipientsRefused as exc:
        refused = ", ".join(exc.recipients)
        return _settle(followup_id, FollowupStatus.FAILED, f"The SMTP server refused the recipients {refused}")
    except (smtplib.SMTPException, OSError) as exc:
        return _retry(followup_id, f"Could not reach the SMTP server: {exc or type(exc).__name__}")
    return _settle(followup_id, FollowupStatus.SENT, None)


def build_message(session, followup: Followup) -> EmailMessage:
    """The mail as the rule asked for it: plain text, UTF-8 (Persian and Russian survive)."""
    request = followup.request or {}
    message = EmailMessage(policy=SMTP)
    message["From"] = mail.mail_from()
    message["To"] = ", ".join(request.get("recipients") or [])
    if request.get("cc"):
        message["Cc"] = ", ".join(request["cc"])
    if request.get("replyTo"):
        message["Reply-To"] = request["replyTo"]
    message["Subject"] = request.get("subject") or mail.default_subject(followup.ticket)
    message["Message-ID"] = make_msgid(idstring=f"followup-{followup.id}")
    body = followup.text or ""
    if request.get("context"):
        body = f"{body}\n\n" if body else ""
        body += "-- The conversation --\n\n" + thread_text(session, followup.ticket_id)
    if request.get("rule"):
        body += f"\n\n(Forwarded by the rule {request['rule']})"
    message.set_content(body.strip() + "\n", charset="utf-8")
    return message


def thread_text(session, ticket_id: int) -> str:
    messages = session.scalars(select(Message).where(Message.ticket_id == ticket_id)
                               .order_by(Message.created_at, Message.id)).all()
    parts = []
    for m in messages:
        if m.direction == Direction.OUT:
            who = "Us"
        elif m.interactor is not None:
            who = m.interactor.name or (f"@{m.interactor.username}" if m.interactor.username else m.interactor.external_id)
        else:
            who = "Customer"
        parts.append(f"{who} · {m.created_at:%Y-%m-%d %H:%M} UTC\n{m.text or '(no text)'}")
    return "\n\n".join(parts) or "(no messages)"


def deliver(server: mail.SmtpServer, message: EmailMessage) -> None:
    context = ssl.create_default_context()
    if server.scheme == "smtps":
        client = smtplib.SMTP_SSL(server.host, server.port, timeout=TIMEOUT_SECONDS, context=context)
    else:
        client = smtplib.SMTP(server.host, server.port, timeout=TIMEOUT_SECONDS)
    with client:
        if server.scheme == "smtp+starttls":
            client.starttls(context=context)
        if server.username:
            client.login(server.username, server.password or "")
        client.send_message(message)


def _retry(followup_id: int, error: str) -> str:
    job = get_current_job()
    if job is None or not job.retries_left:
        return _settle(followup_id, FollowupStatus.FAILED, error)
    _settle(followup_id, FollowupStatus.QUEUED, error)
    raise SendLater(error)


def _settle(followup_id: int, status: FollowupStatus | None, error: str | None, hold: bool = False) -> str:
    """Write the outcome. ``hold``: only a QUEUED row is touched (it keeps waiting, with why)."""
    with session_scope() as session:
        followup = session.get(Followup, followup_id)
        if followup is None or followup.type != FollowupType.MAIL:
            return "skipped"
        if hold:
            if followup.status != FollowupStatus.QUEUED:
                return "skipped"
            followup.error = error
            return "held"
        followup.status, followup.status_at, followup.error = status, utcnow(), error
    log.info("mail followup %s: %s %s", followup_id, status, error or "")
    return {FollowupStatus.SENT: "sent", FollowupStatus.FAILED: "failed"}.get(status, "retry")


def _decoded(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


STALE_AFTER = timedelta(seconds=60)
SENDING_STUCK_AFTER = timedelta(minutes=5)      # longer than a send's timeouts in all
LOST_WHILE_SENDING = "The worker stopped while sending: the mail may or may not have gone out"


def requeue_stranded(stale_after: timedelta = STALE_AFTER) -> int:
    """For the sweep: queue mail whose job was lost (Redis was down when it was queued, or lost it),
    and settle as FAILED one whose worker died mid-send (the outbox then offers "Send again").
    Held mail (no SMTP server) waits for a person. Returns how many were queued."""
    now = utcnow()
    with session_scope() as session:
        waiting = session.scalars(select(Followup.id).where(
            Followup.type == FollowupType.MAIL, Followup.status == FollowupStatus.QUEUED,
            Followup.status_at <= now - stale_after,
            (Followup.error.is_(None)) | (Followup.error != mail.NO_SMTP))).all()
        stuck = session.scalars(select(Followup).where(
            Followup.type == FollowupType.MAIL, Followup.status == FollowupStatus.SENDING,
            Followup.status_at <= now - SENDING_STUCK_AFTER)).all()
        for followup in stuck:
            if not workers.job_is_live(job_id(followup.id)):
                followup.status, followup.status_at, followup.error = FollowupStatus.FAILED, now, LOST_WHILE_SENDING
    queued = 0
    for followup_id in waiting:
        if not workers.job_is_live(job_id(followup_id)):
            enqueue_mail(followup_id)
            queued += 1
    return queued
