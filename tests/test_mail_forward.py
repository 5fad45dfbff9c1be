"""Forward by mail: the followup and history a rule records, the job that sends it through a real
SMTP server (aiosmtpd on loopback), once; held in the outbox without a server; "Send again"."""
from __future__ import annotations

import socket
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlalchemy import select

from helpers import csrf_of, local_ticket, login, run_jobs
from inbox import db, mail
from inbox.connectors.base import Rejected
from models import Direction, Followup, FollowupStatus, History, Interactor, Message, Ticket
from workers.mail import send_mail

PERSIAN = "سلام، سفارش من هنوز نرسیده است"
RUSSIAN = "Где мой заказ? Ёлка"


class Inbox:
    """What the SMTP server received: (envelope sender, recipients, parsed message)."""

    def __init__(self):
        self.mails = []

    async def handle_DATA(self, server, session, envelope):
        self.mails.append((envelope.mail_from, list(envelope.rcpt_tos),
                           message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _login(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (b"bot", b"p@ss word")
    return AuthResult(success=ok)


@pytest.fixture
def smtp(monkeypatch):
    received = Inbox()
    port = _free_port()
    controller = Controller(received, hostname="127.0.0.1", port=port, authenticator=_login,
                            auth_require_tls=False)
    controller.start()
    monkeypatch.setenv("INBOX_SMTP_URL", f"smtp://bot:p%40ss%20word@127.0.0.1:{port}")
    monkeypatch.setenv("INBOX_MAIL_FROM", "rules@shop.test")
    yield received
    controller.stop()


@pytest.fixture
def no_smtp(monkeypatch):
    monkeypatch.delenv("INBOX_SMTP_URL", raising=False)


def _forwarded(config: dict | None = None) -> int:
    """A ticket with a Persian and a Russian message, forwarded by the rule "Escalate"; the followup id."""
    ticket_id = local_ticket(PERSIAN)
    with db.session_scope() as s:
        ticket = s.get(Ticket, ticket_id)
        person = Interactor(channel_id=ticket.channel_id, external_id="77", username="sara", name="سارا")
        s.add(person)
        s.flush()
        s.add_all([Message(ticket_id=ticket_id, channel_id=ticket.channel_id, external_id="m1", text=PERSIAN,
                           interactor_id=person.id),
                   Message(ticket_id=ticket_id, channel_id=ticket.channel_id, external_id="m2", text=RUSSIAN,
                           direction=Direction.OUT)])
        followup = mail.forward(s, ticket, config or {
            "recipients": ["boss@shop.test"], "cc": ["team@shop.test"], "subject": "", "message": "Please look: گزارش",
            "replyTo": "help@shop.test", "context": True}, rule_name="Escalate")
        return followup.id


def _followup(followup_id: int) -> Followup:
    with db.session_scope() as s:
        f = s.get(Followup, followup_id)
        s.expunge(f)
        return f


def test_forward_records_a_queued_mail_and_a_history_row(app, no_smtp):
    followup_id = _forwarded()
    f = _followup(followup_id)
    assert (f.type, f.status, f.author_id, f.text) == ("mail", "queued", None, "Please look: گزارش")
    assert f.request == {"recipients": ["boss@shop.test"], "cc": ["team@shop.test"], "subject": f"Fwd: {PERSIAN}",
                         "replyTo": "help@shop.test", "context": True, "rule": "Escalate"}
    with db.session_scope() as s:
        history = s.scalars(select(History).where(History.action == "forwarded")).one()
        assert history.data == {"by": "rule", "rule": "Escalate", "followup_id": followup_id, "to": ["boss@shop.test"]}


@pytest.mark.parametrize("config", [{"recipients": []}, {"recipients": ["not-an-address"]},
                                    {"recipients": ["a@b.test"], "replyTo": "nobody"}])
def test_forward_refuses_what_cannot_be_sent(app, config):
    with db.session_scope() as s:
        ticket = s.get(Ticket, local_ticket())
        with pytest.raises(Rejected):
            mail.forward(s, ticket, config, rule_name="r")


def test_the_job_sends_one_mail_with_the_thread_and_marks_it_sent(app, smtp):
    followup_id = _forwarded()
    assert mail.send_soon(followup_id)
    run_jobs()
    assert mail.send_soon(followup_id)      # queued again (a retry, a duplicate): nothing more is sent
    run_jobs()
    assert send_mail(followup_id) == "skipped"
    assert len(smtp.mails) == 1
    sender, rcpt, message = smtp.mails[0]
    assert sender == "rules@shop.test" and sorted(rcpt) == ["boss@shop.test", "team@shop.test"]
    assert (message["To"], message["Cc"], message["Reply-To"]) == ("boss@shop.test", "team@shop.test", "help@shop.test")
    assert message["Subject"] == f"Fwd: {PERSIAN}"
    body = message.get_content()
    assert body.startswith("Please look: گزارش")
    assert f"سارا · " in body and PERSIAN in body and f"Us · " in body and RUSSIAN in body
    assert "Forwarded by the rule Escalate" in body
    f = _followup(followup_id)
    assert (f.status, f.error) == ("sent", None)


def test_without_smtp_the_mail_is_held_in_the_outbox_until_sent_again(client, users, no_smtp, monkeypatch):
    followup_id = _forwarded()
    assert send_mail(followup_id) == "held"
    f = _followup(followup_id)
    assert (f.status, f.error) == ("queued", mail.NO_SMTP)

    login(client, "admin")
    page = client.get("/settings/outbox").get_data(as_text=True)
    assert f"{mail.NO_SMTP}: forwarded mail waits here" in page
    assert f'id="mail-{followup_id}" data-status="held"' in page and "Send again" in page
    pane = client.get(f"/tickets/{f.ticket_id}").get_data(as_text=True)
    assert "Forwarded by rule <bdi dir=\"auto\">Escalate</bdi> to" in pane and mail.NO_SMTP in pane

    received = Inbox()
    port = _free_port()
    controller = Controller(received, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        monkeypatch.setenv("INBOX_SMTP_URL", f"smtp://127.0.0.1:{port}")
        page = client.get("/settings/outbox").get_data(as_text=True)
        assert f"Mail is sent through smtp://127.0.0.1:{port}" in page
        token = csrf_of(client, "/settings/outbox")
        first = client.post(f"/settings/outbox/{followup_id}/send", data={"csrf_token": token})
        second = client.post(f"/settings/outbox/{followup_id}/send", data={"csrf_token": token})   # a double click
        assert first.status_code == second.status_code == 302
        run_jobs()
    finally:
        controller.stop()
    assert len(received.mails) == 1
    assert _followup(followup_id).status == "sent"
    page = client.get("/settings/outbox").get_data(as_text=True)
    assert f'id="mail-{followup_id}" data-status="sent"' in page


def test_an_unreachable_server_fails_the_mail_with_its_error(app, monkeypatch):
    monkeypatch.setenv("INBOX_SMTP_URL", f"smtp://127.0.0.1:{_free_port()}")
    followup_id = _forwarded()
    assert send_mail(followup_id) == "failed"      # outside RQ: no retries left
    f = _followup(followup_id)
    assert f.status == "failed" and f.error.startswith("Could not reach the SMTP server")


def test_the_password_is_never_shown(client, users, smtp):
    login(client, "admin")
    page = client.get("/settings/outbox").get_data(as_text=True)
    assert "smtp://bot@127.0.0.1:" in page and "p@ss" not in page and "p%40ss" not in page


def test_only_admins_see_the_outbox(client, users, no_smtp):
    followup_id = _forwarded()
    send_mail(followup_id)
    login(client, "supervisor")
    token = csrf_of(client, "/")
    assert client.get("/settings/outbox").status_code == 403
    assert client.post(f"/settings/outbox/{followup_id}/send", data={"csrf_token": token}).status_code == 403
    assert _followup(followup_id).error == mail.NO_SMTP


def test_a_mail_queued_while_redis_was_down_is_sent_by_the_sweep(app, redis_server, smtp):
    """``send_soon`` answers False when the queue is unreachable; the row waits, and the sweep
    (``workers.mail.requeue_stranded``) queues it once Redis is back."""
    from datetime import timedelta

    from workers.mail import requeue_stranded

    followup_id = _forwarded()
    redis_server.stop()
    assert mail.send_soon(followup_id) is False
    redis_server.start()
    assert requeue_stranded(stale_after=timedelta(0)) == 1
    run_jobs()
    assert len(smtp.mails) == 1 and _followup(followup_id).status == "sent"
    assert requeue_stranded(stale_after=timedelta(0)) == 0


def test_a_subject_stays_one_header_line(app, smtp):
    followup_id = _forwarded({"recipients": ["boss@shop.test"], "subject": "Urgent\r\nBcc: evil@x.test"})
    assert _followup(followup_id).request["subject"] == "Urgent Bcc: evil@x.test"
    assert send_mail(followup_id) == "sent"
    sender, rcpt, message = smtp.mails[0]
    assert rcpt == ["boss@shop.test"] and message["Bcc"] is None
