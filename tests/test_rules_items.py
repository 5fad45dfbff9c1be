"""What the rules see of an item that arrived through a real webhook (``inbox.rules.items``), and
the run that ingestion leaves for them: one per new inbound message, none for a replay."""
from __future__ import annotations

from sqlalchemy import select

from helpers import load, post
from inbox import db
from inbox.rules import items
from models import Channel, Message, RuleRun, Ticket


def _dm(client, channel, queue_id, text, *, user="47367670531", username="getcourseru", image=False):
    body = load("incoming_image" if image else "incoming_text")
    body["event"]["properties"]["queueId"] = queue_id
    body["event"]["properties"]["content"]["body"] = text
    body["device"].update(user_id=user, username=username)
    response = post(client, channel, body)
    assert response.status_code == 200, response.get_data(as_text=True)
    from helpers import run_jobs

    run_jobs()


def _item(message_external_id: str, event: str):
    with db.session_scope() as s:
        message = s.scalars(select(Message).filter_by(external_id=message_external_id)).one()
        ticket = s.get(Ticket, message.ticket_id)
        return items.item_for(s, ticket, message, event)


def test_a_first_message_and_a_second_one_from_the_same_author(client, channel):
    _dm(client, channel, "m1", "Здравствуйте, посылка пришла сломанной, ужасно!")
    _dm(client, channel, "m2", "Here is the photo: https://example.com/p.jpg", image=True)
    first, second = _item("m1", "created"), _item("m2", "message")

    assert (first.event, first.kind, first.provider) == ("created", "conversation", "getloo")
    assert first.author_first_contact is True and second.author_first_contact is False
    assert first.language == "ru" and first.sentiment == "NEGATIVE"
    assert first.has_link is False and second.has_link is True
    assert first.has_attachment is False and second.has_attachment is True
    assert first.author_username == "getcourseru" and first.author_id == "47367670531"
    assert first.received_at is not None and first.received_at.tzinfo is not None
    assert first.ticket_id == second.ticket_id and first.message_id != second.message_id

    with db.session_scope() as s:
        runs = s.execute(select(RuleRun.event, Message.external_id).join(Message, Message.id == RuleRun.message_id)
                         .order_by(RuleRun.id)).all()
    assert [tuple(r) for r in runs] == [("created", "m1"), ("message", "m2")]


def test_a_replayed_message_leaves_no_second_run(client, channel):
    _dm(client, channel, "m1", "@shop where is my parcel?")
    _dm(client, channel, "m1", "@shop where is my parcel?")
    with db.session_scope() as s:
        assert len(s.scalars(select(RuleRun)).all()) == 1
    item = _item("m1", "created")
    assert item.mentions == ["@shop"]


def test_a_channels_business_hours_reach_the_rules_and_bad_ones_are_ignored(app, channel):
    with db.session_scope() as s:
        row = s.get(Channel, channel["id"])
        row.business_hours = {"zone": "Asia/Tehran", "week": {"5": [["09:00", "17:00"]]}, "holidays": []}
        other = Channel(provider="getloo", network="instagram", name="Other", base_url="http://x.test",
                        business_hours={"zone": "Not/AZone", "week": {}})
        s.add(other)
    with db.session_scope() as s:
        hours = items.lookups(s).business_hours
    assert set(hours) == {channel["id"]}
    assert hours[channel["id"]].zone == "Asia/Tehran"
