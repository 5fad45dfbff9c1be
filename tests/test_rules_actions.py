"""Every rule action, run by the rules job on a new item: its effect on the ticket, its followups
and its history (written as the same entries a person's change writes, "by" the rule)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from rq.registry import ScheduledJobRegistry
from sqlalchemy import select

import workers
from helpers import login
from inbox import db
from models import (Category, Followup, FollowupStatus, FollowupType, SavedReply, Setting, Tag, Team, Ticket, User,
                    utcnow)
from rules_world import history, inbound, local_channel, make_rule, rule_trace, run_rules, runs


@pytest.fixture
def refs(users):
    """What actions name: a category, two tags, a saved reply, a team."""
    with db.session_scope() as s:
        category = Category(name="Complaints")
        tags = [Tag(name="vip"), Tag(name="Доставка")]
        saved = SavedReply(name="Thanks", text="Thank you, we are on it!", shared=True)
        team = Team(name="Support", members=[s.get(User, users["agent"].id), s.get(User, users["supervisor"].id)])
        s.add_all([category, *tags, saved, team])
        s.flush()
        return {"category": category.id, "tags": [t.id for t in tags], "saved": saved.id, "team": team.id,
                "agent": users["agent"].id, "supervisor": users["supervisor"].id}


def loaded(ticket_id: int) -> Ticket:
    with db.session_scope() as s:
        ticket = s.get(Ticket, ticket_id)
        ticket.tags, ticket.categories, ticket.followups  # loaded
        s.expunge_all()
        return ticket


def followups(ticket_id: int) -> list[Followup]:
    return loaded(ticket_id).followups


def by_rule(entry, rule) -> bool:
    return (entry.user_id, entry.data["by"], entry.data["rule_id"], entry.data["rule"]) == (
        None, "rule", rule["id"], rule["name"])


def check_archive(t, rule, refs):
    assert t.status == "archived"
    [entry] = history(t.id, "archive")
    assert by_rule(entry, rule)


def check_priority(t, rule, refs):
    assert t.priority is True
    [entry] = history(t.id, "priority")
    assert by_rule(entry, rule) and entry.data["on"] is True


def check_assign_user(t, rule, refs):
    assert t.assignee_id == refs["agent"]
    [entry] = history(t.id, "assigned")
    assert by_rule(entry, rule) and entry.data["user_id"] == refs["agent"]


def check_assign_team(t, rule, refs):
    assert t.team_id == refs["team"] and t.assignee_id in (refs["agent"], refs["supervisor"])
    assert by_rule(history(t.id, "assigned_team")[0], rule)


def check_categories(t, rule, refs):
    assert [c.id for c in t.categories] == [refs["category"]]
    [entry] = history(t.id, "categorized")
    assert by_rule(entry, rule) and entry.data["categories"] == ["Complaints"]


def check_tags(t, rule, refs):
    assert sorted(tag.id for tag in t.tags) == sorted(refs["tags"])
    [entry] = history(t.id, "tagged")
    assert by_rule(entry, rule) and sorted(entry.data["tags"]) == ["vip", "Доставка"]


def check_sentiment(t, rule, refs):
    assert t.sentiment == "positive"
    assert history(t.id, "sentiment")[0].data["value"] == "positive"


def check_snooze(t, rule, refs):
    assert t.status == "snoozed"
    assert timedelta(minutes=29) < t.snoozed_until - utcnow() <= timedelta(minutes=30)
    [entry] = history(t.id, "snoozed")
    assert by_rule(entry, rule)
    # Its wake-up is scheduled, as a person's snooze is.
    scheduled = ScheduledJobRegistry(queue=workers.queue(workers.DEFAULT)).get_job_ids()
    assert any(job_id.startswith(f"wake-{t.id}-") for job_id in scheduled)


def check_note(t, rule, refs):
    [note] = followups(t.id)
    assert (note.type, note.status, note.author_id, note.text) == (FollowupType.NOTE, FollowupStatus.SAVED, None,
                                                                   "Check the order @agent")
    [entry] = history(t.id, "note_added")
    assert by_rule(entry, rule) and entry.data["followup_id"] == note.id


def check_suggestion(t, rule, refs):
    [suggestion] = followups(t.id)
    assert (suggestion.type, suggestion.status, suggestion.author_id, suggestion.text) == (
        FollowupType.SUGGESTION, FollowupStatus.SUGGESTED, None, "Thank you, we are on it!")
    assert t.has_pending_suggestion is True
    assert by_rule(history(t.id, "suggested")[0], rule)


def check_approval(t, rule, refs):
    assert t.approval_required is True
    assert by_rule(history(t.id, "approval_required")[0], rule)


ACTIONS = [
    ("archive", {}, check_archive),
    ("mark_as_priority", {}, check_priority),
    ("assign", {"userId": "agent"}, check_assign_user),
    ("assign", {"teamId": "team"}, check_assign_team),
    ("tag", {"categoryIds": ["category"]}, check_categories),
    ("add_tags", {"tagIds": "tags"}, check_tags),
    ("sentiment", {"sentiment": "POSITIVE"}, check_sentiment),
    ("snooze", {"minutes": 30}, check_snooze),
    ("add_note", {"text": "Check the order @agent"}, check_note),
    ("suggest_reply", {"savedReplyId": "saved"}, check_suggestion),
    ("require_approval", {}, check_approval),
]


def _config(config: dict, refs: dict) -> dict:
    """Names of refs in a config ("agent", ["category"]) replaced by their ids."""
    def one(value):
        if isinstance(value, list):
            return [refs.get(v, v) if isinstance(v, str) else v for v in value]
        return refs.get(value, value) if isinstance(value, str) and value in refs else value
    return {key: one(value) for key, value in config.items()}


@pytest.mark.parametrize("action, config, check", ACTIONS, ids=[f"{a}-{'-'.join(c) or 'plain'}" for a, c, _ in ACTIONS])
def test_each_action_does_what_it_says(api, refs, action, config, check):
    rule = make_rule(api, [{"action": action, "config": _config(config, refs)}], name=f"Do {action}")
    ticket_id = inbound(local_channel(), "Great shop, thanks!")
    version = loaded(ticket_id).version
    run_rules()
    [run] = runs(ticket_id)
    [done] = rule_trace(run, rule["name"])["actions"]
    assert done["ok"] is True, done
    ticket = loaded(ticket_id)
    check(ticket, rule, refs)
    assert ticket.version == version + 1


@pytest.mark.parametrize("action", ["hide", "delete", "like"])
def test_a_network_action_the_provider_cannot_do_fails_in_the_trace(api, action):
    rule = make_rule(api, [{"action": action, "config": {}}, {"action": "mark_as_priority", "config": {}}],
                     name=f"Try {action}")
    ticket_id = inbound(local_channel(), "Hello")
    run_rules()
    [run] = runs(ticket_id)
    failed, priority = rule_trace(run, rule["name"])["actions"]
    assert (failed["ok"], failed["result"]) == (False, f"getloo cannot {action} items")
    assert priority["ok"] is True and loaded(ticket_id).priority is True
    assert history(ticket_id, f"{action}_requested") == []


def test_archive_respects_a_channel_that_requires_a_category(api, refs):
    make_rule(api, [{"action": "archive", "config": {}}], name="Close")
    ticket_id = inbound(local_channel(require_category=True), "Hello")
    run_rules()
    [run] = runs(ticket_id)
    [archive] = rule_trace(run, "Close")["actions"]
    assert archive == {"action": "archive", "config": {}, "ok": False,
                       "result": "This channel requires a category before a ticket is archived."}
    assert loaded(ticket_id).status == "open"
    # With the category set first, the same rule archives.
    make_rule(api, [{"action": "tag", "config": {"categoryIds": [refs["category"]]}}], name="Categorise", weight=1)
    other = inbound(local_channel(require_category=True), "Hello again", ticket="t2")
    run_rules()
    assert loaded(other).status == "archived"


def test_round_robin_takes_the_teams_active_members_in_turn(api, refs, users):
    with db.session_scope() as s:
        team, leaver = s.get(Team, refs["team"]), s.get(User, users["outsider"].id)
        team.members.append(leaver)
        leaver.active = False       # left: never picked
    make_rule(api, [{"action": "assign", "config": {"teamId": refs["team"]}}], name="Spread")
    channel_id = local_channel()
    tickets = [inbound(channel_id, f"m{n}", ticket=f"t{n}") for n in range(4)]
    run_rules()
    members = sorted([refs["agent"], refs["supervisor"]])
    assert [loaded(t).assignee_id for t in tickets] == members * 2
    with db.session_scope() as s:
        assert s.get(Setting, f"round_robin:{refs['team']}").value == {"last_user_id": members[1]}


def test_forward_by_mail_records_the_mail_on_the_ticket_for_the_outbox(api):
    make_rule(api, [{"action": "forward_by_mail", "config": {"recipients": ["boss@example.test"],
                                                             "subject": "Look"}},
                    {"action": "mark_as_priority", "config": {}}], name="Mail")
    ticket_id = inbound(local_channel(), "Hello")
    run_rules()
    [run] = runs(ticket_id)
    mail, priority = rule_trace(run, "Mail")["actions"]
    assert priority["ok"] is True and mail["ok"] is True, mail
    [forwarded] = [f for f in followups(ticket_id) if f.type == FollowupType.MAIL]
    assert forwarded.request["recipients"] == ["boss@example.test"] and forwarded.request["rule"] == "Mail"


def test_a_rules_suggestion_waits_for_approval_named_after_its_rule(api, client, refs):
    make_rule(api, [{"action": "suggest_reply", "config": {"savedReplyId": refs["saved"]}}], name="Polite")
    ticket_id = inbound(local_channel(), "Hello")
    run_rules()
    login(client, "admin")
    page = client.get("/approvals").get_data(as_text=True)
    assert "Suggested by rule “<bdi dir=\"auto\">Polite</bdi>”" in page
    pane = client.get(f"/tickets/{ticket_id}").get_data(as_text=True)
    assert "Suggested by rule “<bdi dir=\"auto\">Polite</bdi>”" in pane
    with db.session_scope() as s:
        suggestion = s.scalars(select(Followup).where(Followup.ticket_id == ticket_id)).one()
        assert suggestion.request == {"by_rule": "Polite"}


def test_a_supervisor_approves_a_rules_suggestion_and_it_becomes_the_reply(api, refs):
    make_rule(api, [{"action": "suggest_reply", "config": {"savedReplyId": refs["saved"]}}], name="Polite")
    ticket_id = inbound(local_channel(), "Hello")
    run_rules()
    [suggestion] = followups(ticket_id)
    answer = api("supervisor").post(f"/api/v1/tickets/{ticket_id}/followups/{suggestion.id}/approve", json={})
    assert answer.status_code in (200, 202), answer.get_data(as_text=True)
    [reply] = followups(ticket_id)
    assert (reply.type, reply.status, reply.text, reply.author_id) == (
        FollowupType.REPLY, FollowupStatus.QUEUED, "Thank you, we are on it!", None)
    assert loaded(ticket_id).has_pending_suggestion is False
