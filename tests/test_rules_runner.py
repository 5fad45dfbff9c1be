"""The rules run on every new item and message, once, with a trace in the ticket's history: a job
retried, two jobs at once, or a webhook delivered again never repeat an action; a failing action is
recorded and the others still run; rules never trigger rules; the pane shows why."""
from __future__ import annotations

import threading

from sqlalchemy import func, select

from helpers import load, login, post, run_jobs
from inbox import db
from inbox.rules import runner
from models import Followup, History, Rule, RuleRun, RuleRunStatus, Ticket, User
from rules_world import history, inbound, local_channel, make_rule, rule_trace, run_rules, runs
from workers.rules import run_rules as rules_job


def ticket(ticket_id: int) -> Ticket:
    with db.session_scope() as s:
        found = s.get(Ticket, ticket_id)
        found.tags, found.categories  # loaded
        s.expunge_all()
        return found


def counters(rule_id: int) -> tuple[int, int, bool]:
    with db.session_scope() as s:
        rule = s.get(Rule, rule_id)
        return rule.matched_count, rule.failed_count, rule.last_matched_at is not None


def test_a_matching_rule_acts_once_and_says_why_in_the_trace_and_history(api, users):
    kl = api("admin").post("/api/v1/keyword-lists", json={"name": "Refunds", "keywords": ["refund"]}).get_json()
    rule = make_rule(api, [{"action": "mark_as_priority", "config": {}}, {"action": "sentiment",
                                                                         "config": {"sentiment": "NEGATIVE"}}],
                     [{"condition": "message_has_keyword", "config": {"keywordList": kl["id"]}}], name="Refunds")
    other = make_rule(api, [{"action": "archive", "config": {}}],
                      [{"condition": "message_has_attachment", "config": {}}], name="Pictures", weight=20)
    channel_id = local_channel()
    ticket_id = inbound(channel_id, "I want a refund, now")
    version = ticket(ticket_id).version
    run_rules()

    found = ticket(ticket_id)
    assert (found.priority, found.sentiment, found.status) == (True, "negative", "open")
    assert found.version == version + 1                      # raised once for the run
    [run] = runs(ticket_id)
    assert (run.status, run.event, run.attempts, run.error) == (RuleRunStatus.DONE, "created", 1, None)
    refunds = rule_trace(run, "Refunds")
    assert refunds["matched"] is True and refunds["skipped"] is None and refunds["stopped"] is False
    assert refunds["conditions"] == [{"index": 0, "condition": "message_has_keyword", "negate": False,
                                      "passed": True, "detail": "found 'refund'"}]
    assert refunds["actions"] == [
        {"action": "mark_as_priority", "config": {}, "ok": True, "result": "marked as priority"},
        {"action": "sentiment", "config": {"sentiment": "NEGATIVE"}, "ok": True, "result": "sentiment set to negative"}]
    pictures = rule_trace(run, "Pictures")
    assert pictures["matched"] is False and pictures["actions"] == []
    assert pictures["conditions"][0]["passed"] is False and pictures["conditions"][0]["detail"] == "no attachment"
    assert run.trace["broken"] == {}
    [entry] = history(ticket_id, "rules")
    assert entry.user_id is None and entry.data == {"run_id": run.id, "matched": ["Refunds"], "failed": 0}
    [priority] = history(ticket_id, "priority")
    assert priority.data == {"on": True, "by": "rule", "rule_id": rule["id"], "rule": "Refunds"}
    assert counters(rule["id"]) == (1, 0, True) and counters(other["id"]) == (0, 0, False)

    # The job again, and the run itself again: nothing more happens.
    run_rules()
    assert runner.process(run.id) == "skipped"
    assert rules_job() == 0
    assert len(history(ticket_id, "priority")) == 1 and len(history(ticket_id, "rules")) == 1
    assert counters(rule["id"]) == (1, 0, True) and ticket(ticket_id).version == version + 1


