/* Live updates of the queue and presence (inbox/live).
 *
 * The poll: every data-interval seconds (paused while the tab is hidden) GET /queue/changes with
 * the view's filters (the address bar's), the top row's cursor, the rows shown with their versions
 * and the open ticket, plus If-None-Match with the last ETag. 304: nothing to do. 200: <template>s,
 * each naming where its content goes (data-live-target, data-live-swap = inner|outer).
 * The ETag is dropped every few polls, so a change the server's marker missed still shows up.
 *
 * Presence: while a ticket is open, a heartbeat every data-interval seconds says "viewing", or
 * "replying" while the composer's text area has focus or text; opening another ticket or leaving
 * the page says "leave" (navigator.sendBeacon, CSRF token in the body).
 *
 * The send-time guard's "Edit" button (templates/live/_arrived.html) closes the notice.
 */
(function () {
  "use strict";
  var FORCE_EVERY = 8;      // polls between unconditional ones

  function csrfToken() {
    var headers = document.body.getAttribute("hx-headers");
    try { return JSON.parse(headers)["X-CSRFToken"]; } catch (e) { return ""; }
  }

  /* ---- the live poll ---- */
  var live = document.getElementById("live");
  var etag = null, polls = 0, timer = null, busy = false;

  /* The view's filters: the address bar's at load, then whatever a filter change pushed (a ticket
     opened from the list pushes /tickets/N without them, and the list stays the same view). */
  var viewSearch = window.location.search;
  function filterArgs() {
    var params = new URLSearchParams(viewSearch);
    params.delete("cursor");
    return params;
  }

  function screenArgs() {
    var params = filterArgs();
    var rows = document.querySelectorAll("#ticket-rows li.row-item[data-ticket]");
    var pairs = [];
    for (var i = 0; i < rows.length && i < 300; i++) {
      pairs.push(rows[i].dataset.ticket + ":" + rows[i].dataset.version);
    }
    params.set("rows", pairs.join(","));
    var top = live && live.dataset.top;
    if (top) { params.set("top", top); } else { params.delete("top"); }
    var pane = document.getElementById("pane-presence");
    if (pane) { params.set("open", pane.dataset.ticket); } else { params.delete("open"); }
    return params;
  }

  /* The top row's cursor: what "new" is counted from. Kept from the page load and from "show";
     a row re-rendered in place does not move it. */
  function topCursor(row) {
    var link = row && row.querySelector("time[datetime]");
    if (!row || !link) { return ""; }
    var at = link.getAttribute("datetime").replace(/Z$/, "");
    return btoa(at + "|" + row.dataset.ticket).replace(/\+/g, "-").replace(/\//g, "_");
  }

  function rememberTop() {
    if (!live) { return; }
    live.dataset.top = topCursor(document.querySelector("#ticket-rows li.row-item[data-ticket]"));
  }

  /* A row redrawn in place keeps what the user did to it: the open ticket's highlight, and the
     state of its checkboxes (the bulk selection). */
  function keepRowState(old, fresh) {
    if (old.querySelector("a.row.active")) {
      var link = fresh.querySelector("a.row");
      if (link) { link.classList.add("active"); }
    }
    var boxes = old.querySelectorAll("input[type=checkbox]");
    for (var i = 0; i < boxes.length; i++) {
      var twin = fresh.querySelector('input[type=checkbox][name="' + boxes[i].name + '"][value="' + boxes[i].value + '"]');
      if (twin) { twin.checked = boxes[i].checked; }
    }
  }

  /* Where keyboard focus is inside ``root``, as a selector that finds it again after a redraw. */
  function focusSelector(root) {
    var el = document.activeElement;
    if (!el || el === document.body || !root.contains(el)) { return null; }
    if (el.id) { return "#" + CSS.escape(el.id); }
    if (el.dataset && el.dataset.folder) { return 'a.folder[data-folder="' + CSS.escape(el.dataset.folder) + '"]'; }
    return null;
  }

  function apply(html) {
    var doc = new DOMParser().parseFromString("<body>" + html + "</body>", "text/html");
    var parts = doc.querySelectorAll("template[data-live-target]");
    for (var i = 0; i < parts.length; i++) {
      var part = parts[i];
      var target = document.querySelector(part.dataset.liveTarget);
      if (!target) { continue; }
      var outer = part.dataset.liveSwap === "outer";
      // Unchanged: left alone, so screen readers do not hear a live region again and focus stays.
      if ((outer ? target.outerHTML : target.innerHTML).trim() === part.innerHTML.trim()) { continue; }
      var content = document.importNode(part.content, true);
      var focus = focusSelector(target);
      if (outer) {
        var first = content.firstElementChild;
        if (!first) { continue; }
        if (target.matches("li.row-item")) { keepRowState(target, first); }
        target.replaceWith(first);
        if (window.htmx) { htmx.process(first); }
      } else {
        target.replaceChildren(content);
        if (window.htmx) { htmx.process(target); }
      }
      if (focus) {
        var again = document.querySelector(focus);
        if (again) { again.focus({preventScroll: true}); }
      }
    }
  }


  function poll() {
    if (!live || busy || document.hidden) { return; }
    busy = true;
    polls += 1;
    var headers = {"Accept": "text/html"};
    if (etag && polls % FORCE_EVERY !== 0) { headers["If-None-Match"] = etag; }
    fetch(live.dataset.changesUrl + "?" + screenArgs().toString(),
          {headers: headers, cache: "no-store", credentials: "same-origin"})
      .then(function (response) {
        if (response.status === 304) { return null; }
        if (!response.ok) { throw new Error("live poll " + response.status); }
        etag = response.headers.get("ETag");
        return response.text();
      })
      .then(function (html) { if (html !== null) { apply(html); } })
      .catch(function () { etag = null; })
      .then(function () { busy = false; });
  }

  function schedule() {
    clearInterval(timer);
    timer = null;
    if (!live || document.hidden) { return; }
    var seconds = parseFloat(live.dataset.interval) || 4;
    timer = setInterval(poll, seconds * 1000);
  }

  /* "N new — show": the first page again on top, the row being read kept where it was. */
  function showNew() {
    var list = document.getElementById("ticket-rows");
    if (!list) { return; }
    // The first row in sight and how far from the list's top edge it is.
    var anchor = null, offset = 0, edge = list.getBoundingClientRect().top;
    var rows = list.querySelectorAll("li.row-item[data-ticket]");
    for (var i = 0; i < rows.length; i++) {
      var box = rows[i].getBoundingClientRect();
      if (box.bottom > edge) {
        anchor = rows[i].dataset.ticket;
        offset = box.top - edge;
        break;
      }
    }
    var open = document.getElementById("pane-presence");
    var atTop = list.scrollTop === 0;
    // fetch, not htmx.ajax: the rows' answer pushes the list's address, and an open ticket's
    // address must stay in the bar.
    fetch(live.dataset.rowsUrl + "?" + filterArgs().toString(),
          {headers: {"HX-Request": "true"}, cache: "no-store", credentials: "same-origin"})
      .then(function (response) {
        if (!response.ok) { throw new Error("rows " + response.status); }
        return response.text();
      }).then(function (html) {
      list.innerHTML = html;
      htmx.process(list);
      var banner = document.getElementById("live-banner");
      if (banner) { banner.replaceChildren(); }
      if (open) {
        var link = document.getElementById("ticket-" + open.dataset.ticket);
        if (link) { link.classList.add("active"); }
      }
      rememberTop();
      etag = null;
      if (!atTop && anchor) {
        var again = list.querySelector('li.row-item[data-ticket="' + anchor + '"]');
        if (again) { list.scrollTop += again.getBoundingClientRect().top - list.getBoundingClientRect().top - offset; }
      }
    }).catch(function () {});
  }

  /* ---- presence ---- */
  var here = null, beat = null;

  function composerState() {
    var area = document.querySelector("#pane #composer textarea[name=text]");
    if (!area) { return "viewing"; }
    return (document.activeElement === area || area.value.trim() !== "") ? "replying" : "viewing";
  }

  function send(url, state, onLeave) {
    var body = new FormData();
    body.append("state", state);
    body.append("csrf_token", csrfToken());
    if (onLeave && navigator.sendBeacon) {
      navigator.sendBeacon(url, body);
      return;
    }
    fetch(url, {method: "POST", body: body, credentials: "same-origin", keepalive: !!onLeave,
                headers: {"X-CSRFToken": csrfToken()}}).catch(function () {});
  }

  function heartbeat() {
    if (here && !document.hidden) { send(here.url, composerState(), false); }
  }

  function follow() {
    var pane = document.getElementById("pane-presence");
    var next = pane ? {id: pane.dataset.ticket, url: pane.dataset.heartbeatUrl,
                       seconds: parseFloat(pane.dataset.interval) || 10} : null;
    if (here && (!next || next.id !== here.id)) { send(here.url, "leave", true); }
    var changed = !here || !next || next.id !== here.id;
    here = next;
    if (changed) {
      clearInterval(beat);
      beat = null;
      if (here) {
        heartbeat();
        beat = setInterval(heartbeat, here.seconds * 1000);
      }
    }
  }

  var lastState = null;
  function stateMaybeChanged() {
    var state = composerState();
    if (here && state !== lastState) { lastState = state; heartbeat(); }
  }

  document.addEventListener("focusin", stateMaybeChanged);
  document.addEventListener("focusout", function () { setTimeout(stateMaybeChanged, 0); });
  document.addEventListener("input", function (event) {
    if (event.target.matches && event.target.matches("#composer textarea[name=text]")) { stateMaybeChanged(); }
  });

  document.addEventListener("click", function (event) {
    var show = event.target.closest && event.target.closest("[data-action=live-show]");
    if (show) { event.preventDefault(); showNew(); return; }
    var edit = event.target.closest && event.target.closest("[data-action=arrived-edit]");
    if (edit) {
      var form = edit.closest("form");
      var notice = document.getElementById("arrived");
      if (notice) { notice.remove(); }
      var area = form && form.querySelector("textarea[name=text]");
      if (area) { area.focus(); }
    }
  });

  document.body.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail && event.detail.target;
    if (target && target.id === "ticket-rows") {     // a filter change: a new view, a new top row
      var pushed = event.detail.xhr && event.detail.xhr.getResponseHeader("HX-Push-Url");
      if (pushed) { viewSearch = new URL(pushed, window.location.href).search; }
      rememberTop();
      etag = null;
    }
    follow();
    lastState = null;
    stateMaybeChanged();
  });
  document.addEventListener("visibilitychange", function () {
    if (document.hidden) { clearInterval(timer); timer = null; return; }
    poll();
    schedule();
    heartbeat();
  });
  window.addEventListener("pagehide", function () {
    if (here) { send(here.url, "leave", true); }
  });

  rememberTop();
  follow();
  schedule();
})();
