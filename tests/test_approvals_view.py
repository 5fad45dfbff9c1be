"""The supervisors' approvals page, "my suggestions", the navigation's counters, overdue alerts,
notifications and the approval policy page — through the pages, as people use them.

Replies approved here really leave: the tickets are DMs on the Getloo sandbox, and ``run_jobs``
sends them over HTTP.
"""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

import workers
from helpers import csrf_of, getloo_dms, login, run_jobs
from inbox import db
from models import Category, Channel, Followup, Notification, Team, User, utcnow

HX = {"HX-Request": "true"}


@pytest.fixture
def tickets(client, channel) -> list[int]:
    """Three DMs from three customers on the Getloo sandbox channel."""
    return getloo_dms(client, channel, 3, "customer")


def suggest(api, ticket_id: int, text: str, role: str = "agent", minutes_ago: int = 0) -> int:
    answer = api(role).post(f"/api/v1/tickets/{ticket_id}/actions/suggest", json={"text": text})
    assert answer.status_code == 201, answer.get_data(as_text=True)
    fid = answer.get_json()["id"]
    if minutes_ago:
        age(fid, minutes_ago)
    return fid


def age(fid: int, minutes: int) -> None:
    with db.session_scope() as s:
        s.execute(update(Followup).where(Followup.id == fid).values(created_at=utcnow() - timedelta(minutes=minutes)))


def as_user(app, role: str):
    client = app.test_client()
    assert login(client, role).status_code == 302
    return client


def hx_post(client, path: str, data: dict | None = None):
    token = csrf_of(client, "/notifications")
    return client.post(path, data={"csrf_token": token, **(data or {})}, headers={**HX, "X-CSRFToken": token})


def row_ids(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'<li class="approval[^"]*" id="suggestion-(\d+)"', html)]


def nav_count(client) -> int:
    return int(re.search(r'id="approvals-count">(\d+)<', client.get("/notifications").get_data(as_text=True)).group(1))


def oob_count(html: str) -> int:
    return int(re.search(r'id="approvals-count" hx-swap-oob="true">(\d+)<', html).group(1))


def test_the_page_lists_overdue_first_then_oldest_with_the_tickets_context(app, api, tickets):
    fresh = suggest(api, tickets[0], "Hi Customer 0, it left today.", minutes_ago=5)
    late = suggest(api, tickets[1], "Hi Customer 1, sorry for the wait!", minutes_ago=90)
    middle = suggest(api, tickets[2], "Hi Customer 2 <b>soon</b>", minutes_ago=30)
    html = as_user(app, "supervisor").get("/approvals").get_data(as_text=True)
    assert row_ids(html) == [late, middle, fresh]
    rows = {fid: html[html.index(f'id="suggestion-{fid}"'):] for fid in (late, middle, fresh)}
    assert 'class="approval overdue" id="suggestion-%d"' % late in html and "Overdue" in rows[late].split("</li>")[0]
    assert "Overdue" not in rows[middle].split("</li>")[0]
    assert "1 h 30 min" in rows[late] and "30 min" in rows[middle] and "5 min" in rows[fresh]
    first = rows[late].split("</li>")[0]
    # the ticket's context: channel, network, kind, the customer and their latest message; the author
    assert "Shop" in first and "instagram" in first and "DM" in first and "Customer 1" in first
    assert '<div class="customer-line" dir="auto">Customer 1: where is my parcel?</div>' in first
    assert "Suggested by Agent" in first and "Hi Customer 1, sorry for the wait!" in first
    assert "Hi Customer 2 &lt;b&gt;soon&lt;/b&gt;" in html      # network and agents' text: escaped
    assert f'href="/tickets/{tickets[1]}"' in first


