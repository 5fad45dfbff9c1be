"""A community manager logs in, opens a DM, replies, and watches it become delivered."""
from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import expect

from helpers import PASSWORDS, load, post, run_jobs

ROOT = Path(__file__).resolve().parents[2]


def test_reply_reaches_the_network_and_shows_delivered(page, live, client, users, channel, sandbox):
    assert (ROOT / "static/vendor/htmx.min.js").exists(), "run `make setup` first (htmx comes from npm)"
    post(client, channel, load("incoming_text"))
    run_jobs()
    sandbox.state.auto_delivery = True
    sandbox.state.delivery_delays = (0.2, 0.5, 30)      # pending, delivered, (read much later)

    page.goto(f"{live}/")
    page.fill("input[name=email]", "agent@example.test")
    page.fill("input[name=password]", PASSWORDS["agent"])
    page.click("button[type=submit]")

    page.click("#ticket-1")
    expect(page.locator("#thread")).to_contain_text("Отправленный текст")
    expect(page).to_have_url(re.compile(r"/tickets/1$"))
    page.fill("#reply-text", "Здравствуйте! Чем помочь? 😊")
    page.click("#composer button[type=submit]")

    card = page.locator("#thread .msg.out").last
    expect(card).to_contain_text("Здравствуйте! Чем помочь? 😊")
    expect(card.locator(".delivery")).to_have_attribute("data-status", "queued")
    expect(page.locator("#reply-text")).to_have_value("")
    run_jobs()                                           # the worker sends it; the sandbox reports back
    for _ in range(50):
        run_jobs()                                       # process the delivery reports as they arrive
        if card.locator(".delivery").get_attribute("data-status") == "delivered":
            break
        page.wait_for_timeout(200)
    expect(card.locator(".delivery")).to_have_text("Delivered")
    assert [s["caption"] for s in sandbox.state.sent] == ["Здравствуйте! Чем помочь? 😊"]



def test_a_dm_reply_with_an_attachment_from_the_composer(page, live, client, users, channel, sandbox):
    """The composer of a DM offers an attachment URL; the file reaches Getloo and the card links it."""
    post(client, channel, load("incoming_text"))
    run_jobs()
    page.goto(f"{live}/")
    page.fill("input[name=email]", "agent@example.test")
    page.fill("input[name=password]", PASSWORDS["agent"])
    page.click("button[type=submit]")
    page.click("#ticket-1")
    field = page.locator("#composer input[name=attachment_url]")
    expect(field).to_be_visible()
    field.fill("https://cdn.example.com/catalogue.jpg")
    page.fill("#reply-text", "Каталог во вложении")
    page.click("#composer button[type=submit]")
    card = page.locator("#thread .msg.out").last
    expect(card).to_contain_text("Каталог во вложении")
    expect(card.locator("a.attachment")).to_have_attribute("href", "https://cdn.example.com/catalogue.jpg")
    expect(field).to_have_value("")
    run_jobs()
    assert [(s["caption"], s["file"]) for s in sandbox.state.sent] == [
        ("Каталог во вложении", "https://cdn.example.com/catalogue.jpg")]


def test_send_and_archive_in_one_step_from_the_composer(page, live, client, users, channel, sandbox):
    post(client, channel, load("incoming_text"))
    run_jobs()
    page.goto(f"{live}/")
    page.fill("input[name=email]", "agent@example.test")
    page.fill("input[name=password]", PASSWORDS["agent"])
    page.click("button[type=submit]")
    page.goto(f"{live}/?status=open")
    expect(page.locator("#ticket-1")).to_be_visible()

    page.click("#ticket-1")
    page.fill("#reply-text", "Sorted, thanks for waiting!")
    page.click('#composer button[data-action="reply-archive"]')
    card = page.locator("#thread .msg.out").last
    expect(card).to_contain_text("Sorted, thanks for waiting!")
    expect(card.locator(".delivery")).to_have_attribute("data-status", "queued")
    expect(page.locator('#ticket-side [data-field="status"]')).to_have_text("archived")
    expect(page.locator('#ticket-side [data-history="archive"]')).to_be_visible()
    expect(page.locator('#composer button[data-action="reply-archive"]')).to_have_count(0)

    page.goto(f"{live}/?status=open")                  # out of the open queue
    expect(page.locator("li.empty")).to_contain_text("Nothing here")
    expect(page.locator("#ticket-1")).to_have_count(0)
    run_jobs()                                         # and the reply still goes out
    assert [s["caption"] for s in sandbox.state.sent] == ["Sorted, thanks for waiting!"]
