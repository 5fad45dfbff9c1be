"""An agent works the queue from the keyboard alone (static/keyboard.js): j/k move a visible,
focused current row, Enter opens it, e archives it and it leaves the Inbox with its counter; the
pane's controls are one key away; shortcuts keep quiet while typing; g + letter changes folder;
? lists them all."""
from __future__ import annotations

from playwright.sync_api import expect

from helpers import browser_login, local_ticket

FOCUSED_ID = "() => document.activeElement && document.activeElement.id"


def three_tickets() -> list[int]:
    return [local_ticket(f"Parcel question {n}", external_id=f"kb-{n}") for n in range(3)]


def row_ids(page) -> list[int]:
    return [int(v) for v in page.eval_on_selector_all("#ticket-rows > li.row-item", "els => els.map(e => e.dataset.ticket)")]


def expect_current(page, ticket_id: int) -> None:
    """The row is the current one: marked for sight and for screen readers, and has the DOM focus
    with a visible ring (checked until it holds: a filter's answer may still be replacing the rows)."""
    row = page.locator(f"#ticket-{ticket_id}")
    expect(row).to_have_attribute("aria-current", "true")
    expect(row).to_be_focused()
    page.wait_for_function("""id => {
      const el = document.activeElement, s = el && getComputedStyle(el);
      return el && el.id === id && el.classList.contains('kb-current') && el.matches(':focus-visible')
        && s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2
        && document.querySelectorAll('#ticket-rows a.row.kb-current').length === 1;
    }""", arg=f"ticket-{ticket_id}", timeout=5000)


def test_from_j_to_e_the_keyboard_path(page, live, users):
    three_tickets()
    browser_login(page, live, "agent")
    page.goto(f"{live}/")
    expect(page.locator("#count-inbox")).to_have_text("3")
    first, second, third = row_ids(page)

    page.keyboard.press("j")
    expect_current(page, first)
    page.keyboard.press("j")
    expect_current(page, second)
    page.keyboard.press("j")
    expect_current(page, third)
    page.keyboard.press("j")                    # the end of the list: stays there, says so
    expect_current(page, third)
    expect(page.locator("#shortcut-status")).to_have_text("End of the list.")
    page.keyboard.press("k")
    expect_current(page, second)

    page.keyboard.press("Enter")
    expect(page.locator("#pane .pane-head")).to_contain_text("Archive")
    expect(page).to_have_url(f"{live}/tickets/{second}")
    expect_current(page, second)                # the pane loaded beside it; the row keeps its place

    page.keyboard.press("e")
    expect(page.locator(f"#ticket-{second}")).to_have_count(0)
    expect(page.locator('#ticket-side [data-field="status"]')).to_have_text("archived")
    expect(page.locator("#count-inbox")).to_have_text("2")
    expect_current(page, third)                 # the next row took its place
    page.keyboard.press("e")                    # not opened yet: e does not archive it unseen
    expect(page.locator("#shortcut-status")).to_have_text("Open this item first (Enter): e archives the open ticket.")
    expect(page.locator(f"#ticket-{third}")).to_have_count(1)
    expect(page.locator("#count-inbox")).to_have_text("2")
    page.keyboard.press("k")
    expect_current(page, first)

    page.goto(f"{live}/")                        # and the server agrees
    assert second not in row_ids(page)
    expect(page.locator("#count-inbox")).to_have_text("2")
    page.goto(f"{live}/?folder=archived")
    assert row_ids(page) == [second]


def test_no_shortcut_while_typing_and_escape_goes_back_to_the_list(page, live, users):
    three_tickets()
    browser_login(page, live, "agent")
    page.goto(f"{live}/")
    first = row_ids(page)[0]
    page.keyboard.press("j")
    expect_current(page, first)

    page.keyboard.press("/")
    search = page.locator(".filters input[name=q]")
    expect(search).to_be_focused()
    page.keyboard.type("jk")
    expect(search).to_have_value("jk")          # the letters went into the box, nothing moved
    expect(search).to_be_focused()
    expect(page).to_have_url(f"{live}/?folder=inbox&q=jk")      # the search ran: no row matches
    expect(page.locator("#ticket-rows li.row-item")).to_have_count(0)
    page.keyboard.press("Escape")
    expect(page.locator("#ticket-rows")).to_be_focused()         # the (empty) list itself
    page.keyboard.press("/")
    page.keyboard.press("Backspace")
    expect(page.locator("#ticket-rows li.row-item")).to_have_count(3)
    page.keyboard.press("Escape")
    expect_current(page, first)                                  # the current row again

    page.goto(f"{live}/tickets/{first}")
    note = page.locator("#note-text")
    note.click()
    page.keyboard.type("see you")              # e, s, y, o, u: shortcuts elsewhere, text here
    expect(note).to_have_value("see you")
    expect(page.locator('#ticket-side [data-field="status"]')).to_have_text("open")
    page.keyboard.press("Control+j")            # modifiers never fire a shortcut either
    page.keyboard.press("Escape")
    expect_current(page, first)
    page.keyboard.press("Control+e")
    page.keyboard.press("Alt+e")
    expect(page.locator('#ticket-side [data-field="status"]')).to_have_text("open")
    expect(page.locator(f"#ticket-{first}")).to_have_count(1)


