"""Folders in the browser: the sidebar's numbers follow an archive made in the pane without a
reload, a folder opens its view, and the current view saves as a folder of one's own."""
from __future__ import annotations

from playwright.sync_api import expect

from helpers import browser_login
from inbox import db
from models import Channel, Ticket


def _tickets(n: int) -> list[int]:
    with db.session_scope() as s:
        channel = Channel(provider="getloo", network="instagram", name="Shop", base_url="http://getloo.test")
        s.add(channel)
        s.flush()
        made = [Ticket(channel_id=channel.id, network="instagram", kind="conversation", external_id=f"f{i}",
                       text=f"Question number {i}") for i in range(n)]
        s.add_all(made)
        s.flush()
        return [t.id for t in made]


def test_numbers_follow_an_archive_and_a_folder_saves_the_view(page, live, users):
    ids = _tickets(3)
    browser_login(page, live, "agent")
    page.goto(f"{live}/")
    folders = page.get_by_role("navigation", name="Folders")
    expect(folders.locator("#count-inbox")).to_have_text("3")
    expect(folders.locator("a.folder.active")).to_contain_text("Inbox")
    expect(page.locator("#ticket-rows li.row-item")).to_have_count(3)

    page.locator(f"#ticket-{ids[0]}").click()
    page.locator("#ticket-side select[aria-label='Set status']").select_option("archived")
    expect(page.locator('#ticket-side [data-field="status"]')).to_have_text("archived")
    expect(folders.locator("#count-inbox")).to_have_text("2")          # no reload
    expect(folders.locator("#count-archived")).to_have_text("1")

    folders.locator("a.folder[data-folder=archived]").click()
    expect(page).to_have_url(f"{live}/?folder=archived")
    expect(page.locator("#ticket-rows li.row-item")).to_have_count(1)
    expect(page.locator(f"#ticket-{ids[0]}")).to_be_visible()

    page.locator(".save-folder summary").click()
    page.locator(".save-folder input[name=name]").fill("Done today")
    page.locator(".save-folder button").click()
    custom = folders.locator("a.folder.active")
    expect(custom).to_contain_text("Done today")
    expect(custom.locator(".count")).to_have_text("1")
    expect(page.locator("#ticket-rows li.row-item")).to_have_count(1)


def test_scrolling_the_list_with_the_mouse_loads_the_next_page(page, live, users):
    _tickets(60)
    browser_login(page, live, "agent")
    page.goto(f"{live}/")
    rows = page.locator("#ticket-rows li.row-item")
    expect(rows).to_have_count(50)
    page.locator("#ticket-rows").hover()
    for _ in range(40):
        page.mouse.wheel(0, 2000)
        if rows.count() == 60:
            break
        page.wait_for_timeout(100)
    expect(rows).to_have_count(60)
