"""The Resont connector against the sandbox over real HTTP: both auth modes, OAuth, every action's
documented request, error mapping, and polling (cursor and page pagination, bounded backfill,
incremental passes, items that arrived without a webhook)."""
from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from flask import Flask, request

from helpers import LiveServer as _Server
from inbox.connectors.base import AuthError, InboundItem, PostRecord, ProviderError, Rejected, Target
from inbox.connectors.resont import ResontConnector, authorize_url, exchange_code
from sandbox.resont import (EMPTY_TOKEN, SANDBOX, SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, SANDBOX_TOKEN,
                                     ResontSandbox)
from models import TicketKind


def kind(exc: ProviderError) -> str:
    """How the workers treat an error: retried, the channel flagged, or a refusal for good."""
    return "retry" if exc.retryable else "auth" if isinstance(exc, AuthError) else "refused"


@dataclass
class Resont:
    root: str                 # like https://api.resont.com (the sandbox is mounted under a prefix)
    state: ResontSandbox

    @property
    def token_url(self) -> str:
        return f"{self.root}/token/v1"

    @property
    def oauth_url(self) -> str:
        return f"{self.root}/v1"

    def connector(self, account_id: str | None = "101", token: str = SANDBOX_TOKEN, **settings) -> ResontConnector:
        settings = {"account_id": account_id, "account_identifier": "brand.shop", **settings}
        return ResontConnector(self.token_url, {"token": token}, settings)

    def oauth_connector(self, account_id: str | None = "101", ttl: int | None = None, expires_at: int | None = None,
                        **settings) -> ResontConnector:
        answer = self.state.issue_tokens(ttl=ttl)
        creds = {"client_id": SANDBOX_CLIENT_ID, "client_secret": SANDBOX_CLIENT_SECRET,
                 "access_token": answer["access_token"], "refresh_token": answer["refresh_token"],
                 "expires_at": expires_at or int(time.time()) + answer["expires_in"]}
        return ResontConnector(self.oauth_url, creds,
                               {"account_id": account_id, "account_identifier": "brand.shop", **settings})

    def calls(self, name: str | None = None) -> list[dict]:
        return [r for r in self.state.requests if name is None or r.get("name") == name]

    def writes(self, kind: str) -> list[dict]:
        return [w for w in self.state.writes if w["kind"] == kind]


@pytest.fixture
def resont(_sandbox_server) -> Iterator[Resont]:
    SANDBOX.reset()
    yield Resont(root=f"{_sandbox_server.url}/sandbox/resont", state=SANDBOX)
    SANDBOX.reset()


@pytest.fixture
def receiver() -> Iterator[tuple[str, list]]:
    """A webhook receiver on loopback that keeps what it is sent."""
    bodies: list = []
    app = Flask("receiver")

    @app.post("/hook")
    def hook():
        bodies.append(request.get_json())
        return {"ok": True}

    server = _Server(app)
    yield f"{server.url}/hook", bodies
    server.stop()


def comment_target(comment_id: str = "1001", **data) -> Target:
    return Target(kind=TicketKind.COMMENT, external_id=f"comment:{comment_id}",
                  data={"comment_id": comment_id, "account_id": "101", **data}, channel_settings={"account_id": "101"})


def conversation_target(conversation_id: str = "2001", message: str | None = "message:3004", **data) -> Target:
    return Target(kind=TicketKind.CONVERSATION, external_id=f"conversation:{conversation_id}",
                  data={"conversation_id": conversation_id, **data}, message_external_id=message)


def ticket_target(ticket_id: str = "4001") -> Target:
    return Target(kind=TicketKind.TICKET, external_id=f"ticket:{ticket_id}", data={"ticket_id": ticket_id})


# -- connecting ------------------------------------------------------------------------------

