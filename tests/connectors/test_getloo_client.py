"""The Getloo connector against a server that speaks the documented API over real HTTP."""
from __future__ import annotations

import pytest

from inbox.connectors.base import AuthError, ProviderError, Rejected
from inbox.connectors.getloo import GetlooConnector
from sandbox.getloo import UNPAID_TOKEN
from models import TicketKind


def connector(sandbox, token=None) -> GetlooConnector:
    return GetlooConnector(sandbox.url, {"token": token or sandbox.token})


def test_connect_calls_getinfo_at_the_documented_path(sandbox):
    [result] = connector(sandbox).connect()
    assert result.account_ref == "17841400000000001" and result.name == "@brand_shop"
    [call] = sandbox.state.requests
    assert (call["token"], call["method"], call["http_method"]) == (sandbox.token, "getInfo", "GET")


def test_bad_token_is_401_invalid_token(sandbox):
    with pytest.raises(AuthError) as err:
        connector(sandbox, "NOT-A-TOKEN").connect()
    assert err.value.code == "invalid_token" and err.value.status == 401
    assert "token" in err.value.message


def test_unpaid_account_is_402_no_active_channel(sandbox):
    with pytest.raises(AuthError) as err:
        connector(sandbox, UNPAID_TOKEN).connect()
    assert err.value.code == "no_active_channel" and err.value.status == 402


def test_set_webhook_registers_our_url(sandbox):
    connector(sandbox).set_webhook("http://127.0.0.1:9/webhooks/getloo/abc")
    assert connector(sandbox).get_webhook() == "http://127.0.0.1:9/webhooks/getloo/abc"
    assert [c["http_method"] for c in sandbox.state.requests if c["method"] == "setWebHook"] == ["POST"]


def test_dm_reply_is_a_sendmsg_to_the_user_id(sandbox):
    queue_id = connector(sandbox).send_reply(TicketKind.CONVERSATION,
                                             {"user_id": "555", "username": "anna"}, "Здравствуйте!")
    [sent] = sandbox.state.sent
    assert sent["queue_id"] == queue_id
    assert (sent["user_id"], sent["username"], sent["caption"], sent["file"]) == ("555", "anna", "Здравствуйте!", None)


def test_comment_reply_is_text_only_to_the_comment_id(sandbox):
    connector(sandbox).send_reply(TicketKind.COMMENT, {"comment_id": "c-77", "user_id": "555", "username": "anna"},
                                  "Thanks!")
    [sent] = sandbox.state.sent
    assert sent["user_id"] == "c-77" and sent["file"] is None


@pytest.mark.parametrize("status", [429, 500, 503])
def test_rate_limits_and_server_errors_are_retryable(sandbox, status):
    sandbox.state.fail_next("sendMsg", status)
    with pytest.raises(ProviderError) as err:
        connector(sandbox).send_message(username="a", user_id="1", caption="hi")
    assert err.value.retryable
    assert sandbox.state.sent == []


def test_a_400_is_permanent_with_the_providers_reason(sandbox):
    with pytest.raises(ProviderError) as err:
        connector(sandbox).send_message(username="a", user_id="1", caption="x" * 1001)
    assert not err.value.retryable and err.value.code == "bad_request" and err.value.status == 400


def test_unreachable_provider_is_retryable():
    with pytest.raises(ProviderError) as err:
        GetlooConnector("http://127.0.0.1:9", {"token": "T"}).get_info()
    assert err.value.code == "provider_unreachable" and err.value.retryable


@pytest.mark.parametrize("text, code", [("", "empty_reply"), ("   ", "empty_reply"), ("я" * 1001, "reply_too_long")])
def test_replies_the_provider_would_refuse_are_caught_before_queueing(text, code):
    with pytest.raises(Rejected) as err:
        GetlooConnector.validate_reply(TicketKind.CONVERSATION, text)
    assert err.value.code == code


def test_a_reply_of_exactly_1000_characters_is_accepted():
    assert len(GetlooConnector.validate_reply(TicketKind.COMMENT, "я" * 1000)) == 1000
