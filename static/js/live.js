/* Live updates without lost clicks. Every socket message is a set of out-of-band fragments marked
   hx-swap-oob="morph": idiomorph patches the page in place, so the button under the pointer, the
   focused element, a text selection and a table's horizontal scroll stay where they are. Messages
   that arrive while a pointer is down wait until it is released (at most DEFER_MAX_MS), so a click
   always lands on the element it started on. Changed values flash briefly. */
(function () {
  "use strict";
  var C = (window.TVConsole = window.TVConsole || {});
  var DEFER_MAX_MS = 1500;
  var FLASH_MS = 1200;
  // Where a change shows: the nearest cell, card figure or list entry around the changed text.
  var CELL = "td, .card-value, dd, li, .log-row, .banner-title, .badge";
  var NEW_BLOCK = "tbody, tr, li, .log-row";

  // ---- the socket: quiet errors, capped backoff ---------------------------------------------
  // The ws extension logs a socket error as the bare Event ("[object Event]"); the close that
  // always follows is reported once, in words, by the watchdog. Reconnects back off 1, 2, 4, 8,
  // then 15 s at most (the extension's default grows to a minute).
  htmx.createWebSocket = function (url) {
    var socket = new WebSocket(url, []);
    socket.binaryType = htmx.config.wsBinaryType || "blob";
    Object.defineProperty(socket, "onerror", { configurable: true, get: function () { return null; }, set: function () {} });
    return socket;
  };
  htmx.config.wsReconnectDelay = function (retry) {
    var cap = Math.min(15000, 1000 * Math.pow(2, Math.min(retry, 4)));
    C.reconnectDelay = cap / 2 + (Math.random() * cap) / 2;
    return C.reconnectDelay;
  };

  // After a reconnect the page asks for every fragment anew (what changed while it was away).
  var opened = new WeakSet();
  var socket = null;
  C.requestRefresh = function () {
    if (socket) socket.send(JSON.stringify({ refresh: true }));
  };
  document.addEventListener("htmx:wsOpen", function (evt) {
    socket = evt.detail.socketWrapper;
    if (opened.has(evt.target)) C.requestRefresh();
    opened.add(evt.target);
  });

  // ---- a row the user just expanded or collapsed keeps that state ------------------------------
  // The legs view answers with the server time it saved the choice (X-Rendered-At); a push rendered
  // before that moment still carries the old state of that row and must not undo the click.
  var toggledAt = {};
  var applying = null; // the message being applied: {renderedAt}
  document.addEventListener("htmx:afterRequest", function (evt) {
    var elt = evt.detail.elt;
    if (!elt || !elt.classList || !elt.classList.contains("expander")) return;
    var at = parseFloat(evt.detail.xhr.getResponseHeader("X-Rendered-At"));
    var row = elt.id.replace("expand-", "");
    if (at && row) toggledAt[row] = at;
  });

  Idiomorph.defaults.callbacks.beforeNodeMorphed = function (oldNode, newNode) {
    if (oldNode.nodeType !== 1 || !newNode.getAttribute) return true;
    // A time that names the same moment keeps its ticking text and local-zone rendering.
    if (oldNode.tagName === "TIME" && oldNode.getAttribute("datetime") === newNode.getAttribute("datetime")) return false;
    if (applying && applying.renderedAt && oldNode.tagName === "TBODY" && oldNode.dataset.group) {
      var at = toggledAt[oldNode.dataset.group];
      if (at && applying.renderedAt < at && oldNode.dataset.expanded !== newNode.getAttribute("data-expanded")) return false;
    }
    return true;
  };

  // ---- flashing what changed -------------------------------------------------------------------
  var reduceMotion = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  var observer = new MutationObserver(function () {});
  C.flashes = 0;

  function flashColor() {
    return getComputedStyle(document.documentElement).getPropertyValue("--flash").trim() || "rgba(90,169,255,.25)";
  }
  function quiet(el) {
    return !el || el.closest("time, #live-stamp, #live-beat, #conn-banner, .toasts");
  }
  function targetsOf(record) {
    if (record.type === "characterData") {
      var parent = record.target.parentElement;
      return quiet(parent) ? [] : [parent.closest(CELL) || parent];
    }
    var found = [];
    record.addedNodes.forEach(function (node) {
      var el = node.nodeType === 1 ? node : record.target;
      if (quiet(el)) return;
      var cell = el.closest(CELL) || (node.nodeType === 1 && node.matches(NEW_BLOCK) ? node : null);
      if (cell) found.push(cell);
    });
    return found;
  }
  function flash(records) {
    var seen = new Set();
    records.forEach(function (record) {
      targetsOf(record).forEach(function (el) { seen.add(el); });
    });
    if (!seen.size || reduceMotion) return;
    var color = flashColor();
    seen.forEach(function (el) {
      if (!el.isConnected || typeof el.animate !== "function") return;
      el.animate([{ backgroundColor: color }, { backgroundColor: "transparent" }], { duration: FLASH_MS, easing: "ease-out" });
      C.flashes += 1;
    });
  }

  // ---- applying messages -------------------------------------------------------------------------
  var queue = [];
  var pointerDown = false;
  var releaseTimer = null;
  window.consoleLatencies = [];

  function stampValue(html, name) {
    var match = new RegExp('id="live-stamp"[^>]*' + name + '="([0-9.]+)"').exec(html);
    return match ? parseFloat(match[1]) : null;
  }

  C.messages = 0; // messages applied so far (the browser tests wait for pushes with it)

  function apply(html) {
    C.messages += 1;
    var refresh = html.indexOf('data-refresh="1"') >= 0;
    // First the watchdog hears from the server (so a refresh ends "Connection lost" before the
    // fragments bring back the true badge and banner), then the fragments are morphed in.
    document.dispatchEvent(new CustomEvent("console:incoming", { detail: { refresh: refresh } }));
    applying = { renderedAt: stampValue(html, "data-rendered-at") };
    observer.takeRecords(); // clocks ticking since the last message are not changes
    try {
      htmx.swap(document.body, html, { swapStyle: "none" }); // the out-of-band fragments only
      flash(observer.takeRecords());
    } finally {
      applying = null;
    }
    var sentAt = stampValue(html, "data-sent-at");
    var latency = sentAt ? Date.now() - sentAt * 1000 : null;
    if (latency !== null) window.consoleLatencies.push(latency);
    document.dispatchEvent(new CustomEvent("console:message", {
      detail: { refresh: refresh, latency: latency }
    }));
  }

  function flush() {
    while (queue.length) apply(queue.shift());
  }

  document.addEventListener("htmx:wsBeforeMessage", function (evt) {
    evt.preventDefault(); // applied here, morphing, instead of the extension's outerHTML swaps
    queue.push(evt.detail.message);
    if (!pointerDown) flush();
  });

  function release() {
    if (!pointerDown) return;
    pointerDown = false;
    clearTimeout(releaseTimer);
    setTimeout(flush, 0); // after the click this pointer makes has been dispatched
  }
  document.addEventListener("pointerdown", function (evt) {
    if (evt.pointerType === "mouse" && evt.button !== 0) return;
    pointerDown = true;
    clearTimeout(releaseTimer);
    releaseTimer = setTimeout(release, DEFER_MAX_MS);
  }, true);
  document.addEventListener("pointerup", release, true);
  document.addEventListener("pointercancel", release, true);

  document.addEventListener("DOMContentLoaded", function () {
    observer.observe(document.body, { subtree: true, childList: true, characterData: true });
  });
})();
