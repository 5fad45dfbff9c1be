"""An agent hands a ticket to a team from the pane, then narrows the queue with the filter bar's
tag and category dropdowns (a category includes its subtree)."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from helpers import PASSWORDS, htmx_settled
from inbox import db
from models import Category, Channel, Tag, Team, Ticket, User


def test_hand_over_to_a_team_and_filter_by_tag_and_category(page, live, users):
    with db.session_scope() as s:
        channel = Channel(provider="getloo", network="instagram", name="Shop", base_url="http://getloo.test")
        vip = Tag(name="VIP")
        billing = Category(name="Billing")
        s.add_all([channel, vip, billing])
        s.flush()
        refunds = Category(name="Refunds", parent_id=billing.id)
        hidden = Category(name="Old stuff", hidden=True)
        s.add_all([refunds, hidden])
        support = Team(name="Support", members=[s.get(User, users["agent"].id)])
        s.add(support)
        tickets = [Ticket(channel=channel, network="instagram", kind="conversation", external_id=f"t{i}", text=text)
                   for i, text in enumerate(["A tagged one", "A refund question", "Plain hello"])]
        tickets[0].tags = [vip]
        tickets[1].categories = [refunds]
        s.add_all(tickets)
        s.flush()
        ids = [t.id for t in tickets]
        vip_id, billing_id, support_id = vip.id, billing.id, support.id

    page.goto(f"{live}/auth/login")
    page.fill("input[name=email]", "agent@example.test")
    page.fill("input[name=password]", PASSWORDS["agent"])
    page.click("button[type=submit]")

    # Hand the plain ticket to the team from its pane: the sidebar and the history say so.
    page.goto(f"{live}/tickets/{ids[2]}")
    side = page.locator("#ticket-side")
    side.locator("select[name=team_id]").select_option(str(support_id))
    expect(side.locator('[data-history="assigned_team"]')).to_contain_text("handed to team Support")
    expect(side.locator("select[name=team_id]")).to_have_value(str(support_id))
    expect(page.locator(".pane-meta .team-chip")).to_have_text("Support")
    htmx_settled(page)

    rows = page.locator("#ticket-rows a.row")
    page.goto(f"{live}/")
    expect(rows).to_have_count(3)
    expect(page.locator(f"#ticket-{ids[2]} .team-chip")).to_have_text("Support")

    # The tag dropdown narrows the rows (htmx) and the address bar follows.
    page.locator("form.filters select[name=tag]").select_option(str(vip_id))
    expect(rows).to_have_count(1)
    expect(page.locator(f"#ticket-{ids[0]}")).to_be_visible()
    expect(page).to_have_url(re.compile(rf"tag={vip_id}"))

    # The category tree, indented, without hidden nodes; the parent includes its child's tickets.
    categories = page.locator("form.filters select[name=category] option")
    expect(categories).to_have_text(["Any category", "Billing", re.compile(r"^\s+Refunds$")])
    page.locator("form.filters select[name=tag]").select_option("")
    expect(rows).to_have_count(3)
    page.locator("form.filters select[name=category]").select_option(str(billing_id))
    expect(rows).to_have_count(1)
    expect(page.locator(f"#ticket-{ids[1]}")).to_be_visible()
    expect(page).to_have_url(re.compile(rf"category={billing_id}"))

    # The team filter: what was handed to the team.
    page.locator("form.filters select[name=category]").select_option("")
    page.locator("form.filters select[name=team]").select_option(str(support_id))
    expect(rows).to_have_count(1)
    expect(page.locator(f"#ticket-{ids[2]}")).to_be_visible()
