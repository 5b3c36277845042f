"""``--only door``: what judging a ticket code offline costs (issue 12, item 3).

On the server: ``ticket_codes.verify_with_public_key`` (parse the base32 code, Ed25519 verify
with the event's published key), what a Python scanner or a sync does per code. In the browser:
the offline scanner's own path in real Chromium (``/usr/bin/chromium``): parse the code,
``crypto.subtle.verify("Ed25519", ...)`` with the imported key; and opening a signed bundle of
5,000 tickets (verify and parse) once, as the scanner does on start.
"""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from bench.common import summary

CHROMIUM = "/usr/bin/chromium"
BUNDLE_TICKETS = 5000

_BROWSER_BENCH = """
async ([codes, key, rounds, signed, bundleKey]) => {
  const B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  const b32 = (text) => { let bits = 0, value = 0; const out = [];
    for (const ch of text) { value = (value << 5) | B32.indexOf(ch); bits += 5;
      if (bits >= 8) { out.push((value >>> (bits - 8)) & 255); bits -= 8; } }
    return new Uint8Array(out); };
  const b64 = (t) => {
    let s = t.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) s += "=";
    return Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
  };
  const pub = await crypto.subtle.importKey("raw", b64(key), {name: "Ed25519"}, false, ["verify"]);
  const perCode = [];
  for (let r = 0; r < rounds; r++) {
    const started = performance.now();
    for (const code of codes) {
      const raw = b32(code);
      const split = raw[0] === 1 ? 21 : 26;  // version 2 codes name their key (ADR 0064)
      const ok = await crypto.subtle.verify(
        {name: "Ed25519"}, pub, raw.slice(split, split + 64), raw.slice(0, split));
      if (!ok) throw new Error("a genuine code did not verify");
    }
    perCode.push((performance.now() - started) / codes.length / 1000);
  }
  const bundle = [];
  const bkey = await crypto.subtle.importKey(
    "raw", b64(bundleKey), {name: "Ed25519"}, false, ["verify"]);
  for (let r = 0; r < rounds; r++) {
    const started = performance.now();
    const payload = b64(signed.payload);
    const ok = await crypto.subtle.verify(
      {name: "Ed25519"}, bkey, b64(signed.signature), payload);
    const content = JSON.parse(new TextDecoder().decode(payload));
    if (!ok || content.tickets.length < 1) throw new Error("the bundle did not open");
    bundle.push((performance.now() - started) / 1000);
  }
  return {perCode, bundle, userAgent: navigator.userAgent, size: signed.payload.length};
}
"""


@contextmanager
def _blank_origin() -> Iterator[str]:
    """An http://127.0.0.1 page: a secure context for WebCrypto, with nothing on it."""

    class Blank(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"<!doctype html><title>bench</title>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Blank)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()


def _codes(count: int) -> tuple[list[str], str, dict[str, Any], str]:
    from gatepass import bundles, ids, ticket_codes

    key = ticket_codes.generate_signing_key()  # the event's own key (docs/decisions/0064)
    event_id = ids.new_id()
    codes = [key.sign(event_id, ids.new_id()) for _ in range(count)]
    content = {
        "format": 1,
        "event_id": event_id,
        "verifying_keys": {key.key_id: key.public()},
        "tickets": [
            {
                "ticket_id": ids.new_id(),
                "ticket_type_id": ids.new_id(),
                "name": f"Attendee {n}",
                "status": "issued",
                "presence": None,
            }
            for n in range(BUNDLE_TICKETS)
        ],
        "revoked": [],
        "inside": [],
    }
    bundle_seed = b"bench-bundle-seed-0123456789abcd"
    signed = bundles.sign_with_seed(bundle_seed, content).model_dump()
    bundle_key = bundles.public_key_of(bundle_seed).public_key
    return codes, key.public(), signed, bundle_key


def run(rounds: int, per_round: int) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    from gatepass import ticket_codes

    codes, key, signed, bundle_key = _codes(per_round)
    server = []
    for _ in range(rounds):
        started = time.perf_counter()
        for code in codes:
            ticket_codes.verify_with_public_key(key, code)
        server.append((time.perf_counter() - started) / len(codes))
    with _blank_origin() as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_page()
            page.goto(url)
            measured = page.evaluate(_BROWSER_BENCH, [codes, key, rounds, signed, bundle_key])
        finally:
            browser.close()
    return {
        "codes_per_round": len(codes),
        "server_seconds_per_code": summary(server),
        "browser_seconds_per_code": summary(measured["perCode"]),
        "bundle_tickets": BUNDLE_TICKETS,
        "bundle_bytes": len(json.dumps(signed)),
        "browser_bundle_open_seconds": summary(measured["bundle"]),
        "browser": str(measured["userAgent"]).split(" ")[-2]
        if " " in str(measured["userAgent"])
        else str(measured["userAgent"]),
    }