def test_token_mode_connect_lists_every_account_with_the_token_in_the_query(resont):
    results = resont.connector(account_id=None).connect()
    assert [(r.account_ref, r.network) for r in results] == [("101", "instagram"), ("102", "telegram"),
                                                             ("103", "aparat")]
    assert results[0].name == "Brand Shop · فروشگاه" and results[1].name == "Brand Channel 📣"
    assert results[0].settings["account_id"] == "101" and results[0].settings["account_identifier"] == "brand.shop"
    assert [r.settings["support_tickets"] for r in results] == [True, False, False]
    assert all(r.credentials is None for r in results)
    [accounts] = resont.calls("account.list")
    assert accounts["mode"] == "token" and accounts["query"]["token"] == SANDBOX_TOKEN
    assert accounts["query"]["with"] == "meta" and "access_token" not in accounts["query"]


def test_connect_keeps_relogin_reason_hides_bot_keys_and_takes_the_users_time_zone(resont):
    resont.state.users[501]["timezone"] = "Asia/Tehran"
    results = {r.account_ref: r for r in resont.connector(account_id=None).connect()}
    assert results["103"].info["login_required"] == 1
    assert results["103"].info["relogin_reason"].startswith("رمز عبور")
    assert results["102"].info["meta"] == {"botusername": "brand_support_bot"}
    assert {r.settings["timezone"] for r in results.values()} == {"Asia/Tehran"}


def test_a_login_with_no_accounts_connects_nothing(resont):
    assert resont.connector(token=EMPTY_TOKEN).connect() == []


def test_bad_token_is_an_auth_error_with_resonts_trace_id(resont):
    with pytest.raises(AuthError) as err:
        resont.connector(token="wrong").connect()
    assert err.value.code == "unauthorized" and err.value.status == 401 and err.value.trace_id


def test_either_documented_base_url_works_with_either_credential(resont):
    token = ResontConnector(resont.oauth_url, {"token": SANDBOX_TOKEN}, {})
    assert token.base_url == resont.token_url
    assert len(token.connect()) == 3
    oauth = resont.oauth_connector()
    assert ResontConnector(resont.token_url, oauth.credentials, {}).base_url == resont.oauth_url


@pytest.mark.parametrize("credentials, message", [
    ({}, "token"), ({"token": "  "}, "token"),
    ({"client_id": "a", "client_secret": "b", "access_token": "c"}, "missing: refresh_token"),
    ({"token": "t", "client_id": "a", "client_secret": "b", "access_token": "c", "refresh_token": "d"}, "not both"),
    ({"client_id": "a", "client_secret": "b", "access_token": "c", "refresh_token": "d", "expires_at": "soon"},
     "expires_at"),
])
def test_check_credentials_refuses_what_is_neither_shape(credentials, message):
    with pytest.raises(ValueError, match=message):
        ResontConnector.check_credentials(credentials)


def test_check_credentials_accepts_both_shapes():
    assert ResontConnector.check_credentials({"token": " T ", "name": "x"}) == {"token": "T"}
    oauth = ResontConnector.check_credentials({"client_id": "a", "client_secret": "b", "access_token": "c",
                                               "refresh_token": "d", "expires_at": "1700000000"})
    assert oauth == {"client_id": "a", "client_secret": "b", "access_token": "c", "refresh_token": "d",
                     "expires_at": 1700000000}


# -- OAuth ---------------------------------------------------------------------------------

