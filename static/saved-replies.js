// Saved replies in the composer: typing "/" at the start of the reply box opens a list of the
// replies usable on this ticket (an htmx partial from the server, searched by what follows the
// "/"); choosing one replaces the box's text with the reply, its variables filled in by the server
// (GET .../saved-replies/<id> answers {"text"}). A file of its own: the CSP allows no inline script.
"use strict";

(() => {
  const pickerOf = (box) => document.getElementById(box.getAttribute("aria-controls"));

  function close(box) {
    const picker = box && pickerOf(box);
    if (picker) { picker.hidden = true; picker.innerHTML = ""; }
  }

  function search(box) {
    const picker = pickerOf(box);
    if (!picker) return;
    if (!box.value.startsWith("/")) { close(box); return; }
    const query = box.value.slice(1).split("\n", 1)[0];
    const url = box.dataset.savedReplies + "?q=" + encodeURIComponent(query);
    picker.hidden = false;
    window.htmx.ajax("GET", url, { target: picker, swap: "innerHTML" });
  }

  async function choose(button) {
    const picker = button.closest(".saved-reply-picker");
    const box = picker && document.querySelector(`[aria-controls="${picker.id}"]`);
    if (!box) return;
    const response = await fetch(button.dataset.replyUrl, { headers: { Accept: "application/json" },
                                                            credentials: "same-origin" });
    if (!response.ok) { picker.textContent = "This saved reply is no longer available."; return; }
    const reply = await response.json();
    box.value = reply.text;
    close(box);
    box.focus();
    box.dispatchEvent(new Event("input", { bubbles: true }));   // counters and limits see the new text
  }

  document.addEventListener("input", (event) => {
    const box = event.target;
    if (box instanceof HTMLTextAreaElement && box.dataset.savedReplies) search(box);
  });

  document.addEventListener("click", (event) => {
    const button = event.target.closest && event.target.closest(".saved-reply-choice");
    if (button) { event.preventDefault(); choose(button); }
  });

  document.addEventListener("keydown", (event) => {
    const target = event.target;
    const box = target instanceof HTMLTextAreaElement && target.dataset.savedReplies ? target : null;
    const picker = box ? pickerOf(box) : target.closest && target.closest(".saved-reply-picker");
    if (!picker || picker.hidden) return;
    const choices = [...picker.querySelectorAll(".saved-reply-choice")];
    if (event.key === "Escape") {
      event.preventDefault();
      const owner = box || document.querySelector(`[aria-controls="${picker.id}"]`);
      close(owner);
      if (owner) owner.focus();
    } else if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      if (!choices.length) return;
      event.preventDefault();
      const at = choices.indexOf(document.activeElement);
      const next = event.key === "ArrowDown" ? Math.min(at + 1, choices.length - 1) : at - 1;
      if (next < 0) { (box || document.querySelector(`[aria-controls="${picker.id}"]`)).focus(); return; }
      choices[next].focus();
    } else if (event.key === "Enter" && box && choices.length && box.value.startsWith("/")
               && !box.value.includes("\n")) {
      event.preventDefault();    // Enter on "/name" takes the first match rather than a new line
      choose(choices[0]);
    }
  });
})();
