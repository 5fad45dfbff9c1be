"""A community manager tags a Resont comment and files it under a category from the pane's pickers,
in Chromium under our Content-Security-Policy; the tags reach Resont."""
from __future__ import annotations

import os
from pathlib import Path

from playwright.sync_api import expect
from sqlalchemy import select

from helpers import PASSWORDS, run_jobs
from inbox import db
from inbox.settings import taxonomy
from models import Tag, Ticket
from sandbox import resont as sandbox

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def keep_screenshot(page, name: str, **options) -> None:
    """docs/screenshots/<name>, refreshed on demand only (UPDATE_SCREENSHOTS=1): a test run
    leaves the checkout as it found it."""
    if os.environ.get("UPDATE_SCREENSHOTS"):
        page.screenshot(path=str(SCREENSHOTS / name), **options)


def test_tags_and_categories_from_the_pickers(page, live, users, resont):
    with db.session_scope() as s:
        ticket_id = s.scalars(select(Ticket.id).filter_by(external_id="comment:1001")).one()
        taxonomy.import_outline(s, "Product\n  Sizes\n  Shipping\nPraise")
        s.add(Tag(name="Loyal customer", color="#dc2626"))
    page.goto(f"{live}/tickets/{ticket_id}")
    page.fill("input[name=email]", "agent@example.test")
    page.fill("input[name=password]", PASSWORDS["agent"])
    page.click("button[type=submit]")
    page.goto(f"{live}/tickets/{ticket_id}")

    # Tags: search finds the existing one; typing a new name and Add creates it. (The comment has
    # Resont's own tags already, from the backfill.)
    chips = page.locator("#ticket-tags .chip-form")
    before = chips.count()
    page.click("#tag-picker summary")
    page.fill("#tag-picker input[name=name]", "loyal")
    expect(page.locator("#tag-options [data-add-tag]")).to_have_count(1)     # the search answered
    expect(page.locator("#tag-options")).to_contain_text("Loyal customer")
    page.locator("#tag-options [data-add-tag]").click()
    expect(chips).to_have_count(before + 1)
    expect(page.locator("#ticket-tags .chip-form", has_text="Loyal customer").locator("circle")).to_have_attribute(
        "fill", "#dc2626")
    page.click("#tag-picker summary")
    page.fill("#tag-picker input[name=name]", "Big sizes")
    page.click("#tag-picker .picker-add button")
    expect(chips).to_have_count(before + 2)
    run_jobs()   # the new set goes to Resont
    writes = [w for w in sandbox.SANDBOX.writes if w["kind"] == "comment.tag"]
    assert len(writes[-1]["tag_ids"]) == before + 2

    # Remove one chip.
    page.click('#ticket-tags [aria-label="Remove the tag Loyal customer"]')
    expect(chips).to_have_count(before + 1)
    expect(page.locator("#ticket-tags")).to_contain_text("Big sizes")

    # Categories: search the tree, pick a node, remove it again.
    page.click("#category-picker summary")
    page.fill("#category-picker input[name=q]", "siz")
    expect(page.locator("#category-options [data-add-category]")).to_have_count(1)
    page.locator("#category-options [data-add-category]").click()
    expect(page.locator("#ticket-categories .chip.category")).to_have_text("Sizes")
    with db.session_scope() as s:
        assert [c.name for c in s.get(Ticket, ticket_id).categories] == ["Sizes"]
        names = {t.name for t in s.get(Ticket, ticket_id).tags}
        assert "Big sizes" in names and "Loyal customer" not in names
    page.click('#ticket-categories [aria-label="Remove the category Sizes"]')
    expect(page.locator("#ticket-categories .chip.category")).to_have_count(0)
    keep_screenshot(page, "pane-taxonomy.png")


def test_settings_pages_work_under_the_csp(page, live, users, resont):
    """An admin creates a tag, imports a tree and moves a node: no CSP refusal on the way."""
    page.goto(f"{live}/settings/tags")
    page.fill("input[name=email]", "admin@example.test")
    page.fill("input[name=password]", PASSWORDS["admin"])
    page.click("button[type=submit]")
    page.goto(f"{live}/settings/tags")
    page.fill("#new-tag input[name=name]", "Complaint")
    page.click("#new-tag button")
    expect(page.locator("#tags")).to_contain_text("Complaint")
    page.fill("#new-tag input[name=name]", "complaint")
    page.click("#new-tag button")
    expect(page.locator("#new-tag .field-error")).to_contain_text("already exists")
    keep_screenshot(page, "settings-tags.png", full_page=True)

    page.goto(f"{live}/settings/categories")
    page.fill("#import textarea", "Product\n  Sizes\n  Shipping\n    Late\nPraise")
    page.click("#import button")
    expect(page.locator("#categories > li")).to_have_count(5)
    shipping = page.locator("#categories > li").filter(has=page.locator("summary", has_text="Shipping"))
    shipping.locator("summary").click()
    shipping.locator('button[value="up"]').click()
    expect(page.locator("#categories > li summary").nth(1)).to_contain_text("Shipping")   # before Sizes now
    expect(page.locator("#categories > li summary").nth(2)).to_contain_text("Late")       # its subtree with it
    expect(page.locator("#categories > li summary").nth(3)).to_contain_text("Sizes")
    keep_screenshot(page, "settings-categories.png", full_page=True)
