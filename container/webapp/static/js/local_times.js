// datetime-local fields of forms marked data-local-times: shown in the browser's own zone (the
// server gives UTC in data-utc), and sent with that zone's offset for the chosen date in
// <name>_offset, so the server stores the moment the organizer meant.
(function () {
  "use strict";
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function localValue(moment, seconds) {
    return moment.getFullYear() + "-" + pad(moment.getMonth() + 1) + "-" + pad(moment.getDate()) +
      "T" + pad(moment.getHours()) + ":" + pad(moment.getMinutes()) +
      (seconds ? ":" + pad(moment.getSeconds()) : "");
  }
  document.querySelectorAll("form[data-local-times]").forEach(function (form) {
    var inputs = form.querySelectorAll('input[type="datetime-local"]');
    inputs.forEach(function (input) {
      var utc = input.getAttribute("data-utc");
      if (utc) {
        var moment = new Date(utc);
        if (!isNaN(moment.getTime())) { input.value = localValue(moment, input.step === "1"); }
      }
    });
    form.addEventListener("submit", function () {
      inputs.forEach(function (input) {
        var offset = document.getElementById(input.id + "_offset");
        if (!offset) { return; }
        var chosen = input.value ? new Date(input.value) : null;
        offset.value = chosen && !isNaN(chosen.getTime()) ? String(-chosen.getTimezoneOffset()) : "0";
      });
    });
  });
})();
