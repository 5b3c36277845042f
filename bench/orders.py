"""Ticket issuance per order: orders of 1 and of 5 tickets, each beside the naive baseline.

- *Issuance work of an order*: what create-ticket does for an order between reading the event
  and the sale's transaction, a code signed and a QR PNG rendered per ticket, against the naive
  ``qrcode.make(<the ticket as JSON>)`` per ticket (suite 2's baseline).
- *The whole sale*: ``POST /create-ticket`` with the order, through its handler, against moto in
  this process (one DynamoDB transaction for the order, one S3 put per ticket); the naive
  baseline is the same handler with ``gatepass.qr.render_png`` replaced by ``qrcode.make(code)``
  (Pillow image factory, mask search). For 5 tickets, 5 orders of one ticket are timed too: what
  one transaction per order saves.

Every order must be answered 201 with its tickets stored; the counts are reported.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from typing import Any
from unittest.mock import patch

from bench.common import summary
from bench.issuance import gatepass_issue, keys_for, kms, naive_issue

SIZES = (1, 5)


def _order_tickets(size: int, number: int) -> list[dict[str, Any]]:
    from gatepass import ids

    event_id = ids.encode_id(bytes([number % 5]) * ids.ID_BYTES)
    return [
        {
            "ticket_id": ids.new_id(),
            "event_id": event_id,
            "holder": f"buyer{number:05d}@example.com",
            "status": "issued",
            "issued_at": "2026-11-22T09:00:00Z",
            "order_id": f"order{number:05d}",
            "attendee_name": f"Guest {line}",
        }
        for line in range(size)
    ]


def issuance(repeats: int, orders: int) -> dict[str, Any]:
    """Seconds per order, signing and rendering each ticket, ours and naive, interleaved."""
    found: dict[str, Any] = {}
    with kms() as counted:
        keys, store = keys_for(_event_ids(), counted.key_id)
        for size in SIZES:
            found[str(size)] = _issuance(size, repeats, orders, keys, store)
    return found


def _event_ids() -> list[str]:
    from gatepass import ids

    return [ids.encode_id(bytes([number]) * ids.ID_BYTES) for number in range(5)]


def _issuance(size: int, repeats: int, orders: int, keys: Any, store: Any) -> dict[str, Any]:
    batch = [_order_tickets(size, n) for n in range(orders)]
    for order in batch[:2]:  # warm: imports and each event's signing key are not timed
        for ticket in order:
            gatepass_issue(keys, store, ticket)
            naive_issue(ticket)
    ours: list[float] = []
    naive: list[float] = []
    for _ in range(repeats):
        started = time.perf_counter()
        for order in batch:
            for ticket in order:
                gatepass_issue(keys, store, ticket)
        ours.append((time.perf_counter() - started) / len(batch))
        started = time.perf_counter()
        for order in batch:
            for ticket in order:
                naive_issue(ticket)
        naive.append((time.perf_counter() - started) / len(batch))
    ours_s, naive_s = summary(ours), summary(naive)
    return {
        "gatepass_seconds": ours_s,
        "naive_seconds": naive_s,
        "speedup": naive_s["median"] / ours_s["median"],
    }


def naive_png(text: str, box_size: int = 8) -> bytes:
    """``qrcode.make`` as a naive implementation would call it: Pillow image, mask search."""
    import qrcode

    buffer = io.BytesIO()
    qrcode.make(text, box_size=box_size).save(buffer)
    return buffer.getvalue()


class Sale:
    """Orders through the create-ticket handler against moto, each by a new buyer."""

    def __init__(self) -> None:
        from tests.support import factories
        from tests.support.api import LambdaContext

        self.event = factories.put_event(capacity=100_000, max_tickets_per_buyer=20)
        factories.ticket_seed()
        self.context = LambdaContext()
        self.buyers = 0
        self.answers: dict[str, int] = {}
        self.tickets = 0

    def order(self, size: int) -> None:
        from functions.create_ticket import app as create_ticket_app
        from tests.support.api import api_event, json_body

        self.buyers += 1
        request = api_event(
            "POST",
            "/create-ticket",
            body={
                "event_id": self.event["event_id"],
                "tickets": [
                    {
                        "ticket_type_id": self.event["ticket_type_id"],
                        "attendee_name": f"Guest {line}",
                    }
                    for line in range(size)
                ],
            },
            user=f"buyer{self.buyers:06d}@example.com",
        )
        response = create_ticket_app.lambda_handler(request, self.context)
        status = str(response["statusCode"])
        self.answers[status] = self.answers.get(status, 0) + 1
        if response["statusCode"] == 201:
            self.tickets += len(json_body(response)["order"]["tickets"])

    def stored_tickets(self) -> int:
        from boto3.dynamodb.conditions import Key

        from gatepass import clients
        from gatepass.dal import layout
        from tests.support import factories

        table = clients.dynamodb_table(factories.settings().ticketing_table)
        partition = layout.event_tickets_partition(self.event["event_id"])
        count, start = 0, None
        while True:
            page = table.query(
                IndexName=layout.EVENT_TICKETS_INDEX,
                KeyConditionExpression=Key("gsi1pk").eq(partition),
                Select="COUNT",
                **({"ExclusiveStartKey": start} if start else {}),
            )
            count += int(page["Count"])
            start = page.get("LastEvaluatedKey")
            if not start:
                return count


def _timed_orders(action: Callable[[], None], orders: int) -> float:
    started = time.perf_counter()
    for _ in range(orders):
        action()
    return (time.perf_counter() - started) / orders


def sales(repeats: int, orders: int) -> dict[str, Any]:
    """Seconds per order through the handler: Gatepass, naive rendering, and (for 5) 5 orders
    of one ticket; rounds interleave the ways. Each round has a fresh moto: moto copies its
    tables in every transaction, so a table that kept growing would slow later rounds (and
    hold gigabytes)."""
    from bench.contention import moto_in_process
    from gatepass import qr

    samples: dict[str, list[float]] = {}
    answers: dict[str, int] = {}
    answered = stored = 0
    for _ in range(repeats):
        with moto_in_process():
            sale = Sale()
            for size in SIZES:  # warm: the function imported, clients and keys loaded
                sale.order(size)
                with patch.object(qr, "render_png", naive_png):
                    sale.order(size)
            for size in SIZES:

                def one(s: int = size, on: Sale = sale) -> None:
                    on.order(s)

                samples.setdefault(f"gatepass_{size}", []).append(_timed_orders(one, orders))
                with patch.object(qr, "render_png", naive_png):
                    samples.setdefault(f"naive_{size}", []).append(_timed_orders(one, orders))
                if size > 1:

                    def singles(s: int = size, on: Sale = sale) -> None:
                        for _ in range(s):
                            on.order(1)

                    samples.setdefault(f"singles_{size}", []).append(_timed_orders(singles, orders))
            stored += sale.stored_tickets()
            answered += sale.tickets
            for status, count in sale.answers.items():
                answers[status] = answers.get(status, 0) + count
    found: dict[str, Any] = {name: summary(values) for name, values in sorted(samples.items())}
    for size in SIZES:
        found[f"speedup_{size}"] = (
            found[f"naive_{size}"]["median"] / found[f"gatepass_{size}"]["median"]
        )
        if f"singles_{size}" in found:
            found[f"singles_ratio_{size}"] = (
                found[f"singles_{size}"]["median"] / found[f"gatepass_{size}"]["median"]
            )
    found.update(
        answers=answers,
        answered_tickets=answered,
        stored_tickets=stored,
        all_sold=set(answers) == {"201"} and stored == answered,
    )
    return found


def check(size: int = 5) -> dict[str, Any]:
    """An order's codes, both ways, are read back by ZXing as what was encoded, and ours verify
    as the tickets they name."""
    from bench.issuance import decoded
    from gatepass import ticket_codes

    outcome = {"tickets": size, "gatepass_decoded": 0, "naive_decoded": 0}
    with kms() as counted:
        keys, store = keys_for(_event_ids(), counted.key_id)
        for ticket in _order_tickets(size, 0):
            code, png = gatepass_issue(keys, store, ticket)
            published = store.key_ring(ticket["event_id"]).verifying_keys
            named = ticket_codes.verify(code, published)
            if decoded(png) == [code] and named.ticket_id == ticket["ticket_id"]:
                outcome["gatepass_decoded"] += 1
            text, naive = naive_issue(ticket)
            if decoded(naive) == [text]:
                outcome["naive_decoded"] += 1
    return outcome


def run(repeats: int, orders: int = 10) -> dict[str, Any]:
    return {
        "orders_per_round": orders,
        "issuance": issuance(repeats, orders),
        "sales": sales(repeats, orders),
        "check": check(),
    }
