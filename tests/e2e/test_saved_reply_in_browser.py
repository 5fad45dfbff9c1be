"""A saved reply inserted with "/" in the composer, its variables filled in for the ticket, then sent."""
from __future__ import annotations

from playwright.sync_api import expect

from helpers import PASSWORDS, load, post, run_jobs


def test_slash_opens_the_picker_and_inserts_a_filled_reply(page, live, client, users, channel, sandbox,
                                                           token_for):
    post(client, channel, load("incoming_text"))
    run_jobs()
    headers = {"Authorization": f"Bearer {token_for('admin')}"}
    for name, text in (("Greeting", "Hi {{author.name}}, {{agent.name}} of {{channel.name}} here. {{order.id}}"),
                       ("Refund", "Your refund is on its way")):
        assert client.post("/api/v1/saved-replies", json={"name": name, "text": text, "shared": True},
                           headers=headers).status_code == 201

    page.goto(f"{live}/")
    page.fill("input[name=email]", "agent@example.test")
    page.fill("input[name=password]", PASSWORDS["agent"])
    page.click("button[type=submit]")
    page.click("#ticket-1")

    box = page.locator("#reply-text")
    picker = page.locator("#saved-reply-picker")
    box.press_sequentially("/")
    expect(picker).to_be_visible()
    expect(picker.locator(".saved-reply-choice")).to_have_count(2)
    box.press_sequentially("refu")                     # searched by text or name
    expect(picker.locator(".saved-reply-choice")).to_have_count(1)
    expect(picker).to_contain_text("Refund")
    box.fill("")
    box.press_sequentially("/greet")
    expect(picker.locator(".saved-reply-choice")).to_have_count(1)
    picker.locator(".saved-reply-choice").click()
    expect(box).to_have_value("Hi Алина из Getloo, Agent of Shop here. {{order.id}}")
    expect(picker).to_be_hidden()

    box.press("Escape")
    box.fill("/")
    box.dispatch_event("input")
    expect(picker.locator(".saved-reply-choice")).to_have_count(2)
    box.press("Escape")
    expect(picker).to_be_hidden()

    box.fill("")
    box.press_sequentially("/refund")
    expect(picker.locator(".saved-reply-choice")).to_have_count(1)
    box.press("Enter")                                 # Enter takes the first match
    expect(box).to_have_value("Your refund is on its way")
    page.click("#composer button[type=submit]")
    expect(page.locator("#thread .msg.out").last).to_contain_text("Your refund is on its way")
