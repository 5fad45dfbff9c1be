// The inbox's own script, loaded from our origin: the Content-Security-Policy allows no inline
// script and no hx-on attributes (htmx runs with allowEval: false), so behaviour lives here.
"use strict";

// The ticket list marks the row that was clicked as the active one (its pane loads by htmx).
document.addEventListener("click", (event) => {
  const list = event.target.closest && event.target.closest("#ticket-rows");
  const row = list && event.target.closest(".row");
  if (!row) return;
  list.querySelectorAll(".row.active").forEach((r) => r.classList.remove("active"));
  row.classList.add("active");
});

// Settings forms whose button carries data-confirm ask first (deleting a tag or a category).
document.addEventListener("submit", (event) => {
  const button = event.submitter;
  const question = button && button.dataset && button.dataset.confirm;
  if (question && !window.confirm(question)) event.preventDefault();
});
