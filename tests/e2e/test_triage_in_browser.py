"""A community manager triages a ticket from the pane's sidebar: assign, priority, snooze and its
wake-up, a stale change refused with the fresh state shown, and the history."""
from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

from playwright.sync_api import expect
from rq import Queue, SimpleWorker
from rq.registry import ScheduledJobRegistry

import workers
from helpers import PASSWORDS, htmx_settled, local_ticket
from inbox import db
from models import Ticket, utcnow
from workers.triage import wake_due

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_triage_from_the_sidebar(page, live, users):
    ticket_id = local_ticket()
    page.goto(f"{live}/tickets/{ticket_id}")
    page.fill("input[name=email]", "agent@example.test")
    page.fill("input[name=password]", PASSWORDS["agent"])
    page.click("button[type=submit]")
    page.goto(f"{live}/tickets/{ticket_id}")
    side = page.locator("#ticket-side")
    expect(side).to_be_visible()

    side.locator("select[name=user_id]").select_option(str(users["agent"].id))
    expect(side.locator('[data-history="assigned"]')).to_contain_text("Agent")
    side.locator('button[data-action="priority"]').click()
    expect(side.locator('[data-history="priority"]')).to_contain_text("on")
    expect(page.locator(".pane-meta .badge.priority")).to_be_visible()

    # Someone else changes it meanwhile: the next change from this (now stale) pane is refused.
    with db.session_scope() as s:
        changed = s.get(Ticket, ticket_id)
        changed.sentiment, changed.version = "negative", changed.version + 1
    # The priority answer's swap must have settled (htmx wires the new form up then): under load
    # a change fired earlier went nowhere.
    htmx_settled(page)
    side.locator("select[name=value][aria-label=Sentiment]").select_option("positive")
    expect(page.locator(".stale-notice")).to_contain_text("Someone changed this ticket")
    expect(page.locator("#ticket-side select[aria-label=Sentiment]")).to_have_value("negative")

    page.locator('#ticket-side button[data-action="snooze-tomorrow"]').click()
    expect(page.locator('#ticket-side [data-field="status"]')).to_have_text("snoozed")
    expect(page.locator('#ticket-side [data-history="snoozed"]')).to_be_visible()
    if os.environ.get("UPDATE_SCREENSHOTS"):      # docs/pane-triage.png, refreshed on demand only
        page.screenshot(path=str(DOCS / "pane-triage.png"))

    with db.session_scope() as s:           # tomorrow has come
        s.get(Ticket, ticket_id).snoozed_until = utcnow() - timedelta(seconds=1)
    assert wake_due() == 1
    page.reload()
    expect(page.locator('#ticket-side [data-field="status"]')).to_have_text("open")
    expect(page.locator('#ticket-side .history li').first).to_have_attribute("data-history", "woke")


def test_a_snoozed_ticket_is_woken_by_its_scheduled_job(page, live, users):
    """The test above wakes a ticket with the sweep; this one with the job the snooze scheduled,
    run by a real RQ worker with its scheduler, the way production does it."""
    ticket_id = local_ticket("Call me back later")
    page.goto(f"{live}/auth/login")
    page.fill("input[name=email]", "agent@example.test")
    page.fill("input[name=password]", PASSWORDS["agent"])
    page.click("button[type=submit]")
    page.goto(f"{live}/tickets/{ticket_id}")
    page.locator('#ticket-side button[data-action="snooze-1h"]').click()
    expect(page.locator('#ticket-side [data-field="status"]')).to_have_text("snoozed")
    page.goto(f"{live}/?status=open")
    expect(page.locator(f"#ticket-{ticket_id}")).to_have_count(0)

    queue = Queue(workers.DEFAULT, connection=workers.connection())
    registry = ScheduledJobRegistry(queue=queue)
    [job_id] = [j for j in registry.get_job_ids() if j.startswith(f"wake-{ticket_id}-")]
    # The hour passes: the ticket's time and its job's time are both behind us now.
    past = datetime.now(timezone.utc) - timedelta(seconds=5)
    with db.session_scope() as s:
        s.get(Ticket, ticket_id).snoozed_until = past.replace(tzinfo=None)
    registry.schedule(queue.fetch_job(job_id), past)
    SimpleWorker([queue], connection=workers.connection()).work(burst=True, with_scheduler=True,
                                                                logging_level="WARNING")

    page.reload()
    expect(page.locator(f"#ticket-{ticket_id}")).to_be_visible()
    page.goto(f"{live}/tickets/{ticket_id}")
    expect(page.locator('#ticket-side [data-field="status"]')).to_have_text("open")
    woke = page.locator('#ticket-side .history li').first
    expect(woke).to_have_attribute("data-history", "woke")
    expect(woke).to_contain_text("schedule")
