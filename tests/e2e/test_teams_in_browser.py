"""An admin builds a team on /settings/teams in Chromium under our Content-Security-Policy: a name,
a member and an owned channel ticked, then listed; a second team is deleted after the confirm."""
from __future__ import annotations

import os
from pathlib import Path

from playwright.sync_api import expect
from sqlalchemy import select

from helpers import PASSWORDS
from inbox import db
from models import Channel, Team, User

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def keep_screenshot(page, name: str, **options) -> None:
    """docs/screenshots/<name>, refreshed on demand only (UPDATE_SCREENSHOTS=1): a test run
    leaves the checkout as it found it."""
    if os.environ.get("UPDATE_SCREENSHOTS"):
        page.screenshot(path=str(SCREENSHOTS / name), **options)


def test_an_admin_creates_a_team_with_a_member_and_a_channel(page, live, users):
    with db.session_scope() as s:
        s.add_all([Channel(provider="getloo", network="instagram", name="Shop Instagram", base_url="http://getloo.test"),
                   Channel(provider="getloo", network="whatsapp", name="Support WhatsApp", base_url="http://getloo.test")])
        agent_id = users["agent"].id
        s.get(User, agent_id).name = "Alma Agent"
    page.goto(f"{live}/settings/teams")
    page.fill("input[name=email]", "admin@example.test")
    page.fill("input[name=password]", PASSWORDS["admin"])
    page.click("button[type=submit]")
    page.click("nav >> text=Teams")
    expect(page).to_have_url(f"{live}/settings/teams")

    new = page.locator("#new-team")
    new.locator("input[name=name]").fill("Customer care")
    new.locator("label", has_text="Alma Agent").locator("input").check()
    new.locator("label", has_text="Support WhatsApp").locator("input").check()
    new.locator("button[type=submit]").click()
    expect(page.locator(".flash")).to_contain_text("Created the team Customer care")
    row = page.locator("#teams tbody tr", has_text="Customer care")
    expect(row.locator("[data-field=members]")).to_have_text("Alma Agent")
    expect(row.locator("[data-field=channels]")).to_have_text("Support WhatsApp")
    expect(row.locator("[data-field=open_count]")).to_have_text("0")

    # A duplicate name is refused inline, with what was typed kept.
    new.locator("input[name=name]").fill("customer CARE")
    new.locator("button[type=submit]").click()
    expect(page.locator("#new-team .field-error")).to_contain_text("already exists")
    expect(page.locator("#new-team input[name=name]")).to_have_value("customer CARE")

    # Another team, deleted after the confirm.
    page.locator("#new-team input[name=name]").fill("Night shift")
    page.locator("#new-team button[type=submit]").click()
    expect(page.locator("#teams tbody tr")).to_have_count(2)
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#teams tbody tr", has_text="Night shift").locator("button", has_text="Delete").click()
    expect(page.locator(".flash")).to_contain_text("Deleted the team Night shift")
    expect(page.locator("#teams tbody tr")).to_have_count(1)
    with db.session_scope() as s:
        team = s.scalars(select(Team)).one()
        assert (team.name, [u.id for u in team.members], [c.name for c in team.channels]) == (
            "Customer care", [agent_id], ["Support WhatsApp"])

    page.locator("#teams tbody tr", has_text="Customer care").locator("summary").click()
    keep_screenshot(page, "settings-teams.png", full_page=True)
