"""The pages work under our Content-Security-Policy in a real browser, with nothing refused."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from helpers import PASSWORDS, load, post, run_jobs


def login(page, live, role: str) -> None:
    page.goto(f"{live}/")
    page.fill("input[name=email]", f"{role}@example.test")
    page.fill("input[name=password]", PASSWORDS[role])
    page.click("button[type=submit]")
    # The queue, loaded: a check that runs while the login's answer is still arriving finds no body.
    page.wait_for_url(f"{live}/")
    page.wait_for_load_state()


def test_queue_and_channels_pages_load_with_no_csp_violation(page, live, client, users, channel):
    post(client, channel, load("incoming_text"))
    post(client, channel, load("incoming_comment"))
    run_jobs()
    login(page, live, "admin")
    response = page.goto(f"{live}/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    first, second = page.locator("#ticket-rows .row").nth(0), page.locator("#ticket-rows .row").nth(1)
    second.click()                                  # static/app.js marks the clicked row (no hx-on)
    expect(second).to_have_class(re.compile(r"\bactive\b"))
    expect(page.locator("#thread")).to_be_visible()
    first.click()
    expect(first).to_have_class(re.compile(r"\bactive\b"))
    expect(second).not_to_have_class(re.compile(r"\bactive\b"))

    page.goto(f"{live}/settings/channels")
    page.locator(f"#channel-{channel['id']} details.rotate summary").click()
    page.locator(f"#rotate-{channel['id']} button").click()
    expect(page.locator(".flash").first).to_contain_text("The old ones no longer work")
    page.wait_for_load_state("load")
    assert page.csp_violations == []


def test_the_policy_is_enforced(page, live, users):
    """An inline script is refused (and reported), so the check above can see violations at all."""
    login(page, live, "agent")
    with page.expect_console_message(lambda m: "Content Security Policy" in m.text):
        page.evaluate("""() => { const t = document.createElement('script');
            t.textContent = 'window.__ran = 1'; document.body.appendChild(t); }""")
    assert page.evaluate("() => window.__ran") is None
    assert any("Content Security Policy" in v for v in page.csp_violations)
    page.csp_violations.clear()
