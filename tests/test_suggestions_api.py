"""Suggested replies over the JSON API: who must ask, the suggestion's life, and one send however
many people approve at once."""
from __future__ import annotations

import threading

import httpx
import pytest
from sqlalchemy import select

from helpers import load, post, run_jobs
from inbox import db
from models import FollowupStatus, History, Notification, OutboundAction, Ticket, User


@pytest.fixture
def getloo_ticket(client, channel) -> int:
    """A DM on the Getloo sandbox channel: approved replies really leave."""
    post(client, channel, load("incoming_text"))
    run_jobs()
    with db.session_scope() as s:
        return s.scalars(select(Ticket.id)).one()


def _set(user_id: int, **values) -> None:
    with db.session_scope() as s:
        user = s.get(User, user_id)
        for key, value in values.items():
            setattr(user, key, value)


def test_a_user_who_must_ask_gets_409_on_reply_and_suggests_instead(api, users, getloo_ticket, sandbox):
    assert api("admin").patch(f"/api/v1/users/{users['agent'].id}",
                              json={"reply_requires_approval": True}).get_json()["reply_requires_approval"] is True
    answer = api("agent").post(f"/api/v1/tickets/{getloo_ticket}/actions/reply", json={"text": "Hello"})
    assert answer.status_code == 409
    assert answer.get_json()["error"]["code"] == "approval_required"
    assert "Your replies go through approval." in answer.get_json()["error"]["message"]

    made = api("agent").post(f"/api/v1/tickets/{getloo_ticket}/actions/suggest", json={"text": "Hello there"})
    assert made.status_code == 201
    assert made.get_json()["status"] == "suggested" and made.get_json()["type"] == "suggestion"
    assert api("agent").get(f"/api/v1/tickets/{getloo_ticket}").get_json()["has_pending_suggestion"] is True
    run_jobs()
    assert sandbox.state.sent == []                    # nothing leaves before approval
    ticket = api("agent").get(f"/api/v1/tickets/{getloo_ticket}").get_json()
    assert [h["action"] for h in ticket["history"]][-1] == "suggested"
    pending = api("supervisor").get("/api/v1/suggestions?status=pending").get_json()["data"]
    assert [(p["id"], p["ticket"]["id"], p["overdue"]) for p in pending] == [(made.get_json()["id"], getloo_ticket, False)]


def test_a_channel_that_requires_approval_holds_agents_but_not_those_who_approve_their_own(api, channel, getloo_ticket):
    patched = api("admin").patch(f"/api/v1/channels/{channel['id']}", json={"settings": {"require_approval": True}})
    assert patched.status_code == 200, patched.get_data(as_text=True)
    held = api("agent").post(f"/api/v1/tickets/{getloo_ticket}/actions/reply", json={"text": "Hi"})
    assert held.status_code == 409 and "Replies on Shop go through approval." in held.get_json()["error"]["reasons"]
    # A supervisor may approve their own suggestion: asking would only add a click.
    assert api("supervisor").post(f"/api/v1/tickets/{getloo_ticket}/actions/reply", json={"text": "Hi"}).status_code == 202
    bad = api("admin").patch(f"/api/v1/channels/{channel['id']}", json={"settings": {"require_approval": "yes"}})
    assert bad.status_code == 422


def test_edit_and_approve_sends_the_edited_text_once_and_keeps_the_original(api, users, getloo_ticket, sandbox):
    fid = api("agent").post(f"/api/v1/tickets/{getloo_ticket}/actions/suggest", json={"text": "Thanks!"}).get_json()["id"]
    approved = api("supervisor").post(f"/api/v1/tickets/{getloo_ticket}/followups/{fid}/approve",
                                      json={"text": "Thank you, we are on it."})
    assert approved.status_code == 202
    body = approved.get_json()
    assert (body["id"], body["type"], body["status"]) == (fid, "reply", "queued")
    assert (body["original_text"], body["edited"], body["approved_by_id"]) == ("Thanks!", True, users["supervisor"].id)
    run_jobs()
    assert [m["caption"] for m in sandbox.state.sent] == ["Thank you, we are on it."]
    detail = api("agent").get(f"/api/v1/tickets/{getloo_ticket}").get_json()
    [entry] = [h for h in detail["history"] if h["action"] == "suggestion_approved"]
    assert entry["user_id"] == users["supervisor"].id and entry["data"]["edited"] is True
    assert entry["data"]["before"] == "Thanks!"
    assert detail["has_pending_suggestion"] is False
    again = api("admin").post(f"/api/v1/tickets/{getloo_ticket}/followups/{fid}/approve", json={})
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "already_decided"
    assert again.get_json()["followup"]["status"] == "sent"
    with db.session_scope() as s:
        assert [n.kind for n in s.scalars(select(Notification).where(Notification.user_id == users["agent"].id))] == [
            "suggestion_approved"]


