"""The approvals page by keyboard in a real browser: j/k move between suggestions, a approves,
e edits and approves, x rejects with a reason; letters typed in a field stay letters."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from helpers import browser_login, getloo_dms, htmx_settled, run_jobs
from inbox import db
from models import Followup


def _three_suggestions(client, channel, token_for) -> list[int]:
    agent = {"Authorization": f"Bearer {token_for('agent')}"}
    return [client.post(f"/api/v1/tickets/{t}/actions/suggest", json={"text": f"Suggestion {n}"},
                        headers=agent).get_json()["id"] for n, t in enumerate(getloo_dms(client, channel, 3))]


def _open_approvals(page, live) -> None:
    browser_login(page, live, "supervisor")
    page.goto(f"{live}/approvals")


def test_j_k_a_e_x_decide_suggestions_from_the_keyboard(page, live, client, users, channel, sandbox, token_for):
    ids = _three_suggestions(client, channel, token_for)
    _open_approvals(page, live)
    rows = [page.locator(f"#suggestion-{fid}") for fid in ids]
    expect(page.locator("#approvals-count")).to_have_text("3")
    expect(rows[0]).to_be_focused()                     # the first pending one, on arrival

    page.keyboard.press("j")
    expect(rows[1]).to_be_focused()
    page.keyboard.press("j")
    page.keyboard.press("j")                            # stays on the last
    expect(rows[2]).to_be_focused()
    page.keyboard.press("k")
    page.keyboard.press("k")
    expect(rows[0]).to_be_focused()

    page.keyboard.press("a")                            # approve the first as is
    expect(rows[0]).to_contain_text("Approved · the worker sends it.")
    expect(page.locator("#approvals-count")).to_have_text("2")
    expect(rows[1]).to_be_focused()                     # the focus moved on to the next pending one

    page.keyboard.press("e")                            # edit & approve the second
    box = rows[1].locator("textarea[name=text]")
    expect(box).to_be_focused()
    box.press_sequentially(", edited")                  # "a", "e", "x", "j" typed here are text
    expect(box).to_have_value("Suggestion 1, edited")
    rows[1].get_by_role("button", name="Approve edited").click()
    expect(rows[1]).to_contain_text("Edited & approved")
    expect(rows[2]).to_be_focused()

    page.keyboard.press("x")                            # reject the third: a reason is required
    reason = rows[2].locator("input[name=reason]")
    expect(reason).to_be_focused()
    reason.press("Enter")
    expect(rows[2].locator(".field-error")).to_contain_text("Say why the suggestion is rejected")
    htmx_settled(page)                                  # the row's new form is wired up
    rows[2].locator("input[name=reason]").fill("Please greet the customer by name.")
    rows[2].locator("input[name=reason]").press("Enter")
    expect(rows[2]).to_contain_text("Rejected · its author reads why.")
    expect(page.locator("#approvals-count")).to_have_text("0")

    run_jobs()
    assert sorted(m["caption"] for m in sandbox.state.sent) == ["Suggestion 0", "Suggestion 1, edited"]
    with db.session_scope() as s:
        assert s.get(Followup, ids[2]).decision_reason == "Please greet the customer by name."
    assert re.search(r"Approvals \(0\)", page.locator("#nav-approvals").inner_text())


def test_approve_selected_approves_the_ticked_ones(page, live, client, users, channel, sandbox, token_for):
    ids = _three_suggestions(client, channel, token_for)
    _open_approvals(page, live)
    for fid in ids[:2]:
        page.locator(f"#suggestion-{fid} input[name=ids]").check()
    page.click("#approve-selected")
    expect(page.locator("#bulk-result")).to_have_text("Approved 2 of 2.")
    for fid in ids[:2]:
        expect(page.locator(f"#suggestion-{fid}")).to_contain_text("Approved · the worker sends it.")
    expect(page.locator(f"#suggestion-{ids[2]}")).to_contain_text("Suggestion 2")   # untouched
    expect(page.locator("#approvals-count")).to_have_text("1")
    run_jobs()
    assert sorted(m["caption"] for m in sandbox.state.sent) == ["Suggestion 0", "Suggestion 1"]
