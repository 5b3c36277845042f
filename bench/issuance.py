"""Ticket issuance: sign a ticket code and render its QR PNG, ready to store, against the naive
``qrcode.make(<the ticket as JSON>)`` saved as PNG. Both outputs are read back by ZXing."""

from __future__ import annotations

import io
import json
import time
from typing import Any

from bench.common import summary

SEED = b"bench-ticket-seed-".ljust(32, b".")


def _ticket(number: int, events: int = 5) -> dict[str, Any]:
    from gatepass import ids

    return {
        "ticket_id": ids.new_id(),
        # Tickets of a few events, as in a sale: each event's signing key is derived once.
        "event_id": ids.encode_id(bytes([number % events]) * ids.ID_BYTES),
        "holder": f"buyer{number:05d}@example.com",
        "status": "issued",
        "issued_at": "2026-11-22T09:00:00Z",
    }


def gatepass_issue(ticket: dict[str, Any]) -> tuple[str, bytes]:
    """What create-ticket does between the sale and the S3 put."""
    from gatepass import qr, ticket_codes

    code = ticket_codes.sign(SEED, ticket["event_id"], ticket["ticket_id"])
    return code, qr.render_png(code)


def naive_issue(ticket: dict[str, Any]) -> tuple[str, bytes]:
    import qrcode

    text = json.dumps(ticket)
    buffer = io.BytesIO()
    qrcode.make(text).save(buffer)  # PIL image factory, automatic mask search
    return text, buffer.getvalue()


def decoded(png: bytes) -> list[str]:
    import zxingcpp
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("L")
    return [result.text for result in zxingcpp.read_barcodes(image)]


def check(tickets: int = 3) -> dict[str, Any]:
    """Both ways produce a symbol a real decoder reads back as what was encoded."""
    from gatepass import ticket_codes

    outcome: dict[str, Any] = {"gatepass_decoded": 0, "naive_decoded": 0, "tickets": tickets}
    for number in range(tickets):
        ticket = _ticket(number)
        code, png = gatepass_issue(ticket)
        if decoded(png) == [code]:
            named = ticket_codes.verify(SEED, code)
            if (named.event_id, named.ticket_id) == (ticket["event_id"], ticket["ticket_id"]):
                outcome["gatepass_decoded"] += 1
        text, naive_png = naive_issue(ticket)
        if decoded(naive_png) == [text]:
            outcome["naive_decoded"] += 1
        outcome["gatepass_png_bytes"] = len(png)
        outcome["naive_png_bytes"] = len(naive_png)
    return outcome


def run(repeats: int, per_round: int = 50) -> dict[str, Any]:
    """Rounds alternate between the two ways; each round issues ``per_round`` tickets."""
    tickets = [_ticket(n) for n in range(per_round)]
    for ticket in tickets[:5]:  # warm: imports and each event's signing key are not timed
        gatepass_issue(ticket)
        naive_issue(ticket)
    ours: list[float] = []
    naive: list[float] = []
    for round_number in range(repeats):
        batch = tickets[round_number % 2 :] + tickets[: round_number % 2]
        started = time.perf_counter()
        for ticket in batch:
            gatepass_issue(ticket)
        ours.append((time.perf_counter() - started) / len(batch))
        started = time.perf_counter()
        for ticket in batch:
            naive_issue(ticket)
        naive.append((time.perf_counter() - started) / len(batch))
    ours_s, naive_s = summary(ours), summary(naive)
    return {
        "gatepass_seconds": ours_s,
        "naive_seconds": naive_s,
        "speedup": naive_s["median"] / ours_s["median"],
        "tickets_per_round": per_round,
        "check": check(),
    }
