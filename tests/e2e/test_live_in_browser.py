"""Working together in real browsers: a new item announced without a reload, presence between two
users, and the send-time guard (inbox/live, static/live.js)."""
from __future__ import annotations

import json

import httpx
import pytest
from playwright.sync_api import expect

from helpers import browser_login, getloo_dms, load, run_jobs
from inbox import db
from models import Ticket


@pytest.fixture
def fast(app):
    """Polls and heartbeats every half second, so the test waits for behaviour, not for timers."""
    app.config.update(LIVE_POLL_SECONDS=0.5, PRESENCE_HEARTBEAT_SECONDS=0.5, PRESENCE_TTL_SECONDS=5)


@pytest.fixture
def second(browser):
    """Another person's browser (a context of its own: its own cookies), with the same CSP check."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(15000)
    violations = []
    page.on("console", lambda message: "Content Security Policy" in message.text and violations.append(message.text))
    yield page
    context.close()
    assert not violations, violations


def deliver(channel: dict, queue_id: str, text: str, username: str) -> None:
    """A DM from a new customer, POSTed to the channel's webhook over HTTP, then ingested."""
    body = load("incoming_text")
    body["event"]["properties"]["queueId"] = queue_id
    body["event"]["properties"]["content"]["body"] = text
    body["device"].update(user_id=f"99{abs(hash(username)) % 10**8}", username=username, profileName=username)
    answer = httpx.post(channel["webhook_url"], content=json.dumps(body), headers={"Content-Type": "application/json"})
    assert answer.status_code < 300, answer.text
    run_jobs()


def test_a_new_item_is_announced_without_a_reload_and_its_folder_counter_moves(page, live, client, channel, users, fast):
    [first] = getloo_dms(client, channel, 1)
    browser_login(page, live, "agent")
    page.goto(f"{live}/")
    expect(page.locator(f"#ticket-{first}")).to_be_visible()
    expect(page.locator("#count-inbox")).to_have_text("1")
    page.evaluate("() => { window.notReloaded = true; }")

    deliver(channel, "live-new-1", "Hello, is anyone there?", "newcomer")
    banner = page.locator("#live-banner")
    expect(banner).to_contain_text("1 new — show")
    expect(page.locator("#count-inbox")).to_have_text("2")
    # Announced, not inserted: what the user reads stays where it is until they ask.
    expect(page.locator("#ticket-rows li.row-item")).to_have_count(1)
    assert page.evaluate("() => window.notReloaded === true")

    banner.get_by_role("button", name="1 new — show").click()
    expect(page.locator("#ticket-rows li.row-item")).to_have_count(2)
    expect(page.locator("#ticket-rows li.row-item").first).to_contain_text("Hello, is anyone there?")
    expect(banner).to_be_empty()
    assert page.evaluate("() => window.notReloaded === true")

    # A row on screen that changes elsewhere is redrawn in place.
    with db.session_scope() as s:
        changed = s.get(Ticket, first)
        changed.priority, changed.version = True, changed.version + 1
    expect(page.locator(f'li.row-item[data-ticket="{first}"] .badge.priority')).to_be_visible()
    expect(page.locator("#count-priority")).to_have_text("1")
    assert page.evaluate("() => window.notReloaded === true")


def test_two_people_on_one_ticket_see_each_other_in_the_pane_and_the_list(page, second, live, client, channel, users,
                                                                         fast):
    ticket, other = getloo_dms(client, channel, 2)
    browser_login(page, live, "agent")
    browser_login(second, live, "supervisor")
    page.goto(f"{live}/tickets/{ticket}")
    second.goto(f"{live}/tickets/{ticket}")

    expect(page.locator("#pane-presence")).to_contain_text("Supervisor is viewing")
    expect(second.locator("#pane-presence")).to_contain_text("Agent is viewing")
    expect(page.locator(f"#presence-row-{ticket} .avatar")).to_have_attribute("title", "Supervisor is viewing")
    expect(page.locator("#pane-presence")).not_to_contain_text("Agent is")        # never oneself

    second.locator("#reply-text").fill("We are on it")
    expect(page.locator("#pane-presence")).to_contain_text("Supervisor is replying…")
    expect(page.locator(f"#presence-row-{ticket} .avatar.replying")).to_be_visible()

    second.goto(f"{live}/?folder=all")        # leaves the ticket: gone at once, not after the expiry
    expect(page.locator("#pane-presence")).not_to_contain_text("Supervisor")
    expect(page.locator(f"#presence-row-{ticket} .avatar")).to_have_count(0)
    # And the supervisor's list shows the agent still on it.
    expect(second.locator(f"#presence-row-{ticket} .avatar")).to_have_attribute("title", "Agent is viewing")
    # The agent opens another ticket from the list: they move there in the supervisor's list.
    page.locator(f"#ticket-{other}").click()
    expect(second.locator(f"#presence-row-{other} .avatar")).to_have_attribute("title", "Agent is viewing")
    expect(second.locator(f"#presence-row-{ticket} .avatar")).to_have_count(0)


