"""An admin fills a keyword list by pasting Persian and Russian keywords, and puts a ticket's author
on an interactor list from the ticket's sidebar, in Chromium under our Content-Security-Policy."""
from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import select

from helpers import browser_login, local_ticket
from inbox import db
from models import Interactor, InteractorList, KeywordList, Ticket


def test_keyword_list_from_pasted_persian_and_russian(page, live, users):
    browser_login(page, live, "admin")
    page.goto(f"{live}/settings/keyword-lists")
    page.fill("#new-name", "Complaints")
    page.fill("#new-entries", "بازگشت وجه\nمی‌خواهم\nخراب\nвозврат, сломан")
    page.click("text=Create keyword list")
    section = page.locator("section.rule-list", has_text="Complaints")
    expect(section.locator("[data-field=count]")).to_have_text("5 keywords")
    for word in ("بازگشت وجه", "می‌خواهم", "خراب", "возврат", "сломан"):
        expect(section.locator("li.chip", has_text=word)).to_have_attribute("dir", "auto")
    # Import adds to it; a duplicate regardless of case is kept once.
    section.locator("textarea[name=text]").fill("ВОЗВРАТ\nжалоба")
    section.locator("text=Add pasted keywords").click()
    expect(page.locator("section.rule-list [data-field=count]")).to_have_text("6 keywords")
    with db.session_scope() as s:
        assert s.scalars(select(KeywordList.keywords)).one()[-1] == "жалоба"


def test_add_the_author_to_an_interactor_list_from_the_sidebar(page, live, users):
    ticket_id = local_ticket("Где мой заказ?")
    with db.session_scope() as s:
        ticket = s.get(Ticket, ticket_id)
        person = Interactor(channel_id=ticket.channel_id, external_id="4711", username="darya", name="Дарья")
        s.add_all([person, InteractorList(name="VIPs", members=[]), InteractorList(name="Press", members=[])])
        s.flush()
        ticket.interactor_id = person.id
        channel_id = ticket.channel_id
    browser_login(page, live, "admin")
    page.goto(f"{live}/tickets/{ticket_id}")
    card = page.locator("#author-lists")
    expect(card.locator("[data-field=author-in]")).to_have_text("In no list.")
    card.locator("select[name=list_id]").select_option(label="VIPs")
    card.locator("button", has_text="Add to a list").click()
    expect(page.locator("#author-lists [data-field=author-in]")).to_have_text("In VIPs")
    expect(page.locator("#author-lists [role=status]")).to_have_text("Added to VIPs.")
    with db.session_scope() as s:
        members = s.scalars(select(InteractorList.members).filter_by(name="VIPs")).one()
    assert members == [{"channel_id": channel_id, "external_id": "4711", "username": "darya"}]