def test_approve_sends_once_answers_409_after_and_the_counter_follows(app, api, tickets, sandbox):
    first = suggest(api, tickets[0], "We shipped it yesterday.")
    suggest(api, tickets[1], "Another one")
    boss = as_user(app, "supervisor")
    assert nav_count(boss) == 2
    answer = hx_post(boss, f"/approvals/{first}/approve")
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    assert f'id="suggestion-{first}"' in html and "Approved · the worker sends it." in html
    assert oob_count(html) == 1 and nav_count(boss) == 1
    run_jobs()
    assert [m["caption"] for m in sandbox.state.sent] == ["We shipped it yesterday."]
    # Someone else, later: 409 with who decided, and nothing sent again.
    late = hx_post(as_user(app, "admin"), f"/approvals/{first}/approve")
    assert late.status_code == 409 and "Supervisor already approved this suggestion." in late.get_data(as_text=True)
    run_jobs()
    assert len(sandbox.state.sent) == 1
    assert first not in row_ids(boss.get("/approvals").get_data(as_text=True))
    # A plain form post (no htmx) is sent back to the page with the outcome said.
    other = row_ids(boss.get("/approvals").get_data(as_text=True))[0]
    plain = boss.post(f"/approvals/{other}/approve", data={"csrf_token": csrf_of(boss, "/approvals")})
    assert plain.status_code == 303 and plain.headers["Location"].endswith("/approvals")
    assert "Approved · the worker sends it." in boss.get("/approvals").get_data(as_text=True)
    assert nav_count(boss) == 0


def test_edit_and_approve_sends_the_edit_and_keeps_the_original(app, api, tickets, sandbox):
    fid = suggest(api, tickets[0], "thx")
    answer = hx_post(as_user(app, "supervisor"), f"/approvals/{fid}/approve",
                     {"text": "Thank you, Customer 0: it arrives tomorrow."})
    assert answer.status_code == 200 and "Edited &amp; approved" in answer.get_data(as_text=True)
    run_jobs()
    assert [m["caption"] for m in sandbox.state.sent] == ["Thank you, Customer 0: it arrives tomorrow."]
    with db.session_scope() as s:
        followup = s.get(Followup, fid)
        assert (followup.original_text, followup.text) == ("thx", "Thank you, Customer 0: it arrives tomorrow.")
    mine = as_user(app, "agent").get("/approvals/mine").get_data(as_text=True)
    assert "Edited &amp; approved" in mine and "You suggested: <span dir=\"auto\">thx</span>" in mine
    # An edit the provider would refuse: 422 inline, the suggestion stays pending.
    other = suggest(api, tickets[1], "ok")
    refused = hx_post(as_user(app, "supervisor"), f"/approvals/{other}/approve", {"text": "y" * 5000})
    assert refused.status_code == 422
    body = refused.get_data(as_text=True)
    assert 'class="field-error"' in body and f'id="suggestion-{other}"' in body and '<details class="edit" open>' in body
    assert other in row_ids(as_user(app, "supervisor").get("/approvals").get_data(as_text=True))


def test_reject_needs_a_reason_which_the_author_reads(app, api, users, tickets, sandbox):
    fid = suggest(api, tickets[0], "k")
    boss = as_user(app, "supervisor")
    empty = hx_post(boss, f"/approvals/{fid}/reject", {"reason": "   "})
    assert empty.status_code == 422
    body = empty.get_data(as_text=True)
    assert "Say why the suggestion is rejected" in body and '<details class="reject" open>' in body
    assert 'aria-invalid="true"' in body
    # Without htmx: the whole page, the error beside that row.
    plain = boss.post(f"/approvals/{fid}/reject", data={"csrf_token": csrf_of(boss, "/approvals"), "reason": ""})
    assert plain.status_code == 422 and "Say why the suggestion is rejected" in plain.get_data(as_text=True)
    done = hx_post(boss, f"/approvals/{fid}/reject", {"reason": "Too short: greet them by name."})
    assert done.status_code == 200 and "Rejected · its author reads why." in done.get_data(as_text=True)
    assert oob_count(done.get_data(as_text=True)) == 0
    agent = as_user(app, "agent")
    mine = agent.get("/approvals/mine").get_data(as_text=True)
    assert "Rejected by Supervisor: <span dir=\"auto\">Too short: greet them by name.</span>" in mine
    assert f'href="/tickets/{tickets[0]}"' in mine
    notes = agent.get("/notifications").get_data(as_text=True)
    assert "Supervisor rejected your suggestion: Too short: greet them by name." in notes
    assert re.search(r'id="unread-count">1<', notes)
    run_jobs()
    assert sandbox.state.sent == []