def test_authorize_url_and_code_exchange(resont):
    url = authorize_url(resont.oauth_url, SANDBOX_CLIENT_ID, "http://127.0.0.1:9/cb", "st-123")
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{resont.root}/web/oauth/authorize"
    query = parse_qs(parts.query)
    assert query["response_type"] == ["code"] and query["state"] == ["st-123"]
    assert "offline_access" in query["scope"][0].split() and query["redirect_uri"] == ["http://127.0.0.1:9/cb"]

    back = httpx.get(url, follow_redirects=False)
    assert back.status_code == 302
    returned = parse_qs(urlsplit(back.headers["location"]).query)
    assert returned["state"] == ["st-123"]

    creds = exchange_code(resont.oauth_url, SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, returned["code"][0],
                          "http://127.0.0.1:9/cb")
    assert creds["access_token"] and creds["refresh_token"]
    assert abs(creds["expires_at"] - (time.time() + 3600)) < 10
    [token_call] = resont.calls("oauth.token")
    assert token_call["params"]["grant_type"] == "authorization_code"
    assert token_call["params"]["redirect_uri"] == "http://127.0.0.1:9/cb"
    results = ResontConnector(resont.oauth_url, creds, {}).connect()
    assert len(results) == 3
    [accounts] = resont.calls("account.list")
    assert accounts["mode"] == "oauth" and accounts["query"]["access_token"] == creds["access_token"]


def test_a_used_or_wrong_code_is_refused(resont):
    with pytest.raises(AuthError) as err:
        exchange_code(resont.oauth_url, SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, "nope", "http://127.0.0.1:9/cb")
    assert err.value.code == "oauth_refused" and "invalid" in err.value.message and err.value.trace_id


def test_refreshes_shortly_before_expiry_and_returns_the_new_tokens(resont):
    connector = resont.oauth_connector(ttl=30)
    old = dict(connector.credentials)
    result = connector.perform("close", ticket_target(), {})
    assert [r["name"] for r in resont.state.requests] == ["oauth.token", "ticket.close"]
    refresh = resont.calls("oauth.token")[0]["params"]
    assert refresh == {"client_id": SANDBOX_CLIENT_ID, "client_secret": SANDBOX_CLIENT_SECRET,
                       "grant_type": "refresh_token", "refresh_token": old["refresh_token"]}
    assert result.credentials["access_token"] != old["access_token"]
    assert result.credentials["refresh_token"] == old["refresh_token"]        # the docs' answer has none
    assert result.credentials["expires_at"] > old["expires_at"]


def test_a_401_refreshes_once_and_retries_once(resont):
    connector = resont.oauth_connector()
    resont.state.expire_access_tokens()         # the server says expired, our clock does not
    fetched = connector.fetch({})
    names = [r["name"] for r in resont.state.requests]
    assert names[:3] == ["comment.list", "oauth.token", "comment.list"]
    assert names.count("oauth.token") == 1
    assert fetched.credentials["access_token"] == connector.credentials["access_token"]
    assert fetched.token_expires_at and fetched.token_expires_at > datetime.now(timezone.utc).replace(tzinfo=None)


def test_connect_hands_back_refreshed_tokens(resont):
    results = resont.oauth_connector(account_id=None, ttl=5).connect()
    assert results[0].credentials and results[0].credentials["access_token"]
    assert results[0].token_expires_at is not None


def test_a_refused_refresh_is_an_auth_error(resont):
    connector = resont.oauth_connector()
    resont.state.expire_access_tokens()
    resont.state.revoke_refresh_tokens()
    with pytest.raises(AuthError) as err:
        connector.connect()
    assert err.value.code == "refresh_failed" and "Connect the account again" in err.value.message


def test_a_second_401_after_refreshing_is_an_auth_error(resont):
    resont.state.fail_next("account.list", 401, times=2)
    with pytest.raises(AuthError) as err:
        resont.oauth_connector().connect()
    assert err.value.code == "unauthorized"
    assert [r["name"] for r in resont.state.requests] == ["account.list", "oauth.token", "account.list"]


def test_a_failing_token_endpoint_is_retryable_not_a_reconnect(resont):
    resont.state.fail_next("oauth.token", 503)
    with pytest.raises(ProviderError) as err:
        resont.oauth_connector(ttl=5).connect()
    assert kind(err.value) == "retry"


def test_token_mode_401_is_an_auth_error_without_refresh(resont):
    resont.state.fail_next("comment.list", 401)
    with pytest.raises(AuthError):
        resont.connector().fetch({})
    assert resont.calls("oauth.token") == []


