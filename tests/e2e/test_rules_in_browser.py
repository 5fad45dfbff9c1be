"""An admin writes a rule in the browser, tries it before saving, saves it, puts a second rule
before it with the Move buttons; then a customer writes on the network, a real worker runs the
rules, and the ticket's history says which rule matched and why."""
from __future__ import annotations

import re

import httpx
from playwright.sync_api import expect
from sqlalchemy import select

from helpers import browser_login, load, post, run_jobs
from inbox import db
from models import Tag, Ticket
from worker_process import kill_hard, start_worker


def test_create_dry_run_save_reorder_then_a_matching_item_shows_the_trace(page, app, live, client, users, channel,
                                                                          sandbox, token_for):
    auth = {"Authorization": f"Bearer {token_for('admin')}"}
    made = httpx.post(f"{live}/api/v1/keyword-lists", headers=auth, json={"name": "Refund words", "keywords": ["refund"]})
    assert made.status_code == 201, made.text
    with db.session_scope() as s:
        s.add(Tag(name="Money"))
    # An item that is already there, which the dry run must find.
    body = load("incoming_text")
    body["event"]["properties"]["content"]["body"] = "Hello, I would like a refund for my order"
    post(client, channel, body)
    run_jobs()
    with db.session_scope() as s:
        existing = s.scalars(select(Ticket.id)).one()

    worker = start_worker(app, "--no-cron")
    try:
        browser_login(page, live, "admin")
        page.get_by_role("link", name="Rules", exact=True).click()
        expect(page.locator("h1")).to_have_text("Rules")
        page.click("#new-rule")

        # The rule "Refunds": text has a keyword of "Refund words" → add the tag Money, mark as priority.
        page.fill("#name", "Refunds")
        page.click("#add-condition")
        expect(page.locator("#conditions-0-condition")).to_be_focused()
        page.select_option("#conditions-0-keywordList", label="Refund words")
        page.fill("#name", "Refunds")
        page.click("#add-action")
        page.locator("#action-row-0").get_by_label("Money").check()
        page.click("#add-action")
        page.select_option("#actions-1-action", "mark_as_priority")      # htmx re-renders the form
        expect(page.locator("#actions-1-action")).to_have_value("mark_as_priority")
        expect(page.locator("#action-row-0").get_by_label("Money")).to_be_checked()
        expect(page.locator("#name")).to_have_value("Refunds")

        # Dry run before saving: the existing refund ticket matches, and nothing was saved.
        page.click("#dry-run")
        result = page.locator("#dryrun-result")
        expect(result.locator("h2")).to_have_text("Dry run: 1 of 1 items would match")
        row = result.locator(f'tr[data-ticket-id="{existing}"]')
        expect(row).to_contain_text("✓")
        expect(row).to_contain_text("found 'refund'")
        expect(row).to_contain_text("Add tags: “Money”")
        expect(row).to_contain_text("Mark as priority")
        assert httpx.get(f"{live}/api/v1/rules", headers=auth).json()["data"] == []

        page.click("#save-rule")
        expect(page.locator(".flash")).to_contain_text("Created the rule “Refunds”.")
        assert [r["name"] for r in httpx.get(f"{live}/api/v1/rules", headers=auth).json()["data"]] == ["Refunds"]

        # A second rule, then Move up puts it first.
        page.click("#new-rule")
        page.fill("#name", "Everything")
        page.click("#add-action")
        page.select_option("#actions-0-action", "require_approval")
        expect(page.locator("#actions-0-action")).to_have_value("require_approval")
        page.press("#name", "Enter")                                        # Enter saves
        names = page.locator(".rule-card .rule-name")
        expect(names).to_have_text(["Refunds", "Everything"])
        page.locator(".rule-card", has_text="Everything").get_by_role("button", name="Move up").click()
        expect(names).to_have_text(["Everything", "Refunds"])
        expect(page.locator(".rule-card").first.get_by_role("button", name="Move up")).to_be_disabled()
        assert [r["name"] for r in httpx.get(f"{live}/api/v1/rules", headers=auth).json()["data"]] == [
            "Everything", "Refunds"]

        # The network sends a new DM about a refund; the worker ingests it and it shows in the queue.
        sandbox.state.emit_message(sandbox.token, user_id="555000111", username="new_buyer", profile_name="New Buyer",
                                   text="Hi! Can I get a refund? The box was empty.")
        page.goto(f"{live}/")
        item = page.locator(".row", has_text="Can I get a refund?")
        for _ in range(60):
            if item.count():
                break
            page.wait_for_timeout(500)
            page.reload()
        expect(item).to_be_visible()

        # The rules job runs in the worker (inbox.rules.runner) and writes the trace to the history.
        item.click()
        rules_entry = page.locator('[data-history="rules"]', has_text="Rule “Refunds” matched")
        for _ in range(60):
            if rules_entry.count():
                break
            page.wait_for_timeout(500)
            page.reload()
        expect(rules_entry).to_be_visible()
        why = rules_entry.locator("details", has_text="Why?")
        why.locator("summary").click()
        expect(why).to_contain_text(re.compile(r"keyword", re.I))
    finally:
        kill_hard(worker)


def test_drag_and_drop_reorders_and_is_saved(page, live, users, token_for):
    """static/rules.js: dropping a rule above another posts the new order (with the CSRF token)."""
    auth = {"Authorization": f"Bearer {token_for('admin')}"}
    for name, weight in (("First", 10), ("Second", 20), ("Third", 30)):
        made = httpx.post(f"{live}/api/v1/rules", headers=auth, json={
            "name": name, "active": True, "weight": weight, "trigger": "ticket_creation", "entity": "ticket",
            "conditions": [], "actions": [{"action": "mark_as_priority", "config": {}}]})
        assert made.status_code == 201, made.text
    browser_login(page, live, "admin")
    page.goto(f"{live}/settings/rules")
    names = page.locator(".rule-card .rule-name")
    expect(names).to_have_text(["First", "Second", "Third"])
    third = page.locator(".rule-card", has_text="Third")
    third.locator(".drag-handle").drag_to(page.locator(".rule-card", has_text="First"),
                                          target_position={"x": 20, "y": 5})
    expect(names).to_have_text(["Third", "First", "Second"])
    expect(page.locator("#rules-live")).to_have_text("Saved the new order.")
    assert [r["name"] for r in httpx.get(f"{live}/api/v1/rules", headers=auth).json()["data"]] == [
        "Third", "First", "Second"]
    page.reload()
    expect(names).to_have_text(["Third", "First", "Second"])
