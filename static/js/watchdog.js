/* Is what the page shows still true? The socket beats every 2 s with the engine's state. When the
   socket closes, or no message came for SILENT_MS, the page says "Connection lost": the engine badge
   and banner turn red, the figures grey out with their age, and action buttons are disabled until
   the connection is back and the page has been refreshed. With the web up and the engine dead, the
   server's own renders (banner, badge, risk badge, Pause) and this banner say so. */
(function () {
  "use strict";
  var C = (window.TVConsole = window.TVConsole || {});
  var SILENT_MS = 10000; // five missed beats
  var CONNECT_MS = 15000; // a first connection slower than this counts as lost too
  var REFRESH_RETRY_MS = 8000;

  var state = {
    elt: null, // the page's ws-connect element
    socket: "connecting", // connecting | open | closed
    loadedAt: Date.now(),
    lastMessageAt: Date.now(),
    freshAt: Date.now(), // when the figures on the page were last known true
    awaitingRefresh: false,
    lost: false
  };
  C.watchdog = state;

  function socketElt() {
    return document.getElementById("live");
  }
  function isCurrent(evt) {
    return evt.target === socketElt();
  }

  function setLive(kind, text) {
    var el = document.getElementById("live-status");
    if (!el) return;
    el.setAttribute("data-state", kind);
    var span = el.querySelector(".text");
    if (span.textContent !== text) span.textContent = text;
  }

  document.addEventListener("htmx:wsConnecting", function (evt) {
    if (!isCurrent(evt)) return;
    if (evt.target !== state.elt) {
      // A new page (hx-boost swapped the body): its figures are fresh, its socket is new.
      state.elt = evt.target;
      state.socket = "connecting";
      state.loadedAt = state.lastMessageAt = state.freshAt = Date.now();
      state.awaitingRefresh = false;
      if (state.lost) {
        state.lost = false;
        markBack();
      }
      return;
    }
    if (state.socket !== "closed") state.socket = "connecting";
  });
  document.addEventListener("htmx:wsOpen", function (evt) {
    if (!isCurrent(evt)) return;
    var wasLost = state.lost || state.socket === "closed";
    state.socket = "open";
    state.lastMessageAt = Date.now();
    state.awaitingRefresh = wasLost; // live.js asked for every fragment; stale until it arrives
    state.openedAt = Date.now();
    if (wasLost) console.info("console: live updates reconnected, refreshing the page's figures");
    evaluate();
  });
  document.addEventListener("htmx:wsClose", function (evt) {
    if (!isCurrent(evt)) return;
    if (state.socket !== "closed") {
      var code = evt.detail && evt.detail.event ? evt.detail.event.code : "?";
      var retry = C.reconnectDelay ? ", retrying in " + (C.reconnectDelay / 1000).toFixed(1) + " s" : "";
      console.warn("console: live updates lost (socket closed, code " + code + ")" + retry);
    }
    state.socket = "closed";
    evaluate();
  });
  document.addEventListener("console:incoming", function (evt) {
    state.lastMessageAt = Date.now();
    if (evt.detail.refresh) state.awaitingRefresh = false;
    if (!state.awaitingRefresh) state.freshAt = Date.now();
    evaluate();
  });
  document.addEventListener("console:message", function (evt) {
    evaluate();
    if (evt.detail.latency !== null) setLive("open", "live · last push " + Math.round(evt.detail.latency) + " ms");
  });

  // ---- what the page shows -------------------------------------------------------------------
  function engineState() {
    var beat = document.getElementById("live-beat");
    var badge = document.getElementById("engine-badge");
    return (beat && beat.getAttribute("data-engine")) || (badge && badge.getAttribute("data-engine")) || "running";
  }
  function heartbeatAge() {
    var badge = document.getElementById("engine-badge");
    var at = badge && Date.parse(badge.getAttribute("data-heartbeat") || "");
    return at ? C.human((Date.now() - at) / 1000) + " ago" : "never";
  }

  function setBanner(kind, title, detail) {
    var banner = document.getElementById("conn-banner");
    if (!banner) return;
    if (!kind) {
      if (!banner.hidden) banner.hidden = true;
      return;
    }
    banner.hidden = false;
    banner.setAttribute("data-kind", kind);
    var t = banner.querySelector(".conn-title");
    var d = banner.querySelector(".conn-detail");
    if (t.textContent !== title) t.textContent = title;
    if (d.textContent !== detail) d.textContent = detail;
  }

  function markLost() {
    document.body.classList.add("is-stale");
    var badge = document.getElementById("engine-badge");
    if (badge) {
      badge.classList.add("state-lost");
      var text = badge.querySelector(".badge-text");
      if (text) text.textContent = "Connection lost";
    }
    document.querySelectorAll(".engine-banner").forEach(function (el) {
      el.classList.add("state-lost");
      var text = el.querySelector(".banner-text");
      if (text) text.textContent = "Connection lost";
    });
    // Every action (never the theme switch or sign-out): nothing sent into a dead connection.
    document.querySelectorAll("button[hx-post]:not([disabled])").forEach(function (button) {
      button.disabled = true;
      button.setAttribute("data-offline", "");
    });
  }
  function markBack() {
    document.body.classList.remove("is-stale");
    document.querySelectorAll("button[data-offline]").forEach(function (button) {
      button.disabled = false;
      button.removeAttribute("data-offline");
    });
    // Badge and banner texts come back with the refresh's fragments (the server's truth).
  }

  function evaluate() {
    var now = Date.now();
    var silent = state.socket === "open" && now - state.lastMessageAt > SILENT_MS;
    var neverConnected = state.socket === "connecting" && now - state.loadedAt > CONNECT_MS;
    var lost = state.socket === "closed" || silent || neverConnected || (state.lost && state.awaitingRefresh);
    if (lost !== state.lost) {
      state.lost = lost;
      if (lost) markLost();
      else markBack();
    }
    if (lost) {
      if (state.socket === "open" && state.awaitingRefresh && now - state.openedAt > REFRESH_RETRY_MS) {
        state.openedAt = now; // the refresh answer went missing: ask again
        C.requestRefresh();
      }
      markLost(); // again: a push while refreshing may have brought new buttons
      var age = C.human((now - state.freshAt) / 1000);
      var why = state.socket === "open" && !silent ? "Reconnected, refreshing…" : "Reconnecting…";
      setBanner("lost", "Connection lost", why + " Figures below are from " + age + " ago; actions are off until the connection is back.");
      setLive("closed", state.socket === "open" ? "refreshing…" : "reconnecting…");
      return;
    }
    var engine = engineState();
    if (engine === "unresponsive" || engine === "stopped") {
      var title = engine === "stopped" ? "Engine stopped" : "Engine not responding";
      setBanner("engine", title, "Last heartbeat " + heartbeatAge() + ". Nothing is traded; commands wait until the engine is back.");
    } else {
      setBanner(null);
    }
    if (state.socket === "open" && document.getElementById("live-status").getAttribute("data-state") !== "open") setLive("open", "live");
  }
  C.evaluate = evaluate;
  setInterval(evaluate, 1000);
  document.addEventListener("DOMContentLoaded", evaluate);
  document.addEventListener("htmx:afterSettle", evaluate);
})();
