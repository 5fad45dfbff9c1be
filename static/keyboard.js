// Keyboard shortcuts of the queue (issue 11 "Keyboard"): a current row in the list that j/k move,
// Enter opens, and single keys for what the pane offers. Everything here is also a click away:
// a shortcut only focuses, opens or clicks a control that is on the page for the mouse, found by
// its data-shortcut attribute (templates/queue/_actions.html, _triage.html, _taxonomy.html,
// _note_form.html, replies/_composer.html), so the server's checks stay the only ones.
//
// Why real DOM focus on the current row: screen readers announce what has focus, and the browser
// then gives Enter, Tab and the focus ring for free. The row is remembered by its ticket id because
// htmx (filters, infinite scroll, live updates) replaces the <li> elements under us.
//
// No shortcut fires while typing in a field or with Ctrl/Alt/Meta held; Escape in a field goes
// back to the list. The listener is on window, so the pickers' own Escape handlers (mentions.js,
// saved-replies.js, on document) run first and their preventDefault keeps the focus where it is.
"use strict";

(() => {
  const ROWS = "#ticket-rows";
  const G_TIMEOUT_MS = 1500;
  const PANE_KEYS = new Set(["r", "n", "e", "a", "t", "c", "s"]);
  const state = {
    current: null,        // ticket id (string) of the current row
    pendingG: 0,          // timer id while waiting for the letter after "g"
    moveAfterLoad: false, // "j" at the end of the list asked for more rows
    paneAction: null,     // a pane key waiting for the current row's pane to load
    opener: null,         // what had focus before the shortcuts dialog opened
  };

  const rowsList = () => document.querySelector(ROWS);
  const rowItems = () => [...document.querySelectorAll(`${ROWS} > li.row-item`)];
  const linkOf = (item) => item && item.querySelector("a.row");
  const itemOf = (id) => id && document.querySelector(`${ROWS} > li.row-item[data-ticket="${CSS.escape(id)}"]`);
  const pane = () => document.getElementById("pane");
  const paneOpen = () => !!(pane() && pane().querySelector(".pane-head"));

  function announce(text) {
    const status = document.getElementById("shortcut-status");
    if (!status) return;
    status.textContent = "";
    window.setTimeout(() => { status.textContent = text; }, 30);   // re-announce the same words too
  }

  function isField(el) {
    if (!el || el === document.body) return false;
    if (el.isContentEditable) return true;
    const tag = el.tagName;
    if (tag === "TEXTAREA" || tag === "SELECT") return true;
    if (tag !== "INPUT") return false;
    // Buttons and boxes do not take text: keys there are still shortcuts.
    return !["checkbox", "radio", "button", "submit", "reset", "image", "file", "range", "color"]
      .includes((el.type || "").toLowerCase());
  }

  // ---- the current row ---------------------------------------------------------------------
  function paint() {
    document.querySelectorAll(`${ROWS} a.row.kb-current`).forEach((a) => {
      if (a.closest("li.row-item") !== itemOf(state.current)) {
        a.classList.remove("kb-current");
        a.removeAttribute("aria-current");
      }
    });
    const link = linkOf(itemOf(state.current));
    if (link) {
      link.classList.add("kb-current");
      link.setAttribute("aria-current", "true");
    }
  }

  function setCurrent(item, { focus = true } = {}) {
    if (!item) return;
    state.current = item.dataset.ticket;
    paint();
    const link = linkOf(item);
    if (focus && link) {
      link.focus({ preventScroll: true });
      link.scrollIntoView({ block: "nearest" });
    }
  }

  function currentItem() {
    const item = itemOf(state.current);
    if (item) return item;
    // None chosen yet: start from the open ticket's row if it is in the list.
    const active = document.querySelector(`${ROWS} a.row.active`);
    return active ? active.closest("li.row-item") : null;
  }

  function loadMore() {
    const more = document.querySelector(`${ROWS} > li.more`);
    if (!more) return false;
    more.scrollIntoView({ block: "nearest" });
    // Scrolling it into view fires its hx-trigger="intersect once"; fire it too in case the
    // observer has not run yet ("once": htmx never loads the page twice).
    if (window.htmx && !more.hasAttribute("data-key-loading")) {
      more.setAttribute("data-key-loading", "true");
      window.htmx.trigger(more, "intersect");
    }
    return true;
  }

  function move(step) {
    const items = rowItems();
    if (!items.length) { announce("No items in this list."); return; }
    const item = currentItem();
    const at = item ? items.indexOf(item) : -1;
    if (at < 0) { setCurrent(items[0]); return; }   // no current row yet: start at the top
    const next = at + step;
    if (next >= items.length) {
      if (loadMore()) state.moveAfterLoad = true;
      else announce("End of the list.");
      setCurrent(items[at]);
      return;
    }
    if (next < 0) { announce("Top of the list."); setCurrent(items[0]); return; }
    setCurrent(items[next]);
  }

  function openCurrent() {
    const link = linkOf(currentItem());
    if (link) { setCurrent(link.closest("li.row-item")); link.click(); }
  }

  function toggleSelect() {
    const box = currentItem() && currentItem().querySelector("input.row-select");
    if (box) box.click();    // a click: the bulk feature's change listeners see it as a user's
  }

  // ---- the pane's controls ----------------------------------------------------------------
  function paneTicketId() {
    if (pane() && pane().dataset.kbTicket) return pane().dataset.kbTicket;
    const match = /\/tickets\/(\d+)/.exec(window.location.pathname);
    return match ? match[1] : null;
  }

  function useControl(key) {
    const control = pane() && pane().querySelector(`[data-shortcut="${key}"]`);
    if (!control) return false;
    if (control.tagName === "DETAILS") {
      control.open = true;
      const input = control.querySelector("input:not([type=hidden]), select, textarea, button") ||
                    control.querySelector("summary");
      if (input) input.focus();
    } else if (key === "e") {
      control.click();
    } else {
      control.focus();
      control.scrollIntoView({ block: "nearest" });
    }
    return true;
  }

  const NAMES = { r: "reply", n: "note", e: "archive", a: "assign", t: "tag", c: "categorise", s: "snooze" };

  function paneKey(key) {
    const item = itemOf(state.current);
    const wanted = item ? item.dataset.ticket : null;
    // The pane shows another ticket than the current row: open the row first, then act. Not for
    // archive: it never acts on a ticket the user has not opened, nor on another than the one
    // they moved to.
    if (wanted && wanted !== paneTicketId()) {
      if (key === "e") { announce("Open this item first (Enter): e archives the open ticket."); return; }
      state.paneAction = key;
      linkOf(item).click();
      return;
    }
    if (!paneOpen()) { announce("Open a ticket first (Enter)."); return; }
    if (!useControl(key)) announce(`No ${NAMES[key]} control for this ticket.`);
  }

  // ---- the shortcuts dialog ---------------------------------------------------------------
  function openHelp() {
    const dialog = document.getElementById("shortcuts-dialog");
    if (!dialog || dialog.open) return;
    state.opener = document.activeElement;
    dialog.showModal();
  }

  document.addEventListener("click", (event) => {
    const opener = event.target.closest && event.target.closest("[data-open-shortcuts]");
    if (opener) { openHelp(); return; }
    const closer = event.target.closest && event.target.closest("[data-close-shortcuts]");
    if (closer) closer.closest("dialog").close();
  });

  document.addEventListener("close", (event) => {
    if (event.target.id !== "shortcuts-dialog") return;
    const back = state.opener && state.opener.isConnected ? state.opener : linkOf(currentItem());
    state.opener = null;
    if (back && back !== document.body) back.focus();
  }, true);

  // ---- keys ------------------------------------------------------------------------------
  function folderJump(letter) {
    const link = document.querySelector(`a.folder[data-key="${CSS.escape(letter)}"]`);
    if (link) link.click();
    else announce(`No folder on g ${letter}.`);
  }

  function backToList() {
    const link = linkOf(currentItem()) || linkOf(rowItems()[0]);
    if (link) setCurrent(link.closest("li.row-item"));
    else if (rowsList()) rowsList().focus();
  }

  // The key as a shortcut letter. On a non-Latin layout (Persian, Russian…) the letter typed is not
  // j but the key in j's place is: fall back to the physical key then, so the shortcuts work
  // without switching layouts. A Latin letter is taken as typed (Dvorak, AZERTY users get theirs).
  function keyOf(event) {
    const key = event.key;
    if (key.length !== 1 || /^[\x20-\x7e]$/.test(key)) return key;
    const letter = /^Key([A-Z])$/.exec(event.code || "");
    if (letter && !event.shiftKey) return letter[1].toLowerCase();
    if (event.code === "Slash") return event.shiftKey ? "?" : "/";
    return key;
  }

  window.addEventListener("keydown", (event) => {
    if (!rowsList()) return;                                   // not the queue page
    const dialog = document.getElementById("shortcuts-dialog");
    if (dialog && dialog.open) return;                         // Escape closes it (the browser's)
    if (event.defaultPrevented || event.ctrlKey || event.altKey || event.metaKey || event.isComposing) return;
    const target = event.target;
    if (isField(target)) {
      if (event.key === "Escape") {
        const details = target.closest("details.picker");
        if (details) details.open = false;
        target.blur();
        backToList();
        event.preventDefault();
      }
      return;
    }
    const key = keyOf(event);
    if (state.pendingG) {
      window.clearTimeout(state.pendingG);
      state.pendingG = 0;
      if (key.length === 1) { event.preventDefault(); folderJump(key.toLowerCase()); }
      return;
    }
    if (key === "Enter") {
      // On a focused link or button the browser does it; from nowhere (body), open the current row.
      if (target === document.body || target === rowsList()) { event.preventDefault(); openCurrent(); }
      return;
    }
    if (key.length !== 1) return;
    if (key === "j" || key === "k") { event.preventDefault(); move(key === "j" ? 1 : -1); }
    else if (key === "x") { event.preventDefault(); toggleSelect(); }
    else if (key === "/") {
      const search = document.querySelector(".filters input[name=q]");
      if (search) { event.preventDefault(); search.focus(); search.select(); }
    } else if (key === "g") {
      event.preventDefault();
      state.pendingG = window.setTimeout(() => { state.pendingG = 0; }, G_TIMEOUT_MS);
    } else if (key === "?") { event.preventDefault(); openHelp(); }
    else if (PANE_KEYS.has(key)) { event.preventDefault(); paneKey(key); }
  });

  // ---- following the page ----------------------------------------------------------------
  // A row clicked or tabbed to becomes the current one (one place to be, mouse or keys).
  document.addEventListener("focusin", (event) => {
    const link = event.target.closest && event.target.closest(`${ROWS} a.row`);
    if (link) { state.current = link.closest("li.row-item").dataset.ticket; paint(); }
  });

  // A ticket changed in the pane (archive, snooze, status): if the list's status filter no longer
  // matches it, its row leaves the list and the next one becomes current; the folder numbers are
  // fetched afresh either way. Mouse or keys alike: this follows any change made in the pane.
  function afterPaneChange(ticketId) {
    const status = pane() && pane().querySelector('#ticket-side [data-field="status"]');
    const wanted = document.querySelector(".filters select[name=status]");
    const item = itemOf(ticketId);
    if (item && status && wanted && wanted.value && wanted.value !== status.textContent.trim()) {
      const items = rowItems();
      const at = items.indexOf(item);
      const wasCurrent = state.current === ticketId;
      const hadFocus = item.contains(document.activeElement) || document.activeElement === document.body ||
                       !document.activeElement;
      item.remove();
      if (wasCurrent) {
        const next = items[at + 1] || items[at - 1];
        state.current = null;
        if (next) setCurrent(next, { focus: hadFocus });
      }
      announce("Left this list.");
    }
    // The folder numbers reload themselves: every change answers with HX-Trigger: queue-changed.
  }

  // The list is swapped under the focus (a filter, the search, infinite scroll): the focus that
  // was in it comes back to the current row, or to the list, instead of falling to the page.
  let listHadFocus = false;
  // The same for the pane: a control that answered with the whole pane (assign, snooze…) gets the
  // focus back in the new pane, found by what identifies it, so a screen reader keeps its place.
  let paneFocus = null;
  function selectorFor(el) {
    if (el.id) return `#${CSS.escape(el.id)}`;
    const parts = ["data-shortcut", "data-action", "data-field", "name", "aria-label"]
      .filter((a) => el.hasAttribute(a)).map((a) => `[${a}="${CSS.escape(el.getAttribute(a))}"]`);
    return parts.length ? el.tagName.toLowerCase() + parts.join("") : null;
  }
  document.addEventListener("htmx:beforeSwap", (event) => {
    // Only swaps of the list or the pane: another swap in between (the folder numbers reloading
    // on the same change) must not forget where the focus was.
    const target = (event.detail && event.detail.target) || event.target;
    const active = document.activeElement;
    if (rowsList() && (target === rowsList() || rowsList().contains(target) || target.contains(rowsList()))) {
      listHadFocus = !!rowsList().contains(active);
    }
    if (pane() && (target === pane() || pane().contains(target))) {
      paneFocus = active && active !== pane() && pane().contains(active) ? selectorFor(active) : null;
    }
  });

  document.addEventListener("htmx:afterSettle", (event) => {
    const detail = event.detail || {};
    const config = detail.requestConfig || {};
    const target = detail.target || event.target;
    paint();
    if (listHadFocus && (!document.activeElement || document.activeElement === document.body)) {
      const link = linkOf(itemOf(state.current));
      if (link) link.focus({ preventScroll: true });
      else if (rowsList()) rowsList().focus();
    }
    const settledList = rowsList() && (target === rowsList() || rowsList().contains(target) || target.contains(rowsList()));
    const settledPane = pane() && (target === pane() || pane().contains(target));
    if (settledList) listHadFocus = false;
    if (settledPane && paneFocus && (!document.activeElement || document.activeElement === document.body)) {
      const again = pane() && pane().querySelector(paneFocus);
      if (again) again.focus({ preventScroll: true });
    }
    if (settledPane) paneFocus = null;
    if (target && target.id === "pane") {
      const match = /\/tickets\/(\d+)/.exec(config.path || "");
      const id = match ? match[1] : null;
      if (id) pane().dataset.kbTicket = id;
      if ((config.verb || "get").toLowerCase() !== "get" && id) afterPaneChange(id);
      if (state.paneAction && id === state.current) {
        const key = state.paneAction;
        state.paneAction = null;
        if (!useControl(key)) announce(`No ${NAMES[key]} control for this ticket.`);
      }
    }
  });

  // The next page of rows arrived ("j" at the end asked for it): go on into it. Watched on the list
  // itself because the "Loading more…" item that htmx swapped is gone from the page by then.
  function watchRows() {
    const list = rowsList();
    if (!list) return;
    new MutationObserver(() => {
      paint();
      if (!state.moveAfterLoad) return;
      const items = rowItems();
      const at = items.indexOf(itemOf(state.current));
      if (at >= 0 && at + 1 < items.length) { state.moveAfterLoad = false; setCurrent(items[at + 1]); }
      else if (!list.querySelector(":scope > li.more")) state.moveAfterLoad = false;
    }).observe(list, { childList: true });
  }

  document.addEventListener("DOMContentLoaded", () => {
    if (rowsList() && !rowsList().hasAttribute("tabindex")) rowsList().setAttribute("tabindex", "-1");
    watchRows();
    document.querySelectorAll("[data-open-shortcuts]").forEach((b) => { b.hidden = false; });
    const active = document.querySelector(`${ROWS} a.row.active`);
    if (active) { state.current = active.closest("li.row-item").dataset.ticket; paint(); }
    const opened = /\/tickets\/(\d+)/.exec(window.location.pathname);
    if (opened && paneOpen()) pane().dataset.kbTicket = opened[1];
  });
})();
