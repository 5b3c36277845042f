// Shared helpers: times in the viewer's own zone, and fetch (a posted form carries its own
// CSRF token field, sent as the X-CSRF-Token header too).
(function () {
  "use strict";
  var format = new Intl.DateTimeFormat(undefined, {
    weekday: "short", year: "numeric", month: "short", day: "numeric",
    hour: "2-digit", minute: "2-digit", timeZoneName: "short"
  });

  function localTimes(root) {
    (root || document).querySelectorAll("time[data-local]").forEach(function (node) {
      var moment = new Date(node.getAttribute("datetime"));
      if (!isNaN(moment.getTime())) { node.textContent = format.format(moment); }
    });
  }

  function csrfToken(form) {
    var field = form && form.querySelector('input[name="csrf_token"]');
    return field ? field.value : "";
  }

  function getJson(url) {
    return fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        return response.json().then(function (body) { return { status: response.status, body: body }; });
      });
  }

  function postForm(url, form) {
    return fetch(url, {
      method: "POST",
      body: new FormData(form),
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRF-Token": csrfToken(form) }
    }).then(function (response) {
      return response.json().then(function (body) { return { status: response.status, body: body }; });
    });
  }

  window.Gatepass = { localTimes: localTimes, csrfToken: csrfToken, getJson: getJson, postForm: postForm, format: format };
  document.addEventListener("DOMContentLoaded", function () { localTimes(document); });
})();
