// @mention autocomplete in the note boxes: typing "@" and some letters lists the matching active
// teammates (the server put them on the note form as data-mentionables: name and handle); ↑/↓ move,
// Enter or Tab inserts "@handle ", Esc closes, a click works too. The inserted handle is the one the
// server's mention parser reads back (inbox/queue/notes.py), so the saved note stores the mention.
// A file of its own: the CSP allows no inline script. The list is built with textContent only.
"use strict";

(() => {
  const SHOWN = 8;
  // "@" not preceded by a letter, digit, "." or "@" (as the parser wants), then the partial handle.
  const TRIGGER = /(?:^|[^\p{L}\p{N}_.@])@([\p{L}\p{N}_.+-]*)$/u;

  const pickerOf = (box) => document.getElementById(box.getAttribute("aria-controls"));
  const isBox = (el) => el instanceof HTMLTextAreaElement && el.hasAttribute("data-mentions");

  function teammates() {
    const holder = document.querySelector("[data-mentionables]");
    try { return holder ? JSON.parse(holder.dataset.mentionables) : []; } catch (e) { return []; }
  }

  function partial(box) {
    const match = TRIGGER.exec(box.value.slice(0, box.selectionStart));
    return match ? match[1] : null;
  }

  function matches(query) {
    const q = query.toLowerCase();
    return teammates().filter(({ name, handle }) => {
      const words = name.toLowerCase().split(/\s+/);
      return handle.toLowerCase().startsWith(q) || words.some((w) => w.startsWith(q))
        || words.join("").startsWith(q);
    }).slice(0, SHOWN);
  }

  function close(box) {
    const picker = pickerOf(box);
    if (!picker) return;
    picker.hidden = true;
    picker.replaceChildren();
    box.setAttribute("aria-expanded", "false");
    box.removeAttribute("aria-activedescendant");
  }

  function highlight(box, index) {
    const options = [...pickerOf(box).querySelectorAll("[role=option]")];
    options.forEach((option, i) => option.setAttribute("aria-selected", i === index ? "true" : "false"));
    if (options[index]) {
      box.setAttribute("aria-activedescendant", options[index].id);
      options[index].scrollIntoView({ block: "nearest" });
    }
  }

  function open(box) {
    const picker = pickerOf(box);
    const query = picker ? partial(box) : null;
    const found = query === null ? [] : matches(query);
    if (!found.length) { close(box); return; }
    picker.replaceChildren(...found.map(({ name, handle }, i) => {
      const option = document.createElement("li");
      option.id = `${picker.id}-${i}`;
      option.setAttribute("role", "option");
      option.dataset.handle = handle;
      const who = document.createElement("span");
      who.className = "mention-name";
      who.textContent = name;
      const at = document.createElement("span");
      at.className = "mention-handle";
      at.textContent = "@" + handle;
      option.append(who, " ", at);
      return option;
    }));
    picker.hidden = false;
    box.setAttribute("aria-expanded", "true");
    highlight(box, 0);
  }

  function choose(box, option) {
    const caret = box.selectionStart;
    const before = box.value.slice(0, caret);
    const typed = partial(box);
    if (typed === null) { close(box); return; }
    const start = before.length - typed.length;          // just after the "@"
    const insert = option.dataset.handle + " ";
    box.value = box.value.slice(0, start) + insert + box.value.slice(caret);
    box.selectionStart = box.selectionEnd = start + insert.length;
    close(box);
    box.focus();
  }

  document.addEventListener("input", (event) => { if (isBox(event.target)) open(event.target); });

  document.addEventListener("keydown", (event) => {
    const box = event.target;
    if (!isBox(box)) return;
    const picker = pickerOf(box);
    if (!picker || picker.hidden) return;
    const options = [...picker.querySelectorAll("[role=option]")];
    const at = options.findIndex((o) => o.getAttribute("aria-selected") === "true");
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      const step = event.key === "ArrowDown" ? 1 : -1;
      highlight(box, (at + step + options.length) % options.length);
    } else if ((event.key === "Enter" || event.key === "Tab") && !event.shiftKey && options[at]) {
      event.preventDefault();
      choose(box, options[at]);
    } else if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation();
      close(box);
    }
  });

  // The caret moved elsewhere (a click, Home/End): the list follows what is before it now.
  document.addEventListener("keyup", (event) => {
    if (isBox(event.target) && ["ArrowLeft", "ArrowRight", "Home", "End"].includes(event.key)) open(event.target);
  });

  // mousedown, not click: the box keeps its focus and caret.
  document.addEventListener("mousedown", (event) => {
    const option = event.target.closest && event.target.closest(".mention-picker [role=option]");
    if (!option) return;
    event.preventDefault();
    const box = document.querySelector(`[aria-controls="${option.parentElement.id}"]`);
    if (box) choose(box, option);
  });

  document.addEventListener("focusout", (event) => { if (isBox(event.target)) close(event.target); });
})();
