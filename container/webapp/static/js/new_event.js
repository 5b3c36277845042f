// New event: create it through the site, then upload the image straight to S3 with the
// pre-signed POST (showing progress) and poll until the processed image is ready.
(function () {
  "use strict";
  var form = document.getElementById("new-event");
  if (!form) { return; }
  var fileInput = document.getElementById("image");
  var startsAt = document.getElementById("starts_at");
  var offset = document.getElementById("tz_offset");
  var box = document.getElementById("upload-status");
  var message = document.getElementById("upload-message");
  var progress = document.getElementById("upload-progress");
  var preview = document.getElementById("upload-preview");
  var link = document.getElementById("upload-event-link");
  var MAX_BYTES = 5 * 1024 * 1024;

  function updateOffset() {
    // The offset of the chosen date, not today's: daylight saving may differ.
    var chosen = startsAt.value ? new Date(startsAt.value) : new Date();
    offset.value = String(-chosen.getTimezoneOffset());
  }
  startsAt.addEventListener("change", updateOffset);
  updateOffset();

  function say(text) { message.textContent = text; }

  function upload(upload, file) {
    return new Promise(function (resolve, reject) {
      var data = new FormData();
      Object.keys(upload.fields).forEach(function (name) { data.append(name, upload.fields[name]); });
      data.append("file", file);
      var xhr = new XMLHttpRequest();
      xhr.open("POST", upload.url);
      xhr.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable) { progress.value = Math.round(100 * e.loaded / e.total); }
      });
      xhr.onload = function () { (xhr.status >= 200 && xhr.status < 300) ? resolve() : reject(new Error("The upload was refused (" + xhr.status + ").")); };
      xhr.onerror = function () { reject(new Error("The upload failed. Check your connection.")); };
      xhr.send(data);
    });
  }

  function poll(statusUrl, attempt) {
    return Gatepass.getJson(statusUrl).then(function (answer) {
      var event = answer.status === 200 ? answer.body : null;
      if (event && event.image_status === "ready" && event.image) {
        preview.src = event.image.display_url;
        preview.hidden = false;
        say("Your event is published with its image.");
        return;
      }
      if (event && event.image_status === "rejected") {
        say("The image was rejected: " + (event.image_reason || "unknown reason") + ". The event is published without it.");
        return;
      }
      if (attempt > 60) { say("The image is still being processed; it will appear on the event page."); return; }
      say("Processing the image…");
      return new Promise(function (r) { setTimeout(r, 2000); }).then(function () { return poll(statusUrl, attempt + 1); });
    });
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    updateOffset();
    var file = fileInput.files && fileInput.files[0];
    if (file && file.size > MAX_BYTES) { alert("The image is larger than 5 MB."); return; }
    document.getElementById("image_content_type").value = file ? file.type : "";
    document.getElementById("image_size").value = file ? String(file.size) : "";
    box.hidden = false;
    progress.value = 0;
    say("Creating the event…");
    form.querySelector("button[type=submit]").disabled = true;
    Gatepass.postForm(form.action, form).then(function (answer) {
      if (answer.status !== 201) {
        throw new Error((answer.body.error && answer.body.error.message) || "The event could not be created.");
      }
      link.href = answer.body.event_url;
      link.hidden = false;
      if (!answer.body.upload || !file) { progress.value = 100; say("Your event is published."); return; }
      say("Uploading the image…");
      return upload(answer.body.upload, file).then(function () {
        progress.value = 100;
        return poll(answer.body.status_url, 0);
      });
    }).catch(function (error) {
      say(error.message);
      form.querySelector("button[type=submit]").disabled = false;
    });
  });
})();
