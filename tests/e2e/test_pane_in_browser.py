"""The pane in Chromium: media inline in the thread under our CSP, and the interactor's other
tickets in the sidebar, each opening in the pane."""
from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import expect

from helpers import PASSWORDS
from inbox import db
from models import Channel, Interactor, Message, Ticket, utcnow


def test_media_and_the_interactors_other_tickets(page, live, users):
    with db.session_scope() as s:
        shop = Channel(provider="getloo", network="instagram", name="Shop", base_url="http://shop.test",
                       account_ref="a")
        outlet = Channel(provider="getloo", network="instagram", name="Outlet", base_url="http://outlet.test",
                         account_ref="b")
        s.add_all([shop, outlet])
        s.flush()
        ada = Interactor(channel_id=shop.id, external_id="u-1", username="ada", name="Ada Lovelace")
        ada_there = Interactor(channel_id=outlet.id, external_id="o-9", username="ada", name="Ada L.")
        here = Ticket(channel_id=shop.id, network="instagram", kind="conversation", external_id="t1",
                      text="Look at this", interactor=ada, last_activity_at=utcnow())
        there = Ticket(channel_id=outlet.id, network="instagram", kind="conversation", external_id="t2",
                       text="Asked at the outlet", interactor=ada_there, last_activity_at=utcnow() - timedelta(hours=1))
        s.add_all([here, there])
        s.flush()
        # .invalid never resolves: the elements are what is checked, and the CSP must not refuse them.
        for i, (kind, url, mime) in enumerate([("image", "https://cdn.example.invalid/a.jpg", "image/jpeg"),
                                               ("video", "https://cdn.example.invalid/b.mp4", "video/mp4"),
                                               ("audio", "https://cdn.example.invalid/c.ogg", "audio/ogg")]):
            s.add(Message(ticket_id=here.id, channel_id=shop.id, external_id=f"m{i}", kind=kind, media_url=url,
                          media_type=mime, created_at=utcnow() - timedelta(minutes=5 - i)))
        here_id, there_id = here.id, there.id
    page.goto(f"{live}/tickets/{here_id}")
    page.fill("input[name=email]", "agent@example.test")
    page.fill("input[name=password]", PASSWORDS["agent"])
    page.click("button[type=submit]")
    page.goto(f"{live}/tickets/{here_id}")

    thread = page.locator("#thread")
    expect(thread.locator("img[referrerpolicy=no-referrer]")).to_have_count(1)
    expect(thread.locator("video[controls]")).to_have_count(1)
    expect(thread.locator("audio[controls]")).to_have_count(1)

    who = page.locator("#interactor")
    expect(who).to_contain_text("Ada Lovelace")
    expect(who.locator("a.profile-link")).to_have_attribute("href", "https://www.instagram.com/ada/")
    who.locator(f'[data-other-ticket="{there_id}"]').click()
    expect(page).to_have_url(f"{live}/tickets/{there_id}")
    expect(page.locator(".pane-head")).to_contain_text("Outlet")
    expect(page.locator(f'#interactor [data-other-ticket="{here_id}"]')).to_be_visible()
