"""A rush across ticket types that share an event's capacity: DynamoDB's conditional
transactions, not reads, decide who gets seats. Each request runs in an execution environment of
its own, as in Lambda (tests/support/environments.py). moto is not safe under concurrent calls,
so each call into it is serialized with a lock, which is what DynamoDB's per-item atomicity
guarantees; an implementation that read ``available`` and then wrote would still interleave
between its calls and oversell."""

from __future__ import annotations

import random
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from gatepass import clients
from tests.support import factories
from tests.support.api import LambdaContext, api_event
from tests.support.environments import Environments
from tests.support.ticketing import Answer, create_event

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CAPACITY = 30
QUOTAS = {"Floor": 20, "Balcony": 12, "Box": 6}  # 38 seats of types for 30 places
BUYERS = 90
ENVIRONMENTS = 24


def test_buyers_across_types_never_get_more_than_the_capacity_or_any_quota(
    aws: Any, atomic_moto: None, atomic_metrics: None
) -> None:
    # Given an event of 30 places sold as three types whose quotas add up to 38
    event = create_event(
        capacity=CAPACITY,
        max_tickets_per_buyer=4,
        ticket_types=[
            {"name": name, "quota": quota, "max_per_order": 3} for name, quota in QUOTAS.items()
        ],
    )
    type_ids = {t["name"]: t["ticket_type_id"] for t in event["ticket_types"]}
    factories.ticket_seed()
    clients.client("s3")
    create_ticket = Environments("create_ticket", ENVIRONMENTS)

    # When 90 buyers order 1 to 3 tickets of one or two types at the same time
    chooser = random.Random(11)
    baskets = [
        [
            (type_ids[chooser.choice(list(QUOTAS))], f"guest {n}")
            for n in range(chooser.randint(1, 3))
        ]
        for _ in range(BUYERS)
    ]

    def buy(number: int) -> tuple[int, str | None, list[dict[str, Any]]]:
        body = {
            "event_id": event["event_id"],
            "tickets": [{"ticket_type_id": t, "attendee_name": a} for t, a in baskets[number]],
        }
        request = api_event(
            "POST", "/create-ticket", body=body, user=f"buyer{number:03d}@example.com"
        )
        answer = Answer(create_ticket.invoke(request, LambdaContext()))
        tickets = answer.body["order"]["tickets"] if answer.status == 201 else []
        return answer.status, answer.code, tickets

    with ThreadPoolExecutor(max_workers=ENVIRONMENTS) as pool:
        answers = list(pool.map(buy, range(BUYERS)))

    # Then every answer is a sale or a refusal for want of seats, never anything else
    codes = Counter(code or "created" for _, code, _ in answers)
    assert set(codes) <= {"created", "sold_out", "ticket_type_sold_out", "too_many_tickets"}, codes
    sold = [ticket for _, _, tickets in answers for ticket in tickets]
    per_type = Counter(t["ticket_type_id"] for t in sold)
    # and what was answered never passes the capacity or a quota, and fills the room
    assert len(sold) <= CAPACITY
    for name, quota in QUOTAS.items():
        assert per_type[type_ids[name]] <= quota
    # and nobody was turned away who would fit in what is left: stock only shrinks here, so a
    # basket refused for want of seats cannot fit the final stock either (whatever the timing)
    left = CAPACITY - len(sold)
    left_of_type = {
        type_ids[name]: quota - per_type[type_ids[name]] for name, quota in QUOTAS.items()
    }
    for number, (status, _, _) in enumerate(answers):
        if status != 201:
            wanted = Counter(type_id for type_id, _ in baskets[number])
            assert sum(wanted.values()) > left or any(
                count > left_of_type[type_id] for type_id, count in wanted.items()
            ), (number, baskets[number], left, left_of_type)
    # and the table holds exactly what was answered: tickets, seats, types and buyers
    counts = factories.stock_counts(event["event_id"])
    assert counts["tickets"] == sorted((t["ticket_id"], "issued") for t in sold)
    assert counts["seats"] == {"sold": len(sold), "available": CAPACITY - len(sold)}
    for name, quota in QUOTAS.items():
        taken = per_type[type_ids[name]]
        assert counts["types"][type_ids[name]] == {"sold": taken, "available": quota - taken}
    # and each ticket is held by the buyer it was answered to, whose counter is what they hold
    held = {
        t["ticket_id"]: f"buyer{n:03d}@example.com" for n, a in enumerate(answers) for t in a[2]
    }
    assert counts["holders"] == held
    assert counts["buyers"] == Counter(held.values())