# -- errors ----------------------------------------------------------------------------------

def test_validation_error_carries_resonts_message_and_trace_id(resont):
    with pytest.raises(ProviderError) as err:
        resont.connector().perform("reply", comment_target(username="sara.ahmadi"), {"text": "x" * 2201})
    assert err.value.code == "validation" and err.value.status == 400 and not err.value.retryable
    assert err.value.message == "The comment may not be greater than 2200 characters."
    assert err.value.trace_id and len(err.value.trace_id) == 24


@pytest.mark.parametrize("status, expected, code", [(403, "refused", "forbidden"), (404, "refused", "not_found"),
                                                    (429, "retry", "rate_limited"),
                                                    (500, "retry", "provider_error"),
                                                    (503, "retry", "provider_error")])
def test_error_statuses(resont, status, expected, code):
    resont.state.fail_next("PUT comment/1001/like", status)
    with pytest.raises(ProviderError) as err:
        resont.connector().perform("like", comment_target(), {})
    assert kind(err.value) == expected
    assert err.value.code == code and err.value.trace_id
    assert resont.writes("comment.like") == []


def test_unknown_item_is_not_found(resont):
    with pytest.raises(ProviderError) as err:
        resont.connector().perform("like", comment_target("99999"), {})
    assert err.value.code == "not_found" and err.value.status == 404


def test_unreachable_resont_is_retryable():
    with pytest.raises(ProviderError) as err:
        ResontConnector("http://127.0.0.1:9/token/v1", {"token": "t"}, {}).connect()
    assert err.value.code == "provider_unreachable" and err.value.retryable


# -- setup and webhooks --------------------------------------------------------------------

def test_oauth_setup_subscribes_comments_and_messages_and_webhooks_flow(resont, receiver):
    url, bodies = receiver
    connector = resont.oauth_connector()
    connector.setup("https://inbox.example/webhooks/resont/abc")
    assert [r["params"] for r in resont.calls("comment.subscribe")] == [{"account_ids": ["101"]}]
    assert [r["params"] for r in resont.calls("conversation.subscribe")] == [{"account_ids": ["101"]}]
    resont.state.set_webhook_url(SANDBOX_CLIENT_ID, url)
    resont.state.emit_comment(101, "Какие размеры есть? 📏", social_user_id=7006)
    resont.state.emit_message("سلام، پیگیری سفارش ۴۸۲۱ 🙏", conversation_id=2001, social_user_id=7001)
    assert [b["type"] for b in bodies] == ["comment_created", "message_created"]
    [comment] = ResontConnector.parse(bodies[0])
    [message] = ResontConnector.parse(bodies[1])
    assert comment.text == "Какие размеры есть? 📏" and comment.author.username == "olga.smirnova"
    assert message.ticket_external_id == "conversation:2001" and message.text == "سلام، پیگیری سفارش ۴۸۲۱ 🙏"
    assert ResontConnector.route(bodies[0]) == ResontConnector.route(bodies[1]) == "101"


def test_telegram_account_events_are_not_sent_before_it_is_subscribed(resont, receiver):
    url, _ = receiver
    resont.oauth_connector().setup(url)
    resont.state.set_webhook_url(SANDBOX_CLIENT_ID, url)
    with pytest.raises(LookupError):
        resont.state.emit_comment(102, "not subscribed", social_user_id=7002)


def test_token_setup_subscribes_only_what_is_not_and_never_fails_on_a_refusal(resont):
    resont.state.accounts[101]["comment_subscribe"] = 1
    resont.state.fail_next("conversation.subscribe", 403)
    resont.connector().setup("https://inbox.example/webhooks/resont/abc")
    assert resont.calls("comment.subscribe") == []
    assert [r["status"] for r in resont.calls("conversation.subscribe")] == [403]


