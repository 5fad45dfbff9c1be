"""An agent whose replies need approval suggests from the pane, sees it awaiting approval (the list
marks the ticket), and withdraws it; nothing reaches the network."""
from __future__ import annotations

from playwright.sync_api import expect

from helpers import browser_login, load, post, run_jobs
from inbox import db
from models import User


def test_an_agent_who_must_ask_suggests_then_withdraws(page, live, client, users, channel, sandbox):
    post(client, channel, load("incoming_text"))
    run_jobs()
    with db.session_scope() as s:
        s.get(User, users["agent"].id).reply_requires_approval = True

    browser_login(page, live, "agent")
    page.click("#ticket-1")

    composer = page.locator("#composer")
    expect(composer.locator(".approval-reasons")).to_contain_text("Your replies go through approval.")
    expect(composer.locator('button[data-action="reply-archive"]')).to_have_count(0)
    page.fill("#reply-text", "Здравствуйте! Проверим заказ.")
    composer.get_by_role("button", name="Suggest").click()

    card = page.locator("#thread .suggestion-card").last
    expect(card).to_contain_text("Awaiting approval since")
    expect(card.locator(".bubble")).to_have_text("Здравствуйте! Проверим заказ.")
    expect(page.locator("#pane .pane-meta .badge.suggested")).to_have_text("Suggested")
    page.reload()                                                             # the list marks the ticket
    expect(page.locator("#ticket-1 .badge.suggested")).to_be_visible()

    page.once("dialog", lambda dialog: dialog.accept())                      # "Withdraw this suggestion?"
    page.locator('#thread .suggestion-card button[data-action="withdraw"]').click()
    card = page.locator("#thread .suggestion-card").last
    expect(card.locator(".suggestion-state")).to_contain_text("Withdrawn")
    expect(card.locator('button[data-action="withdraw"]')).to_have_count(0)
    expect(page.locator("#pane .pane-meta .badge.suggested")).to_have_count(0)
    run_jobs()
    assert sandbox.state.sent == []
