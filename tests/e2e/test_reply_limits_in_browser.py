"""Getloo's one private reply to a comment, seen in the browser: the composer says until when a
reply can go, and once it has gone, why no other can (Send disabled)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from playwright.sync_api import expect

from helpers import browser_login, load, post, run_jobs


def test_the_composer_shows_the_window_then_the_used_private_reply(page, live, client, users, channel, sandbox):
    body = load("incoming_comment")
    body["event"]["createdAt"] = (datetime.now(timezone.utc) - timedelta(hours=2)).isoformat(timespec="seconds")
    post(client, channel, body)
    run_jobs()

    browser_login(page, live, "agent")
    page.click("#ticket-1")

    composer = page.locator("#composer")
    expect(composer.locator("[data-limit=reply_until]")).to_contain_text("Can reply until")
    send = composer.locator("button[type=submit]").first
    expect(send).to_be_enabled()
    page.fill("#reply-text", "Написали вам в директ 🙂")
    send.click()

    expect(page.locator("#thread .msg.out").last).to_contain_text("Написали вам в директ 🙂")
    expect(page.locator("#composer [data-limit=private_reply_used]")).to_contain_text("one private reply")
    expect(page.locator("#composer button[type=submit]").first).to_be_disabled()
    run_jobs()
    assert [m["caption"] for m in sandbox.state.sent] == ["Написали вам в директ 🙂"]