def test_oauth_setup_failure_is_raised(resont):
    resont.state.fail_next("comment.subscribe", 403)
    with pytest.raises(ProviderError):
        resont.oauth_connector().setup("https://inbox.example/hook")


# -- actions ---------------------------------------------------------------------------------

def test_comment_reply_sends_comment_and_username(resont):
    result = resont.connector().perform("reply", comment_target(username="sara.ahmadi"), {"text": "سلام! بله 🌷"})
    [write] = resont.writes("comment.reply")
    assert (write["comment_id"], write["comment"], write["username"]) == (1001, "سلام! بله 🌷", "sara.ahmadi")
    assert result.external_id == f"comment:{write['reply_id']}"
    [call] = resont.calls("comment.reply")
    assert call["method"] == "POST" and call["path"] == "comment/1001/reply"


def test_comment_reply_looks_up_the_username_a_webhook_did_not_give(resont):
    resont.connector().perform("reply", comment_target("1006"), {"text": "Да, с 10 до 18 😊"})
    [lookup] = resont.calls("comment.detail")
    assert lookup["query"]["with"] == "socialUser"
    assert resont.writes("comment.reply")[0]["username"] == "ivan_petrov"


def test_like_and_unlike_toggle_only_when_the_state_must_change(resont):
    connector = resont.connector()
    assert connector.perform("like", comment_target(liked=False), {}).data == {"liked": True}
    assert resont.state.comments[1001]["like"] == 1
    assert connector.perform("like", comment_target(liked=True), {}).data == {"liked": True}
    assert len(resont.writes("comment.like")) == 1            # already liked: no call
    assert connector.perform("unlike", comment_target(liked=True), {}).data == {"liked": False}
    assert resont.state.comments[1001]["like"] == 0
    assert connector.perform("unlike", comment_target(liked=False), {}).data == {"liked": False}
    assert [c["method"] for c in resont.calls("comment.like")] == ["PUT", "PUT"]


def test_delete_comment_and_again(resont):
    connector = resont.connector()
    assert connector.perform("delete", comment_target("1002"), {}).data == {"deleted": True}
    assert 1002 not in resont.state.comments
    assert connector.perform("delete", comment_target("1002"), {}).data == {"deleted": True}   # 404: gone
    assert [(c["method"], c["status"]) for c in resont.calls("comment.delete")] == [("DELETE", 200), ("DELETE", 404)]


def test_comment_tags_map_names_to_ids_and_create_missing_ones(resont):
    result = resont.connector().perform("tag", comment_target(), {"tags": ["vip", "Доставка"]})
    [created] = resont.writes("comment_tag.save")
    assert created["name"] == "Доставка" and created["color"].startswith("#")
    [write] = resont.writes("comment.tag")
    assert write["tag_ids"] == [11, created["tag_id"]]
    assert [t["name"] for t in resont.connector().request("GET", "comment/1001")["tags"]] == ["VIP", "Доставка"]
    assert result.data["tags"] == ["vip", "Доставка"]
    resont.connector().perform("tag", comment_target(), {"tags": []})
    assert resont.state.comments[1001]["tag_ids"] == []


def test_conversation_reply_text(resont):
    result = resont.connector().perform("reply", conversation_target(), {"text": "Ваш заказ отправлен 📦"})
    [write] = resont.writes("conversation.reply")
    assert write["content"] == "Ваш заказ отправлен 📦" and write["attachment"] is None
    assert result.external_id == f"message:{write['message_id']}"


def test_conversation_reply_uploads_the_attachment_as_multipart(resont):
    resont.state.files["k1"] = (b"\x89PNG fake image", "image/png")
    attachment = f"{resont.root}/files/k1/invoice.png"
    resont.connector().perform("reply", conversation_target(), {"text": "فاکتور شما", "attachment_url": attachment})
    [call] = resont.calls("conversation.reply")
    assert call["files"] == {"attachment": {"filename": "invoice.png", "size": 15, "content_type": "image/png"}}
    assert call["params"]["content"] == "فاکتور شما"


