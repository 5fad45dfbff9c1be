"""Each documented Getloo webhook body (one fixture file per case) parses to what it means."""
from __future__ import annotations

from datetime import datetime

import pytest

from helpers import FIXTURES, load
from inbox.connectors.base import DeliveryReport, InboundItem, Rejected
from inbox.connectors.getloo import GetlooConnector
from models import FollowupStatus, TicketKind



def test_text_message_goes_to_the_interactors_conversation():
    [item] = GetlooConnector.parse(load("incoming_text"))
    assert isinstance(item, InboundItem)
    assert item.ticket_kind == TicketKind.CONVERSATION
    assert item.ticket_external_id == "dm:47367670531"
    assert item.message_external_id == "a780f149df54c208dc8b41372ae3c458630067bd"
    assert item.text == "Отправленный текст"
    assert (item.author.external_id, item.author.username, item.author.name) == \
        ("47367670531", "getcourseru", "Алина из Getloo")
    assert item.created_at == datetime(2022, 12, 7, 9, 29, 21)    # +03:00 stored as UTC
    assert item.ticket_data == {"user_id": "47367670531", "username": "getcourseru"}


def test_comment_becomes_its_own_ticket_keyed_by_comment_id():
    [item] = GetlooConnector.parse(load("incoming_comment"))
    assert item.ticket_kind == TicketKind.COMMENT
    assert item.ticket_external_id == "comment:17900000000000001"
    assert item.ticket_data["comment_id"] == "17900000000000001"
    assert item.message_kind == "comment" and item.text == "Отправленный комментарий"


def test_image_keeps_caption_and_file():
    [item] = GetlooConnector.parse(load("incoming_image"))
    assert item.message_kind == "image" and item.media_type == "image/jpeg"
    assert item.media_url.endswith("/пример.jpg") and item.text == "Подпись к картинке"


def test_video_documented_as_type_image_is_recognised_as_video():
    [item] = GetlooConnector.parse(load("incoming_video"))
    assert item.message_kind == "video" and item.media_type == "video/mp4" and item.text == ""


@pytest.mark.parametrize("case, status", [("status_pending", FollowupStatus.SENT),
                                          ("status_delivered", FollowupStatus.DELIVERED),
                                          ("status_read", FollowupStatus.READ),
                                          ("status_fail", FollowupStatus.FAILED)])
def test_delivery_reports_are_keyed_by_queue_id(case, status):
    [report] = GetlooConnector.parse(load(case))
    assert isinstance(report, DeliveryReport)
    assert report.external_id == "812b12dbd12ef082586a8cf8ec6f98f6692c7754" and report.status == status


def test_unknown_but_well_formed_event_is_ignored_not_rejected():
    body = load("incoming_text")
    body["event"]["name"] = "somethingNew"
    del body["event"]["properties"]["content"]
    assert GetlooConnector.parse(body) == []


@pytest.mark.parametrize("case", sorted(p.stem for p in (FIXTURES / "getloo-malformed").glob("*.json")))
def test_malformed_bodies_are_rejected_with_a_reason(case):
    with pytest.raises(Rejected) as err:
        GetlooConnector.parse(load(case, "getloo-malformed"))
    assert err.value.message
