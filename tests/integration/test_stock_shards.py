"""An event sold from stock shards (docs/decisions/0070): its seats and quotas split over items
with their own partition keys, a sale taking from a shard that has stock and from several when
no one shard can fill an order, "sold out" learnt from the summary on the event's partition
without reading the shards, and cancelled seats going back to the shard they came from."""

from __future__ import annotations

import random
import threading
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from botocore.client import BaseClient

from devstack.template import TemplateModel
from gatepass import clients
from tests.support import factories
from tests.support.ticketing import create_event, function_of, get_event, order, post

pytestmark = [pytest.mark.integration]


def _shards(event_id: str) -> list[dict[str, Any]]:
    return factories.stock_shards(event_id)


@pytest.fixture
def shard_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every DynamoDB call that names a stock shard's key (``STOCK#<event>#<k>``)."""
    seen: list[str] = []
    original = BaseClient._make_api_call

    def counting(self: BaseClient, operation_name: str, api_params: dict[str, Any]) -> Any:
        if "STOCK#" in repr(api_params):
            seen.append(operation_name)
        return original(self, operation_name, api_params)

    monkeypatch.setattr(BaseClient, "_make_api_call", counting)
    return seen


def test_an_event_expecting_160_orders_a_second_is_split_over_8_shards(aws: TemplateModel) -> None:
    # Given an organizer who expects 160 orders a second for 100 seats sold as two types
    # When they create the event
    event = create_event(
        capacity=100,
        ticket_types=[{"name": "Floor", "quota": 70}, {"name": "Balcony", "quota": 45}],
        expected_orders_per_second=160,
    )

    # Then its stock is in 8 shards (ceil(160 / 20)) that add up to the capacity and each quota
    shards = _shards(event["event_id"])
    assert len(shards) == 8
    assert sum(int(s["available"]) for s in shards) == 100
    floor, balcony = (t["ticket_type_id"] for t in event["ticket_types"])
    assert sum(int(s["types"][floor]) for s in shards) == 70
    assert sum(int(s["types"][balcony]) for s in shards) == 45
    assert max(int(s["available"]) for s in shards) - min(int(s["available"]) for s in shards) <= 1
    # and the public read answers the seats as before
    public = get_event(event["event_id"]).body
    assert (public["seats_left"], public["sold"]) == (100, 0)
    assert [t["left"] for t in public["ticket_types"]] == [70, 45]


def test_an_expected_rate_past_the_documented_bound_is_refused(aws: TemplateModel) -> None:
    # Given an organizer
    # When they expect 1,001 orders a second (more than 50 shards)
    answer = post(
        "/create-event",
        {
            "title": "Too big",
            "starts_at": "2099-01-01T19:00:00Z",
            "capacity": 10,
            "expected_orders_per_second": 1001,
        },
        user="olivia@example.com",
    )

    # Then the request is refused and names the field
    assert answer.status == 400, answer
    assert "expected_orders_per_second" in str(answer.body)


def test_the_last_seats_spread_over_shards_sell_to_one_order_and_then_sold_out_is_learnt_once(
    aws: TemplateModel, shard_calls: list[str]
) -> None:
    # Given 4 seats over 4 shards, one in each
    event = create_event(
        capacity=4,
        ticket_types=[{"name": "General", "quota": 4, "max_per_order": 4}],
        max_tickets_per_buyer=4,
        expected_orders_per_second=80,
    )
    event_id = event["event_id"]
    (kind,) = (t["ticket_type_id"] for t in event["ticket_types"])
    factories.ticket_seed()
    clients.client("s3")
    assert [int(s["available"]) for s in _shards(event_id)] == [1, 1, 1, 1]

    # When one buyer orders all 4
    bought = order(event_id, [(kind, f"guest {n}") for n in range(4)], buyer="ann@example.com")

    # Then they get all four, taken from the four shards in one order
    assert bought.status == 201, bought
    sold = bought.body["order"]["tickets"]
    tickets = [factories.get_item(f"TICKET#{t['ticket_id']}") for t in sold]
    assert sorted(int(t["stock_shard"]) for t in tickets if t) == [0, 1, 2, 3]
    assert [int(s["available"]) for s in _shards(event_id)] == [0, 0, 0, 0]
    assert get_event(event_id).body["seats_left"] == 0

    # When a second buyer tries: the shards are empty, but the summary does not know it yet
    second = order(event_id, [(kind, "late")], buyer="ben@example.com")
    # Then they are told it is sold out (having tried the shards, which are now listed empty)
    assert (second.status, second.code) == (409, "sold_out"), second
    summary = factories.stock_summary(event_id)
    assert set(summary["empty_seats"]) == {0, 1, 2, 3}

    # When a third buyer tries
    shard_calls.clear()
    third = order(event_id, [(kind, "later")], buyer="cat@example.com")

    # Then "sold out" comes from the summary alone: no shard is read or written
    assert (third.status, third.code) == (409, "sold_out"), third
    assert shard_calls == []