def test_conversation_like_reacts_to_the_latest_message_and_unlike_takes_it_back(resont):
    connector = resont.connector()
    liked = connector.perform("like", conversation_target(message="message:3004"), {})
    assert liked.data == {"liked": True, "liked_message_id": "3004"}
    assert resont.state.messages[3004]["reactions"] == [9101]
    [call] = resont.calls("conversation.reaction")
    assert (call["method"], call["path"], call["params"]) == ("PUT", "conversation/message/3004/reaction",
                                                              {"type": "like"})
    again = connector.perform("like", conversation_target(liked=True, liked_message_id="3004"), {})
    assert again.data["liked"] is True and len(resont.calls("conversation.reaction")) == 1
    unliked = connector.perform("unlike", conversation_target(liked=True, liked_message_id="3004"), {})
    assert unliked.data == {"liked": False, "liked_message_id": None}
    assert resont.state.messages[3004]["reactions"] == []


def test_conversation_tags(resont):
    resont.connector().perform("tag", conversation_target(), {"tags": ["follow-up"]})
    [write] = resont.writes("conversation.tag")
    assert write["tag_ids"] == [22] and resont.writes("conversation_tag.save") == []


def test_ticket_reply_and_close(resont):
    connector = resont.connector()
    result = connector.perform("reply", ticket_target(), {"text": "دوباره وارد شدیم، ممنون."})
    [write] = resont.writes("ticket.reply")
    assert result.external_id == f"ticketmeta:{write['meta_id']}"
    assert connector.perform("close", ticket_target(), {}).data == {"closed": True}
    assert resont.state.tickets[4001]["status"] == 4


def test_tagging_a_support_ticket_stays_local(resont):
    assert resont.connector().perform("tag", ticket_target(), {"tags": ["x"]}).data == {}
    assert resont.state.requests == []


@pytest.mark.parametrize("kind, ticket_kind", [("like", TicketKind.TICKET), ("delete", TicketKind.CONVERSATION),
                                               ("close", TicketKind.COMMENT), ("hide", TicketKind.COMMENT)])
def test_actions_that_do_not_apply_are_refused_before_queueing(kind, ticket_kind):
    with pytest.raises(Rejected):
        ResontConnector.validate_action(kind, ticket_kind, {})


@pytest.mark.parametrize("params, code", [({"tags": "vip"}, "invalid_tags"), ({"tags": ["", "x"]}, "invalid_tags"),
                                          ({"tags": ["x" * 51]}, "invalid_tags")])
def test_bad_tag_params_are_refused(params, code):
    with pytest.raises(Rejected) as err:
        ResontConnector.validate_action("tag", TicketKind.COMMENT, params)
    assert err.value.code == code


def test_reply_params_are_checked():
    ResontConnector.validate_action("reply", TicketKind.CONVERSATION, {"text": "", "attachment_url": "https://x/y.png"})
    with pytest.raises(Rejected, match="text only"):
        ResontConnector.validate_action("reply", TicketKind.COMMENT, {"text": "hi", "attachment_url": "https://x/y"})
    with pytest.raises(Rejected):
        ResontConnector.validate_action("reply", TicketKind.CONVERSATION, {"text": "", "attachment_url": "ftp://x"})
    with pytest.raises(Rejected):
        ResontConnector.validate_action("reply", TicketKind.CONVERSATION, {"text": " "})


@pytest.mark.parametrize("kind, text, code", [(TicketKind.COMMENT, " ", "empty_reply"),
                                              (TicketKind.COMMENT, "я" * 2201, "reply_too_long"),
                                              (TicketKind.CONVERSATION, "я" * 1001, "reply_too_long")])