def test_g_then_a_letter_jumps_to_a_folder(page, live, users):
    three_tickets()
    browser_login(page, live, "agent")
    page.goto(f"{live}/")
    page.keyboard.press("g")
    page.keyboard.press("e")                    # Archived (inbox/queue/folders.py)
    expect(page).to_have_url(f"{live}/?folder=archived")
    page.wait_for_load_state()                  # a new page: its scripts listen from now on
    expect(page.locator('a.folder[data-folder="archived"]')).to_have_attribute("aria-current", "page")
    expect(page.locator("#ticket-rows li.row-item")).to_have_count(0)
    page.keyboard.press("g")
    page.keyboard.press("i")                    # back to the Inbox
    expect(page).to_have_url(f"{live}/?folder=inbox")
    page.wait_for_load_state()
    expect(page.locator("#ticket-rows li.row-item")).to_have_count(3)
    page.keyboard.press("g")
    page.keyboard.press("a")                    # no folder on a: nothing happens but a word
    expect(page.locator("#shortcut-status")).to_have_text("No folder on g a.")
    expect(page).to_have_url(f"{live}/?folder=inbox")
    page.keyboard.press("e")                    # a lone e after that is no folder jump (no pane: a word)
    expect(page.locator("#shortcut-status")).to_have_text("Open a ticket first (Enter).")
    expect(page).to_have_url(f"{live}/?folder=inbox")


def test_question_mark_lists_the_shortcuts_and_escape_closes(page, live, users):
    three_tickets()
    browser_login(page, live, "agent")
    page.goto(f"{live}/")
    first = row_ids(page)[0]
    page.keyboard.press("j")
    dialog = page.locator("#shortcuts-dialog")
    expect(dialog).to_be_hidden()
    page.keyboard.press("Shift+?")
    expect(dialog).to_be_visible()
    for key in ["j", "k", "Enter", "r", "n", "e", "a", "t", "c", "s", "x", "/", "?", "Escape", "g e", "g i"]:
        expect(dialog.locator(f'tr[data-shortcut-row="{key}"]')).to_have_count(1)
    expect(dialog.locator('tr[data-shortcut-row="g e"]')).to_contain_text("Archived")
    page.keyboard.press("j")                    # the list behind does not move meanwhile
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect_current(page, first)                 # the focus came back to where it was

    # The mouse way: the visible button, and the dialog's Close.
    page.get_by_role("button", name="Keyboard shortcuts (?)").click()
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("button", name="Keyboard shortcuts (?)")).to_be_focused()


