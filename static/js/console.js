/* TV Engine console: the little the server can't do. Loaded as a file (the CSP forbids inline
   scripts). CSRF header on every htmx request, theme switch, ticking times, log auto-scroll,
   live-connection state and the push latency (engine publish → DOM updated). */
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  document.addEventListener("htmx:configRequest", function (evt) {
    evt.detail.headers["X-CSRFToken"] = csrfToken();
  });

  // The theme endpoint answers with HX-Trigger: {"themeChanged": {"value": "light"}}.
  document.addEventListener("themeChanged", function (evt) {
    document.documentElement.setAttribute("data-theme", evt.detail.value);
  });

  // "12 s ago" and "4 min 10 s left" keep moving between pushes.
  function human(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    if (seconds < 60) return seconds + " s";
    var minutes = Math.floor(seconds / 60);
    if (minutes < 60) return minutes + " min " + String(seconds % 60).padStart(2, "0") + " s";
    var hours = Math.floor(minutes / 60);
    if (hours < 48) return hours + " h " + String(minutes % 60).padStart(2, "0") + " min";
    return Math.floor(hours / 24) + " d " + (hours % 24) + " h";
  }
  function tickTimes() {
    var now = Date.now();
    document.querySelectorAll("time[data-ago]").forEach(function (el) {
      el.textContent = human((now - Date.parse(el.getAttribute("datetime"))) / 1000) + " ago";
    });
    document.querySelectorAll("time[data-countdown]").forEach(function (el) {
      var left = (Date.parse(el.getAttribute("datetime")) - now) / 1000;
      el.textContent = left > 0 ? human(left) + " left" : "elapsed";
      el.classList.toggle("warn-text", left > 0 && left < 300);
    });
  }
  setInterval(tickTimes, 1000);

  // Log page: new rows arrive at the bottom; follow them while auto-scroll is on.
  function followLog() {
    var box = document.getElementById("log-scroll");
    var toggle = document.getElementById("autoscroll");
    if (!box) return;
    var rows = document.getElementById("event-rows");
    while (rows && rows.children.length > 1000) rows.removeChild(rows.firstElementChild);
    if (toggle && toggle.checked) box.scrollTop = box.scrollHeight;
  }
  document.addEventListener("DOMContentLoaded", followLog);
  document.addEventListener("htmx:afterSettle", followLog);

  // Live connection state and push latency.
  window.consoleLatencies = [];
  function setLive(state, text) {
    var el = document.getElementById("live-status");
    if (!el) return;
    el.setAttribute("data-state", state);
    el.querySelector(".text").textContent = text;
  }
  document.addEventListener("htmx:wsOpen", function () { setLive("open", "live"); });
  document.addEventListener("htmx:wsClose", function () { setLive("closed", "reconnecting…"); });
  document.addEventListener("htmx:wsAfterMessage", function () {
    var stamp = document.getElementById("live-stamp");
    var sentAt = stamp && parseFloat(stamp.getAttribute("data-sent-at"));
    followLog();
    tickTimes();
    if (!sentAt) return;
    var ms = Date.now() - sentAt * 1000;
    window.consoleLatencies.push(ms);
    setLive("open", "live · last push " + Math.round(ms) + " ms");
  });
  document.addEventListener("htmx:oobAfterSwap", function (evt) {
    var el = evt.detail.target;
    if (el && el.id && el.id !== "live-stamp" && el.id !== "my-commands") {
      el.classList.remove("flash");
      void el.offsetWidth;
      el.classList.add("flash");
    }
  });

  // A refused action (403 for a read-only operator, 409 already closed, …) says so.
  document.addEventListener("htmx:responseError", function (evt) {
    var xhr = evt.detail.xhr;
    var message = xhr.status === 403 ? "Not allowed: read-only role" : "Request failed (" + xhr.status + ")";
    if (xhr.responseText && xhr.responseText.length < 200 && xhr.status !== 403) message += ": " + xhr.responseText;
    var toast = document.createElement("div");
    toast.className = "toast";
    toast.setAttribute("role", "alert");
    toast.textContent = message;
    document.body.appendChild(toast);
    setTimeout(function () { toast.remove(); }, 4000);
  });
})();
