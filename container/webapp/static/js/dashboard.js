// Activity dashboard: stacked bars per day by type, and check-ins per hour, on canvas.
(function () {
  "use strict";
  var root = document.getElementById("dashboard");
  if (!root) { return; }
  var COLORS = ["#0b6e4f", "#3c78d8", "#e69138", "#a64d79", "#6aa84f", "#cc0000", "#674ea7"];

  function axes(ctx, w, h, pad, max) {
    ctx.strokeStyle = "#d9dde5"; ctx.fillStyle = "#5d6677"; ctx.font = "12px system-ui, sans-serif";
    for (var i = 0; i <= 4; i++) {
      var y = h - pad - (h - 2 * pad) * i / 4;
      ctx.beginPath(); ctx.moveTo(pad, y); ctx.lineTo(w - 10, y); ctx.stroke();
      ctx.fillText(String(Math.round(max * i / 4)), 4, y + 4);
    }
  }

  function bars(canvas, labels, series) {
    var ctx = canvas.getContext("2d"), w = canvas.width, h = canvas.height, pad = 36;
    ctx.clearRect(0, 0, w, h);
    var names = Object.keys(series);
    var totals = labels.map(function (_, i) { return names.reduce(function (s, n) { return s + series[n][i]; }, 0); });
    var max = Math.max(4, Math.max.apply(null, totals.concat([0])));
    axes(ctx, w, h, pad, max);
    var slot = (w - pad - 10) / Math.max(1, labels.length), bw = slot * 0.7;
    labels.forEach(function (label, i) {
      var x = pad + i * slot + (slot - bw) / 2, base = h - pad;
      names.forEach(function (name, n) {
        var height = (h - 2 * pad) * series[name][i] / max;
        ctx.fillStyle = COLORS[n % COLORS.length];
        ctx.fillRect(x, base - height, bw, height);
        base -= height;
      });
      if (labels.length <= 16 || i % 2 === 0) {
        ctx.fillStyle = "#5d6677"; ctx.fillText(label.slice(5), x, h - pad + 16);
      }
    });
    names.forEach(function (name, n) {
      ctx.fillStyle = COLORS[n % COLORS.length];
      ctx.fillRect(pad + n * 120, 6, 10, 10);
      ctx.fillStyle = "#1d2330"; ctx.fillText(name.replace(/_/g, " "), pad + n * 120 + 14, 15);
    });
    if (!names.length) { ctx.fillStyle = "#5d6677"; ctx.fillText("No activity yet", w / 2 - 40, h / 2); }
  }

  Gatepass.getJson(root.getAttribute("data-source")).then(function (answer) {
    if (answer.status !== 200) { return; }
    var data = answer.body;
    bars(document.getElementById("chart-daily"), data.days, data.series);
    var hours = data.check_ins_by_hour.map(function (p) { return p.hour.slice(0, 13).replace("T", " ") + "h"; });
    var counts = { check_ins: data.check_ins_by_hour.map(function (p) { return p.count; }) };
    bars(document.getElementById("chart-checkins"), hours.map(function (h) { return "     " + h.slice(5); }), counts);
  });
})();