def test_the_send_time_guard_shows_what_arrived_and_send_anyway_sends(page, second, live, client, channel, users, fast):
    [ticket] = getloo_dms(client, channel, 1)
    browser_login(page, live, "agent")
    browser_login(second, live, "supervisor")
    page.goto(f"{live}/tickets/{ticket}")
    page.locator("#reply-text").fill("Your parcel left our warehouse today")

    # Meanwhile the supervisor adds a note and the customer writes again.
    second.goto(f"{live}/tickets/{ticket}")
    second.locator("#note-text").fill("They asked for express shipping")
    second.get_by_role("button", name="Add note").click()
    expect(second.locator("#thread")).to_contain_text("They asked for express shipping")
    again = load("incoming_text")
    again["event"]["properties"]["queueId"] = "guard-second"
    again["event"]["properties"]["content"]["body"] = "Also, can I change the address?"
    again["device"].update(user_id="47367670000", username="dm0", profileName="Customer 0")   # getloo_dms' first
    answer = httpx.post(channel["webhook_url"], content=json.dumps(again), headers={"Content-Type": "application/json"})
    assert answer.status_code < 300, answer.text
    run_jobs()

    page.get_by_role("button", name="Send reply").click()
    notice = page.locator("#arrived")
    expect(notice).to_contain_text("2 new items arrived while you were writing")
    expect(notice).to_contain_text("They asked for express shipping")
    expect(notice).to_contain_text("Also, can I change the address?")
    expect(page.locator("#reply-text")).to_have_value("Your parcel left our warehouse today")

    # "Edit" closes the question and goes back to the text; sending again sends it.
    notice.get_by_role("button", name="Edit").click()
    expect(page.locator("#arrived")).to_have_count(0)
    expect(page.locator("#reply-text")).to_be_focused()
    page.locator("#reply-text").fill("Your parcel left today; I will change the address")
    page.get_by_role("button", name="Send reply").click()
    expect(page.locator("#thread")).to_contain_text("Your parcel left today; I will change the address")


def test_send_anyway_sends_the_text_as_it_is(page, second, live, client, channel, users, fast):
    [ticket] = getloo_dms(client, channel, 1)
    browser_login(page, live, "agent")
    browser_login(second, live, "supervisor")
    page.goto(f"{live}/tickets/{ticket}")
    page.locator("#reply-text").fill("Thanks for waiting")
    second.goto(f"{live}/tickets/{ticket}")
    second.locator("#note-text").fill("VIP customer")
    second.get_by_role("button", name="Add note").click()
    expect(second.locator("#thread")).to_contain_text("VIP customer")

    page.get_by_role("button", name="Send reply").click()
    expect(page.locator("#arrived")).to_contain_text("VIP customer")
    page.get_by_role("button", name="Send anyway").click()
    expect(page.locator("#thread")).to_contain_text("Thanks for waiting")
    expect(page.locator("#arrived")).to_have_count(0)


def test_show_keeps_the_row_being_read_where_it_was(page, live, client, channel, users, fast):
    getloo_dms(client, channel, 25)
    browser_login(page, live, "agent")
    page.goto(f"{live}/?folder=all")
    rows = page.locator("#ticket-rows")
    expect(page.locator("#ticket-rows li.row-item")).to_have_count(25)
    page.evaluate("() => { document.getElementById('ticket-rows').scrollTop = 600; }")
    where = """() => { const list = document.getElementById('ticket-rows');
        const edge = list.getBoundingClientRect().top;
        const row = [...list.querySelectorAll('li.row-item')].find(r => r.getBoundingClientRect().top >= edge);
        return {id: row.dataset.ticket, top: row.getBoundingClientRect().top}; }"""
    # Open a ticket from the list (one in sight): the address bar leaves the folder, the live view must not.
    page.locator(f'#ticket-rows li.row-item[data-ticket="{page.evaluate(where)["id"]}"] a.row').click()
    expect(page.locator("#pane-presence")).to_have_count(1)
    reading = page.evaluate(where)

    deliver(channel, "live-scroll-1", "First new one", "newcomer1")
    deliver(channel, "live-scroll-2", "Second new one", "newcomer2")
    expect(page.locator("#live-banner")).to_contain_text("2 new — show")
    page.locator("#live-banner button").click()
    expect(page.locator("#ticket-rows li.row-item")).to_have_count(27)
    expect(page.locator("#live-banner")).to_be_empty()
    after = page.evaluate(f"""() => document.querySelector('li.row-item[data-ticket="{reading["id"]}"]')
        .getBoundingClientRect().top""")
    assert abs(after - reading["top"]) <= 2, (reading, after)
    assert "/tickets/" in page.url        # the open ticket stays in the address bar
    expect(rows.locator("a.row.active")).to_have_count(1)
