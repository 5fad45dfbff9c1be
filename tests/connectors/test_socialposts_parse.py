"""Each documented social posts body (one fixture file per case) turns into what it means."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from helpers import FIXTURES, load
from inbox.connectors.base import InboundItem, PostRecord, Rejected
from inbox.connectors.socialposts import SocialPostsConnector, to_datetime
from models import TicketKind

BRAND = "b3ad887b-a14e-4bff-b618-a2edb675d19b"
FAILED = "55372393-ccd2-46c1-bf39-02449a39b07b"


def fixture(name: str):
    return load(name, "socialposts")


def parsed() -> tuple[dict[str, PostRecord], list[InboundItem]]:
    items = SocialPostsConnector.parse_list(fixture("list_executed"), "executed", BRAND)
    return ({r.external_id: r for r in items if isinstance(r, PostRecord)},
            [i for i in items if isinstance(i, InboundItem)])


def test_every_listed_post_becomes_post_context_keyed_by_its_id():
    records, _ = parsed()
    assert set(records) == {"07c6b52b-f216-4862-aa34-650d5ebbe2da", "0feb4a88-15ba-4473-8025-6f9259cc064d", FAILED}
    post = records["07c6b52b-f216-4862-aa34-650d5ebbe2da"]
    assert (post.text, post.status, post.url) == ("test", "executed", "http://test.com")
    assert post.due_at == datetime(2026, 1, 23, 1, 33, 20, 291000)          # epoch seconds, kept as UTC
    assert post.executed_at == datetime(2026, 1, 23, 1, 43, 19, 587474)
    assert post.data["template_instance"] == "8e6b780b-ae31-4277-bdbd-42f0663ac8ff"
    assert post.data["media_url"].endswith("e57c4030-f7fc-11f0-8c7d-09c4c6e349ce.png")
    assert post.data["owner"] == "Unit Test" and post.data["facebook_page"] == "5383b70e-bd8f-481f-a605-0664736def2d"


def test_an_asset_post_keeps_its_asset_and_medium():
    records, _ = parsed()
    post = records["0feb4a88-15ba-4473-8025-6f9259cc064d"]
    assert post.data["asset"] == "55f4cb8e-f8fc-414e-bffa-6dbcc8d919a4" and post.data["template_instance"] is None
    assert post.data["medium"] == "Email" and post.data["media_type"] == "image/png"


def test_a_failed_post_is_context_marked_failed_and_a_post_failure_ticket():
    records, [failure] = parsed()
    record = records[FAILED]
    assert (record.status, record.failure) == ("failed", "Internal Server Error")
    assert record.failed_at == datetime(2026, 1, 23, 1, 43, 19, 587000)     # ISO with Z
    assert failure.ticket_kind == TicketKind.POST_FAILURE
    assert failure.ticket_external_id == f"post:{FAILED}"
    assert failure.message_external_id == f"post-failure:{FAILED}:2026-01-23T01:43:19.587Z"
    assert failure.text == "Post failed: Internal Server Error\n\nthis post should be failed in job"
    assert (failure.author.external_id, failure.author.name) == ("brand", BRAND)
    assert failure.created_at == record.failed_at and failure.post_external_id == FAILED
    assert failure.ticket_data["post_id"] == FAILED and failure.ticket_data["failure"] == "Internal Server Error"
    assert failure.ticket_data["due_at"] == "2026-01-23T01:33:20Z"
    assert failure.ticket_data["template_instance"] == "8e6b780b-ae31-4277-bdbd-42f0663ac8ff"
    assert failure.ticket_data["facebook_page"] == "618ecfc2-6346-435b-b9d0-6db86744a60b"


def test_a_new_failure_of_the_same_post_is_a_new_message_on_the_same_ticket():
    post = next(p for p in fixture("list_executed")["data"] if p["id"] == FAILED)
    again = SocialPostsConnector.to_failure({**post, "failed_at": "2026-01-24T09:00:00.000Z"}, BRAND)
    first = SocialPostsConnector.to_failure(post, BRAND)
    assert again.ticket_external_id == first.ticket_external_id
    assert again.message_external_id != first.message_external_id


@pytest.mark.parametrize("case", ["create_template_instance_response", "create_asset_response", "update_response"])
def test_single_post_answers_without_associations_parse_too(case):
    post = fixture(case)["data"]
    record = SocialPostsConnector.to_record(post, "scheduled")
    assert record.external_id == post["id"] and record.status == "scheduled" and record.failed_at is None
    assert record.due_at == to_datetime(post["due_at"])


def test_stats_fixture_is_per_medium_counts_as_strings():
    assert fixture("stats") == {"type": "social_post_stats", "Email": "1", "Social": "2"}


@pytest.mark.parametrize("value, expected", [
    (1769132000.291, datetime(2026, 1, 23, 1, 33, 20, 291000)),
    ("2026-01-23T01:43:19.587Z", datetime(2026, 1, 23, 1, 43, 19, 587000)),
    ("2026-01-23T04:43:19+03:00", datetime(2026, 1, 23, 1, 43, 19)),
    (1769132000291, datetime(2026, 1, 23, 1, 33, 20, 291000)),       # milliseconds tolerated
    (None, None), ("not a date", None),
])
def test_timestamps_in_both_documented_forms(value, expected):
    assert to_datetime(value) == expected


def future(**delta) -> str:
    return (datetime.now(UTC) + timedelta(**delta)).isoformat()


@pytest.mark.parametrize("kind, ticket_kind, params, code", [
    ("reschedule", TicketKind.WALL_POST, {"due_at": future(days=1)}, "not_a_post_failure"),
    ("delete", TicketKind.COMMENT, {}, "not_a_post_failure"),
    ("like", TicketKind.POST_FAILURE, {}, "unsupported_action"),
    ("reschedule", TicketKind.POST_FAILURE, {}, "missing_due_at"),
    ("reschedule", TicketKind.POST_FAILURE, {"due_at": "next tuesday"}, "invalid_due_at"),
    ("reschedule", TicketKind.POST_FAILURE, {"due_at": 1769132000}, "missing_due_at"),
    ("reschedule", TicketKind.POST_FAILURE, {"due_at": future(minutes=-5)}, "due_at_in_past"),
    ("reschedule", TicketKind.POST_FAILURE, {"due_at": "2001-01-01T00:00:00"}, "due_at_in_past"),
])
def test_actions_the_api_would_refuse_are_caught_before_queueing(kind, ticket_kind, params, code):
    with pytest.raises(Rejected) as err:
        SocialPostsConnector.validate_action(kind, ticket_kind, params)
    assert err.value.code == code


@pytest.mark.parametrize("kind, params", [
    ("reschedule", {"due_at": future(hours=2)}),
    ("reschedule", {"due_at": (datetime.now(UTC) + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ")}),
    ("delete", {}),
])
def test_valid_actions_on_a_failed_post_pass(kind, params):
    assert SocialPostsConnector.validate_action(kind, TicketKind.POST_FAILURE, params) is None


def test_there_are_no_webhooks_and_no_replies():
    with pytest.raises(Rejected):
        SocialPostsConnector.parse(fixture("list_executed"))
    with pytest.raises(Rejected):
        SocialPostsConnector.validate_reply(TicketKind.POST_FAILURE, "hi")


def test_the_fixture_set_covers_every_documented_body():
    names = {p.stem for p in (FIXTURES / "socialposts").glob("*.json")}
    assert names == {"list_executed", "stats", "create_template_instance_request", "create_template_instance_response",
                     "create_asset_request", "create_asset_response", "update_request", "update_response"}
