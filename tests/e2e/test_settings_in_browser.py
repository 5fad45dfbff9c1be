"""The admin's channel and token pages in Chromium under our Content-Security-Policy: a connected
Resont account is listed with its health, and a token is created, shown once, then revoked."""
from __future__ import annotations

from playwright.sync_api import expect

from helpers import PASSWORDS
from test_taxonomy_in_browser import keep_screenshot


def _login_as_admin(page, live: str, path: str) -> None:
    page.goto(f"{live}{path}")
    page.fill("input[name=email]", "admin@example.test")
    page.fill("input[name=password]", PASSWORDS["admin"])
    page.click("button[type=submit]")
    page.goto(f"{live}{path}")


def test_channels_page_lists_the_connected_accounts(page, live, users, resont):
    _login_as_admin(page, live, "/settings/channels")
    for channel in resont:
        row = page.locator(f"#channel-{channel['id']}")
        expect(row).to_contain_text(channel["name"])
    expect(page.locator("#connect-getloo")).to_be_visible()      # the connect forms stay on offer
    keep_screenshot(page, "settings-channels.png", full_page=True)


def test_a_token_is_shown_once_and_revoked(page, live, users):
    _login_as_admin(page, live, "/settings/tokens")
    page.fill("form.connect input[name=name]", "reporting script")
    page.fill("form.connect input[name=expires_days]", "30")
    page.click("form.connect button[type=submit]")
    shown = page.locator("#new-token input")
    expect(shown).to_be_visible()
    secret = shown.input_value()
    assert len(secret) >= 32
    row = page.locator("#tokens tbody tr", has_text="reporting script")
    expect(row).to_have_count(1)
    keep_screenshot(page, "settings-tokens.png", full_page=True)

    page.goto(f"{live}/settings/tokens")              # never shown again
    expect(page.locator("#new-token")).to_have_count(0)
    assert secret not in page.content()
    row.get_by_role("button", name="Revoke").click()
    expect(page.locator("#tokens tbody tr", has_text="reporting script")).to_have_count(0)
