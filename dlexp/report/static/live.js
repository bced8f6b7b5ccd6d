/* dlexp serve: keeps the page up to date while runs go. Asks the server for the rows
   (api/rows, dlexp.report.serve) every 2 s and, when they changed, hands them to
   window.dlexpExplore.update, which redraws keeping the sort, filter, brushes and open
   detail. A badge in the corner says "live" and when the rows last changed. A reply
   that is not the rows (an error, broken JSON) keeps the rows shown and asks again; a
   server that no longer answers ends the asking: the badge says "server stopped". */
(function () {
  "use strict";
  var EVERY_MS = 2000;
  var GONE_AFTER = 2; // failed connections in a row: the server has stopped
  var etag = null, last = null, changed = null, gone = 0, badge = null;

  function clock(date) { return date.toTimeString().slice(0, 8); }

  function show(text, state, title) {
    if (!badge) {
      badge = document.createElement("div");
      badge.id = "dlexp-live";
      badge.setAttribute("role", "status");
      var s = badge.style;
      s.position = "fixed"; s.top = "8px"; s.right = "8px"; s.zIndex = "1000";
      s.padding = "3px 9px"; s.borderRadius = "10px"; s.font = "12px system-ui, sans-serif";
      s.boxShadow = "0 1px 3px rgba(0,0,0,.25)";
      document.body.appendChild(badge);
    }
    var colours = {live: ["#e6f4ea", "#137333"], stale: ["#fef7e0", "#8a5a00"], stopped: ["#eee", "#555"]};
    badge.style.background = colours[state][0];
    badge.style.color = colours[state][1];
    badge.dataset.state = state;
    badge.textContent = text;
    badge.title = title || "";
  }

  function live() {
    show("\u25cf live" + (changed ? " \u00b7 updated " + clock(changed) : ""), "live",
         "asks the server for the rows every " + EVERY_MS / 1000 + " s; last asked " + clock(new Date()));
  }

  function apply(text, tag) {
    if (text === last) return;
    var data = JSON.parse(text); // broken JSON throws: the rows shown are kept
    if (!data || !Array.isArray(data.rows)) throw new Error("the reply has no rows");
    if (window.dlexpExplore) window.dlexpExplore.update(data);
    last = text; etag = tag; changed = new Date();
  }

  function poll() {
    var headers = etag ? {"If-None-Match": etag} : {};
    fetch("api/rows", {cache: "no-store", headers: headers}).then(function (reply) {
      gone = 0;
      if (reply.status === 304) return null;
      if (!reply.ok) throw new Error("the server answered " + reply.status);
      var tag = reply.headers.get("ETag");
      return reply.text().then(function (text) { apply(text, tag); });
    }, function (error) {
      error.unreachable = true;
      throw error;
    }).then(function () {
      live();
      setTimeout(poll, EVERY_MS);
    }, function (error) {
      if (error && error.unreachable && ++gone >= GONE_AFTER) {
        show("server stopped" + (changed ? " \u00b7 rows of " + clock(changed) : ""), "stopped",
             "dlexp serve no longer answers: start it again and reload to follow the runs");
        return; // stop asking
      }
      show("\u25cf live \u00b7 update failed, rows of " + clock(changed || new Date()), "stale",
           String(error && error.message || error));
      setTimeout(poll, EVERY_MS);
    });
  }

  // the first ask waits one interval: the page has just drawn data.js, and the server's
  // reading of the runs would compete with that drawing for the machine's cores
  function start() { live(); setTimeout(poll, EVERY_MS); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
