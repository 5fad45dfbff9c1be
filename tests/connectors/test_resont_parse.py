"""Each documented Resont body (one fixture file per case) parses to what it means."""
from __future__ import annotations

from datetime import datetime

import httpx
import pytest

from helpers import FIXTURES, load
from inbox.connectors.base import AuthError, InboundItem, PostRecord, ProviderError, Rejected
from inbox.connectors.resont import (ResontConnector, comment_item, jalali_to_gregorian, message_item, parse_date,
                                     post_record, ticket_items)
from inbox.connectors.resont.client import _error_info, _raise_for, to_page
from models import TicketKind

SETTINGS = {"account_id": "101", "account_identifier": "brand.shop", "account_name": "Brand Shop · فروشگاه"}


def kind(exc: ProviderError) -> str:
    """How the workers treat an error: retried, the channel flagged, or a refusal for good."""
    return "retry" if exc.retryable else "auth" if isinstance(exc, AuthError) else "refused"


def fixture(name: str):
    return load(name, "resont")


# -- webhooks --------------------------------------------------------------------------------

def test_comment_created_is_one_comment_ticket_with_author_post_and_tags():
    [item] = ResontConnector.parse(fixture("comment_created"))
    assert isinstance(item, InboundItem)
    assert item.ticket_kind == TicketKind.COMMENT and item.direction == "in"
    assert (item.ticket_external_id, item.message_external_id) == ("comment:1009", "comment:1009")
    assert item.text == "سلام! این رنگ سبز هم موجوده؟ 💚" and item.message_kind == "comment"
    assert (item.author.external_id, item.author.username, item.author.name) == ("7004", "golbahar_99", "گل‌بهار 🌸")
    assert item.post_external_id == "3301234567890123456" and item.parent_ticket_external_id is None
    assert item.tags == ("VIP",)
    assert item.created_at == datetime(2024, 11, 6, 9, 15, 42)
    assert item.ticket_data["comment_id"] == "1009" and item.ticket_data["account_id"] == "101"
    assert item.ticket_data["liked"] is False and item.ticket_data["username"] == "golbahar_99"
    assert item.ticket_data["network_comment_id"] == "17900000000001009"


def test_a_reply_keeps_its_thread_and_liked_state_even_without_the_author_expansion():
    [item] = ResontConnector.parse(fixture("comment_created_reply"))
    assert item.ticket_external_id == "comment:1010"
    assert item.parent_ticket_external_id == "comment:1008"
    assert item.ticket_data["parent_id"] == "17900000000001008"
    assert item.ticket_data["liked"] is True and item.tags == ()
    assert item.author.external_id == "7006" and item.author.username == ""


def test_a_payload_sent_as_a_json_string_is_decoded():
    [item] = ResontConnector.parse(fixture("comment_created_payload_string"))
    assert item.ticket_external_id == "comment:1011" and item.ticket_data["account_id"] == "102"
    assert item.tags is None          # the body said nothing about tags: leave ours alone


def test_message_created_goes_to_its_conversation():
    [item] = ResontConnector.parse(fixture("message_created"))
    assert item.ticket_kind == TicketKind.CONVERSATION
    assert (item.ticket_external_id, item.message_external_id) == ("conversation:2002", "message:3010")
    assert item.text == "Подскажите, а бот работает в выходные? 🤖"
    assert (item.author.username, item.author.name) == ("ivan_petrov", "Иван Петров")
    assert item.ticket_data["conversation_id"] == "2002" and item.ticket_data["account_id"] == "102"
    assert item.direction == "in"


def test_media_message_is_typed_by_its_file():
    [item] = ResontConnector.parse(fixture("message_created_media"))
    assert item.message_kind == "video" and item.media_type == "video/mp4"
    assert item.media_url == "https://cdn.resont.example/media/dress-green.mp4" and item.text == ""


def test_our_own_message_is_outgoing_when_the_channel_settings_say_who_we_are():
    body = fixture("message_created_own")
    [plain] = ResontConnector.parse(body)
    [known] = ResontConnector.parse(body, SETTINGS)
    assert plain.direction == "in"
    assert known.direction == "out" and known.ticket_data == {}


def test_settings_time_zone_applies_to_webhook_dates():
    [item] = ResontConnector.parse(fixture("message_created"), {"timezone": "Asia/Tehran"})
    assert item.created_at == datetime(2024, 11, 6, 7, 32, 17)


def test_unknown_but_well_formed_type_is_ignored():
    assert ResontConnector.parse(fixture("unknown_type")) == []