def test_bulk_approve_reports_each_row_and_sends_each_once(app, api, tickets, sandbox):
    ids = [suggest(api, t, f"Reply {n}", minutes_ago=10 - n) for n, t in enumerate(tickets)]
    decided = suggest(api, tickets[0], "Rejected meanwhile")
    assert api("admin").post(f"/api/v1/tickets/{tickets[0]}/followups/{decided}/reject",
                             json={"reason": "no"}).status_code == 200
    boss = as_user(app, "supervisor")
    assert nav_count(boss) == 3
    token = csrf_of(boss, "/approvals")
    answer = boss.post("/approvals/bulk-approve", data={"csrf_token": token, "ids": [*map(str, ids), str(decided)]},
                       headers={**HX, "X-CSRFToken": token})
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    assert "Approved 3 of 4." in html
    for fid in ids:
        assert re.search(rf'id="suggestion-{fid}"[^>]*data-decided="approved"[^>]*hx-swap-oob="true"', html)
    assert re.search(rf'id="suggestion-{decided}"[^>]*data-decided="decided"', html)
    assert "Admin already rejected this suggestion." in html
    assert oob_count(html) == 0
    run_jobs()
    assert sorted(m["caption"] for m in sandbox.state.sent) == ["Reply 0", "Reply 1", "Reply 2"]
    run_jobs()
    assert len(sandbox.state.sent) == 3
    nothing = boss.post("/approvals/bulk-approve", data={"csrf_token": token}, headers={**HX, "X-CSRFToken": token})
    assert nothing.status_code == 422 and "Select the suggestions to approve first." in nothing.get_data(as_text=True)


def test_agents_get_403_and_see_their_own_links(app, api, tickets):
    suggest(api, tickets[0], "Mine")
    agent = as_user(app, "agent")
    assert agent.get("/approvals").status_code == 403
    assert hx_post(agent, "/approvals/bulk-approve", {"ids": "1"}).status_code == 403
    nav = agent.get("/").get_data(as_text=True)
    assert 'id="nav-approvals"' not in nav and "My suggestions" in nav and 'id="nav-notifications"' in nav
    assert "Mine" in agent.get("/approvals/mine").get_data(as_text=True)


def test_an_approver_of_another_team_neither_sees_nor_decides_the_suggestion(app, api, users, channel, tickets):
    with db.session_scope() as s:
        other = Channel(provider="getloo", network="instagram", name="Elsewhere", base_url="http://getloo.test",
                        account_ref="elsewhere")
        s.add_all([Team(name="Shop team", members=[s.get(User, users["agent"].id)],
                        channels=[s.get(Channel, channel["id"])]),
                   Team(name="Other team", members=[s.get(User, users["outsider"].id)], channels=[other])])
        s.get(User, users["outsider"].id).permission_overrides = {"ApproveSuggestion": True}
    fid = suggest(api, tickets[0], "For the shop team only")
    outsider = as_user(app, "outsider")
    page = outsider.get("/approvals")
    assert page.status_code == 200 and row_ids(page.get_data(as_text=True)) == []
    assert nav_count(outsider) == 0
    assert hx_post(outsider, f"/approvals/{fid}/approve").status_code == 404
    assert hx_post(outsider, f"/approvals/{fid}/reject", {"reason": "no"}).status_code == 404
    bulk = hx_post(outsider, "/approvals/bulk-approve", {"ids": str(fid)})
    assert bulk.status_code == 200 and "Approved 0 of 1." in bulk.get_data(as_text=True)
    assert row_ids(as_user(app, "supervisor").get("/approvals").get_data(as_text=True)) == [fid]   # still pending


