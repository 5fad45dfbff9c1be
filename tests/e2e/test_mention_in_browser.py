"""@mention autocomplete in the note box: "@" and part of a name lists teammates, the keyboard picks
one, and the saved note mentions them (they find the ticket under "Mentions me")."""
from __future__ import annotations

from playwright.sync_api import expect

from helpers import PASSWORDS
from inbox import db
from models import Channel, Ticket, User


def login(page, live, email: str, password: str) -> None:
    page.goto(f"{live}/auth/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


def test_mention_a_teammate_with_the_keyboard(page, live, users):
    with db.session_scope() as s:
        channel = Channel(provider="getloo", network="instagram", name="Shop", base_url="http://getloo.test")
        s.add(channel)
        for email, name, active in (("ana.lopez@example.test", "Ana López", True),
                                    ("anders@example.test", "Anders Berg", True),
                                    ("andrea@example.test", "Andrea Old", False)):
            user = User(email=email, name=name, role="agent", active=active)
            user.set_password("anders-password")
            s.add(user)
        s.flush()
        ticket = Ticket(channel_id=channel.id, network="instagram", kind="conversation", external_id="t1",
                        text="Where is my parcel?")
        s.add(ticket)
        s.flush()
        ticket_id = ticket.id

    login(page, live, "agent@example.test", PASSWORDS["agent"])
    page.goto(f"{live}/tickets/{ticket_id}")
    box = page.locator("#note-text")
    picker = page.locator("#note-text-mentions")
    box.press_sequentially("Can you check this @an")
    expect(picker).to_be_visible()
    options = picker.locator("[role=option]")
    expect(options).to_have_count(2)                       # the inactive Andrea is not offered
    expect(options.nth(0)).to_contain_text("Ana López")
    expect(options.nth(0)).to_contain_text("@ana.lopez")
    expect(box).to_have_attribute("aria-activedescendant", "note-text-mentions-0")

    box.press("Escape")                                    # Esc closes, the text stays
    expect(picker).to_be_hidden()
    expect(box).to_have_value("Can you check this @an")
    box.press_sequentially("d")                            # "@and": Anders only
    expect(options).to_have_count(1)
    box.press("Backspace")
    expect(options).to_have_count(2)
    box.press("ArrowDown")
    expect(options.nth(1)).to_have_attribute("aria-selected", "true")
    expect(box).to_have_attribute("aria-activedescendant", "note-text-mentions-1")
    box.press("Enter")                                     # Enter picks, it does not submit or add a line
    expect(picker).to_be_hidden()
    expect(box).to_have_value("Can you check this @anders ")
    box.press_sequentially("please")
    page.get_by_role("button", name="Add note").click()
    expect(page.locator(".note-card mark.mention")).to_have_text("@anders")

    # the mouse too (the pane was swapped: a fresh box), and Tab picks like Enter
    box.press_sequentially("@Supe")
    picker.locator("[role=option]", has_text="Supervisor").click()
    expect(box).to_have_value("@supervisor ")
    box.press_sequentially("and @ad")
    box.press("Tab")
    expect(box).to_have_value("@supervisor and @admin ")

    page.context.clear_cookies()
    login(page, live, "anders@example.test", "anders-password")
    page.goto(f"{live}/?mentions=me")
    expect(page.locator(f"#ticket-{ticket_id}")).to_be_visible()
