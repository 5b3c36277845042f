// The door scanner (docs/decisions/0061 to 0063). Judges ticket codes with the event's signed
// bundle when there is no network, asks the server when there is, and queues what it admitted
// offline in IndexedDB until a sync records each scan once (a nonce per scan).
(function () {
  "use strict";
  var root = document.getElementById("door-scanner");
  if (!root) { return; }

  var EVENT_ID = root.dataset.eventId;
  var PINNED_KEY_ID = root.dataset.bundleKeyId;
  var PINNED_KEY = root.dataset.bundleKey;
  var SYNC_BATCH = 100;

  var el = function (id) { return document.getElementById(id); };
  var form = el("scan-form");
  var input = el("scan-code");
  var gateSelect = el("gate");

  var state = {
    content: null,        // the verified bundle
    keys: {},             // key id -> CryptoKey
    tickets: {},          // ticket id -> bundle ticket
    revoked: {},          // ticket id -> revocation
    presence: {},         // ticket id -> "inside" | "left" (this scanner's view)
    types: {},            // ticket type id -> type
    gates: {},            // gate id -> gate
    queued: 0,
    busy: false,
    syncing: false
  };

  // ------------------------------------------------------------------ encodings

  var B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

  function base32Decode(text) {
    var bits = 0, value = 0, out = [];
    for (var i = 0; i < text.length; i++) {
      var index = B32.indexOf(text[i]);
      if (index < 0) { return null; }
      value = (value << 5) | index;
      bits += 5;
      if (bits >= 8) { out.push((value >>> (bits - 8)) & 255); bits -= 8; }
    }
    return new Uint8Array(out);
  }

  function base32Encode(bytes) {
    var bits = 0, value = 0, out = "";
    for (var i = 0; i < bytes.length; i++) {
      value = (value << 8) | bytes[i];
      bits += 8;
      while (bits >= 5) { out += B32[(value >>> (bits - 5)) & 31]; bits -= 5; }
    }
    if (bits > 0) { out += B32[(value << (5 - bits)) & 31]; }
    return out;
  }

  function b64urlDecode(text) {
    var b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) { b64 += "="; }
    var raw = atob(b64), out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) { out[i] = raw.charCodeAt(i); }
    return out;
  }

  function nonce() {
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return base32Encode(bytes).toLowerCase();
  }

  // ------------------------------------------------------------------ ticket codes

  // Version 1: version, event id, ticket id, signature (85 bytes, 136 characters), signed by the
  // event's key "v1". Version 2 (ADR 0064) names its key: version, event id, ticket id, key id
  // (5 bytes), signature (90 bytes, 144 characters).
  var LAYOUTS = { 1: { bytes: 85, payload: 21 }, 2: { bytes: 90, payload: 26 } };

  function parseCode(text) {
    var normal = text.replace(/[\s-]/g, "").toUpperCase();
    var raw = base32Decode(normal);
    var layout = raw && LAYOUTS[raw[0]];
    if (!layout || normal.length !== Math.ceil(layout.bytes * 8 / 5) || raw.length < layout.bytes) { return null; }
    return {
      text: normal,
      keyId: raw[0] === 1 ? "v1" : base32Encode(raw.slice(21, 26)).toLowerCase(),
      eventId: base32Encode(raw.slice(1, 11)).toLowerCase(),
      ticketId: base32Encode(raw.slice(11, 21)).toLowerCase(),
      payload: raw.slice(0, layout.payload),
      signature: raw.slice(layout.payload, layout.bytes)
    };
  }

  function importKey(b64url) {
    return crypto.subtle.importKey("raw", b64urlDecode(b64url), { name: "Ed25519" }, false, ["verify"]);
  }

  // ------------------------------------------------------------------ storage

  var dbPromise = null;

  function db() {
    if (!dbPromise) {
      dbPromise = new Promise(function (resolve, reject) {
        var open = indexedDB.open("gatepass-door", 1);
        open.onupgradeneeded = function () {
          var d = open.result;
          d.createObjectStore("bundles", { keyPath: "event_id" });
          var queue = d.createObjectStore("queue", { keyPath: "nonce" });
          queue.createIndex("event_id", "event_id");
        };
        open.onsuccess = function () { resolve(open.result); };
        open.onerror = function () { reject(open.error); };
      });
    }
    return dbPromise;
  }

  function tx(store, mode, work) {
    return db().then(function (d) {
      return new Promise(function (resolve, reject) {
        var t = d.transaction(store, mode);
        var result = work(t.objectStore(store));
        t.oncomplete = function () { resolve(result && "result" in result ? result.result : result); };
        t.onerror = function () { reject(t.error); };
      });
    });
  }

  function saveBundle() {
    return tx("bundles", "readwrite", function (s) {
      return s.put({ event_id: EVENT_ID, signed: state.signed, presence: state.presence, saved_at: new Date().toISOString() });
    });
  }

  function queuedScans() {
    return tx("queue", "readonly", function (s) { return s.index("event_id").getAll(EVENT_ID); });
  }

  // ------------------------------------------------------------------ the bundle

  // A bundle is used only if the pinned key signed exactly its bytes and it is this event's.
  function openBundle(signed) {
    if (!signed || signed.key_id !== PINNED_KEY_ID) {
      return Promise.reject(new Error("it was not signed with this site's bundle key"));
    }
    var payload = b64urlDecode(signed.payload);
    return importKey(PINNED_KEY).then(function (key) {
      return crypto.subtle.verify({ name: "Ed25519" }, key, b64urlDecode(signed.signature), payload);
    }).then(function (ok) {
      if (!ok) { throw new Error("its signature does not match its content"); }
      var content = JSON.parse(new TextDecoder().decode(payload));
      if (content.event_id !== EVENT_ID) { throw new Error("it is for another event"); }
      return content;
    });
  }

  function useBundle(signed, content, presence) {
    var keyIds = Object.keys(content.verifying_keys);
    return Promise.all(keyIds.map(function (id) { return importKey(content.verifying_keys[id]); }))
      .then(function (keys) {
        state.signed = signed;
        state.content = content;
        state.keys = {};
        keyIds.forEach(function (id, i) { state.keys[id] = keys[i]; });
        state.tickets = {};
        content.tickets.forEach(function (t) { state.tickets[t.ticket_id] = t; });
        state.revoked = {};
        content.revoked.forEach(function (r) { state.revoked[r.ticket_id] = r; });
        state.types = {};
        content.ticket_types.forEach(function (t) { state.types[t.ticket_type_id] = t; });
        state.gates = {};
        content.gates.forEach(function (g) { state.gates[g.gate_id] = g; });
        state.presence = presence || {};
        if (!presence) {
          content.tickets.forEach(function (t) { if (t.presence) { state.presence[t.ticket_id] = t.presence; } });
        }
        showBundle();
      });
  }

  function downloadBundle() {
    return fetch(root.dataset.bundleUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.json().then(function (body) {
          if (!response.ok) {
            var error = new Error((body.error && body.error.message) || "The ticket list could not be downloaded.");
            error.refusal = true;
            throw error;
          }
          return body;
        });
      })
      .then(function (signed) {
        return openBundle(signed).then(function (content) {
          return queuedScans().then(function (waiting) {
            // Scans not yet synced are newer than the server's view of who is inside.
            var presence = {};
            content.tickets.forEach(function (t) { if (t.presence) { presence[t.ticket_id] = t.presence; } });
            waiting.sort(function (a, b) { return a.scanned_at < b.scanned_at ? -1 : 1; }).forEach(function (scan) {
              if (scan.ticket_id) { presence[scan.ticket_id] = scan.direction === "in" ? "inside" : "left"; }
            });
            return useBundle(signed, content, presence);
          });
        }, function (problem) {
          var error = new Error("Refused the downloaded ticket list: " + problem.message + ".");
          error.refusal = true;
          error.tampered = true;
          throw error;
        });
      })
      .then(saveBundle);
  }

  function loadStoredBundle() {
    return tx("bundles", "readonly", function (s) { return s.get(EVENT_ID); }).then(function (stored) {
      if (!stored) { return false; }
      return openBundle(stored.signed).then(function (content) {
        return useBundle(stored.signed, content, stored.presence).then(function () { return true; });
      }, function (problem) {
        // Changed on this device since it was verified: never used.
        return tx("bundles", "readwrite", function (s) { return s["delete"](EVENT_ID); }).then(function () {
          setBundleState("Refused the stored ticket list: " + problem.message + ". Download it again.", true);
          return false;
        });
      });
    });
  }

  // ------------------------------------------------------------------ judging a code offline

  function refusal(code, message, ticket) { return { outcome: "refused", code: code, message: message, ticket: ticket || null }; }

  function judge(text, gateId, direction) {
    if (!state.content) { return Promise.resolve(refusal("no_bundle", "No ticket list on this scanner: connect and download it.")); }
    var code = parseCode(text);
    if (!code) { return Promise.resolve(refusal("invalid_ticket_code", "This is not a Gatepass ticket code.")); }
    var key = state.keys[code.keyId];
    var check = key
      ? crypto.subtle.verify({ name: "Ed25519" }, key, code.signature, code.payload)
      : Promise.resolve(false);
    return check.then(function (genuine) {
      // Another event's key is not in this list: whether genuine or not, it is not for here.
      if (code.eventId !== EVENT_ID) { return refusal("wrong_event", "This ticket is for another event."); }
      if (!genuine) { return refusal("invalid_ticket_code", "This ticket code's signature is not valid."); }
      var revoked = state.revoked[code.ticketId];
      if (revoked) { return refusal("ticket_revoked", revokedMessage(revoked.reason), { ticket_id: code.ticketId }); }
      var ticket = state.tickets[code.ticketId];
      if (!ticket) { return refusal("unknown_ticket", "This ticket is not on this scanner's list; connect to check it."); }
      var type = state.types[ticket.ticket_type_id] || { name: "", multi_entry: false };
      var who = { ticket_id: ticket.ticket_id, name: ticket.name, type: type.name };
      var gate = gateId ? state.gates[gateId] : null;
      if (gate) {
        if (gate.closed) { return refusal("gate_closed", "This gate is closed; scan at another gate.", who); }
        if (gate.mode !== "both" && (gate.mode === "entry") !== (direction === "in")) {
          return refusal("wrong_direction", gate.name + " is for " + (gate.mode === "entry" ? "entries" : "exits") + " only.", who);
        }
        if (direction === "in" && gate.ticket_type_ids.length && gate.ticket_type_ids.indexOf(ticket.ticket_type_id) < 0) {
          return refusal("wrong_gate", gate.name + " does not admit " + (type.name || "this ticket type") + ".", who);
        }
      }
      var inside = state.presence[ticket.ticket_id] === "inside";
      if (direction === "in") {
        if (inside && !type.multi_entry) { return refusal("already_checked_in", "Already inside.", who); }
        return { outcome: "admitted", code: null, message: inside ? "Admitted again." : (state.presence[ticket.ticket_id] === "left" ? "Welcome back." : "Admitted."), ticket: who };
      }
      if (!inside) { return refusal("not_inside", "This ticket is not inside, so it cannot leave.", who); }
      return { outcome: "exited", code: null, message: "Left.", ticket: who };
    });
  }

  function revokedMessage(reason) {
    return {
      cancelled_by_holder: "This ticket was cancelled by its holder.",
      event_cancelled: "This ticket was revoked: the event was cancelled.",
      transferred: "This ticket was given to someone else; their new ticket replaces it."
    }[reason] || "This ticket has been revoked.";
  }

  // ------------------------------------------------------------------ scanning

  function currentDirection() {
    var checked = document.querySelector('input[name="direction"]:checked');
    return checked ? checked.value : "in";
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": root.dataset.csrf },
      body: JSON.stringify(body)
    }).then(function (response) {
      return response.json().then(function (answer) { return { status: response.status, body: answer }; });
    });
  }

  function scan(text) {
    if (state.busy || !text) { return; }
    state.busy = true;
    var gateId = gateSelect.value || null;
    var direction = currentDirection();
    var record = { nonce: nonce(), event_id: EVENT_ID, code: text.replace(/[\s-]/g, "").toUpperCase(), gate_id: gateId, direction: direction, scanned_at: new Date().toISOString() };
    judge(text, gateId, direction).then(function (local) {
      if (local.ticket) { record.ticket_id = local.ticket.ticket_id; }
      var online = navigator.onLine && local.code !== "invalid_ticket_code" && local.code !== "wrong_event";
      if (!online) { return offlineVerdict(local, record); }
      var sent = Object.assign({}, record, { offline: false });
      delete sent.event_id; delete sent.ticket_id;
      return post(root.dataset.syncUrl, { scans: [sent] }).then(function (answer) {
        if (answer.status !== 200) {
          if (answer.status >= 500 || answer.status === 401) { return offlineVerdict(local, record); }
          show({ outcome: "refused", code: answer.body.error && answer.body.error.code, message: (answer.body.error && answer.body.error.message) || "Refused.", ticket: local.ticket });
          return;
        }
        var result = answer.body.results[0];
        var who = local.ticket || { name: result.attendee_name, type: result.ticket_type_name };
        if (!who.name) { who.name = result.attendee_name; }
        if (!who.type) { who.type = result.ticket_type_name; }
        if (result.outcome === "admitted" || result.outcome === "exited") {
          state.presence[result.ticket_id] = result.outcome === "admitted" ? "inside" : "left";
          saveBundle();
        } else if (result.code === "already_checked_in" && result.ticket_id) {
          state.presence[result.ticket_id] = "inside";
        }
        show({ outcome: result.outcome, code: result.code, message: result.message || (result.outcome === "admitted" ? "Admitted." : "Left."), ticket: who });
      }, function () { return offlineVerdict(local, record); });
    }).catch(function (problem) {
      show(refusal("scanner_error", "The scanner could not judge this code: " + problem.message));
    }).then(function () {
      state.busy = false;
      input.value = "";
      input.focus();
    });
  }

  // No network: the scanner's own judgement stands, and what it let through is queued.
  function offlineVerdict(local, record) {
    if (local.outcome === "refused") { show(local, true); return; }
    state.presence[record.ticket_id] = local.outcome === "admitted" ? "inside" : "left";
    record.offline = true;
    return tx("queue", "readwrite", function (s) { return s.put(record); })
      .then(saveBundle)
      .then(function () { show(local, true); return refreshQueue(); });
  }

  // ------------------------------------------------------------------ syncing

  function sync() {
    if (state.syncing || !navigator.onLine) { return Promise.resolve(); }
    state.syncing = true;
    return queuedScans().then(function (waiting) {
      if (!waiting.length) { return null; }
      waiting.sort(function (a, b) { return a.scanned_at < b.scanned_at ? -1 : 1; });
      var batch = waiting.slice(0, SYNC_BATCH).map(function (s) {
        return { nonce: s.nonce, code: s.code, gate_id: s.gate_id, direction: s.direction, scanned_at: s.scanned_at, offline: true };
      });
      return post(root.dataset.syncUrl, { scans: batch }).then(function (answer) {
        if (answer.status !== 200) {
          el("sync-state").textContent = "· Sync refused: " + ((answer.body.error && answer.body.error.message) || answer.status);
          return null;
        }
        var done = answer.body.results;
        return tx("queue", "readwrite", function (s) {
          done.forEach(function (r) { s["delete"](r.nonce); });
        }).then(function () {
          var conflicts = done.filter(function (r) { return r.outcome === "conflict"; }).length;
          var refused = done.filter(function (r) { return r.outcome === "refused"; }).length;
          var text = "· Synced " + done.length + " scan" + (done.length === 1 ? "" : "s");
          if (conflicts) { text += ", " + conflicts + " conflict" + (conflicts === 1 ? "" : "s") + " (already admitted elsewhere)"; }
          if (refused) { text += ", " + refused + " refused on sync"; }
          el("sync-state").textContent = text;
          el("sync-state").dataset.conflicts = String(conflicts);
          return waiting.length > SYNC_BATCH ? "more" : null;
        });
      });
    }).catch(function () { /* still offline: the queue stays */ })
      .then(function (more) {
        state.syncing = false;
        return refreshQueue().then(function () { return more === "more" ? sync() : null; });
      });
  }

  // ------------------------------------------------------------------ the screen

  var TONES = { admitted: [660, 880], exited: [520], refused: [200], conflict: [200] };

  function beep(outcome) {
    try {
      var Context = window.AudioContext || window.webkitAudioContext;
      if (!Context) { return; }
      var audio = beep.context || (beep.context = new Context());
      (TONES[outcome] || [300]).forEach(function (freq, i) {
        var osc = audio.createOscillator(), gain = audio.createGain();
        osc.frequency.value = freq;
        osc.type = outcome === "refused" ? "square" : "sine";
        gain.gain.value = 0.2;
        osc.connect(gain); gain.connect(audio.destination);
        var start = audio.currentTime + i * 0.15;
        osc.start(start); osc.stop(start + 0.14);
      });
    } catch (ignored) { /* no sound on this device */ }
  }

  function show(verdict, offline) {
    var words = { admitted: "Admitted", exited: "Goodbye", refused: "Refused", conflict: "Refused" };
    var box = el("verdict");
    box.className = "verdict " + verdict.outcome;
    box.dataset.outcome = verdict.outcome;
    box.dataset.code = verdict.code || "";
    box.dataset.offline = offline ? "true" : "false";
    el("verdict-word").textContent = words[verdict.outcome] || verdict.outcome;
    el("verdict-reason").textContent = verdict.message + (offline ? " (offline)" : "");
    el("verdict-name").textContent = verdict.ticket && verdict.ticket.name ? verdict.ticket.name : "";
    el("verdict-type").textContent = verdict.ticket && verdict.ticket.type ? "· " + verdict.ticket.type : "";
    beep(verdict.outcome);
  }

  function setBundleState(text, bad) {
    var node = el("bundle-state");
    node.textContent = text;
    node.className = bad ? "bad" : "";
    node.dataset.state = bad ? "refused" : "ready";
  }

  function showBundle() {
    var c = state.content;
    setBundleState(c.tickets.length + " tickets, " + c.revoked.length + " revoked, list of " + new Date(c.issued_at).toLocaleTimeString());
  }

  function refreshQueue() {
    return queuedScans().then(function (waiting) {
      state.queued = waiting.length;
      var node = el("queue-state");
      node.textContent = waiting.length + " scan" + (waiting.length === 1 ? "" : "s") + " waiting to sync";
      node.dataset.count = String(waiting.length);
    });
  }

  function showNetwork() {
    var node = el("network-state");
    node.textContent = navigator.onLine ? "Online" : "Offline";
    node.dataset.online = navigator.onLine ? "true" : "false";
  }

  function gateChanged() {
    var option = gateSelect.options[gateSelect.selectedIndex];
    var mode = option ? option.dataset.mode : "both";
    if (mode === "entry" || mode === "exit") {
      document.querySelector('input[name="direction"][value="' + (mode === "entry" ? "in" : "out") + '"]').checked = true;
    }
    input.focus();
  }

  // ------------------------------------------------------------------ input

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    scan(input.value.trim());
  });

  // A scanner that types while the code field has lost focus: keys go to the field anyway.
  document.addEventListener("keydown", function (e) {
    var target = e.target;
    var typing = target && (target.tagName === "TEXTAREA" || target.tagName === "SELECT" ||
      (target.tagName === "INPUT" && ["radio", "checkbox", "button", "submit"].indexOf(target.type) < 0));
    if (target === input || typing) { return; }
    if (e.key === "Enter") { e.preventDefault(); scan(input.value.trim()); return; }
    if (e.key.length === 1 && !e.ctrlKey && !e.metaKey && !e.altKey) { input.value += e.key; }
  });

  gateSelect.addEventListener("change", gateChanged);
  document.querySelectorAll('input[name="direction"]').forEach(function (radio) {
    radio.addEventListener("change", function () { input.focus(); });
  });
  el("refresh-bundle").addEventListener("click", function () {
    downloadBundle().catch(function (problem) { setBundleState(problem.message, true); });
  });
  el("sync-now").addEventListener("click", function () { sync(); });
  window.addEventListener("online", function () { showNetwork(); sync(); });
  window.addEventListener("offline", showNetwork);

  function startCamera() {
    if (!("BarcodeDetector" in window) || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) { return; }
    window.BarcodeDetector.getSupportedFormats().then(function (formats) {
      if (formats.indexOf("qr_code") < 0) { return; }
      var detector = new window.BarcodeDetector({ formats: ["qr_code"] });
      var video = el("camera-view");
      var last = "", lastAt = 0;
      return navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } }).then(function (stream) {
        video.srcObject = stream;
        return video.play().then(function () {
          el("camera").hidden = false;
          (function tick() {
            detector.detect(video).then(function (codes) {
              var now = Date.now();
              if (codes.length && (codes[0].rawValue !== last || now - lastAt > 4000)) {
                last = codes[0].rawValue; lastAt = now; scan(last);
              }
            }).catch(function () {}).then(function () { setTimeout(tick, 250); });
          })();
        });
      });
    }).catch(function () { /* no camera: typed entry and wedge scanners remain */ });
  }

  // ------------------------------------------------------------------ start

  function start() {
    showNetwork();
    gateChanged();
    if ("serviceWorker" in navigator) {
      navigator.serviceWorker.register(root.dataset.swUrl, { scope: root.dataset.swScope }).catch(function () {});
    }
    if (!window.crypto || !crypto.subtle || !window.indexedDB) {
      setBundleState("This browser cannot check codes offline; scans need the network here.", true);
      return;
    }
    loadStoredBundle().then(function () {
      if (!navigator.onLine) { return null; }
      // A list that fails verification is never used; a verified one already stored stays.
      return downloadBundle().catch(function (problem) { setBundleState(problem.message, true); });
    }).then(refreshQueue).then(sync).then(function () {
      root.dataset.ready = "true";
    });
    setInterval(function () { if (state.queued && navigator.onLine) { sync(); } }, 15000);
    // While online and with nothing waiting, keep the list fresh: new tickets, revocations, and
    // who other gates let in.
    setInterval(function () {
      if (navigator.onLine && !state.queued && !state.busy) {
        downloadBundle().catch(function (problem) { setBundleState(problem.message, true); });
      }
    }, 120000);
    startCamera();
  }

  start();
})();
