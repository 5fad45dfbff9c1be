// The rules page: reorder by drag and drop (HTML5 DnD on each rule's handle). The new order is
// posted as order=3,1,2 with the page's CSRF token; the server answers 204 and the list shows
// the new places. "Move up"/"Move down" (plain forms) do the same without a mouse or script.
// A file of its own: the CSP allows no inline script.
"use strict";

(() => {
  const list = () => document.getElementById("rules");
  let dragged = null;

  function csrfToken() {
    const field = document.querySelector("input[name=csrf_token]");
    return field ? field.value : "";
  }

  function renumber(ol) {
    const cards = [...ol.querySelectorAll(":scope > .rule-card")];
    cards.forEach((card, n) => {
      const place = card.querySelector(".rule-place");
      if (place) place.textContent = `${n + 1}.`;
      const up = card.querySelector("button[value=up]"), down = card.querySelector("button[value=down]");
      if (up) up.disabled = n === 0;
      if (down) down.disabled = n === cards.length - 1;
    });
    return cards.map((card) => card.dataset.ruleId);
  }

  async function save(ol) {
    const ids = renumber(ol);
    const body = new URLSearchParams({ order: ids.join(","), csrf_token: csrfToken() });
    const live = document.getElementById("rules-live");
    const response = await fetch(ol.dataset.orderUrl, {
      method: "POST", body, credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRFToken": csrfToken() },
    });
    if (!response.ok) { window.location.reload(); return; }
    if (live) live.textContent = "Saved the new order.";
  }

  document.addEventListener("dragstart", (event) => {
    const handle = event.target.closest && event.target.closest(".drag-handle");
    if (!handle || !list()) return;
    dragged = handle.closest(".rule-card");
    dragged.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", dragged.dataset.ruleId);
    event.dataTransfer.setDragImage(dragged, 10, 10);
  });

  document.addEventListener("dragover", (event) => {
    const card = dragged && event.target.closest && event.target.closest(".rule-card");
    if (!card || card === dragged) return;
    event.preventDefault();
    document.querySelectorAll(".drop-before").forEach((c) => c.classList.remove("drop-before"));
    card.classList.add("drop-before");
  });

  document.addEventListener("drop", (event) => {
    const card = dragged && event.target.closest && event.target.closest(".rule-card");
    if (!card || card === dragged) return;
    event.preventDefault();
    const rect = card.getBoundingClientRect();
    const after = event.clientY > rect.top + rect.height / 2;
    card.parentNode.insertBefore(dragged, after ? card.nextSibling : card);
    save(card.parentNode);
  });

  document.addEventListener("dragend", () => {
    if (dragged) dragged.classList.remove("dragging");
    document.querySelectorAll(".drop-before").forEach((c) => c.classList.remove("drop-before"));
    dragged = null;
  });
})();
