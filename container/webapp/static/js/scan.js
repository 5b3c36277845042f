// Scanner: the camera with BarcodeDetector where the browser has it; typed entry always works.
(function () {
  "use strict";
  var root = document.getElementById("scanner");
  if (!root) { return; }
  var form = document.getElementById("typed-entry");
  var input = document.getElementById("code");
  var result = document.getElementById("scan-result");
  var busy = false;
  var lastCode = "";
  var lastAt = 0;

  function show(ok, text) {
    result.textContent = "";
    var p = document.createElement("p");
    p.className = "flash " + (ok ? "success" : "error");
    p.textContent = text;
    result.appendChild(p);
  }

  function checkIn(code) {
    if (busy) { return; }
    busy = true;
    input.value = code;
    Gatepass.postForm(form.action, form).then(function (answer) {
      var body = answer.body;
      if (answer.status === 200) {
        show(true, "Checked in: " + body.holder);
      } else if (body.error && body.error.code === "already_checked_in") {
        var first = body.error.first_checked_in_at ? Gatepass.format.format(new Date(body.error.first_checked_in_at)) : "earlier";
        show(false, "Already checked in (" + first + ").");
      } else {
        show(false, (body.error && body.error.message) || "This code was not accepted.");
      }
    }).catch(function () { show(false, "No connection. Try again."); })
      .finally(function () { busy = false; input.value = ""; input.focus(); });
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    if (input.value.trim()) { checkIn(input.value.trim()); }
  });

  if (!("BarcodeDetector" in window) || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) { return; }
  window.BarcodeDetector.getSupportedFormats().then(function (formats) {
    if (formats.indexOf("qr_code") < 0) { return; }
    var detector = new window.BarcodeDetector({ formats: ["qr_code"] });
    var video = document.getElementById("camera-view");
    return navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } }).then(function (stream) {
      video.srcObject = stream;
      return video.play().then(function () {
        document.getElementById("camera").hidden = false;
        document.getElementById("camera-note").hidden = true;
        function tick() {
          detector.detect(video).then(function (codes) {
            var now = Date.now();
            if (codes.length) {
              var value = codes[0].rawValue;
              // The same ticket held in front of the camera is checked once, not every frame.
              if (value !== lastCode || now - lastAt > 4000) { lastCode = value; lastAt = now; checkIn(value); }
            }
          }).catch(function () {}).finally(function () { setTimeout(tick, 250); });
        }
        tick();
      });
    });
  }).catch(function () { /* no camera or permission refused: typed entry remains */ });
})();
