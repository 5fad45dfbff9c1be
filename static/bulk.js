// Bulk work on the queue (inbox/bulk): the bar shows once a row is ticked, "Select all matching
// this filter" switches to the filter, the action chooser shows its parameter, and when a job's
// progress reports it is over (HX-Trigger: bulkFinished) the list is refreshed.
// No inline script or style (CSP): everything is wired here, by delegation.
"use strict";
(function () {
  const bar = () => document.getElementById("bulk-form");
  const boxes = () => document.querySelectorAll("#ticket-rows input.row-select");
  let allButton = null;     // the "Select all matching" button's markup, to put back on clear

  function allMode() {
    const form = bar();
    return !!(form && form.querySelector("input[name=all]"));
  }

  function update() {
    const form = bar();
    if (!form) return;
    const picked = Array.from(boxes()).filter((b) => b.checked).length;
    const counter = document.getElementById("bulk-selected");
    if (counter) counter.textContent = String(picked);
    form.hidden = picked === 0 && !allMode();
    document.querySelectorAll("#ticket-rows li.row-item").forEach((li) => {
      const box = li.querySelector("input.row-select");
      li.classList.toggle("selected", !!(box && box.checked));
    });
  }

  function resetAll() {
    const slot = document.getElementById("bulk-all");
    if (slot && allButton !== null && allMode()) {
      slot.innerHTML = allButton;
      if (window.htmx) window.htmx.process(slot);
    }
  }

  function clear() {
    boxes().forEach((b) => { b.checked = false; });
    resetAll();
    update();
  }

  function showParam() {
    const form = bar();
    if (!form) return;
    const action = form.querySelector("select[name=action]").value;
    form.querySelectorAll("[data-bulk-param]").forEach((el) => {
      el.hidden = el.dataset.bulkParam !== action;
    });
  }

  // For the keyboard helper (`x`): toggle the checkbox of a row.
  window.inboxBulk = {
    toggle(li) {
      const box = li && li.querySelector("input.row-select");
      if (box) box.click();
    },
    clear,
  };

  document.addEventListener("change", (event) => {
    if (event.target.matches && event.target.matches("input.row-select")) update();
    if (event.target.matches && event.target.matches("#bulk-action")) showParam();
  });

  document.addEventListener("click", (event) => {
    const target = event.target;
    if (!target.closest) return;
    if (target.closest(".bulk-clear")) clear();
    if (target.closest(".bulk-dismiss")) {
      const status = document.getElementById("bulk-status");
      if (status) status.innerHTML = "";
    }
  });

  document.addEventListener("htmx:afterSwap", (event) => {
    const target = event.detail && event.detail.target;
    if (!target) return;
    if (target.id === "ticket-rows") {
      // New rows (a filter change or the refresh after a job): a filter selection no longer holds.
      if (!(event.detail.requestConfig && event.detail.requestConfig.path &&
            event.detail.requestConfig.path.indexOf("cursor=") !== -1)) resetAll();
      update();
    }
    if (target.id === "bulk-all") update();
  });

  document.body && document.body.addEventListener("bulkFinished", refresh);
  document.addEventListener("DOMContentLoaded", () => {
    const slot = document.getElementById("bulk-all");
    if (slot) allButton = slot.innerHTML;
    showParam();
    update();
  });

  let refreshed = null;
  function refresh(event) {
    // Once per job, even if a late poll reports the end again.
    const job = event && event.target && event.target.dataset ? event.target.dataset.bulkJob : null;
    if (job && refreshed === job) return;
    refreshed = job;
    boxes().forEach((b) => { b.checked = false; });
    resetAll();
    const filters = document.querySelector("form.filters");
    if (filters && window.htmx) window.htmx.trigger(filters, "change");
    const folders = document.getElementById("folders");
    if (folders && window.htmx) {
      const active = folders.querySelector("a.folder.active");
      const query = active ? "?folder=" + encodeURIComponent(active.dataset.folder) : "";
      window.htmx.ajax("GET", "/queue/folders" + query, { target: "#folders", swap: "innerHTML" });
    }
    update();
  }
})();
