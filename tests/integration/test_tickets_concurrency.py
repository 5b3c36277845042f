"""A rush on a small event: DynamoDB's conditional transaction, not a read-then-write, decides
who gets a seat. moto is not safe under concurrent calls, so each call into it is serialized
with a lock, which is what DynamoDB's per-item atomicity guarantees; an implementation that
read ``sold`` and then wrote would still interleave between its calls and oversell."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from boto3.dynamodb.conditions import Key

from functions.create_ticket import app as create_ticket_app
from gatepass import clients
from tests.support import factories
from tests.support.api import api_event, json_body

pytestmark = [pytest.mark.integration, pytest.mark.slow]

BUYERS = 200
CAPACITY = 50


def test_two_hundred_buyers_for_fifty_seats_end_with_exactly_fifty_tickets(
    aws: Any, lambda_context: Any, atomic_moto: None
) -> None:
    # Given an event with 50 seats, and a warm function (clients and key already loaded)
    event = factories.put_event(capacity=CAPACITY)
    factories.ticket_seed()
    clients.client("s3")
    clients.client("dynamodb")

    # When 200 different attendees ask for a ticket at the same time
    def buy(number: int) -> tuple[int, str]:
        request = api_event(
            "POST",
            "/create-ticket",
            body={"event_id": event["event_id"]},
            user=f"buyer{number:03d}@example.com",
        )
        response = create_ticket_app.lambda_handler(request, lambda_context)
        body = json_body(response)
        return response["statusCode"], body["ticket"]["ticket_id"] if "ticket" in body else (
            body["error"]["code"]
        )

    with ThreadPoolExecutor(max_workers=40) as pool:
        answers = list(pool.map(buy, range(BUYERS)))

    # Then exactly 50 got a ticket and every other answer is sold out, nothing else
    outcomes = Counter(
        status if status == 201 else f"{status} {detail}" for status, detail in answers
    )
    assert outcomes == Counter({201: CAPACITY, "409 sold_out": BUYERS - CAPACITY})
    sold_ids = {detail for status, detail in answers if status == 201}
    # and the event counts exactly 50 seats
    stored_event = factories.seats(event["event_id"])
    assert (stored_event["sold"], stored_event["available"]) == (CAPACITY, 0)
    # and exactly 50 buyers counted one ticket each, and 50 tickets, the ones answered
    table = clients.dynamodb_table(factories.settings().ticketing_table)
    tickets = table.query(
        IndexName="gsi1",
        KeyConditionExpression=Key("gsi1pk").eq(f"EVENT#{event['event_id']}#TICKETS"),
    )["Items"]
    assert {t["ticket_id"] for t in tickets} == sold_ids
    assert factories.stock_counts(event["event_id"])["buyers"] == {t["holder"]: 1 for t in tickets}