@pytest.mark.parametrize("case", sorted(p.stem for p in (FIXTURES / "resont").glob("malformed_*.json")))
def test_malformed_bodies_are_rejected_with_a_reason(case):
    with pytest.raises(Rejected) as err:
        ResontConnector.parse(fixture(case))
    assert err.value.code == "malformed" and err.value.message


@pytest.mark.parametrize("case, account", [("comment_created", "101"), ("message_created", "102"),
                                           ("comment_created_payload_string", "102"),
                                           ("malformed_not_an_object", None), ("malformed_comment_without_account", None)])
def test_route_names_the_account_a_body_is_for(case, account):
    assert ResontConnector.route(fixture(case)) == account


# -- list answers --------------------------------------------------------------------------

def test_comment_list_is_a_cursor_page_with_expansions():
    page = to_page(fixture("comment_list"), cursor=True)
    assert [c["id"] for c in page.data] == [1008, 1007, 1006, 1005]
    assert page.next == {"after": "2024-11-05 09:50:00"}     # taken from the "next page address"
    item = comment_item(page.data[0], "UTC", SETTINGS)
    assert item.author.username == "olga.smirnova" and item.text == "Где можно купить офлайн? 🏬"
    record = post_record(page.data[0]["accountPost"], page.data[0]["post_id"])
    assert isinstance(record, PostRecord)
    assert record.external_id == item.post_external_id == "3301234567890123999"
    assert record.url == "https://www.instagram.com/p/CxSale50/" and record.network == "instagram"
    assert record.text == "Скидки до 50% только в эти выходные! 🔥" and record.status == "published"
    assert record.data["resont_post_id"] == "302"


def test_last_cursor_page_has_no_next():
    body = fixture("comment_list")
    body["paging"]["after"] = None
    assert to_page(body, cursor=True).next is None


def test_our_reply_in_the_comment_list_is_an_outgoing_message_of_the_comment_it_answers():
    own = dict(fixture("comment_list")["data"][0], id=1003, **{"from": 1001},
               socialUser={"id": 9101, "username": "brand.shop", "name": "Brand Shop"})
    item = comment_item(own, "UTC", SETTINGS)
    assert item.direction == "out"
    assert (item.ticket_external_id, item.message_external_id) == ("comment:1001", "comment:1003")
    assert item.ticket_data == {} and item.tags is None


def test_conversation_messages_mark_ours_by_participants_and_carry_our_reaction():
    conversation = fixture("conversation_list")["data"][-1]
    assert conversation["id"] == 2001
    participants = {str(p["social_user_id"]) for p in conversation["participants"]}
    items = [message_item(m, "UTC", None, participants) for m in fixture("conversation_messages")]
    assert [i.direction for i in items] == ["in", "in", "out", "in"]
    assert items[1].ticket_data["liked"] is True and items[1].ticket_data["liked_message_id"] == "3002"
    assert items[3].message_kind == "image" and items[3].media_type == "image/jpeg"
    assert all(i.ticket_external_id == "conversation:2001" for i in items)


def test_ticket_list_is_page_numbered_and_tickets_carry_closed():
    page = to_page(fixture("ticket_list"), cursor=False, page=1)
    assert page.next == {"page": "2"}
    [closed] = page.data
    items = ticket_items(closed, [{"id": 5004, "content": "Sent ✅", "date": "2024-10-28 16:00:00",
                                   "user": {"name": "Resont Support", "isAdmin": "1"}}])
    assert items[0].closed is True and items[0].ticket_kind == TicketKind.TICKET


def test_ticket_messages_from_support_are_inbound_and_ours_outbound():
    ticket = {"id": 4001, "title": "اتصال مجدد حساب آپارات", "status": 2, "status_name": "Answered"}
    items = ticket_items(ticket, fixture("ticket_meta"))
    assert [(i.message_external_id, i.direction) for i in items] == [("ticketmeta:5001", "out"),
                                                                      ("ticketmeta:5002", "in")]
    assert items[0].ticket_external_id == "ticket:4001" and not items[0].closed
    assert items[1].author.external_id == "resont:support"
    assert items[1].ticket_data["title"] == "اتصال مجدد حساب آپارات"


def test_account_list_fixture_has_the_fields_connect_reads():
    accounts = fixture("account_list")
    assert {a["type"] for a in accounts} == {"instagram", "telegram", "aparat"}
    assert any(a["login_required"] and a["relogin_reason"] for a in accounts)


