"""The queue page and its pane for someone using a screen reader or the keyboard alone: every control
has an accessible name (as Chromium's accessibility tree computes it, what a screen reader reads),
Tab goes folders → filters → list → pane with a visible focus ring on each stop, the regions are
landmarks with names, and text is readable (contrast ≥ 4.5:1, 3:1 for large text)."""
from __future__ import annotations

from playwright.sync_api import expect

from helpers import browser_login, local_ticket
from inbox import db
from models import Category, Tag, Ticket

INTERACTIVE = {"button", "link", "textbox", "searchbox", "combobox", "checkbox", "radio", "switch",
               "menuitem", "slider", "spinbutton", "listbox", "tab", "textfield"}

# Each visible element with text of its own: its colour over the first opaque background behind it.
CONTRAST = """() => {
  const rgb = (s) => (s.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => [r, g, b].map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; })
    .reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
  const background = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0.9)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const out = [];
  for (const el of document.querySelectorAll("body *")) {
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own || el.closest("[disabled], .sr-only, dialog:not([open]), option, noscript")) continue;
    const box = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    if (!box.width || !box.height || style.visibility === "hidden" || style.display === "none") continue;
    const fg = rgb(style.color).slice(0, 3);
    const [a, b] = [lum(fg), lum(background(el))].sort((x, y) => y - x);
    const ratio = (a + 0.05) / (b + 0.05);
    const size = parseFloat(style.fontSize), bold = parseInt(style.fontWeight, 10) >= 700;
    const needed = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
    if (ratio < needed) out.push(`${el.tagName.toLowerCase()}.${el.className} "${el.textContent.trim().slice(0, 30)}" ${ratio.toFixed(2)}`);
  }
  return out;
}"""


def tagged_ticket() -> int:
    """A ticket with a tag and a category: the pane then has their remove buttons too."""
    ticket_id = local_ticket("Where is my parcel?", external_id="a11y-1")
    local_ticket("Another one", external_id="a11y-2")
    with db.session_scope() as s:
        ticket = s.get(Ticket, ticket_id)
        ticket.tags.append(Tag(name="urgent"))
        ticket.categories.append(Category(name="Shipping"))
    return ticket_id


def unnamed_controls(page) -> list[str]:
    cdp = page.context.new_cdp_session(page)
    nodes = cdp.send("Accessibility.getFullAXTree")["nodes"]
    missing = []
    for node in nodes:
        role = (node.get("role") or {}).get("value")
        if node.get("ignored") or role not in INTERACTIVE:
            continue
        if not str((node.get("name") or {}).get("value") or "").strip():
            html = cdp.send("DOM.resolveNode", {"backendNodeId": node["backendDOMNodeId"]})["object"]
            outer = cdp.send("Runtime.callFunctionOn", {"objectId": html["objectId"], "returnByValue": True,
                                                        "functionDeclaration": "function() { return this.outerHTML.slice(0, 160); }"})
            missing.append(f"{role}: {outer['result']['value']}")
    return missing


def test_every_control_in_the_queue_and_the_pane_has_a_name(page, live, users):
    ticket_id = tagged_ticket()
    browser_login(page, live, "admin")
    page.goto(f"{live}/tickets/{ticket_id}")
    expect(page.locator("#ticket-side")).to_be_visible()
    page.locator("#tag-picker summary").click()             # the pickers' options load on opening
    page.locator("#category-picker summary").click()
    expect(page.locator("#tag-options .hint", has_text="Loading")).to_have_count(0)
    expect(page.locator("#category-options .hint", has_text="Loading")).to_have_count(0)
    page.keyboard.press("Shift+?")                          # and the shortcuts dialog
    expect(page.locator("#shortcuts-dialog")).to_be_visible()
    page.keyboard.press("Escape")
    assert unnamed_controls(page) == []


def test_landmarks_name_the_regions(page, live, users):
    tagged_ticket()
    browser_login(page, live, "agent")
    page.goto(f"{live}/")
    expect(page.get_by_role("navigation", name="Folders")).to_be_visible()
    expect(page.get_by_role("region", name="Queue")).to_be_visible()
    expect(page.get_by_role("region", name="Ticket")).to_be_visible()
    expect(page.get_by_role("main")).to_be_visible()
    expect(page.get_by_role("link", name="Inbox 2 items")).to_have_attribute("aria-current", "page")


def test_tab_goes_folders_filters_list_pane_with_a_visible_ring(page, live, users):
    ticket_id = tagged_ticket()
    browser_login(page, live, "agent")
    page.goto(f"{live}/tickets/{ticket_id}")
    expect(page.locator("#ticket-side")).to_be_visible()
    stops = []
    for _ in range(150):
        page.keyboard.press("Tab")
        stop = page.evaluate("""() => {
          const el = document.activeElement;
          if (!el || el === document.body) return null;
          const region = el.closest('#folders') ? 'folders' : el.closest('.filters') ? 'filters'
            : el.closest('#ticket-rows') ? 'list' : el.closest('#pane') ? 'pane' : 'other';
          const s = getComputedStyle(el);
          const ring = (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2) || s.boxShadow !== 'none';
          return [region, ring, el.outerHTML.slice(0, 100)];
        }""")
        if stop is None:
            break
        stops.append(stop)
        if stop[0] == "other" and any(s[0] == "pane" for s in stops):
            break                                           # past the pane: the page's end
    regions = []
    for region, _, _ in stops:
        if region != "other" and (not regions or regions[-1] != region):
            regions.append(region)
    assert regions == ["folders", "filters", "list", "pane"], regions
    assert [s for s in stops if not s[1]] == []


def test_text_contrast_in_the_queue_and_the_pane(page, live, users):
    ticket_id = tagged_ticket()
    browser_login(page, live, "agent")
    page.goto(f"{live}/tickets/{ticket_id}")
    expect(page.locator("#ticket-side")).to_be_visible()
    page.keyboard.press("j")                                 # the current row's background too
    expect(page.locator("#ticket-rows a.row.kb-current")).to_have_count(1)
    page.locator("#tag-picker summary").click()
    expect(page.locator("#tag-options .hint", has_text="Loading")).to_have_count(0)
    assert page.evaluate(CONTRAST) == []
    page.keyboard.press("Shift+?")
    expect(page.locator("#shortcuts-dialog")).to_be_visible()
    assert page.evaluate(CONTRAST) == []