def test_the_same_webhook_delivered_again_acts_once(api, client, channel, sandbox):
    rule = make_rule(api, [{"action": "add_note", "config": {"text": "Seen by a rule"}}], name="Note it")
    body = load("incoming_text")
    assert post(client, channel, body).status_code == 200
    run_jobs()                                   # the drain, then the rules job it requested
    assert post(client, channel, body).status_code == 200   # the provider delivers it again
    run_jobs()
    with db.session_scope() as s:
        ticket_id = s.scalars(select(Ticket.id)).one()
        notes = s.scalars(select(Followup.text).where(Followup.ticket_id == ticket_id)).all()
    assert notes == ["Seen by a rule"]
    assert [r.status for r in runs(ticket_id)] == [RuleRunStatus.DONE]
    assert counters(rule["id"])[0] == 1


def test_two_jobs_at_once_act_once(api, database_url):
    """Two rules jobs over the same pending runs at the same time (on PostgreSQL each reads the
    pending rows FOR UPDATE SKIP LOCKED; on SQLite writes take turns): each run is done by one."""
    rule = make_rule(api, [{"action": "add_note", "config": {"text": "once"}}], name="Once")
    channel_id = local_channel()
    tickets = [inbound(channel_id, f"message {n}", ticket=f"t{n}") for n in range(12)]
    errors: list[BaseException] = []

    def job():
        try:
            rules_job()
        except BaseException as exc:   # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=job) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    rules_job()                                  # a run one of them had to give back is done now
    assert errors == []
    with db.session_scope() as s:
        notes = s.scalar(select(func.count()).select_from(Followup).where(Followup.text == "once"))
        statuses = set(s.scalars(select(RuleRun.status)))
    assert notes == len(tickets) and statuses == {RuleRunStatus.DONE}
    assert counters(rule["id"])[0] == len(tickets)


def test_a_failing_action_is_in_the_trace_and_the_others_still_run(api, users):
    with db.session_scope() as s:
        leaver = User(email="leaver@example.test", name="Leaver", role="agent", password_hash="!")
        s.add(leaver)
        s.flush()
        leaver_id = leaver.id
    rule = make_rule(api, [{"action": "mark_as_priority", "config": {}},
                           {"action": "assign", "config": {"userId": leaver_id}},
                           {"action": "add_note", "config": {"text": "Handled by rules"}}], name="Hand over")
    with db.session_scope() as s:
        s.delete(s.get(User, leaver_id))          # deleted after the rule was saved
    channel_id = local_channel()
    ticket_id = inbound(channel_id, "Hello")
    run_rules()

    found = ticket(ticket_id)
    assert found.priority is True and found.assignee_id is None
    [run] = runs(ticket_id)
    assert run.status == RuleRunStatus.DONE
    actions = rule_trace(run, "Hand over")["actions"]
    assert [(a["action"], a["ok"]) for a in actions] == [("mark_as_priority", True), ("assign", False),
                                                         ("add_note", True)]
    assert actions[1]["result"] == f"user {leaver_id} no longer exists"
    [entry] = history(ticket_id, "rules")
    assert entry.data["failed"] == 1 and entry.data["matched"] == ["Hand over"]
    assert counters(rule["id"]) == (1, 1, True)
    assert history(ticket_id, "assigned") == []
    with db.session_scope() as s:
        assert s.scalars(select(Followup.text).where(Followup.ticket_id == ticket_id)).all() == ["Handled by rules"]


def test_weight_orders_the_rules_and_stop_ends_them(api):
    first = make_rule(api, [{"action": "add_note", "config": {"text": "first"}}], name="First", weight=5, stop=True)
    make_rule(api, [{"action": "mark_as_priority", "config": {}}], name="Second", weight=10)
    make_rule(api, [{"action": "add_note", "config": {"text": "zero"}}], name="Zero", weight=1,
              conditions=[{"condition": "message_has_link", "config": {}}])
    channel_id = local_channel()
    ticket_id = inbound(channel_id, "Hello")
    run_rules()
    [run] = runs(ticket_id)
    assert [(r["name"], r["matched"], r["stopped"]) for r in run.trace["rules"]] == [
        ("Zero", False, False), ("First", True, True)]     # Second never evaluated
    assert ticket(ticket_id).priority is False
    # Reordered: Second now runs before the one that stops.
    assert api("admin").patch("/api/v1/rules", json=[{"id": first["id"], "weight": 50}]).status_code == 200
    inbound(channel_id, "Hello again", ticket="t2")
    run_rules()
    [run] = runs(ticket_id + 1)
    assert [r["name"] for r in run.trace["rules"] if r["matched"]] == ["Second", "First"]