# -- errors ----------------------------------------------------------------------------------

def test_error_response_gives_message_type_and_trace_id():
    assert _error_info(fixture("error_validation")) == (
        "The comment may not be greater than 2200 characters.", "ValidationException", "9f1c2a7be3d44e0fa1b2c3d4")
    assert _error_info({"error": [{"message": "bad", "type": "X", "trace_id": "t1"}]}) == ("bad", "X", "t1")
    assert _error_info({"message": "The given data was invalid.", "errors": {}})[0] == "The given data was invalid."


@pytest.mark.parametrize("status, expected, code", [(400, "refused", "validation"), (401, "auth", "unauthorized"),
                                                    (403, "refused", "forbidden"), (404, "refused", "not_found"),
                                                    (429, "retry", "rate_limited"),
                                                    (500, "retry", "provider_error"),
                                                    (502, "retry", "provider_error")])
def test_status_mapping(status, expected, code):
    body = fixture("error_validation")
    with pytest.raises(ProviderError) as err:
        _raise_for(httpx.Response(status, json=body), body)
    assert kind(err.value) == expected
    assert err.value.code == code and err.value.status == status
    assert err.value.trace_id == "9f1c2a7be3d44e0fa1b2c3d4"
    assert err.value.retryable == (status in (429, 500, 502))


def test_a_400_message_is_resonts_own_words():
    body = fixture("error_validation")
    with pytest.raises(ProviderError) as err:
        _raise_for(httpx.Response(400, json=body), body)
    assert err.value.message == "The comment may not be greater than 2200 characters."


def test_a_400_without_a_message_uses_the_docs_text():
    with pytest.raises(ProviderError) as err:
        _raise_for(httpx.Response(400, text="oops"), None)
    assert err.value.message == "Error validating the request" and err.value.trace_id is None


# -- dates ---------------------------------------------------------------------------------

@pytest.mark.parametrize("value, tz, expected", [
    ("2024-11-05 12:00:00", "UTC", datetime(2024, 11, 5, 12, 0)),
    ("2024-11-05 12:00:00", "Asia/Tehran", datetime(2024, 11, 5, 8, 30)),
    ("2024-11-05T12:00:00+03:00", "Asia/Tehran", datetime(2024, 11, 5, 9, 0)),
    ("1403/08/15 12:00:00", "UTC", datetime(2024, 11, 5, 12, 0)),        # Jalali
    ("۱۴۰۳-۰۸-۱۵ ۱۲:۰۰:۰۰", "UTC", datetime(2024, 11, 5, 12, 0)),         # with Persian digits
    (1730808000, "Asia/Tehran", datetime(2024, 11, 5, 12, 0)),            # epoch seconds are UTC
    ("yesterday", "UTC", None), (None, "UTC", None),
])
def test_dates(value, tz, expected):
    assert parse_date(value, tz) == expected


def test_jalali_new_year():
    assert jalali_to_gregorian(1403, 1, 1) == (2024, 3, 20)
    assert jalali_to_gregorian(1399, 12, 30) == (2021, 3, 20)


def test_the_authors_profile_image_is_kept_as_the_tickets_avatar():
    """SocialUser.image (the docs' "Profile image") is the sidebar's avatar, as ``avatar_url``."""
    [comment] = ResontConnector.parse(fixture("comment_created"))
    assert comment.ticket_data["avatar_url"] == "https://cdn.resont.example/avatars/7004.jpg"
    [message] = ResontConnector.parse(fixture("message_created"))
    assert message.ticket_data["avatar_url"] == "https://cdn.resont.example/avatars/7002.jpg"

    body = fixture("comment_created")
    for image in ("javascript:alert(1)", "data:image/png;base64,AAAA", 42, None):
        body["payload"]["socialUser"]["image"] = image
        [item] = ResontConnector.parse(body)
        assert "avatar_url" not in item.ticket_data                  # only http(s) links are kept
    del body["payload"]["socialUser"]
    [item] = ResontConnector.parse(body)                             # no expansion: no avatar, no error
    assert "avatar_url" not in item.ticket_data

    # Our own reply seen again is not the customer: it must not put our picture on their ticket.
    own = dict(fixture("comment_list")["data"][0], id=1003, **{"from": 1001},
               socialUser={"id": 9101, "username": "brand.shop", "image": "https://cdn.resont.example/avatars/9101.jpg"})
    assert "avatar_url" not in comment_item(own, "UTC", SETTINGS).ticket_data
