"""Triage: assign, priority, sentiment, status and snooze, through the API and the pane.

Every change raises the ticket's version and leaves a History row with who made it; an action
that carries an older version is refused with 409 and the current state, never applied. A snoozed
ticket comes back by itself (a scheduled RQ job, or the sweep when the job was lost) or when the
other side writes again.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from rq import Queue, SimpleWorker
from rq.registry import ScheduledJobRegistry
from sqlalchemy import select

import workers
from helpers import csrf_of, load, login, post, run_jobs
from inbox import db
from inbox.queue.triage import preset_time
from models import History, Ticket, TicketStatus, User, utcnow
from workers.sweep import sweep_job


def auth(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}



def act(client, ticket_id: int, action: str, body: dict | None = None, headers: dict | None = None):
    return client.post(f"/api/v1/tickets/{ticket_id}/actions/{action}", json=body or {}, headers=headers)


def history(ticket_id: int) -> list[tuple[str, int | None, dict]]:
    with db.session_scope() as s:
        return [(h.action, h.user_id, h.data) for h in
                s.scalars(select(History).filter_by(ticket_id=ticket_id).order_by(History.id))]


def future(**delta) -> str:
    return (datetime.now(timezone.utc) + timedelta(**delta)).isoformat()


# -- the API: each action ---------------------------------------------------------------------------

def test_each_action_changes_the_ticket_raises_its_version_and_records_who(client, users, token_for, ticket_id):
    headers = auth(token_for("supervisor"))
    agent, supervisor = users["agent"].id, users["supervisor"].id
    start = client.get(f"/api/v1/tickets/{ticket_id}", headers=headers).get_json()["version"]

    steps = [("assign", {"user_id": agent}, "assignee_id", agent),
             ("priority", {"on": True}, "priority", True),
             ("sentiment", {"value": "negative"}, "sentiment", "negative"),
             ("status", {"value": "pending"}, "status", "pending"),
             ("sentiment", {"value": None}, "sentiment", None),
             ("assign", {"user_id": None}, "assignee_id", None)]
    for n, (action, body, field, expected) in enumerate(steps, start=1):
        answer = act(client, ticket_id, action, {**body, "version": start + n - 1}, headers)
        assert answer.status_code == 200, answer.get_data(as_text=True)
        assert answer.get_json()[field] == expected
        assert answer.get_json()["version"] == start + n

    snoozed = act(client, ticket_id, "snooze", {"until": future(days=2)}, headers)
    assert snoozed.status_code == 200 and snoozed.get_json()["status"] == "snoozed"
    assert snoozed.get_json()["snoozed_until"]

    recorded = history(ticket_id)
    assert [a for a, _, _ in recorded] == ["assigned", "priority", "sentiment", "status", "sentiment", "assigned",
                                           "snoozed"]
    assert {who for _, who, _ in recorded} == {supervisor}
    assert recorded[0][2]["user_id"] == agent and recorded[5][2]["user_id"] is None
    assert all(data["via"] == "api" for _, _, data in recorded)     # a token did it, not the pane
    detail = client.get(f"/api/v1/tickets/{ticket_id}", headers=headers).get_json()
    assert [h["action"] for h in detail["history"]][-1] == "snoozed"


def test_archive_and_reopen_take_a_version_too(client, token_for, ticket_id):
    headers = auth(token_for("agent"))
    version = client.get(f"/api/v1/tickets/{ticket_id}", headers=headers).get_json()["version"]
    archived = act(client, ticket_id, "archive", {"version": version}, headers)
    assert archived.status_code == 200 and archived.get_json()["status"] == "archived"
    stale = act(client, ticket_id, "reopen", {"version": version}, headers)
    assert stale.status_code == 409 and stale.get_json()["ticket"]["status"] == "archived"


# -- the API: bad input -----------------------------------------------------------------------------

@pytest.mark.parametrize("action, body, code", [
    ("assign", {"user_id": 999}, "unknown_user"),
    ("assign", {"user_id": "nobody"}, "invalid_value"),
    ("assign", {}, "missing_field"),
    ("snooze", {"until": "2001-01-01T09:00:00Z"}, "snooze_in_past"),
    ("snooze", {"until": "next tuesday"}, "invalid_until"),
    ("snooze", {}, "missing_field"),
    ("sentiment", {"value": "furious"}, "invalid_sentiment"),
    ("sentiment", {"value": []}, "invalid_sentiment"),
    ("status", {"value": "snoozed"}, "invalid_status"),
    ("status", {"value": "closed"}, "invalid_status"),
    ("priority", {"on": "yes please"}, "invalid_value"),
    ("priority", {"on": True, "version": "three"}, "invalid_version"),
])
def test_bad_input_is_refused_with_422_and_nothing_changes(client, token_for, ticket_id, action, body, code):
    headers = auth(token_for("admin"))
    before = client.get(f"/api/v1/tickets/{ticket_id}", headers=headers).get_json()
    answer = act(client, ticket_id, action, body, headers)
    assert answer.status_code == 422, answer.get_data(as_text=True)
    assert answer.get_json()["error"]["code"] == code and answer.get_json()["error"]["message"]
    after = client.get(f"/api/v1/tickets/{ticket_id}", headers=headers).get_json()
    assert after["version"] == before["version"] and after["status"] == before["status"]
    assert history(ticket_id) == []


def test_an_inactive_user_cannot_be_assigned(client, users, token_for, ticket_id):
    with db.session_scope() as s:
        s.get(User, users["agent"].id).active = False
    answer = act(client, ticket_id, "assign", {"user_id": users["agent"].id}, auth(token_for("admin")))
    assert answer.status_code == 422 and answer.get_json()["error"]["code"] == "unknown_user"


# -- the API: stale versions ------------------------------------------------------------------------

def test_a_stale_version_is_refused_with_409_and_the_current_ticket(client, users, token_for, ticket_id):
    alice, bob = auth(token_for("agent")), auth(token_for("supervisor"))
    seen = client.get(f"/api/v1/tickets/{ticket_id}", headers=alice).get_json()["version"]
    assert act(client, ticket_id, "assign", {"user_id": users["supervisor"].id, "version": seen}, bob).status_code == 200

    refused = act(client, ticket_id, "priority", {"on": True, "version": seen}, alice)
    assert refused.status_code == 409
    body = refused.get_json()
    assert body["error"]["code"] == "stale" and body["error"]["message"]
    assert body["ticket"]["assignee_id"] == users["supervisor"].id and body["ticket"]["version"] == seen + 1
    assert body["ticket"]["priority"] is False
    assert [a for a, _, _ in history(ticket_id)] == ["assigned"]      # nothing of Alice's was applied

    by_header = act(client, ticket_id, "priority", {"on": True}, {**alice, "If-Match": f'"{seen}"'})
    assert by_header.status_code == 409 and by_header.get_json()["ticket"]["version"] == seen + 1
    fresh = act(client, ticket_id, "priority", {"on": True}, {**alice, "If-Match": f'"{seen + 1}"'})
    assert fresh.status_code == 200 and fresh.get_json()["priority"] is True


def test_a_reply_with_a_stale_version_is_not_sent(client, channel, token_for):
    post(client, channel, load("incoming_text"))
    run_jobs()
    with db.session_scope() as s:
        ticket_id = s.scalars(select(Ticket.id)).one()
    headers = auth(token_for("agent"))
    seen = client.get(f"/api/v1/tickets/{ticket_id}", headers=headers).get_json()["version"]
    assert act(client, ticket_id, "sentiment", {"value": "positive"}, headers).status_code == 200
    refused = act(client, ticket_id, "reply", {"text": "Hello", "version": seen}, headers)
    assert refused.status_code == 409 and refused.get_json()["ticket"]["sentiment"] == "positive"
    assert client.get(f"/api/v1/tickets/{ticket_id}", headers=headers).get_json()["followups"] == []


# -- filters ----------------------------------------------------------------------------------------

def test_queue_filters_assignee_priority_sentiment_and_status(client, users, token_for, ticket_id):
    headers = auth(token_for("agent"))
    with db.session_scope() as s:
        other = Ticket(channel_id=s.get(Ticket, ticket_id).channel_id, network="instagram", kind="conversation",
                       external_id="t2", text="second")
        s.add(other)
        s.flush()
        other_id = other.id
    act(client, ticket_id, "assign", {"user_id": users["agent"].id}, headers)
    act(client, ticket_id, "priority", {"on": True}, headers)
    act(client, other_id, "sentiment", {"value": "negative"}, headers)
    act(client, other_id, "snooze", {"until": future(hours=3)}, headers)

    def ids(query: str) -> list[int]:
        answer = client.get(f"/api/v1/tickets?{query}", headers=headers)
        assert answer.status_code == 200, answer.get_data(as_text=True)
        return [t["id"] for t in answer.get_json()["data"]]

    assert ids("assignee=me") == [ticket_id]
    assert ids("assignee=none") == [other_id]
    assert ids(f"assignee={users['agent'].id}") == [ticket_id]
    assert ids(f"assignee={users['admin'].id}") == []
    assert ids("priority=1") == [ticket_id]
    assert ids("priority=0") == [other_id]
    assert ids("sentiment=negative") == [other_id]
    assert ids("status=snoozed") == [other_id]
    assert ids("status=open") == [ticket_id]
    for bad in ("assignee=someone", "priority=maybe", "sentiment=angry", "status=asleep"):
        assert client.get(f"/api/v1/tickets?{bad}", headers=headers).status_code == 400

    login(client, "agent")
    page = client.get("/?assignee=me&priority=1").get_data(as_text=True)
    assert f'id="ticket-{ticket_id}"' in page and f'id="ticket-{other_id}"' not in page


# -- waking up --------------------------------------------------------------------------------------

def test_the_scheduled_job_wakes_a_snoozed_ticket_with_a_real_worker(client, token_for, ticket_id):
    headers = auth(token_for("agent"))
    assert act(client, ticket_id, "snooze", {"until": future(hours=1)}, headers).status_code == 200
    queue = Queue(workers.DEFAULT, connection=workers.connection())
    registry = ScheduledJobRegistry(queue=queue)
    [job_id] = [j for j in registry.get_job_ids() if j.startswith(f"wake-{ticket_id}-")]
    run_jobs()                       # not due yet: a worker leaves it scheduled and the ticket asleep
    assert client.get(f"/api/v1/tickets/{ticket_id}", headers=headers).get_json()["status"] == "snoozed"

    # The hour passes: the ticket's time and its job's time are both in the past now.
    past = datetime.now(timezone.utc) - timedelta(seconds=5)
    with db.session_scope() as s:
        s.get(Ticket, ticket_id).snoozed_until = past.replace(tzinfo=None)
    registry.schedule(queue.fetch_job(job_id), past)
    SimpleWorker([queue], connection=workers.connection()).work(burst=True, with_scheduler=True,
                                                                logging_level="WARNING")
    ticket = client.get(f"/api/v1/tickets/{ticket_id}", headers=headers).get_json()
    assert ticket["status"] == "open" and ticket["snoozed_until"] is None
    assert history(ticket_id)[-1][:2] == ("woke", None) and history(ticket_id)[-1][2] == {"by": "schedule"}


def test_the_sweep_wakes_a_ticket_whose_job_was_lost_and_leaves_later_ones_asleep(app, ticket_id):
    with db.session_scope() as s:
        ticket = s.get(Ticket, ticket_id)
        ticket.status, ticket.snoozed_until = TicketStatus.SNOOZED, utcnow() - timedelta(minutes=1)
        later = Ticket(channel_id=ticket.channel_id, network="instagram", kind="conversation", external_id="t2",
                       status=TicketStatus.SNOOZED, snoozed_until=utcnow() + timedelta(hours=1))
        s.add(later)
        s.flush()
        later_id = later.id
    assert sweep_job()["woken"] == 1
    with db.session_scope() as s:
        assert s.get(Ticket, ticket_id).status == TicketStatus.OPEN
        assert s.get(Ticket, later_id).status == TicketStatus.SNOOZED
    assert sweep_job()["woken"] == 0


def test_a_new_inbound_message_wakes_a_snoozed_ticket(client, channel, token_for):
    post(client, channel, load("incoming_text"))
    run_jobs()
    with db.session_scope() as s:
        ticket_id = s.scalars(select(Ticket.id)).one()
    headers = auth(token_for("agent"))
    snoozed = act(client, ticket_id, "snooze", {"until": future(days=3)}, headers).get_json()
    second = load("incoming_text")
    second["event"]["properties"]["queueId"] = "f" * 40
    second["event"]["properties"]["content"]["body"] = "Hello again?"
    second["event"]["createdAt"] = "2022-12-07T12:40:00+03:00"
    assert post(client, channel, second).status_code < 300
    run_jobs()
    ticket = client.get(f"/api/v1/tickets/{ticket_id}", headers=headers).get_json()
    assert ticket["status"] == "open" and ticket["snoozed_until"] is None
    assert ticket["version"] > snoozed["version"]


def test_snooze_presets_are_the_users_local_times():
    berlin = ZoneInfo("Europe/Berlin")
    now = datetime(2026, 11, 29, 18, 30, tzinfo=timezone.utc)     # a Sunday, 19:30 in Berlin
    assert preset_time("1h", berlin, now) == datetime(2026, 11, 29, 19, 30)
    assert preset_time("evening", berlin, now) == datetime(2026, 11, 30, 17, 0)   # 18:00 has passed today
    assert preset_time("tomorrow", berlin, now) == datetime(2026, 11, 30, 8, 0)
    assert preset_time("monday", berlin, now) == datetime(2026, 11, 30, 8, 0)
    morning = datetime(2026, 12, 1, 7, 0, tzinfo=timezone.utc)    # a Tuesday, 08:00 in Berlin
    assert preset_time("evening", berlin, morning) == datetime(2026, 12, 1, 17, 0)
    assert preset_time("monday", berlin, morning) == datetime(2026, 12, 7, 8, 0)


# -- the pane ---------------------------------------------------------------------------------------

def test_pane_shows_the_sidebar_and_its_forms_carry_csrf_and_the_version(client, users, ticket_id):
    login(client, "agent")
    pane = client.get(f"/tickets/{ticket_id}", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'id="ticket-side"' in pane and "History" in pane
    with db.session_scope() as s:
        version = s.get(Ticket, ticket_id).version
    forms = pane.split("<form")[1:]
    assert forms and all('name="csrf_token"' in f and f'name="version" value="{version}"' in f for f in forms
                         if "triage" in f.split(">")[0])
    token = csrf_of(client, f"/tickets/{ticket_id}")
    no_csrf = client.post(f"/tickets/{ticket_id}/triage/priority", data={"on": "1", "version": version})
    assert no_csrf.status_code == 400

    answer = client.post(f"/tickets/{ticket_id}/triage/assign", headers={"HX-Request": "true"},
                         data={"csrf_token": token, "version": version, "user_id": str(users["agent"].id)})
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    assert f'<option value="{users["agent"].id}" selected>' in html
    assert f'name="version" value="{version + 1}"' in html
    assert 'data-history="assigned"' in html and "Agent" in html and "(API token)" not in html

    snoozed = client.post(f"/tickets/{ticket_id}/triage/snooze", headers={"HX-Request": "true"},
                          data={"csrf_token": token, "version": version + 1, "preset": "tomorrow"})
    assert snoozed.status_code == 200 and 'data-history="snoozed"' in snoozed.get_data(as_text=True)
    past = client.post(f"/tickets/{ticket_id}/triage/snooze", headers={"HX-Request": "true"},
                       data={"csrf_token": token, "version": version + 2, "until": "2001-01-01T09:00"})
    assert past.status_code == 422 and "future" in past.get_data(as_text=True)
    with db.session_scope() as s:
        ticket = s.get(Ticket, ticket_id)
        assert ticket.status == TicketStatus.SNOOZED and ticket.assignee_id == users["agent"].id


def test_pane_refuses_a_stale_form_with_409_and_shows_the_current_state(client, users, token_for, ticket_id):
    login(client, "agent")
    token = csrf_of(client, f"/tickets/{ticket_id}")
    with db.session_scope() as s:
        seen = s.get(Ticket, ticket_id).version
    # Meanwhile a supervisor marks it negative through the API.
    act(client, ticket_id, "sentiment", {"value": "negative"}, auth(token_for("supervisor")))

    refused = client.post(f"/tickets/{ticket_id}/triage/sentiment", headers={"HX-Request": "true"},
                          data={"csrf_token": token, "version": seen, "value": "positive"})
    assert refused.status_code == 409
    html = refused.get_data(as_text=True)
    assert "Someone changed this ticket" in html
    assert '<option value="negative" selected>' in html and f'name="version" value="{seen + 1}"' in html
    with db.session_scope() as s:
        assert s.get(Ticket, ticket_id).sentiment == "negative"

    bar = client.post(f"/tickets/{ticket_id}/actions/archive", headers={"HX-Request": "true"},
                      data={"csrf_token": token, "version": seen})
    assert bar.status_code == 409 and bar.headers["HX-Retarget"] == "#pane"
    assert "Someone changed this ticket" in bar.get_data(as_text=True)
    with db.session_scope() as s:
        assert s.get(Ticket, ticket_id).status == TicketStatus.OPEN


def test_time_zones_are_checked_with_zoneinfo_and_used_for_local_snooze_times(client, users, token_for, ticket_id):
    from models.user import valid_time_zone

    assert valid_time_zone("Europe/Berlin") and valid_time_zone("UTC")
    assert not any(valid_time_zone(v) for v in ("Mars/Olympus", "", "../etc/passwd", None, "x" * 65))
    with db.session_scope() as s:
        s.get(User, users["agent"].id).time_zone = "Asia/Tokyo"
    # No offset in `until`: the agent's local time (Tokyo is UTC+9, no daylight saving).
    answer = act(client, ticket_id, "snooze", {"until": "2099-01-01T09:00:00"}, auth(token_for("agent")))
    assert answer.status_code == 200 and answer.get_json()["snoozed_until"] == "2099-01-01T00:00:00Z"
