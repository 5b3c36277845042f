// The queue page keeps itself current: it asks for the visitor's place every few seconds (the
// same URL, as JSON) and fills in the numbers; when the state changes (the draw happened, the
// visitor is let in, the turn passed) it reloads, so the server renders what to do next.
// Without scripts the page refreshes itself (a meta refresh in <noscript>) and has a link.
(function () {
  "use strict";
  var section = document.getElementById("queue-place");
  if (!section) { return; }
  var state = section.getAttribute("data-state");
  var url = section.getAttribute("data-status-url");
  var every = (parseInt(section.getAttribute("data-poll"), 10) || 5) * 1000;

  function put(id, value, fallback) {
    var node = document.getElementById(id);
    if (node) { node.textContent = value === null || value === undefined ? fallback : String(value); }
  }

  var left = document.getElementById("admission-left");
  if (left) {
    var seconds = parseInt(left.getAttribute("data-seconds"), 10) || 0;
    var timer = setInterval(function () {
      seconds = Math.max(0, seconds - 1);
      left.textContent = Math.floor(seconds / 60) + " min " + (seconds % 60) + " s";
      if (seconds === 0) { clearInterval(timer); window.location.reload(); }
    }, 1000);
  }

  if (state !== "before_draw" && state !== "waiting") { return; }

  function poll() {
    window.Gatepass.getJson(url).then(function (answer) {
      if (answer.status !== 200) { return; }
      var place = answer.body;
      if (place.state !== state) { window.location.reload(); return; }
      put("queue-position", place.position, "—");
      put("queue-ahead", place.ahead, "—");
      put("queue-estimate", place.estimate, "not known yet");
      // The API says when to ask again: sooner when the turn is near, later before the draw
      // (when it is due), never more often than 1 s nor less often than every 30 s.
      var asked = parseInt(place.poll_seconds, 10);
      if (asked > 0) { every = Math.min(asked, 30) * 1000; }
    }).catch(function () { /* the next poll tries again */ }).then(function () {
      setTimeout(poll, every);
    });
  }
  setTimeout(poll, every);
})();
