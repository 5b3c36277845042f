// The door scanner's service worker (docs/decisions/0063): keeps the app shell and the scanner
// pages a person opened, so the scanner starts with no network. Pages are network first (a
// revoked person sees the refusal when online); the bundle, counts and syncs are never cached
// here (the page keeps the verified bundle in IndexedDB).
"use strict";
var CACHE = "gatepass-door-v1";
var SHELL = ["/door/", "/door/manifest.webmanifest", "/door/icon.svg", "/static/app.css",
  "/static/js/common.js", "/static/door/scanner.js"];

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(CACHE).then(function (cache) { return cache.addAll(SHELL); })
    .then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (n) { return n !== CACHE; }).map(function (n) { return caches.delete(n); }));
  }).then(function () { return self.clients.claim(); }));
});

function isLive(url) {
  return /\/(bundle|sync|door)$/.test(url.pathname);
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin || isLive(url)) { return; }
  if (request.mode !== "navigate" && url.pathname.indexOf("/door/") !== 0 && url.pathname.indexOf("/static/") !== 0) { return; }
  // Network first, so an update or a revocation is seen as soon as there is a network.
  event.respondWith(fetch(request).then(function (response) {
    if (response.ok) {
      var copy = response.clone();
      caches.open(CACHE).then(function (cache) { cache.put(request, copy); });
    }
    return response;
  }).catch(function () {
    return caches.match(request).then(function (hit) {
      return hit || (request.mode === "navigate" ? caches.match("/door/") : Response.error());
    });
  }));
});
