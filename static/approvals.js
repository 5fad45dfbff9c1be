// The approvals page's keyboard: j / k move the focus between suggestions, a approves the focused
// one, e opens "Edit & approve" and focuses its text, x opens "Reject" and focuses the reason.
// Never while typing in a field (or with a modifier held), so the letters still type. After a
// decision replaces a row, the focus moves on to the next pending one.
// A file of its own, loaded only by the approvals page: the CSP allows no inline script.
"use strict";

(() => {
  const rows = () => Array.from(document.querySelectorAll("#approval-rows > li.approval"));
  // data-decided, not the class: htmx keeps a swapped element's old class until it settles.
  const pending = () => rows().filter((r) => !r.hasAttribute("data-decided"));
  const current = () => document.activeElement && document.activeElement.closest
    && document.activeElement.closest("#approval-rows > li.approval");

  function typing(target) {
    if (!(target instanceof HTMLElement)) return false;
    return target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName);
  }

  function focusRow(row) {
    if (!row) return;
    row.focus();
    row.scrollIntoView({ block: "nearest" });
  }

  function move(step) {
    const all = rows();
    if (!all.length) return;
    const at = all.indexOf(current());
    focusRow(all[at < 0 ? 0 : Math.min(all.length - 1, Math.max(0, at + step))]);
  }

  function open(row, selector, field) {
    const box = row.querySelector(selector);
    if (!box) return;
    box.open = true;
    const input = box.querySelector(field);
    if (input) {
      input.focus();
      if (input.setSelectionRange) input.setSelectionRange(input.value.length, input.value.length);
    }
  }

  document.addEventListener("keydown", (event) => {
    if (!document.getElementById("approval-rows")) return;
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    const row = current() || null;
    switch (event.key) {
      case "j": move(1); break;
      case "k": move(-1); break;
      case "a": {
        const button = row && row.querySelector("button.approve");
        if (!button) return;
        button.click();
        break;
      }
      case "e": if (!row) return; open(row, "details.edit", "textarea"); break;
      case "x": if (!row) return; open(row, "details.reject", "input[name=reason]"); break;
      default: return;
    }
    event.preventDefault();
  });

  // A decided row (htmx swapped its outcome in): keep the keyboard going from the next pending one.
  document.addEventListener("htmx:afterSwap", (event) => {
    // With outerHTML the event's target is the replaced (detached) row: find its successor by id.
    const target = event.detail && event.detail.target;
    if (!(target instanceof HTMLElement) || !target.id.startsWith("suggestion-")) return;
    const swapped = document.getElementById(target.id);
    if (!swapped || !swapped.hasAttribute("data-decided")) return;
    const after = pending().find((r) => swapped.compareDocumentPosition(r) & Node.DOCUMENT_POSITION_FOLLOWING);
    focusRow(after || swapped);
  });

  // The first pending suggestion has the focus when the page opens.
  document.addEventListener("DOMContentLoaded", () => {
    if (document.getElementById("approval-rows") && !typing(document.activeElement)) focusRow(pending()[0]);
  });
})();
