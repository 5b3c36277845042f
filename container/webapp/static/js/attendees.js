// Attendee list with live counts: re-read the read model every few seconds.
(function () {
  "use strict";
  var root = document.getElementById("attendees");
  if (!root) { return; }
  var source = root.getAttribute("data-source");
  var rows = document.getElementById("attendee-rows");

  function cell(text, node) { var td = document.createElement("td"); if (node) { td.appendChild(node); } else { td.textContent = text; } return td; }
  function when(iso) {
    var t = document.createElement("time");
    t.setAttribute("datetime", iso); t.setAttribute("data-local", "");
    t.textContent = Gatepass.format.format(new Date(iso));
    return t;
  }

  function render(data) {
    document.getElementById("count-checked-in").textContent = data.checked_in;
    document.getElementById("count-sold").textContent = data.sold;
    document.getElementById("count-capacity").textContent = data.capacity;
    rows.textContent = "";
    if (!data.attendees.length) {
      var tr = document.createElement("tr"); var td = cell("No tickets taken yet."); td.colSpan = 3; tr.appendChild(td); rows.appendChild(tr); return;
    }
    data.attendees.forEach(function (a) {
      var tr = document.createElement("tr");
      tr.appendChild(cell(a.holder));
      tr.appendChild(a.issued_at ? cell("", when(a.issued_at)) : cell(""));
      if (a.status === "checked_in") {
        var span = document.createElement("span");
        span.textContent = "Checked in ";
        if (a.checked_in_at) { span.appendChild(when(a.checked_in_at)); }
        tr.appendChild(cell("", span));
      } else { tr.appendChild(cell("Not yet")); }
      rows.appendChild(tr);
    });
  }

  function refresh() {
    if (document.hidden) { return; }
    Gatepass.getJson(source).then(function (answer) { if (answer.status === 200) { render(answer.body); } }).catch(function () {});
  }
  setInterval(refresh, 5000);
})();
