/* The log page's live tail: new rows arrive at the bottom and the view follows them while
   auto-scroll is on. Scrolling up turns it off (reading older rows is never yanked away) and shows
   "Jump to latest"; scrolling back to the bottom, or that button, turns it on again. */
(function () {
  "use strict";
  var MAX_ROWS = 1000;
  var NEAR_BOTTOM_PX = 40;
  var ours = false; // the next scroll event is our own

  function parts() {
    return {
      box: document.getElementById("log-scroll"),
      rows: document.getElementById("event-rows"),
      toggle: document.getElementById("autoscroll"),
      jump: document.getElementById("jump-latest")
    };
  }

  function atBottom(box) {
    return box.scrollHeight - box.scrollTop - box.clientHeight <= NEAR_BOTTOM_PX;
  }

  function toBottom(box) {
    var target = box.scrollHeight - box.clientHeight;
    if (Math.abs(box.scrollTop - target) < 1) return; // no scroll event will follow
    ours = true;
    box.scrollTop = target;
  }

  function tidy(rows) {
    // A reconnect's refresh may resend rows the page already has.
    var seen = new Set();
    Array.prototype.slice.call(rows.children).forEach(function (row) {
      var id = row.getAttribute("data-id");
      if (id && seen.has(id)) row.remove();
      else if (id) seen.add(id);
    });
    while (rows.children.length > MAX_ROWS) rows.removeChild(rows.firstElementChild);
  }

  function follow() {
    var p = parts();
    if (!p.box || !p.rows) return;
    tidy(p.rows);
    if (p.toggle && p.toggle.checked) toBottom(p.box);
    else if (p.jump && !atBottom(p.box)) p.jump.hidden = false;
  }

  function setFollowing(on) {
    var p = parts();
    if (p.toggle) p.toggle.checked = on;
    if (p.jump) p.jump.hidden = on || atBottom(p.box);
  }

  document.addEventListener("scroll", function (evt) {
    if (evt.target.id !== "log-scroll") return;
    if (ours) {
      ours = false;
      return;
    }
    setFollowing(atBottom(evt.target));
  }, true);

  document.addEventListener("click", function (evt) {
    var jump = evt.target.closest && evt.target.closest("#jump-latest");
    if (!jump) return;
    setFollowing(true);
    toBottom(parts().box);
  });

  document.addEventListener("change", function (evt) {
    if (evt.target.id !== "autoscroll") return;
    setFollowing(evt.target.checked);
    if (evt.target.checked) toBottom(parts().box);
  });

  document.addEventListener("DOMContentLoaded", follow);
  document.addEventListener("htmx:afterSettle", follow);
  document.addEventListener("console:message", follow);
})();
