// Attendee page: the counts (totals and per ticket type) re-read from the read model every few
// seconds; the list itself is read when the page loads (it can hold thousands of rows).
(function () {
  "use strict";
  var root = document.getElementById("attendees");
  if (!root) { return; }
  var source = root.getAttribute("data-source");

  function render(data) {
    document.getElementById("count-checked-in").textContent = data.checked_in;
    document.getElementById("count-sold").textContent = data.sold;
    document.getElementById("count-capacity").textContent = data.capacity;
    data.ticket_types.forEach(function (kind) {
      var row = root.querySelector('tr[data-type="' + kind.ticket_type_id + '"]');
      if (!row) { return; }
      ["sold", "left", "checked_in", "waiting"].forEach(function (name) {
        var cell = row.querySelector('[data-count="' + name + '"]');
        if (cell && kind[name] !== null && kind[name] !== undefined) { cell.textContent = kind[name]; }
      });
    });
  }

  function refresh() {
    if (document.hidden) { return; }
    Gatepass.getJson(source).then(function (answer) { if (answer.status === 200) { render(answer.body); } }).catch(function () {});
  }
  setInterval(refresh, 5000);
})();

// The door's totals (exact, from the API) refresh on their own.
(function () {
  "use strict";
  var box = document.querySelector(".door-counts[data-source]");
  if (!box) { return; }
  setInterval(function () {
    if (document.hidden) { return; }
    Gatepass.getJson(box.getAttribute("data-source")).then(function (answer) {
      if (answer.status !== 200) { return; }
      ["inside", "arrived", "left"].forEach(function (name) {
        var node = box.querySelector('[data-count="' + name + '"]');
        if (node) { node.textContent = answer.body.totals[name]; }
      });
    }).catch(function () {});
  }, 5000);
})();