def test_reject_needs_a_reason_which_the_author_reads_then_revises(api, users, getloo_ticket, sandbox):
    fid = api("agent").post(f"/api/v1/tickets/{getloo_ticket}/actions/suggest", json={"text": "k"}).get_json()["id"]
    no_reason = api("supervisor").post(f"/api/v1/tickets/{getloo_ticket}/followups/{fid}/reject", json={"reason": "  "})
    assert no_reason.status_code == 422 and no_reason.get_json()["error"]["code"] == "reason_required"
    rejected = api("supervisor").post(f"/api/v1/tickets/{getloo_ticket}/followups/{fid}/reject",
                                      json={"reason": "Too short: greet them by name."})
    assert rejected.status_code == 200 and rejected.get_json()["reason"] == "Too short: greet them by name."
    mine = api("agent").get(f"/api/v1/suggestions?status=rejected&author_id={users['agent'].id}").get_json()["data"]
    assert [m["reason"] for m in mine] == ["Too short: greet them by name."]
    # Someone else cannot revise it; the author can, which makes a new suggestion naming the old.
    assert api("outsider").post(f"/api/v1/tickets/{getloo_ticket}/followups/{fid}/revise",
                                json={"text": "x"}).status_code == 403
    revised = api("agent").post(f"/api/v1/tickets/{getloo_ticket}/followups/{fid}/revise",
                                json={"text": "Hi Anna, thanks for writing!"})
    assert revised.status_code == 201 and revised.get_json()["revision_of_id"] == fid
    assert revised.get_json()["status"] == "suggested"
    # Rejecting again after the fact: the first one is decided.
    assert api("supervisor").post(f"/api/v1/tickets/{getloo_ticket}/followups/{fid}/reject",
                                  json={"reason": "again"}).status_code == 409
    run_jobs()
    assert sandbox.state.sent == []


def test_withdraw_is_the_authors_and_a_withdrawn_suggestion_cannot_be_approved(api, getloo_ticket):
    fid = api("agent").post(f"/api/v1/tickets/{getloo_ticket}/actions/suggest", json={"text": "Oops"}).get_json()["id"]
    assert api("supervisor").post(f"/api/v1/tickets/{getloo_ticket}/followups/{fid}/withdraw").status_code == 403
    assert api("agent").post(f"/api/v1/tickets/{getloo_ticket}/followups/{fid}/withdraw").get_json()["status"] == "withdrawn"
    late = api("supervisor").post(f"/api/v1/tickets/{getloo_ticket}/followups/{fid}/approve")
    assert late.status_code == 409 and "withdrew" in late.get_json()["error"]["message"]
    assert late.get_json()["followup"]["status"] == "withdrawn"
    assert api("supervisor").get("/api/v1/suggestions").get_json()["data"] == []