def test_message_received_runs_on_a_second_message_only(api):
    make_rule(api, [{"action": "add_note", "config": {"text": "new item"}}], name="On create")
    make_rule(api, [{"action": "mark_as_priority", "config": {}}], name="On message", trigger="message_received")
    channel_id = local_channel()
    ticket_id = inbound(channel_id, "First DM")
    run_rules()
    assert ticket(ticket_id).priority is False
    inbound(channel_id, "Second DM in the same conversation")
    run_rules()
    first, second = runs(ticket_id)
    assert (first.event, second.event) == ("created", "message")
    assert rule_trace(second, "On create")["skipped"] == "other trigger"
    assert rule_trace(second, "On message")["matched"] is True
    assert ticket(ticket_id).priority is True
    with db.session_scope() as s:
        assert s.scalars(select(Followup.text).where(Followup.ticket_id == ticket_id)).all() == ["new item"]


def test_rule_actions_never_trigger_rules(api):
    """Every action that writes something (a note, a suggestion, a tag ...) runs; no rule run is
    written but the one of the message, and running the job again finds nothing to do."""
    make_rule(api, [{"action": "add_note", "config": {"text": "noted"}}, {"action": "mark_as_priority", "config": {}},
                    {"action": "require_approval", "config": {}}], name="Busy")
    make_rule(api, [{"action": "add_note", "config": {"text": "again"}}], name="Echo", trigger="message_received")
    channel_id = local_channel()
    ticket_id = inbound(channel_id, "Hello")
    run_rules()
    run_rules()
    assert [(r.event, r.status) for r in runs(ticket_id)] == [("created", RuleRunStatus.DONE)]
    with db.session_scope() as s:
        assert s.scalars(select(Followup.text).where(Followup.ticket_id == ticket_id)).all() == ["noted"]


def test_a_rule_whose_keyword_list_was_deleted_is_skipped_with_why(api):
    kl = api("admin").post("/api/v1/keyword-lists", json={"name": "Gone", "keywords": ["x"]}).get_json()
    broken = make_rule(api, [{"action": "archive", "config": {}}],
                       [{"condition": "message_has_keyword", "config": {"keywordList": kl["id"]}}], name="Broken")
    make_rule(api, [{"action": "mark_as_priority", "config": {}}], name="Fine")
    assert api("admin").delete(f"/api/v1/keyword-lists/{kl['id']}").status_code == 204
    channel_id = local_channel()
    ticket_id = inbound(channel_id, "x marks the spot")
    run_rules()
    [run] = runs(ticket_id)
    assert "keywordList" in run.trace["broken"][str(broken["id"])]
    assert [r["name"] for r in run.trace["rules"]] == ["Fine"]
    found = ticket(ticket_id)
    assert found.status == "open" and found.priority is True


def test_with_no_active_rule_pending_runs_are_closed_without_building_items(api):
    rule = make_rule(api, [{"action": "archive", "config": {}}], name="Off", active=False)
    channel_id = local_channel()
    ticket_ids = [inbound(channel_id, f"m{n}", ticket=f"t{n}") for n in range(3)]
    run_rules()
    for ticket_id in ticket_ids:
        [run] = runs(ticket_id)
        assert run.status == RuleRunStatus.DONE and run.trace == {}
        assert history(ticket_id, "rules") == [] and ticket(ticket_id).status == "open"
    assert counters(rule["id"]) == (0, 0, False)


def test_a_run_that_raises_is_retried_then_failed_and_said_in_history(api, monkeypatch):
    """The run itself raising (a bug, the database) counts attempts; the fifth fails it for good."""
    make_rule(api, [{"action": "mark_as_priority", "config": {}}], name="Prio")
    channel_id = local_channel()
    ticket_id = inbound(channel_id, "Hello")
    [run] = runs(ticket_id)
    # A fault injected where the run reads the database (no real outage is quick to stage here).
    monkeypatch.setattr(runner.items, "item_for", _raising_item_for)
    for attempt in range(1, runner.MAX_ATTEMPTS + 1):
        assert runner.process(run.id) == "error"
        [again] = runs(ticket_id)
        assert again.attempts == attempt and "database went away" in again.error
    assert again.status == RuleRunStatus.FAILED
    [entry] = history(ticket_id, "rules")
    assert "database went away" in entry.data["error"]
    assert ticket(ticket_id).priority is False


