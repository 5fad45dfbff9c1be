"""An agent searches the queue in Persian and in Russian: the rows narrow to the matches with the
words marked, and the thread opened from a result shows them marked too."""
from __future__ import annotations

from playwright.sync_api import expect

from helpers import browser_login
from inbox import db
from test_search import make


def test_search_in_persian_and_russian_with_highlights(page, live, users):
    with db.session_scope() as s:
        persian = make(s, ["می‌خواهم کتاب بخرم", "سلام"], name="علی", username="ali", minutes=1)
        russian = make(s, ["Здравствуйте, где мой заказ?"], name="Иван", username="ivan", minutes=2)
        other = make(s, ["Where is my parcel?"], name="John", username="john", minutes=3)
    browser_login(page, live, "agent")
    page.goto(f"{live}/")
    expect(page.locator(f"#ticket-{other}")).to_be_visible()

    box = page.locator("form.filters input[name=q]")
    box.fill("ميخواهم")                 # typed with the Arabic yeh, stored with the Persian one and a ZWNJ
    expect(page.locator("#ticket-rows .row")).to_have_count(1)
    expect(page.locator(f"#ticket-{persian}")).to_be_visible()
    page.wait_for_url("**q=*")
    # The preview is the latest message ("سلام"); the match is in the older one, shown in the thread.
    page.locator(f"#ticket-{persian}").click()
    expect(page.locator("#thread .bubble mark")).to_have_text("می\u200cخواهم")

    box.fill("ЗДРАВСТВУЙТЕ")
    expect(page.locator("#ticket-rows .row")).to_have_count(1)
    row = page.locator(f"#ticket-{russian}")
    expect(row.locator(".preview mark")).to_have_text("Здравствуйте")
    row.click()
    expect(page.locator("#thread .bubble mark")).to_have_text("Здравствуйте")
    assert "q=" in page.url

    box.fill("nothing-like-this")
    expect(page.locator("#ticket-rows .row")).to_have_count(0)
