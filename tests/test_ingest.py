"""Webhook intake and idempotent ingestion: documented payloads in, the right tickets out."""
from __future__ import annotations

import copy
import json
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy import select

from helpers import count, load, post, run_jobs
from inbox import db
from models import (Followup, FollowupStatus, Message, RawEvent, RawEventStatus, Ticket, TicketKind,
                    TicketStatus)
from workers.ingest import process_event


def test_webhook_url_is_unguessable(channel):
    token = channel["webhook_url"].rsplit("/", 1)[1]
    assert len(token) >= 40


def test_messages_from_one_person_share_one_conversation(client, channel):
    first, second = load("incoming_text"), load("incoming_image")
    assert post(client, channel, first).status_code == 200
    assert post(client, channel, second).status_code == 200
    run_jobs()
    with db.session_scope() as s:
        [ticket] = s.scalars(select(Ticket)).all()
        assert ticket.kind == TicketKind.CONVERSATION and ticket.network == "instagram"
        assert [m.text for m in ticket.messages] == ["Отправленный текст", "Подпись к картинке"]
        assert ticket.interactor.username == "getcourseru" and ticket.interactor.name == "Алина из Getloo"


def test_comment_creates_a_comment_ticket(client, channel):
    post(client, channel, load("incoming_comment"))
    run_jobs()
    with db.session_scope() as s:
        [ticket] = s.scalars(select(Ticket)).all()
        assert ticket.kind == TicketKind.COMMENT and ticket.data["comment_id"] == "17900000000000001"
        assert ticket.text == "Отправленный комментарий"


def test_a_new_message_reopens_an_archived_conversation(client, channel):
    post(client, channel, load("incoming_text"))
    run_jobs()
    with db.session_scope() as s:
        s.scalars(select(Ticket)).one().status = TicketStatus.ARCHIVED
    later = load("incoming_text")
    later["event"]["properties"]["queueId"] = "f" * 40
    later["event"]["createdAt"] = "2022-12-08T10:00:00+03:00"
    later["event"]["properties"]["content"]["body"] = "Ещё вопрос"
    post(client, channel, later)
    run_jobs()
    with db.session_scope() as s:
        ticket = s.scalars(select(Ticket)).one()
        assert ticket.status == TicketStatus.OPEN and ticket.text == "Ещё вопрос"
        assert len(ticket.messages) == 2


def test_the_same_event_five_times_makes_one_message(client, channel):
    for _ in range(5):
        assert post(client, channel, load("incoming_text")).status_code == 200
    run_jobs()
    assert count(Message) == 1 and count(Ticket) == 1
    assert count(RawEvent, status=RawEventStatus.PROCESSED) == 5


def test_concurrent_duplicate_deliveries_make_one_message(live, channel):
    """Five simultaneous POSTs over HTTP, then five workers processing them at the same moment."""
    body = json.dumps(load("incoming_comment")).encode()
    barrier = threading.Barrier(5)

    def deliver(_):
        barrier.wait()
        return httpx.post(channel["webhook_url"], content=body,
                          headers={"Content-Type": "application/json"}).status_code

    with ThreadPoolExecutor(5) as pool:
        assert list(pool.map(deliver, range(5))) == [200] * 5
    with db.session_scope() as s:
        ids = s.scalars(select(RawEvent.id)).all()
    assert len(ids) == 5
    start = threading.Barrier(5)

    def process(event_id):
        start.wait()
        return process_event(event_id)

    with ThreadPoolExecutor(5) as pool:
        assert set(pool.map(process, ids)) == {RawEventStatus.PROCESSED}
    assert count(Message) == 1 and count(Ticket) == 1


def test_malformed_json_is_400_and_kept(client, channel):
    response = post(client, channel, b"{not json")
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "malformed"
    with db.session_scope() as s:
        [event] = s.scalars(select(RawEvent)).all()
        assert event.status == RawEventStatus.REJECTED and event.body == "{not json" and event.error
    assert count(Ticket) == 0


def test_a_body_missing_required_fields_is_400_and_nothing_half_written(client, channel):
    body = load("incoming_comment")
    del body["device"]["comment_id"]
    response = post(client, channel, body)
    assert response.status_code == 400 and "comment_id" in response.get_json()["error"]["message"]
    run_jobs()
    assert count(Ticket) == 0 and count(Message) == 0
    assert count(RawEvent, status=RawEventStatus.REJECTED) == 1


def test_unknown_webhook_token_is_404_and_stores_nothing(client, channel):
    response = client.post("/webhooks/getloo/not-a-real-token", json=load("incoming_text"))
    assert response.status_code == 404
    assert count(RawEvent) == 0