def _raising_item_for(*args, **kwargs):
    raise RuntimeError("database went away")


def test_the_pane_shows_what_matched_and_why(api, client, users):
    kl = api("admin").post("/api/v1/keyword-lists", json={"name": "Urgent", "keywords": ["срочно"]}).get_json()
    with db.session_scope() as s:
        gone = User(email="gone@example.test", name="Gone", role="agent", password_hash="!")
        s.add(gone)
        s.flush()
        gone_id = gone.id
    make_rule(api, [{"action": "mark_as_priority", "config": {}}, {"action": "assign", "config": {"userId": gone_id}}],
              [{"condition": "message_has_keyword", "config": {"keywordList": kl["id"]}}], name="Срочные")
    make_rule(api, [{"action": "archive", "config": {}}], [{"condition": "message_has_link", "config": {}}],
              name="Links")
    with db.session_scope() as s:
        s.delete(s.get(User, gone_id))
    channel_id = local_channel()
    ticket_id = inbound(channel_id, "Это СРОЧНО!")
    other_id = inbound(channel_id, "nothing to see", ticket="t2")
    run_rules()
    login(client, "agent")
    html = client.get(f"/tickets/{ticket_id}").get_data(as_text=True)
    entry = html[html.index('data-history="rules"'):]
    entry = entry[:entry.index("</details>")]
    assert "Rule “<bdi dir=\"auto\">Срочные</bdi>” matched" in entry
    assert "marked as priority" in entry and "failed: <bdi dir=\"auto\">user" in entry
    assert "<summary>Why?</summary>" in entry
    assert "found &#39;срочно&#39;" in entry and "no link" in entry and "did not match" in entry
    assert "✓" in entry and "✗" in entry
    assert "Rule “<bdi dir=\"auto\">Срочные</bdi>”" in html[html.index('data-history="priority"'):]
    other = client.get(f"/tickets/{other_id}").get_data(as_text=True)
    assert "No rule matched (2 evaluated)" in other


def test_the_pane_loads_every_rules_entry_in_one_query(api, session):
    from sqlalchemy import event

    from inbox.queue.pane import sidebar

    make_rule(api, [{"action": "add_note", "config": {"text": "n"}}], name="Each", trigger="message_received")
    channel_id = local_channel()
    ticket_id = inbound(channel_id, "first")
    for n in range(4):
        inbound(channel_id, f"more {n}")
    run_rules()
    found = session.get(Ticket, ticket_id)
    statements: list[str] = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(session.get_bind(), "before_cursor_execute", listener)
    try:
        side = sidebar(session, found)
    finally:
        event.remove(session.get_bind(), "before_cursor_execute", listener)
    assert len(side["rule_runs"]) == 4
    assert sum("FROM rule_run" in s for s in statements) == 1
    assert {h.action for h in side["history"]} >= {"rules"}
    assert isinstance(side["history"][0], History)


def test_one_rules_job_is_queued_at_a_time(app):
    import workers

    first = workers.request_rules()
    assert first is not None and workers.request_rules() is None
    run_jobs()                                   # the job clears the flag before its first read
    assert workers.request_rules() is not None


def test_with_redis_down_the_sweep_runs_the_rules_later(api, redis_server):
    from datetime import timedelta

    import workers
    from workers.sweep import request_stranded_rules

    make_rule(api, [{"action": "mark_as_priority", "config": {}}], name="Later")
    channel_id = local_channel()
    redis_server.stop()
    ticket_id = inbound(channel_id, "Hello")
    assert workers.request_rules() is None       # what ingestion does after its commit: no error
    redis_server.start()                         # empty: nothing was queued
    assert request_stranded_rules(stale_after=timedelta(0)) == 1
    assert request_stranded_rules(stale_after=timedelta(0)) == 0   # its job is still waiting
    run_jobs()
    assert ticket(ticket_id).priority is True and runs(ticket_id)[0].status == RuleRunStatus.DONE
    assert request_stranded_rules(stale_after=timedelta(0)) == 0
