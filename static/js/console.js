/* TV Engine console: the little the server can't do. Loaded as files (the CSP forbids inline
   scripts): this one (CSRF, theme, times in the browser's zone, toasts), live.js (the socket's
   morphing updates), watchdog.js (connection and engine state) and logs.js (the log tail).
   They share window.TVConsole and talk through "console:*" events on document. */
(function () {
  "use strict";
  var C = (window.TVConsole = window.TVConsole || {});

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
  // Applied settings answer with HX-Trigger: {"uiChanged": {"theme": "light", "fontSize": "large"}}.
  document.addEventListener("uiChanged", function (evt) {
    if (evt.detail.theme) document.documentElement.setAttribute("data-theme", evt.detail.theme);
    if (evt.detail.fontSize) document.documentElement.setAttribute("data-font-size", evt.detail.fontSize);
  });

  // ---- times ----------------------------------------------------------------------------------
  // "12 s ago" and "4 min 10 s left" keep moving between pushes; moments show in the browser's
  // zone with the zone's name ("2026-01-05 13:04:10 CET"), UTC in their title.
  function human(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    if (seconds < 60) return seconds + " s";
    var minutes = Math.floor(seconds / 60);
    if (minutes < 60) return minutes + " min " + String(seconds % 60).padStart(2, "0") + " s";
    var hours = Math.floor(minutes / 60);
    if (hours < 48) return hours + " h " + String(minutes % 60).padStart(2, "0") + " min";
    return Math.floor(hours / 24) + " d " + (hours % 24) + " h";
  }
  C.human = human;

  // The user's locale names the zone ("CET", "GMT+1", "MEZ"); the digits are always ISO-ordered.
  var LOCAL = new Intl.DateTimeFormat(undefined, {
    year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
    second: "2-digit", hourCycle: "h23", timeZoneName: "short", numberingSystem: "latn"
  });
  C.timeZone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";

  function localStamp(date) {
    var p = {};
    LOCAL.formatToParts(date).forEach(function (part) { p[part.type] = part.value; });
    return p.year + "-" + p.month + "-" + p.day + " " + p.hour + ":" + p.minute + ":" + p.second + " " + p.timeZoneName;
  }
  C.zoneName = function () {
    var parts = LOCAL.formatToParts(new Date());
    for (var i = 0; i < parts.length; i++) if (parts[i].type === "timeZoneName") return parts[i].value;
    return "UTC";
  };

  function localizeTimes() {
    document.querySelectorAll("time[data-local]").forEach(function (el) {
      var text = localStamp(new Date(el.getAttribute("datetime")));
      if (el.textContent !== text) el.textContent = text;
    });
    var zone = C.zoneName();
    document.querySelectorAll("[data-tz-name]").forEach(function (el) {
      if (el.textContent !== zone) el.textContent = zone;
    });
    document.querySelectorAll("input[data-tz-input]").forEach(function (el) {
      if (!el.value) el.value = C.timeZone;
    });
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
  C.refreshTimes = function () { localizeTimes(); tickTimes(); };
  setInterval(tickTimes, 1000);
  document.addEventListener("DOMContentLoaded", C.refreshTimes);
  document.addEventListener("htmx:afterSettle", C.refreshTimes);
  document.addEventListener("console:message", C.refreshTimes);

  // ---- toasts ---------------------------------------------------------------------------------
  function toastBox() {
    var box = document.getElementById("toasts");
    if (!box) {
      box = document.createElement("div");
      box.id = "toasts";
      box.className = "toasts";
      document.body.appendChild(box);
    }
    return box;
  }
  C.toast = function (message, kind) {
    var toast = document.createElement("div");
    toast.className = "toast toast-" + (kind || "error");
    toast.setAttribute("role", "alert");
    toast.setAttribute("data-testid", "toast");
    toast.textContent = message;
    toastBox().appendChild(toast);
    setTimeout(function () { toast.remove(); }, 8000);
  };

  // A refused action (403 for a read-only operator, 409 already closed, …) says so.
  document.addEventListener("htmx:responseError", function (evt) {
    var xhr = evt.detail.xhr;
    var message = xhr.status === 403 ? "Not allowed: read-only role" : "Request failed (" + xhr.status + ")";
    if (xhr.responseText && xhr.responseText.length < 200 && xhr.status !== 403) message += ": " + xhr.responseText;
    C.toast(message);
  });
  document.addEventListener("htmx:sendError", function () {
    C.toast("The server did not answer: nothing was sent. Try again once the connection is back.");
  });

  // A command of yours the engine refused (e.g. a Force add it could not open) is explained in a
  // toast once, not only as a red chip in the footer.
  var TOASTED = "console.toastedCommands";
  function toasted() {
    try { return JSON.parse(sessionStorage.getItem(TOASTED) || "[]"); } catch (e) { return []; }
  }
  function checkCommands() {
    var done = toasted();
    document.querySelectorAll("#my-commands [data-command][data-status=failed]").forEach(function (el) {
      var id = el.getAttribute("data-command");
      if (done.indexOf(id) >= 0) return;
      done.push(id);
      var what = (el.getAttribute("data-kind") || "command").replace(/_/g, " ").replace("queue ", "");
      var why = el.getAttribute("data-result") || "no reason given";
      C.toast("#" + id + " " + what + " failed: " + why);
    });
    try { sessionStorage.setItem(TOASTED, JSON.stringify(done.slice(-50))); } catch (e) { /* private mode */ }
  }
  document.addEventListener("DOMContentLoaded", checkCommands);
  document.addEventListener("htmx:afterSettle", checkCommands);
  document.addEventListener("console:message", checkCommands);
})();
