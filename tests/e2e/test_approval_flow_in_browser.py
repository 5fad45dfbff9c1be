"""Two people, two browsers: an agent whose replies need approval and a supervisor.

suggest → reject with a reason → the agent reads the reason and revises → edit & approve →
sent → delivered; then bulk approve of three suggestions. The navigation's approvals counter
follows every step."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from helpers import browser_login, getloo_dms, load, post, run_jobs
from inbox import db
from models import User


@pytest.fixture
def second_page(browser):
    """The supervisor's own browser context (own cookies), with the same CSP check as ``page``."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-US")
    other = context.new_page()
    other.set_default_timeout(15000)
    violations: list[str] = []
    other.on("console", lambda m: "Content Security Policy" in m.text and violations.append(m.text))
    yield other
    context.close()
    assert not violations, violations


def test_suggest_reject_revise_edit_approve_deliver_then_bulk(page, second_page, live, client, users, channel,
                                                              sandbox, token_for):
    post(client, channel, load("incoming_text"))
    run_jobs()
    with db.session_scope() as s:
        s.get(User, users["agent"].id).reply_requires_approval = True
    agent, boss = page, second_page
    browser_login(agent, live, "agent")
    browser_login(boss, live, "supervisor")

    # The agent suggests.
    agent.click("#ticket-1")
    agent.fill("#reply-text", "ok")
    agent.locator("#composer").get_by_role("button", name="Suggest").click()
    expect(agent.locator("#thread .suggestion-card").last).to_contain_text("Awaiting approval since")

    # The supervisor rejects it with a reason.
    boss.goto(f"{live}/approvals")
    expect(boss.locator("#approvals-count")).to_have_text("1")
    row = boss.locator("li.approval").first
    expect(row).to_contain_text("ok")
    row.locator("summary", has_text="Reject").click()
    row.locator("input[name=reason]").fill("Too short: greet them and say what happens next.")
    row.locator("input[name=reason]").press("Enter")
    expect(row).to_contain_text("Rejected")
    expect(boss.locator("#approvals-count")).to_have_text("0")

    # The agent reads the reason on the ticket and revises.
    agent.reload()
    card = agent.locator("#thread .suggestion-card").last
    expect(card.locator(".rejection-reason")).to_contain_text("Too short: greet them and say what happens next.")
    card.locator("textarea[name=text]").fill("Здравствуйте! Мы проверим заказ сегодня.")
    card.locator("button[data-action=revise]").click()
    expect(agent.locator("#thread .suggestion-card").last).to_contain_text("Awaiting approval since")
    expect(agent.locator("#thread .suggestion-card").last.locator(".bubble")).to_have_text(
        "Здравствуйте! Мы проверим заказ сегодня.")

    # The supervisor edits and approves it.
    boss.goto(f"{live}/approvals")
    expect(boss.locator("#approvals-count")).to_have_text("1")
    row = boss.locator("li.approval").first
    row.locator("summary", has_text="Edit").click()
    row.locator("textarea[name=text]").fill("Здравствуйте, Анна! Мы проверим заказ сегодня.")
    row.get_by_role("button", name="Approve edited").click()
    expect(row).to_contain_text("Edited & approved")
    expect(boss.locator("#approvals-count")).to_have_text("0")

    # Sent, then delivered: the agent's card follows without a reload.
    sandbox.state.auto_delivery = True
    sandbox.state.delivery_delays = (0.2, 0.5, 30)
    agent.reload()
    reply = agent.locator("#thread .msg.out").last
    expect(reply).to_contain_text("Edited & approved by")
    for _ in range(50):
        run_jobs()
        if reply.locator(".delivery").get_attribute("data-status") == "delivered":
            break
        agent.wait_for_timeout(200)
    expect(reply.locator(".delivery")).to_have_text("Delivered")
    assert [m["caption"] for m in sandbox.state.sent] == ["Здравствуйте, Анна! Мы проверим заказ сегодня."]

    # Three more suggestions, approved in one go.
    new = getloo_dms(client, channel, 3, "bulk")
    auth = {"Authorization": f"Bearer {token_for('agent')}"}
    for n, ticket_id in enumerate(new):
        assert client.post(f"/api/v1/tickets/{ticket_id}/actions/suggest", json={"text": f"Bulk answer {n}"},
                           headers=auth).status_code == 201
    boss.goto(f"{live}/approvals")
    expect(boss.locator("#approvals-count")).to_have_text("3")
    for box in boss.locator("input[name=ids]").all():
        box.check()
    boss.click("#approve-selected")
    expect(boss.locator("#bulk-result")).to_have_text("Approved 3 of 3.")
    expect(boss.locator("#approvals-count")).to_have_text("0")
    run_jobs()
    assert sorted(m["caption"] for m in sandbox.state.sent)[:3] == ["Bulk answer 0", "Bulk answer 1", "Bulk answer 2"]
    assert len(sandbox.state.sent) == 4
