"""Asking a provider whether an interrupted action was carried out (``Connector.reconcile``), and
reading a busy provider's ``Retry-After``: against the sandboxes over real HTTP."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import httpx
import pytest

from inbox.connectors.base import CannotAsk, ProviderError, Target, retry_after
from inbox.connectors.getloo import GetlooConnector
from inbox.connectors.resont import ResontConnector
from models import TicketKind, utcnow
from sandbox.getloo import DEMO_TOKEN, SANDBOX as GETLOO
from sandbox.resont import SANDBOX, SANDBOX_TOKEN


@pytest.fixture
def resont(app, _sandbox_server):
    """A token-mode connector on the sandbox (the app configures which addresses may be called)."""
    SANDBOX.reset()
    yield ResontConnector(f"{_sandbox_server.url}/sandbox/resont/token/v1", {"token": SANDBOX_TOKEN},
                          {"account_id": "101", "account_identifier": "brand.shop"})
    SANDBOX.reset()


def conversation(cid: str = "2001") -> Target:
    return Target(kind=TicketKind.CONVERSATION, external_id=f"conversation:{cid}", data={"conversation_id": cid},
                  message_external_id="message:3004")


def comment(cid: str = "1001", **data) -> Target:
    return Target(kind=TicketKind.COMMENT, external_id=f"comment:{cid}", data={"comment_id": cid, **data})


def ticket(tid: str = "4001") -> Target:
    return Target(kind=TicketKind.TICKET, external_id=f"ticket:{tid}", data={"ticket_id": tid})


@pytest.mark.parametrize("target", [conversation(), comment(username="sara.ahmadi"), ticket()],
                         ids=["dm", "comment", "ticket"])
def test_a_reply_that_arrived_is_found_and_one_that_did_not_is_not(resont, target):
    since = utcnow()
    params = {"text": "Проверка доставки 📦"}
    assert resont.reconcile("reply", target, params, since) is None          # not there: safe to send
    sent = resont.perform("reply", target, params)
    found = resont.reconcile("reply", target, params, since)
    assert found is not None and found.external_id == sent.external_id
    # The same text sent long before this attempt began is not this attempt's reply.
    assert resont.reconcile("reply", target, params, since + timedelta(minutes=10)) is None


def test_a_comment_like_is_read_back_and_repeatable_actions_are_safe_to_repeat(resont):
    target = comment(liked=False)
    assert resont.reconcile("like", target, {}, utcnow()) is None
    resont.perform("like", target, {})
    assert resont.reconcile("like", target, {}, utcnow()).data == {"liked": True}
    assert resont.reconcile("tag", target, {"tags": ["vip"]}, utcnow()) is None
    with pytest.raises(CannotAsk):
        resont.reconcile("like", conversation(), {}, utcnow())


def test_getloo_cannot_be_asked(app, _sandbox_server):
    connector = GetlooConnector(f"{_sandbox_server.url}/sandbox/getloo", {"token": DEMO_TOKEN})
    with pytest.raises(CannotAsk):
        connector.reconcile("reply", conversation(), {"text": "hi"}, utcnow())


def test_a_429_carries_the_providers_retry_after(_sandbox_server, resont):
    GETLOO.reset()
    GETLOO.fail_next("getInfo", 429, retry_after=7)
    with pytest.raises(ProviderError) as caught:
        GetlooConnector(f"{_sandbox_server.url}/sandbox/getloo", {"token": DEMO_TOKEN}).get_info()
    assert caught.value.retryable and caught.value.status == 429 and caught.value.retry_after == 7.0
    SANDBOX.fail_next("comment.reply", 503, retry_after=3)
    with pytest.raises(ProviderError) as caught:
        resont.perform("reply", comment(username="sara.ahmadi"), {"text": "hi"})
    assert caught.value.retryable and caught.value.retry_after == 3.0
    GETLOO.reset()


def test_the_sandbox_control_api_injects_retry_after_and_checks_it(app, _sandbox_server):
    GETLOO.reset()
    control = f"{_sandbox_server.url}/sandbox/getloo/_sandbox/fail"
    assert httpx.post(control, json={"name": "getInfo", "status": 429, "retry_after": 2}).status_code == 200
    answer = httpx.get(f"{_sandbox_server.url}/sandbox/getloo/{DEMO_TOKEN}/getInfo")
    assert answer.status_code == 429 and answer.headers["Retry-After"] == "2"
    assert httpx.get(f"{_sandbox_server.url}/sandbox/getloo/{DEMO_TOKEN}/getInfo").status_code == 200
    assert httpx.post(control, json={"name": "getInfo", "status": 429, "retry_after": "soon"}).status_code == 400
    GETLOO.reset()


@pytest.mark.parametrize("status, header, expected", [
    (429, "120", 120.0), (503, "1.5", 1.5), (429, "-5", 0.0), (429, "soon", None), (429, "nan", None),
    (500, "10", None), (429, None, None)])
def test_retry_after_seconds(status, header, expected):
    headers = {"Retry-After": header} if header is not None else {}
    assert retry_after(httpx.Response(status, headers=headers)) == expected


def test_retry_after_as_an_http_date():
    when = datetime.now(timezone.utc) + timedelta(seconds=90)
    seconds = retry_after(httpx.Response(429, headers={"Retry-After": format_datetime(when, usegmt=True)}))
    assert 85 <= seconds <= 90
