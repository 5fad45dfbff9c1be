"""A community manager likes and tags a Resont comment from the pane and sees the network's answer."""
from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import select

from helpers import PASSWORDS, run_jobs
from inbox import db
from sandbox import resont as sandbox
from models import Ticket


def test_like_a_comment_from_the_pane(page, live, users, resont):
    with db.session_scope() as s:
        ticket_id = s.scalars(select(Ticket.id).filter_by(external_id="comment:1001")).one()
    page.goto(f"{live}/")
    page.fill("input[name=email]", "agent@example.test")
    page.fill("input[name=password]", PASSWORDS["agent"])
    page.click("button[type=submit]")
    page.select_option("select[name=kind]", "comment")
    row = page.locator(f"#ticket-{ticket_id}")
    expect(row).to_be_visible()
    row.click()
    expect(page.locator("#thread")).to_contain_text("سلام، این مانتو سایز بزرگ هم دارد؟")
    page.click('#ticket-actions button[data-action="like"]')
    log = page.locator("#ticket-actions .action-log li").first
    expect(log).to_have_attribute("data-state", "queued")
    run_jobs()                                        # the worker calls Resont's like toggle
    expect(log).to_have_attribute("data-state", "sent")
    # The bar polled itself to the network's new state: liked, so it now offers Unlike.
    expect(page.locator('#ticket-actions button[data-action="unlike"]')).to_be_visible()
    expect(page.locator('#ticket-actions button[data-action="like"]')).to_have_count(0)
    assert [w["kind"] for w in sandbox.SANDBOX.writes if w["kind"].startswith("comment.like")]