def test_a_cancelled_seat_goes_back_to_its_shard_and_sells_again(aws: TemplateModel) -> None:
    # Given a sold-out event of 2 seats over 2 shards whose summary knows it
    event = create_event(
        capacity=2,
        ticket_types=[{"name": "General", "quota": 2}],
        expected_orders_per_second=40,
    )
    event_id = event["event_id"]
    (kind,) = (t["ticket_type_id"] for t in event["ticket_types"])
    factories.ticket_seed()
    clients.client("s3")
    first = order(event_id, [(kind, "Ann")], buyer="ann@example.com")
    second = order(event_id, [(kind, "Ben")], buyer="ben@example.com")
    assert first.status == second.status == 201
    assert order(event_id, [(kind, "Cat")], buyer="cat@example.com").code == "sold_out"
    ticket = first.body["ticket"]
    shard = int(factories.get_item(f"TICKET#{ticket['ticket_id']}")["stock_shard"])  # type: ignore[index]

    # When Ann cancels
    cancelled = post("/cancel-ticket", {"ticket_id": ticket["ticket_id"]}, user="ann@example.com")

    # Then her seat is back in the shard it came from, no longer listed empty
    assert cancelled.status == 200, cancelled
    assert int(_shards(event_id)[shard]["available"]) == 1
    assert shard not in set(factories.stock_summary(event_id).get("empty_seats", set()))
    assert get_event(event_id).body["seats_left"] == 1

    # And Cat can now take it
    again = order(event_id, [(kind, "Cat")], buyer="cat@example.com")
    assert again.status == 201, again
    assert get_event(event_id).body["seats_left"] == 0


_ENVIRONMENTS: defaultdict[str, threading.Lock] = defaultdict(threading.Lock)


def _post(path: str, body: dict[str, Any], *, user: str) -> Any:
    """A request to the function behind ``path`` in its one environment (Lambda runs one
    request at a time per environment, and the handlers keep the request in module state)."""
    with _ENVIRONMENTS[function_of(path)]:
        return post(path, body, user=user)


@pytest.mark.slow
def test_many_buyers_over_8_shards_with_cancellations_racing_get_exactly_the_capacity(
    aws: TemplateModel, atomic_moto: None
) -> None:
    # Given 24 seats over 8 shards (3 each), sold as three types whose quotas add up to 30,
    # and holders of 6 tickets bought before the rush
    quotas = {"Floor": 14, "Balcony": 10, "Box": 6}
    event = create_event(
        capacity=24,
        max_tickets_per_buyer=3,
        ticket_types=[{"name": n, "quota": q, "max_per_order": 3} for n, q in quotas.items()],
        expected_orders_per_second=160,
    )
    event_id = event["event_id"]
    kinds = {t["name"]: t["ticket_type_id"] for t in event["ticket_types"]}
    factories.ticket_seed()
    clients.client("s3")
    holders = []
    for n in range(6):
        buyer = f"holder{n}@example.com"
        answer = order(event_id, [(kinds["Floor"], buyer)], buyer=buyer)
        assert answer.status == 201, answer
        holders.append((buyer, answer.body["ticket"]["ticket_id"]))

    # When 40 buyers order 1 to 3 tickets of one or two types while the holders cancel
    chooser = random.Random(5)
    baskets = [
        [(kinds[chooser.choice(list(quotas))], f"guest {n}") for n in range(chooser.randint(1, 3))]
        for _ in range(40)
    ]
    jobs: list[tuple[str, Any]] = [("buy", n) for n in range(len(baskets))]
    jobs += [("cancel", holder) for holder in holders]
    chooser.shuffle(jobs)

    def run(job: tuple[str, Any]) -> tuple[str, Any, Any]:
        kind, what = job
        if kind == "cancel":
            buyer, ticket_id = what
            return kind, what, _post("/cancel-ticket", {"ticket_id": ticket_id}, user=buyer)
        body = {
            "event_id": event_id,
            "tickets": [{"ticket_type_id": t, "attendee_name": a} for t, a in baskets[what]],
        }
        return kind, what, _post("/create-ticket", body, user=f"buyer{what:03d}@example.com")

    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(run, jobs))

    # Then every cancellation went through and every buyer got a sale or "sold out"
    assert all(a.status == 200 for k, _, a in answers if k == "cancel"), answers
    codes = Counter(a.code or "created" for k, _, a in answers if k == "buy")
    assert set(codes) <= {"created", "sold_out", "ticket_type_sold_out"}, codes
    # and the table is exact: every shard at or above zero, shards plus the event's own
    # counters add up to the capacity and quotas, per buyer at most 3, tickets as counted
    counts = factories.stock_counts(event_id)
    shards = _shards(event_id)
    assert all(int(s["available"]) >= 0 for s in shards)
    assert all(int(v) >= 0 for s in shards for v in s["types"].values())
    live = [t for t in counts["tickets"] if t[1] == "issued"]
    assert counts["seats"]["sold"] == len(live) <= 24
    assert counts["seats"]["sold"] + counts["seats"]["available"] == 24
    per_type = Counter(counts["ticket_types"][ticket_id] for ticket_id, _ in live)
    for name, quota in quotas.items():
        type_id = kinds[name]
        assert counts["types"][type_id]["sold"] == per_type[type_id] <= quota
        assert counts["types"][type_id]["sold"] + counts["types"][type_id]["available"] == quota
    assert all(held <= 3 for held in counts["buyers"].values())
    # and "sold out" was only said of what had truly run out: the stock left cannot fill any
    # refused basket (stock only shrinks after the cancellations, which all came first or raced)
    public = get_event(event_id).body
    assert public["seats_left"] == 24 - len(live)