def test_pane_keys_focus_their_controls(page, live, users):
    first = three_tickets()[-1]
    browser_login(page, live, "agent")
    page.goto(f"{live}/")
    assert row_ids(page)[0] == first
    page.keyboard.press("j")
    page.keyboard.press("r")                    # no pane yet: r opens the current row, then the box
    expect(page.locator("#reply-text")).to_be_focused()
    expect(page).to_have_url(f"{live}/tickets/{first}")
    page.keyboard.press("Escape")
    expect_current(page, first)

    page.keyboard.press("n")
    expect(page.locator("#note-text")).to_be_focused()
    page.keyboard.press("Escape")

    page.keyboard.press("a")
    assignee = page.locator("#ticket-side select[name=user_id]")
    expect(assignee).to_be_focused()
    page.keyboard.press("Escape")
    expect_current(page, first)
    page.keyboard.press("a")
    expect(assignee).to_be_focused()
    assignee.select_option(str(users["agent"].id))           # the pane comes back afresh…
    expect(page.locator('#ticket-side [data-history="assigned"]')).to_contain_text("Agent")
    expect(page.locator(f"#ticket-{first}")).to_have_attribute("aria-current", "true")   # …the row stays current
    expect(page.locator("#ticket-side select[name=user_id]")).to_be_focused()            # and so does the focus
    page.keyboard.press("Escape")
    expect(page.locator("#count-mine")).to_have_text("1")     # and the folder numbers follow
    expect(page.locator("#count-unassigned")).to_have_text("2")

    page.keyboard.press("t")
    expect(page.locator("#tag-picker")).to_have_attribute("open", "")
    expect(page.locator("#tag-picker input[name=name]")).to_be_focused()
    page.keyboard.type("urgent")
    expect(page.locator("#tag-picker input[name=name]")).to_have_value("urgent")
    page.keyboard.press("Escape")
    expect(page.locator("#tag-picker")).not_to_have_attribute("open", "")

    page.keyboard.press("c")
    expect(page.locator("#category-picker")).to_have_attribute("open", "")
    expect(page.locator("#category-picker input[name=q]")).to_be_focused()
    page.keyboard.press("Escape")

    page.keyboard.press("s")
    snooze = page.locator('#ticket-side button[data-shortcut="s"]')
    expect(snooze).to_be_focused()
    page.keyboard.press("Enter")                 # the focused snooze choice, as a click would
    expect(page.locator('#ticket-side [data-field="status"]')).to_have_text("snoozed")
    expect(page.locator(f"#ticket-{first}")).to_have_count(0)     # left the Inbox
    expect(page.locator("#count-inbox")).to_have_text("2")
    expect(page.locator("#count-snoozed")).to_have_text("1")
    expect(page.locator('#ticket-side button[data-shortcut="s"]')).to_be_focused()    # the focus kept its place
    second = row_ids(page)[0]
    expect(page.locator(f"#ticket-{second}")).to_have_attribute("aria-current", "true")  # the next row is current
    page.keyboard.press("n")                     # n now opens the new current row and its note box
    expect(page).to_have_url(f"{live}/tickets/{second}")
    expect(page.locator("#note-text")).to_be_focused()


def test_j_at_the_end_of_a_page_loads_more_rows(page, live, users):
    made = [local_ticket(f"Parcel question {n}", external_id=f"more-{n}") for n in range(4)]
    browser_login(page, live, "agent")
    page.set_viewport_size({"width": 1280, "height": 320})     # "Loading more…" out of sight
    page.goto(f"{live}/?limit=2")                # two rows, then "Loading more…"
    first, second = row_ids(page)
    expect(page.locator("#ticket-rows > li.more")).to_have_count(1)
    page.keyboard.press("j")
    page.keyboard.press("j")
    expect_current(page, second)
    page.keyboard.press("j")                    # past the last row shown: the next page comes
    expect(page.locator("#ticket-rows > li.row-item")).to_have_count(4)
    expect(page.locator("#ticket-rows > li.more")).to_have_count(0)
    third = row_ids(page)[2]
    expect_current(page, third)                 # and the move goes on into it
    assert sorted(row_ids(page)) == sorted(made)


def test_shortcuts_work_on_a_persian_or_russian_layout(page, live, users):
    """On a Russian layout the key in j's place types "о": it still moves (the physical key)."""
    three_tickets()
    browser_login(page, live, "agent")
    page.goto(f"{live}/")
    first, second, _ = row_ids(page)
    press = "([key, code]) => document.body.dispatchEvent(new KeyboardEvent('keydown', {key, code, bubbles: true}))"
    page.evaluate(press, ["о", "KeyJ"])          # Russian о on the J key
    expect(page.locator(f"#ticket-{first}")).to_be_focused()
    page.evaluate(press, ["ت", "KeyJ"])          # Persian ت on the J key
    expect(page.locator(f"#ticket-{second}")).to_be_focused()
    expect(page.locator(f"#ticket-{second}")).to_have_attribute("aria-current", "true")
    page.evaluate(press, ["ن", "KeyK"])          # Persian ن on the K key
    expect(page.locator(f"#ticket-{first}")).to_be_focused()
    page.evaluate(press, ["j", "KeyC"])          # Dvorak: a Latin letter counts as typed, wherever it is
    expect(page.locator(f"#ticket-{second}")).to_be_focused()
    page.evaluate(press, ["c", "KeyJ"])          # ...so Dvorak's c (on the J key) categorises, not moves
    expect(page).to_have_url(f"{live}/tickets/{second}")
    expect(page.locator("#category-picker input[name=q]")).to_be_focused()


def test_without_javascript_no_shortcuts_button_is_offered(browser, live, users):
    """The shortcuts need the script: without it the page does not offer a button that does nothing
    (the queue itself works on links and forms)."""
    ticket_id = three_tickets()[0]
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        browser_login(page, live, "agent")
        page.goto(f"{live}/tickets/{ticket_id}")
        expect(page.locator("#ticket-side")).to_be_visible()
        expect(page.locator("[data-open-shortcuts]")).to_be_hidden()
        expect(page.locator("#shortcuts-dialog")).to_be_hidden()
    finally:
        context.close()