def test_approving_needs_the_permission_and_ones_own_needs_approve_own(api, users, getloo_ticket):
    fid = api("agent").post(f"/api/v1/tickets/{getloo_ticket}/actions/suggest", json={"text": "Hi"}).get_json()["id"]
    assert api("agent").post(f"/api/v1/tickets/{getloo_ticket}/followups/{fid}/approve").status_code == 403
    own = api("supervisor").post(f"/api/v1/tickets/{getloo_ticket}/actions/suggest", json={"text": "Mine"}).get_json()["id"]
    _set(users["supervisor"].id, permission_overrides={"ApproveOwnSuggestion": False})
    refused = api("supervisor").post(f"/api/v1/tickets/{getloo_ticket}/followups/{own}/approve")
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "own_suggestion"
    assert api("admin").post(f"/api/v1/tickets/{getloo_ticket}/followups/{own}/approve").status_code == 202
    # An agent granted ApproveSuggestion by an override may approve others' suggestions.
    patched = api("admin").patch(f"/api/v1/users/{users['outsider'].id}",
                                 json={"permission_overrides": {"ApproveSuggestion": True}})
    assert patched.get_json()["permission_overrides"] == {"ApproveSuggestion": True}
    assert api("outsider").post(f"/api/v1/tickets/{getloo_ticket}/followups/{fid}/approve").status_code == 202
    bad = api("admin").patch(f"/api/v1/users/{users['outsider'].id}", json={"permission_overrides": {"EditUsers": True}})
    assert bad.status_code == 422 and bad.get_json()["error"]["code"] == "unknown_permission"


def test_a_suggestion_the_provider_would_refuse_is_refused_when_written(api, getloo_ticket):
    long = api("agent").post(f"/api/v1/tickets/{getloo_ticket}/actions/suggest", json={"text": "x" * 5000})
    assert long.status_code == 422 and long.get_json()["error"]["code"] == "reply_too_long"
    fid = api("agent").post(f"/api/v1/tickets/{getloo_ticket}/actions/suggest", json={"text": "ok"}).get_json()["id"]
    edited = api("supervisor").post(f"/api/v1/tickets/{getloo_ticket}/followups/{fid}/approve", json={"text": "y" * 5000})
    assert edited.status_code == 422
    assert api("supervisor").get("/api/v1/suggestions").get_json()["data"][0]["id"] == fid   # still pending


def test_two_supervisors_approving_at_once_send_one_reply(live, token_for, getloo_ticket, sandbox):
    agent, boss, admin = (f"Bearer {token_for(r)}" for r in ("agent", "supervisor", "admin"))
    fid = httpx.post(f"{live}/api/v1/tickets/{getloo_ticket}/actions/suggest", json={"text": "Once"},
                     headers={"Authorization": agent}).json()["id"]
    answers, start = [], threading.Barrier(2)

    def approve(token: str, text: str) -> None:
        start.wait()
        answers.append(httpx.post(f"{live}/api/v1/tickets/{getloo_ticket}/followups/{fid}/approve",
                                  json={"text": text}, headers={"Authorization": token}, timeout=30))

    threads = [threading.Thread(target=approve, args=(boss, "Once, from the supervisor")),
               threading.Thread(target=approve, args=(admin, "Once, from the admin"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(a.status_code for a in answers) == [202, 409]
    loser = next(a for a in answers if a.status_code == 409).json()
    assert loser["error"]["code"] == "already_decided" and loser["followup"]["status"] in ("queued", "sending", "sent")
    run_jobs()
    assert len(sandbox.state.sent) == 1
    with db.session_scope() as s:
        assert len(s.scalars(select(OutboundAction)).all()) == 1
        assert len(s.scalars(select(History).where(History.action == "suggestion_approved")).all()) == 1


def test_the_workspace_policy_holds_negative_tickets(api, users, getloo_ticket):
    from inbox.approval import policy

    with db.session_scope() as s:
        policy.save(s, policy.ApprovalPolicy(negative_sentiment=True), s.get(User, users["admin"].id))
    assert api("agent").post(f"/api/v1/tickets/{getloo_ticket}/actions/reply", json={"text": "a"}).status_code == 202
    assert api("agent").post(f"/api/v1/tickets/{getloo_ticket}/actions/sentiment",
                             json={"value": "negative"}).status_code == 200
    held = api("agent").post(f"/api/v1/tickets/{getloo_ticket}/actions/reply", json={"text": "b"})
    assert held.status_code == 409 and held.get_json()["error"]["reasons"] == [
        "Replies to negative tickets go through approval."]
