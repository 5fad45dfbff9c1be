"""Bulk work (inbox/bulk, workers/bulk): a person changes many tickets at once, done by a real RQ
worker in batches with the same rules as a single change.

The world: a shared channel "Shop" with open tickets, and a channel owned by team B that the
agent (team A) cannot see. Jobs are drained with tests/helpers.run_jobs (real RQ, real Redis).
"""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from helpers import _csrf, login, run_jobs
from inbox import db
from inbox.bulk import views as bulk_views
from inbox.bulk.apply import run_batch
from models import (BulkJob, Category, Channel, History, Interactor, Tag, Team, Ticket, TicketStatus, User,
                    utcnow)


def auth(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def world(app, users):
    """Ten open tickets on the shared channel, two archived ones, and three on team B's channel."""
    with db.session_scope() as s:
        shop = Channel(provider="getloo", network="instagram", name="Shop", base_url="http://getloo.test",
                       account_ref="shop")
        secret = Channel(provider="getloo", network="instagram", name="Team B's", base_url="http://getloo.test",
                         account_ref="b")
        s.add_all([shop, secret])
        s.flush()
        s.add(Team(name="Team A", members=[s.get(User, users["agent"].id)]))
        s.add(Team(name="Team B", members=[s.get(User, users["outsider"].id)], channels=[secret]))
        old = utcnow() - timedelta(hours=2)
        made = {"open": [], "archived": [], "secret": []}
        for key, channel, count, status in (("open", shop, 10, "open"), ("archived", shop, 2, "archived"),
                                            ("secret", secret, 3, "open")):
            for n in range(count):
                person = Interactor(channel_id=channel.id, external_id=f"{key}-{n}", username=f"{key}{n}")
                ticket = Ticket(channel=channel, network="instagram", kind="conversation", external_id=f"{key}-{n}",
                                text=f"Hello {key} {n}", interactor=person, status=status,
                                last_activity_at=old + timedelta(minutes=n))
                s.add(ticket)
                made[key].append(ticket)
        s.flush()
        return {"shop": shop.id, "secret_channel": secret.id, **{k: [t.id for t in v] for k, v in made.items()}}


def tickets(ids) -> list[Ticket]:
    with db.session_scope() as s:
        found = s.scalars(select(Ticket).where(Ticket.id.in_(ids)).order_by(Ticket.id)).all()
        for t in found:
            t.tags, t.categories  # noqa: B018 (loaded before the session closes)
        s.expunge_all()
        return found


def bulk_history(ticket_id: int) -> list[History]:
    with db.session_scope() as s:
        rows = s.scalars(select(History).where(History.ticket_id == ticket_id).order_by(History.id)).all()
        s.expunge_all()
        return [h for h in rows if h.data.get("via") == "bulk"]


def job_row(job_id: int) -> BulkJob:
    with db.session_scope() as s:
        job = s.get(BulkJob, job_id)
        s.expunge(job)
        return job


def jobs_count() -> int:
    with db.session_scope() as s:
        return s.scalar(select(func.count()).select_from(BulkJob))


def start_api(client, token: str, body: dict):
    return client.post("/api/v1/bulk", json=body, headers=auth(token))


# --- The bar in the queue page ---------------------------------------------------------------------

def test_ticked_rows_are_archived_by_the_worker_and_the_bar_shows_the_summary(client, users, world):
    login(client, "agent")
    page = client.get("/?folder=inbox").get_data(as_text=True)
    assert 'id="bulk-form"' in page and "Select all matching this filter" in page
    assert 'aria-label="Select ticket from @open0"' in page
    picked = world["open"][:3]
    versions = {t.id: t.version for t in tickets(picked)}
    answer = client.post("/bulk", data={"csrf_token": _csrf(page), "action": "archive",
                                        "ticket": [f"{i}:{versions[i]}" for i in picked]},
                         headers={"HX-Request": "true"})
    assert answer.status_code == 202
    html = answer.get_data(as_text=True)
    assert "<progress" in html and 'hx-trigger="every 1s"' in html and "0 of 3" in html
    job_id = int(html.split('data-bulk-job="')[1].split('"')[0])

    run_jobs()

    assert [t.status for t in tickets(picked)] == ["archived"] * 3
    assert all(t.status == "open" for t in tickets(world["open"][3:]))
    done = client.get(f"/bulk/{job_id}", headers={"HX-Request": "true"})
    text = done.get_data(as_text=True)
    assert done.headers["HX-Trigger"] == "bulkFinished"      # the page refreshes its list on it
    assert "3 done" in text and "0 skipped" in text and "0 failed" in text and "every 1s" not in text
    [entry] = bulk_history(picked[0])
    assert entry.action == "archive" and entry.user_id == users["agent"].id and entry.data["bulk_job"] == job_id
    assert "Agent (bulk action)" in client.get(f"/tickets/{picked[0]}").get_data(as_text=True)   # the pane's history


def test_select_all_matching_counts_then_the_filter_is_applied(client, users, world, monkeypatch):
    login(client, "agent")
    page = client.get("/?folder=inbox").get_data(as_text=True)
    counted = client.get("/bulk/count?folder=inbox", headers={"HX-Request": "true"}).get_data(as_text=True)
    # The agent sees the 10 open tickets of the shared channel, not team B's 3.
    assert "All 10 tickets matching this filter are selected" in counted
    assert 'name="filter" value="folder=inbox"' in counted
    monkeypatch.setattr(bulk_views, "COUNT_CAP", 4)
    capped = client.get("/bulk/count?folder=inbox", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "more than 4 (counted up to 4)" in capped

    answer = client.post("/bulk", data={"csrf_token": _csrf(page), "action": "tag", "tags": "refund, VIP",
                                        "all": "1", "filter": "folder=inbox"}, headers={"HX-Request": "true"})
    assert answer.status_code == 202, answer.get_data(as_text=True)
    run_jobs()
    assert all(sorted(t.name for t in x.tags) == ["VIP", "refund"] for x in tickets(world["open"]))
    assert all(not x.tags for x in tickets(world["archived"] + world["secret"]))


def test_bad_input_in_the_bar_is_an_inline_message_and_starts_nothing(client, users, world):
    login(client, "agent")
    page = client.get("/").get_data(as_text=True)
    token = _csrf(page)
    for data, says in (({"action": "archive"}, "Select at least one ticket"),
                       ({"action": "explode", "ticket": f"{world['open'][0]}:1"}, "Unknown bulk action"),
                       ({"action": "tag", "tags": " , ", "ticket": f"{world['open'][0]}:1"}, "at least one tag"),
                       ({"action": "archive", "all": "1", "filter": "status=sleepy"}, "status must be one of")):
        answer = client.post("/bulk", data={"csrf_token": token, **data}, headers={"HX-Request": "true"})
        assert answer.status_code == 422
        assert says in answer.get_data(as_text=True)
    plain = client.post("/bulk", data={"csrf_token": token, "action": "archive"})     # no script: a whole page
    assert plain.status_code == 422 and "<html" in plain.get_data(as_text=True)
    assert "Select at least one ticket" in plain.get_data(as_text=True)
    assert client.post("/bulk", data={"action": "archive", "ticket": "1:1"}).status_code == 400   # no CSRF token
    assert jobs_count() == 0


def test_only_its_owner_or_an_admin_follows_a_job(client, app, users, world, token_for):
    job = start_api(client, token_for("agent"), {"action": "priority", "params": {"on": True},
                                                 "ticket_ids": world["open"][:1]}).get_json()
    other = app.test_client()
    login(other, "outsider")
    assert other.get(f"/bulk/{job['id']}").status_code == 404
    assert client.get(f"/api/v1/bulk/{job['id']}", headers=auth(token_for("supervisor"))).status_code == 404
    assert client.get(f"/api/v1/bulk/{job['id']}", headers=auth(token_for("admin"))).status_code == 200


# --- The API -------------------------------------------------------------------------------------

def test_api_filter_job_with_progress_and_summary(client, users, world, token_for):
    token = token_for("supervisor")
    answer = start_api(client, token, {"action": "assign", "params": {"user_id": users["agent"].id},
                                       "filter": {"status": "open", "channel_id": world["shop"]}})
    assert answer.status_code == 202
    body = answer.get_json()
    assert body["status"] == "queued" and body["total"] == 10
    run_jobs()
    summary = client.get(f"/api/v1/bulk/{body['id']}", headers=auth(token)).get_json()
    assert summary["status"] == "finished"
    assert (summary["done"], summary["skipped"], summary["failed"]) == (10, 0, 0)
    assert {t.assignee_id for t in tickets(world["open"])} == {users["agent"].id}
    assert {t.assignee_id for t in tickets(world["archived"] + world["secret"])} == {None}
    [entry] = bulk_history(world["open"][0])
    assert entry.action == "assigned" and entry.data["bulk_job"] == body["id"]


@pytest.mark.parametrize("body, status, code", [
    ({"action": "explode", "ticket_ids": [1]}, 400, "unknown_action"),
    ({"action": "assign", "params": {}, "ticket_ids": [1]}, 422, "missing_field"),
    ({"action": "assign", "params": {"user_id": 999999}, "ticket_ids": [1]}, 422, "unknown_user"),
    ({"action": "snooze", "params": {"until": "2001-01-01T00:00:00Z"}, "ticket_ids": [1]}, 422, "snooze_in_past"),
    ({"action": "sentiment", "params": {"value": "angry"}, "ticket_ids": [1]}, 422, "invalid_sentiment"),
    ({"action": "categorize", "params": {"category_ids": [424242]}, "ticket_ids": [1]}, 422, "unknown_category"),
    ({"action": "archive", "ticket_ids": list(range(1, 10_002))}, 422, "too_many"),
    ({"action": "archive", "ticket_ids": ["one"]}, 422, "invalid_value"),
    ({"action": "archive", "ticket_ids": [True]}, 422, "invalid_value"),
    ({"action": "archive", "ticket_ids": [{"id": 1, "version": "x"}]}, 422, "invalid_version"),
    ({"action": "archive", "params": [1], "ticket_ids": [1]}, 400, "invalid_params"),
    ({"action": "priority", "params": {"on": "yes"}, "ticket_ids": [1]}, 422, "invalid_value"),
    ({"action": "tag", "params": {"tags": [f"t{n}" for n in range(21)]}, "ticket_ids": [1]}, 422, "too_many"),
    ({"action": "archive"}, 400, "missing_selection"),
    ({"action": "archive", "ticket_ids": [1], "filter": {}}, 400, "missing_selection"),
    ({"action": "archive", "filter": {"status": "sleepy"}}, 422, "invalid_filter"),
    ({"action": "archive", "filter": {"folder": "nowhere"}}, 422, "invalid_filter"),
    ({"action": "archive", "filter": {"channel_id": "99999"}}, 422, "nothing_selected"),
    ({"action": "archive", "filter": "status=open"}, 400, "invalid_filter"),
    ({"action": "archive", "ticket_ids": [1], "colour": "red"}, 400, "unknown_field"),
])
def test_api_bad_input_is_refused_and_starts_nothing(client, users, world, token_for, body, status, code):
    answer = start_api(client, token_for("agent"), body)
    assert answer.status_code == status, answer.get_json()
    assert answer.get_json()["error"]["code"] == code
    assert answer.get_json()["error"]["message"]
    assert jobs_count() == 0


# --- What a job may and may not change -----------------------------------------------------------

def test_rows_changed_since_the_user_saw_them_are_skipped(client, users, world, token_for):
    first, second, third = tickets(world["open"][:3])
    body = {"action": "sentiment", "params": {"value": "negative"},
            "ticket_ids": [{"id": t.id, "version": t.version} for t in (first, second, third)]}
    job = start_api(client, token_for("agent"), body).get_json()
    with db.session_scope() as s:                        # someone else changes the second meanwhile
        changed = s.get(Ticket, second.id)
        changed.sentiment, changed.version = "positive", changed.version + 1
    run_jobs()
    after = {t.id: t.sentiment for t in tickets([first.id, second.id, third.id])}
    assert after == {first.id: "negative", second.id: "positive", third.id: "negative"}
    row = job_row(job["id"])
    assert (row.done, row.skipped, row.failed) == (2, 1, 0)
    assert bulk_history(second.id) == []


def test_a_filter_job_leaves_out_what_arrives_or_changes_after_its_start(client, users, world, token_for):
    job = start_api(client, token_for("agent"), {"action": "priority", "params": {"on": True},
                                                 "filter": {"status": "open", "channel_id": world["shop"]}}).get_json()
    assert job["total"] == 10
    with db.session_scope() as s:                # the worker has done a first batch of 3
        assert run_batch(s, job["id"], batch=3).more
    with db.session_scope() as s:
        # New items arrive while the job runs: one even carries an old network time.
        shop = s.get(Channel, world["shop"])
        late = [Ticket(channel=shop, network="instagram", kind="conversation", external_id=f"late-{n}", text="late",
                       last_activity_at=utcnow() - timedelta(days=n)) for n in range(2)]
        s.add_all(late)
        # And a selected ticket gets a new message: the user chose it before that.
        s.get(Ticket, world["open"][4]).touch(utcnow())
        s.flush()
        late_ids = [t.id for t in late]
    run_jobs()
    row = job_row(job["id"])
    assert (row.done, row.skipped, row.failed, row.total) == (9, 1, 0, 10)
    assert [t.priority for t in tickets(late_ids)] == [False, False]
    assert tickets([world["open"][4]])[0].priority is False
    assert all(t.priority for t in tickets([i for i in world["open"] if i != world["open"][4]]))


def test_an_agent_cannot_bulk_change_tickets_they_cannot_see(client, users, world, token_for):
    token = token_for("agent")
    # By id: team B's tickets fail as "not found", the visible one is done.
    job = start_api(client, token, {"action": "archive", "ticket_ids": world["secret"] + world["open"][:1]}).get_json()
    # By filter: team B's channel holds nothing this agent sees.
    refused = start_api(client, token, {"action": "archive", "filter": {"channel_id": world["secret_channel"]}})
    assert refused.status_code == 422 and refused.get_json()["error"]["code"] == "nothing_selected"
    everything = start_api(client, token, {"action": "sentiment", "params": {"value": "neutral"},
                                           "filter": {}}).get_json()
    assert everything["total"] == 12                       # shop's 12, none of team B's 3
    run_jobs()
    summary = client.get(f"/api/v1/bulk/{job['id']}", headers=auth(token)).get_json()
    assert (summary["done"], summary["failed"]) == (1, 3)
    assert {f["reason"] for f in summary["failures"]} == {"No such ticket, or not one you can see"}
    assert {t.status for t in tickets(world["secret"])} == {"open"}
    assert {t.sentiment for t in tickets(world["secret"])} == {None}
    assert bulk_history(world["secret"][0]) == []


def test_archive_respects_a_channels_required_category(client, users, world, token_for):
    with db.session_scope() as s:
        shop = s.get(Channel, world["shop"])
        shop.settings = {**(shop.settings or {}), "require_category": True}
        billing = Category(name="Billing")
        s.get(Ticket, world["open"][0]).categories = [billing]
    job = start_api(client, token_for("agent"), {"action": "archive", "ticket_ids": world["open"][:3]}).get_json()
    run_jobs()
    summary = client.get(f"/api/v1/bulk/{job['id']}", headers=auth(token_for("agent"))).get_json()
    assert (summary["done"], summary["failed"]) == (1, 2)
    assert summary["failures"][0] == {"ticket_id": world["open"][1],
                                      "reason": "This channel requires a category before a ticket is archived."}
    assert [t.status for t in tickets(world["open"][:3])] == ["archived", "open", "open"]


def test_tags_and_categories_are_added_and_snooze_schedules_the_wake_up(client, users, world, token_for):
    with db.session_scope() as s:
        ticket = s.get(Ticket, world["open"][0])
        ticket.tags = [Tag(name="old")]
        billing, refunds = Category(name="Billing"), Category(name="Refunds")
        ticket.categories = [billing]
        s.add(refunds)
        s.flush()
        refunds_id = refunds.id
    token = token_for("agent")
    for body in ({"action": "tag", "params": {"tags": ["new"]}, "ticket_ids": world["open"][:2]},
                 {"action": "categorize", "params": {"category_ids": [refunds_id]}, "ticket_ids": world["open"][:2]},
                 {"action": "snooze", "params": {"preset": "tomorrow"}, "ticket_ids": world["open"][:2]}):
        assert start_api(client, token, body).status_code == 202
    run_jobs()
    first, second = tickets(world["open"][:2])
    assert sorted(t.name for t in first.tags) == ["new", "old"] and [t.name for t in second.tags] == ["new"]
    assert sorted(c.name for c in first.categories) == ["Billing", "Refunds"]
    assert [c.name for c in second.categories] == ["Refunds"]
    assert first.status == second.status == TicketStatus.SNOOZED and first.snoozed_until > utcnow()
    from rq import Queue
    from rq.registry import ScheduledJobRegistry
    import workers

    scheduled = ScheduledJobRegistry(queue=Queue(workers.DEFAULT, connection=workers.connection())).get_job_ids()
    assert {j for j in scheduled if j.startswith(f"wake-{first.id}-")}
    actions = [h.action for h in bulk_history(first.id)]
    assert actions == ["tagged", "categorized", "snoozed"]


def test_a_retried_job_resumes_after_its_last_batch_and_never_applies_twice(client, users, world, token_for):
    job = start_api(client, token_for("agent"), {"action": "priority", "params": {"on": True},
                                                 "filter": {"channel_id": world["shop"]}}).get_json()
    # A first run commits two batches of 3, then its worker dies (nothing more is committed).
    for _ in range(2):
        with db.session_scope() as s:
            assert run_batch(s, job["id"], batch=3).more
    row = job_row(job["id"])
    assert (row.done, row.status) == (6, "running")
    run_jobs()                              # RQ runs the job (again, for the batches left)
    row = job_row(job["id"])
    assert (row.done, row.skipped, row.failed, row.status) == (12, 0, 0, "finished")
    import workers.bulk

    workers.bulk.run_bulk(job["id"])        # a late retry of a finished job changes nothing
    for ticket_id in world["open"] + world["archived"]:
        assert [h.action for h in bulk_history(ticket_id)] == ["priority"]
    assert job_row(job["id"]).done == 12


def test_a_job_that_cannot_go_on_says_why_and_keeps_what_it_did(client, users, world, token_for):
    token = token_for("agent")
    job = start_api(client, token, {"action": "priority", "params": {"on": True}, "ticket_ids": world["open"][:4]})
    with db.session_scope() as s:
        s.get(User, users["agent"].id).active = False        # its user deactivated before it ran
    run_jobs()
    row = job_row(job.get_json()["id"])
    assert row.status == "failed" and row.error == "The user who started this job is no longer active"
    assert row.done == 0 and not any(t.priority for t in tickets(world["open"]))

    with db.session_scope() as s:                              # a stored filter no longer valid
        s.get(User, users["agent"].id).active = True
        broken = BulkJob(user_id=users["agent"].id, action="archive", params={}, total=3, failures=[],
                         selection={"filter": {"status": "sleepy"}, "max_id": 99, "at": utcnow().isoformat()})
        s.add(broken)
        s.flush()
        broken_id = broken.id
    import workers.bulk

    workers.bulk.run_bulk(broken_id)
    row = job_row(broken_id)
    assert row.status == "failed" and "no longer valid" in row.error
    text = client.get(f"/api/v1/bulk/{broken_id}", headers=auth(token)).get_json()
    assert text["status"] == "failed" and "status must be one of" in text["error"]


def test_a_job_saved_while_the_queue_is_down_is_queued_by_the_sweep(client, users, world, token_for, redis_server):
    token = token_for("agent")
    redis_server.stop()
    answer = start_api(client, token, {"action": "priority", "params": {"on": True}, "ticket_ids": world["open"][:2]})
    assert answer.status_code == 202
    assert answer.get_json()["notice"] == "Saved; it will run when the queue is back."
    redis_server.start()                     # back, and empty: the job was never queued
    import workers.bulk

    assert workers.bulk.requeue_stranded(stale_after=timedelta(0)) == 1
    assert workers.bulk.requeue_stranded(stale_after=timedelta(0)) == 0      # queued now: left alone
    run_jobs()
    assert job_row(answer.get_json()["id"]).status == "finished"
    assert [t.priority for t in tickets(world["open"][:3])] == [True, True, False]
    assert workers.bulk.requeue_stranded(stale_after=timedelta(0)) == 0