def test_replies_resont_would_refuse_are_caught(kind, text, code):
    with pytest.raises(Rejected) as err:
        ResontConnector.validate_reply(kind, text)
    assert err.value.code == code


def test_replies_at_the_limit_pass():
    assert len(ResontConnector.validate_reply(TicketKind.COMMENT, "я" * 2200)) == 2200
    assert len(ResontConnector.validate_reply(TicketKind.CONVERSATION, "я" * 1000)) == 1000


# -- polling ---------------------------------------------------------------------------------

def inbound(items: list) -> list[InboundItem]:
    return [i for i in items if isinstance(i, InboundItem)]


def test_first_pass_backfills_the_accounts_comments_conversations_posts_and_tickets(resont):
    result = resont.connector(support_tickets=True).fetch({})
    items = inbound(result.items)
    comments = [i for i in items if i.ticket_kind == TicketKind.COMMENT]
    # Account 101 only: 1006/1007 belong to the Telegram account; 1003 is our reply to 1001.
    assert sorted(i.message_external_id for i in comments) == [f"comment:{n}" for n in (1001, 1002, 1003, 1004,
                                                                                         1005, 1008)]
    ours = next(i for i in comments if i.message_external_id == "comment:1003")
    assert ours.direction == "out" and ours.ticket_external_id == "comment:1001"
    replies = next(i for i in comments if i.message_external_id == "comment:1005")
    assert replies.parent_ticket_external_id == "comment:1004"
    posts = [i for i in result.items if isinstance(i, PostRecord)]
    assert sorted(p.external_id for p in posts) == ["3301234567890123456", "3301234567890123999"]
    assert result.items.index(posts[0]) < result.items.index(comments[0])    # posts first
    dms = [i for i in items if i.ticket_kind == TicketKind.CONVERSATION]
    assert {i.ticket_external_id for i in dms} == {"conversation:2001", "conversation:2003"}
    assert [i.direction for i in dms if i.ticket_external_id == "conversation:2001"] == ["in", "in", "out", "in"]
    assert next(i for i in dms if i.ticket_external_id == "conversation:2003").tags == ("follow-up",)
    tickets = [i for i in items if i.ticket_kind == TicketKind.TICKET]
    assert {(i.ticket_external_id, i.closed) for i in tickets} == {("ticket:4001", False), ("ticket:4002", True)}
    comment_call = resont.calls("comment.list")[0]
    assert comment_call["query"]["with"] == "socialUser,accountPost,account"


def test_only_the_first_channel_reads_support_tickets(resont):
    resont.connector().fetch({})
    assert resont.calls("ticket.list") == []


def test_second_pass_returns_nothing_when_nothing_happened(resont):
    connector = resont.connector(support_tickets=True)
    state = connector.fetch({}).state
    again = connector.fetch(state)
    assert again.items == []
    assert again.state["comments"]["hw"] == state["comments"]["hw"]


def test_an_item_added_without_a_webhook_is_found_and_only_it(resont):
    connector = resont.connector(support_tickets=True)
    state = connector.fetch({}).state
    resont.state.add_comment(101, "Можно оплатить картой? 💳", social_user_id=7006)
    resont.state.add_comment(102, "another account's comment", social_user_id=7002)
    resont.state.add_message("Hello? Anyone there? 👋", conversation_id=2003, social_user_id=7003)
    resont.state.add_message("سلام، من مشتری جدید هستم", account_id=101, social_user_id=7004)
    resont.state.add_ticket_reply(4001, "Fixed on our side ✅")
    result = connector.fetch(state)
    texts = sorted(i.text for i in inbound(result.items))
    assert texts == sorted(["Можно оплатить картой? 💳", "Hello? Anyone there? 👋", "سلام، من مشتری جدید هستم",
                            "Fixed on our side ✅"])
    new_dm = next(i for i in result.items if i.text == "سلام، من مشتری جدید هستم")
    assert new_dm.ticket_external_id == "conversation:2004" and new_dm.author.username == "golbahar_99"
    assert connector.fetch(result.state).items == []