def test_the_body_is_stored_even_when_no_worker_runs(client, channel):
    post(client, channel, load("incoming_text"))
    with db.session_scope() as s:
        [event] = s.scalars(select(RawEvent)).all()
        assert event.status == RawEventStatus.RECEIVED and "Отправленный текст" in event.body


def _sent_reply(client, channel, token_for):
    """Reply to the conversation through the API and let the worker send it."""
    post(client, channel, load("incoming_text"))
    run_jobs()
    with db.session_scope() as s:
        ticket_id = s.scalars(select(Ticket.id)).one()
    response = client.post(f"/api/v1/tickets/{ticket_id}/actions/reply", json={"text": "Добрый день!"},
                           headers={"Authorization": f"Bearer {token_for('agent')}"})
    assert response.status_code == 202
    run_jobs()
    return response.get_json()["id"]


def status_of(followup_id: int) -> str:
    with db.session_scope() as s:
        return s.get(Followup, followup_id).status


def report(sandbox_sent, status: str) -> dict:
    body = load(f"status_{status}")
    body["event"]["properties"]["queueId"] = sandbox_sent["queue_id"]
    return body


def test_delivery_reports_move_the_reply_forward(client, channel, sandbox, token_for):
    followup_id = _sent_reply(client, channel, token_for)
    assert status_of(followup_id) == FollowupStatus.SENT
    [sent] = sandbox.state.sent
    for status, expected in (("pending", "sent"), ("delivered", "delivered"), ("read", "read")):
        post(client, channel, report(sent, status))
        run_jobs()
        assert status_of(followup_id) == expected


def test_late_and_repeated_reports_never_move_a_reply_backwards(client, channel, sandbox, token_for):
    followup_id = _sent_reply(client, channel, token_for)
    [sent] = sandbox.state.sent
    for status in ("read", "delivered", "pending", "read"):
        post(client, channel, report(sent, status))
    run_jobs()
    assert status_of(followup_id) == FollowupStatus.READ


def test_failed_delivery_is_shown_as_failed(client, channel, sandbox, token_for):
    followup_id = _sent_reply(client, channel, token_for)
    post(client, channel, report(sandbox.state.sent[0], "fail"))
    run_jobs()
    assert status_of(followup_id) == FollowupStatus.FAILED


def test_a_report_that_beats_our_own_commit_is_retried_not_lost(client, channel):
    body = copy.deepcopy(load("status_delivered"))
    body["event"]["properties"]["queueId"] = "not-yet-known"
    post(client, channel, body)
    run_jobs()
    with db.session_scope() as s:
        event = s.scalars(select(RawEvent)).one()
        # Kept for RQ's retry (scheduled with backoff), not marked done.
        assert event.status == RawEventStatus.RECEIVED and "not-yet-known" in event.error


def test_a_redis_outage_at_intake_loses_nothing(client, channel):
    """Redis is unreachable when the webhook arrives: the body is kept, and the sweep queues it later."""
    from datetime import timedelta

    from redis import Redis

    import workers
    from workers.sweep import requeue_stranded

    healthy = workers.connection()
    workers.init(Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2))
    try:
        assert post(client, channel, load("incoming_text")).status_code == 200
    finally:
        workers.init(healthy)
    assert count(RawEvent, status=RawEventStatus.RECEIVED) == 1 and count(Message) == 0
    assert requeue_stranded(stale_after=timedelta(0))["events"] == 1
    run_jobs()
    assert count(Message) == 1 and count(RawEvent, status=RawEventStatus.PROCESSED) == 1
    assert requeue_stranded(stale_after=timedelta(0))["events"] == 0


def test_fifty_concurrent_duplicate_deliveries_make_one_item(live, channel):
    body = json.dumps(load("incoming_text"), ensure_ascii=False).encode()
    barrier = threading.Barrier(50)

    def deliver(_):
        barrier.wait()
        return httpx.post(channel["webhook_url"], content=body, headers={"Content-Type": "application/json"},
                          timeout=30).status_code

    with ThreadPoolExecutor(50) as pool:
        assert list(pool.map(deliver, range(50))) == [200] * 50
    with db.session_scope() as s:
        ids = s.scalars(select(RawEvent.id)).all()
    assert len(ids) == 50
    with ThreadPoolExecutor(10) as pool:
        assert set(pool.map(process_event, ids)) == {RawEventStatus.PROCESSED}
    assert count(Message) == 1 and count(Ticket) == 1