def test_an_overdue_suggestion_notifies_the_approvers_once(app, api, users, tickets):
    fid = suggest(api, tickets[0], "Waiting", minutes_ago=125)
    suggest(api, tickets[1], "Not yet overdue", minutes_ago=10)
    workers.queue(workers.DEFAULT).enqueue("workers.approval.notify_overdue")
    run_jobs()                                               # the cron's job, run by a worker
    from workers.approval import notify_overdue

    assert notify_overdue() == 0                             # once per suggestion
    with db.session_scope() as s:
        got = s.execute(select(Notification.user_id, Notification.kind, Notification.followup_id)
                        .where(Notification.kind == "suggestion_overdue").order_by(Notification.user_id)).all()
        assert s.get(Followup, fid).overdue_notified_at is not None
    # The approvers who see the ticket: the supervisor and the admin (not agents, not the author).
    assert got == sorted([(users["supervisor"].id, "suggestion_overdue", fid),
                          (users["admin"].id, "suggestion_overdue", fid)])
    boss = as_user(app, "supervisor")
    page = boss.get("/notifications").get_data(as_text=True)
    assert "Agent&#39;s suggestion on ticket #%d has waited 2 h 5 min for approval." % tickets[0] in page
    assert re.search(r'id="unread-count">1<', page) and 'class="notification unread"' in page
    [nid] = re.findall(r'name="id" value="(\d+)"', page)
    opened = boss.post("/notifications/read", data={"csrf_token": csrf_of(boss, "/notifications"), "id": nid})
    assert opened.status_code == 303 and opened.headers["Location"].endswith(f"/tickets/{tickets[0]}")
    after = boss.get("/notifications").get_data(as_text=True)
    assert 'id="unread-count"' not in after and 'class="notification read"' in after
    # Another's notification is not this user's to open.
    with db.session_scope() as s:
        admins = s.scalar(select(Notification.id).where(Notification.user_id == users["admin"].id))
    assert boss.post("/notifications/read", data={"csrf_token": csrf_of(boss, "/notifications"),
                                                  "id": str(admins)}).status_code == 404
    admin = as_user(app, "admin")
    assert admin.post("/notifications/read", data={"csrf_token": csrf_of(admin, "/notifications")}).status_code == 303
    assert 'id="unread-count"' not in admin.get("/notifications").get_data(as_text=True)


def test_the_policy_page_validates_and_its_threshold_decides_what_is_overdue(app, api, tickets):
    from inbox.approval import policy

    with db.session_scope() as s:
        billing = Category(name="Billing")
        s.add(billing)
        s.flush()
        billing_id = billing.id
    admin = as_user(app, "admin")
    page = admin.get("/settings/approval").get_data(as_text=True)
    assert 'name="overdue_minutes"' in page and "Billing" in page
    token = csrf_of(admin, "/settings/approval")
    for data, message in (({"overdue_minutes": "0"}, "The overdue threshold must be a whole number from 1 to 10080."),
                          ({"overdue_minutes": "soon"}, "The overdue threshold must be a whole number"),
                          ({"overdue_minutes": ""}, "Say after how many minutes a suggestion is overdue."),
                          ({"overdue_minutes": "15", "category_ids": "99999"}, "No category with id 99999.")):
        answer = admin.post("/settings/approval", data={"csrf_token": token, **data})
        assert answer.status_code == 422, data
        assert message in answer.get_data(as_text=True)
    saved = admin.post("/settings/approval", data={"csrf_token": token, "public_comments": "on",
                                                   "category_ids": str(billing_id), "overdue_minutes": "15"})
    assert saved.status_code == 303
    with db.session_scope() as s:
        assert policy.load(s) == policy.ApprovalPolicy(public_comments=True, category_ids=(billing_id,),
                                                       overdue_minutes=15)
    boss = as_user(app, "supervisor")
    shown = boss.get("/settings/approval").get_data(as_text=True)
    assert "<fieldset disabled>" in shown and "Only admins change the policy." in shown
    assert boss.post("/settings/approval", data={"csrf_token": csrf_of(boss, "/settings/approval"),
                                                 "overdue_minutes": "5"}).status_code == 403
    fid = suggest(api, tickets[0], "Twenty minutes old", minutes_ago=20)
    assert f'class="approval overdue" id="suggestion-{fid}"' in boss.get("/approvals").get_data(as_text=True)


def test_the_policy_in_the_json_api(api, users):
    assert api("supervisor").get("/api/v1/approval-policy").get_json() == {
        "public_comments": False, "negative_sentiment": False, "category_ids": [], "overdue_minutes": 60}
    assert api("supervisor").put("/api/v1/approval-policy", json={"overdue_minutes": 5}).status_code == 403
    bad = api("admin").put("/api/v1/approval-policy", json={"overdue_minutes": 0})
    assert bad.status_code == 422 and bad.get_json()["error"]["code"] == "invalid_field"
    unknown = api("admin").put("/api/v1/approval-policy", json={"category_ids": [424242]})
    assert unknown.status_code == 422 and unknown.get_json()["error"]["code"] == "unknown_category"
    saved = api("admin").put("/api/v1/approval-policy", json={"negative_sentiment": True, "overdue_minutes": 30})
    assert saved.status_code == 200 and saved.get_json()["overdue_minutes"] == 30
    assert api("supervisor").get("/api/v1/approval-policy").get_json()["negative_sentiment"] is True