def test_items_added_in_the_same_second_are_not_lost(resont):
    connector = resont.connector()
    state = connector.fetch({}).state
    now = datetime.now(timezone.utc).replace(microsecond=0)
    resont.state.add_comment(101, "first", at=now)
    mid = connector.fetch(state)
    resont.state.add_comment(101, "second, same second", at=now)
    last = connector.fetch(mid.state)
    assert [i.text for i in inbound(mid.items)] == ["first"]
    assert [i.text for i in inbound(last.items)] == ["second, same second"]


def test_our_reply_found_by_polling_is_outgoing_in_the_conversation(resont):
    connector = resont.connector()
    state = connector.fetch({}).state
    sent = connector.perform("reply", conversation_target("2003"), {"text": "Yes, beige is in stock 🧥"})
    result = connector.fetch(state)
    [echo] = inbound(result.items)
    assert echo.message_external_id == sent.external_id and echo.direction == "out"


def test_backfill_is_bounded_to_three_pages(resont):
    resont.state.page_size = 2
    for n in range(10):
        resont.state.add_comment(102, f"old comment {n}", social_user_id=7002)
    result = resont.connector(account_id="102").fetch({})
    assert len(resont.calls("comment.list")) == 3
    assert len([i for i in inbound(result.items) if i.ticket_kind == TicketKind.COMMENT]) == 6
    # Cursor pages: the 2nd and 3rd requests carry the cursor taken from the "after" address.
    afters = [c["query"].get("after") for c in resont.calls("comment.list")]
    assert afters[0] is None and all(afters[1:])


def test_a_burst_longer_than_one_pass_is_finished_by_later_passes(resont):
    resont.state.page_size = 2
    connector = resont.connector(account_id="102")
    state = connector.fetch({}).state
    for n in range(25):
        resont.state.add_comment(102, f"burst {n}", social_user_id=7005)
    passes = [connector.fetch(state)]
    assert passes[0].state["comments"].get("walk")        # stopped after INCREMENTAL_PAGES pages
    assert len(resont.calls("comment.list")) == 3 + 10
    resont.state.add_comment(102, "during the burst", social_user_id=7005)
    while (passes[-1].items or "walk" in passes[-1].state["comments"]) and len(passes) < 8:
        passes.append(connector.fetch(passes[-1].state))
    assert passes[-1].items == [] and "walk" not in passes[-1].state["comments"]
    texts = [i.text for r in passes for i in inbound(r.items) if i.ticket_kind == TicketKind.COMMENT]
    assert sorted(texts) == sorted([f"burst {n}" for n in range(25)] + ["during the burst"])
    assert len(texts) == len(set(texts))


def test_ticket_pages_are_read_by_number(resont):
    resont.state.page_size = 1
    result = resont.connector(support_tickets=True).fetch({})
    assert [c["query"].get("page") for c in resont.calls("ticket.list")] == [None, "2"]
    assert {i.ticket_external_id for i in inbound(result.items) if i.ticket_kind == TicketKind.TICKET} == \
        {"ticket:4001", "ticket:4002"}


def test_a_ticket_closed_since_the_last_pass_says_so(resont):
    connector = resont.connector(support_tickets=True)
    state = connector.fetch({}).state
    resont.state.set_ticket_status(4001, 4)
    result = connector.fetch(state)
    [item] = inbound(result.items)
    assert item.ticket_external_id == "ticket:4001" and item.closed is True


def test_dates_are_read_in_the_users_time_zone(resont):
    resont.state.users[501]["timezone"] = "Asia/Tehran"
    connector = resont.connector(timezone="Asia/Tehran")
    items = inbound(connector.fetch({}).items)
    first = next(i for i in items if i.message_external_id == "comment:1001")
    assert first.created_at == datetime(2024, 11, 5, 8, 0)
