"""Bulk work in the browser: tick rows or "select all N matching this filter", pick an action, watch
the progress bar follow the real RQ worker, read the summary; the list refreshes by itself."""
from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import expect
from sqlalchemy import select

from helpers import browser_login, run_jobs
from inbox import db
from models import Channel, Interactor, Ticket, utcnow


def _tickets(count: int) -> list[int]:
    with db.session_scope() as s:
        shop = Channel(provider="getloo", network="instagram", name="Shop", base_url="http://getloo.test",
                       account_ref="shop")
        s.add(shop)
        s.flush()
        made = []
        for n in range(count):
            person = Interactor(channel_id=shop.id, external_id=f"p{n}", username=f"customer{n}")
            made.append(Ticket(channel=shop, network="instagram", kind="conversation", external_id=f"t{n}",
                               text=f"Question number {n}", interactor=person,
                               last_activity_at=utcnow() - timedelta(minutes=n)))
        s.add_all(made)
        s.flush()
        return [t.id for t in made]


def test_archive_all_matching_with_progress_and_summary(page, live, users):
    ids = _tickets(5)
    browser_login(page, live, "agent")
    page.goto(f"{live}/?folder=inbox")
    bar = page.locator("#bulk-form")
    expect(bar).to_be_hidden()
    expect(page.locator("#count-inbox")).to_have_text("5")

    page.get_by_label("Select ticket from @customer0").check()
    expect(bar).to_be_visible()
    expect(bar.locator(".bulk-count")).to_have_text("1 selected")
    # "Assign" (the first action) offers the people once the bar shows, inside its own select.
    expect(bar.get_by_label("To").locator("option", has_text="Supervisor")).to_have_count(1)
    expect(page.locator("#bulk-status")).to_be_empty()
    bar.get_by_role("button", name="Select all matching this filter").click()
    expect(bar.locator(".bulk-all-note")).to_have_text("All 5 tickets matching this filter are selected")
    bar.get_by_label("Action").select_option("archive")
    bar.get_by_role("button", name="Apply").click()

    progress = page.locator("#bulk-progress progress")
    expect(progress).to_be_visible()
    expect(page.locator("#bulk-progress label")).to_contain_text("Archive: 0 of 5 tickets")
    run_jobs()                                   # the worker does the job; the bar follows it
    summary = page.locator("#bulk-status .bulk-summary")
    expect(summary).to_contain_text("5 done")
    expect(summary).to_contain_text("0 skipped")
    expect(summary).to_contain_text("0 failed")
    # The list refreshed by itself: the inbox (open tickets) is empty now, the selection cleared.
    expect(page.locator("#ticket-rows li.row-item")).to_have_count(0)
    expect(page.locator("#ticket-rows .empty")).to_be_visible()
    expect(bar).to_be_hidden()
    expect(page.locator("#count-inbox")).to_have_text("0")          # the folder counters too
    expect(page.locator("#count-archived")).to_have_text("5")
    with db.session_scope() as s:
        assert set(s.scalars(select(Ticket.status).where(Ticket.id.in_(ids)))) == {"archived"}


def test_tag_ticked_rows_and_a_changed_one_is_skipped(page, live, users):
    ids = _tickets(3)
    browser_login(page, live, "agent")
    page.goto(f"{live}/?folder=inbox")
    # The keyboard helper's `x` toggles a row through window.inboxBulk (or the checkbox's click).
    page.evaluate("window.inboxBulk.toggle(document.querySelector('li.row-item'))")
    expect(page.get_by_label("Select ticket from @customer0")).to_be_checked()
    page.get_by_label("Select ticket from @customer1").check()
    bar = page.locator("#bulk-form")
    expect(bar.locator(".bulk-count")).to_have_text("2 selected")
    bar.get_by_label("Action").select_option("tag")
    bar.get_by_label("Tags to add").fill("vip, refund")
    with db.session_scope() as s:                # someone changes customer1's ticket meanwhile
        changed = s.get(Ticket, ids[1])
        changed.priority, changed.version = True, changed.version + 1
    bar.get_by_role("button", name="Apply").click()
    expect(page.locator("#bulk-progress progress")).to_be_visible()
    run_jobs()
    summary = page.locator("#bulk-status .bulk-summary")
    expect(summary).to_contain_text("1 done")
    expect(summary).to_contain_text("1 skipped because they changed meanwhile")
    first_row = page.locator(f'li.row-item[data-ticket="{ids[0]}"]')
    expect(first_row).to_contain_text("vip")
    expect(first_row.locator("input.row-select")).not_to_be_checked()
    expect(page.locator(f'li.row-item[data-ticket="{ids[1]}"]')).not_to_contain_text("vip")
    page.locator("#bulk-status .bulk-dismiss").click()
    expect(page.locator("#bulk-progress")).to_have_count(0)


def test_bad_input_is_shown_inline(page, live, users):
    _tickets(1)
    browser_login(page, live, "agent")
    page.goto(f"{live}/?folder=inbox")
    page.get_by_label("Select ticket from @customer0").check()
    bar = page.locator("#bulk-form")
    bar.get_by_label("Action").select_option("tag")
    bar.get_by_role("button", name="Apply").click()
    expect(page.locator("#bulk-status .bulk-error")).to_have_text("Nothing was started: Name at least one tag to add")
