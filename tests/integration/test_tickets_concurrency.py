"""A rush on a small event: DynamoDB's conditional transaction, not a read-then-write, decides
who gets a seat.

Each request runs in an execution environment of its own, as in Lambda (one request at a time
per environment; tests/support/environments.py). moto is not safe under concurrent calls (a
transaction that fails restores a copy of the table taken when it began, undoing or bringing
back other transactions' writes), so each call into it is serialized (``atomic_moto``), which is
what DynamoDB's per-item atomicity guarantees; an implementation that read ``sold`` and then
wrote would still interleave between its calls and oversell."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from gatepass import clients
from tests.support import factories
from tests.support.api import api_event, json_body
from tests.support.environments import Environments

pytestmark = [pytest.mark.integration, pytest.mark.slow]

BUYERS = 200
CAPACITY = 50
ENVIRONMENTS = 40


def test_two_hundred_buyers_for_fifty_seats_end_with_exactly_fifty_tickets(
    aws: Any, lambda_context: Any, atomic_moto: None, atomic_metrics: None
) -> None:
    # Given an event with 50 seats, and 40 environments of the function (clients and key warm)
    event = factories.put_event(capacity=CAPACITY)
    factories.ticket_seed()
    clients.client("s3")
    clients.client("dynamodb")
    create_ticket = Environments("create_ticket", ENVIRONMENTS)

    # When 200 different attendees ask for a ticket at the same time
    def buy(number: int) -> tuple[str, int, str]:
        buyer = f"buyer{number:03d}@example.com"
        request = api_event(
            "POST", "/create-ticket", body={"event_id": event["event_id"]}, user=buyer
        )
        response = create_ticket.invoke(request, lambda_context)
        body = json_body(response)
        detail = body["ticket"]["ticket_id"] if "ticket" in body else body["error"]["code"]
        return buyer, response["statusCode"], detail

    with ThreadPoolExecutor(max_workers=ENVIRONMENTS) as pool:
        answers = list(pool.map(buy, range(BUYERS)))

    # Then exactly 50 got a ticket and every other answer is sold out, nothing else
    outcomes = Counter(
        status if status == 201 else f"{status} {detail}" for _, status, detail in answers
    )
    assert outcomes == Counter({201: CAPACITY, "409 sold_out": BUYERS - CAPACITY})
    sold = {detail: buyer for buyer, status, detail in answers if status == 201}
    # and the table holds exactly what was answered: 50 tickets, the ones answered, each held
    # by the buyer it was answered to; 50 seats and 50 of the type sold, none left
    counts = factories.stock_counts(event["event_id"])
    assert counts["tickets"] == sorted((ticket_id, "issued") for ticket_id in sold)
    assert counts["holders"] == sold
    assert counts["seats"] == {"sold": CAPACITY, "available": 0}
    assert list(counts["types"].values()) == [{"sold": CAPACITY, "available": 0}]
    # and every buyer's counter is the number of tickets that buyer holds: one each
    assert counts["buyers"] == Counter(sold.values())
