"""An event sold from stock shards (docs/decisions/0070): its seats and quotas split over items
with their own partition keys, a sale taking from a shard that has stock and from several when
no one shard can fill an order, "sold out" learnt from the summary on the event's partition
without reading the shards, and cancelled seats going back to the shard they came from."""

from __future__ import annotations

import random
import threading
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from functools import partial
from typing import Any

import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError

from devstack.template import TemplateModel
from functions.update_ticket_type import app as update_ticket_type_app
from gatepass import clients
from tests.conftest import load_event
from tests.support import factories
from tests.support.api import LambdaContext, json_body
from tests.support.stream import StreamDelivery
from tests.support.ticketing import (
    ORGANIZER,
    create_event,
    function_of,
    get_event,
    moment,
    order,
    post,
)
from tests.support.waitlist import offers_mailed_to

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
    # When they expect 2,001 orders a second (more than 100 shards)
    answer = post(
        "/create-event",
        {
            "title": "Too big",
            "starts_at": "2099-01-01T19:00:00Z",
            "capacity": 10,
            "expected_orders_per_second": 2001,
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
    request at a time per environment, and the handlers keep state in their modules)."""
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


def _not_yet_on_sale(**shape: Any) -> dict[str, Any]:
    """An event whose only type opens for sale tomorrow."""
    return create_event(
        ticket_types=[{"name": "General", "quota": 40, "opens_at": moment(timedelta(days=1))}],
        **shape,
    )


def test_the_organizer_raises_the_expected_rate_before_the_sale_and_the_stock_is_split_exactly(
    aws: TemplateModel,
) -> None:
    # Given an event of 40 seats created without an expected rate, its sale opening tomorrow
    event = _not_yet_on_sale(capacity=40)
    event_id = event["event_id"]
    (kind,) = (t["ticket_type_id"] for t in event["ticket_types"])
    assert _shards(event_id) == []

    # When its organizer says they expect 130 orders a second
    raised = post(
        "/set-expected-rate",
        {"event_id": event_id, "expected_orders_per_second": 130},
        user=ORGANIZER,
    )

    # Then the event is sold from 7 shards (ceil(130 / 20)) holding exactly its 40 seats
    assert raised.status == 200, raised
    assert raised.body == {
        "event_id": event_id,
        "expected_orders_per_second": 130,
        "stock_shards": 7,
    }
    shards = _shards(event_id)
    assert len(shards) == 7
    assert sum(int(s["available"]) for s in shards) == 40
    assert sum(int(s["types"][kind]) for s in shards) == 40
    assert get_event(event_id).body["seats_left"] == 40

    # When they raise it again to 200, then the sale opens and someone buys
    again = post(
        "/set-expected-rate",
        {"event_id": event_id, "expected_orders_per_second": 200},
        user=ORGANIZER,
    )
    assert again.status == 200, again
    assert len(_shards(event_id)) == 10
    opened = post(
        "/update-ticket-type",
        {"event_id": event_id, "ticket_type_id": kind, "opens_at": ""},
        user=ORGANIZER,
    )
    assert opened.status == 200, opened
    factories.ticket_seed()
    clients.client("s3")
    bought = order(event_id, [(kind, "Ann")], buyer="ann@example.com")

    # Then the sale takes from a shard, and the counts stay exact
    assert bought.status == 201, bought
    assert sum(int(s["available"]) for s in _shards(event_id)) == 39
    public = get_event(event_id).body
    assert (public["seats_left"], public["sold"]) == (39, 1)

    # And once the sale is open the rate can no longer be raised
    late = post(
        "/set-expected-rate",
        {"event_id": event_id, "expected_orders_per_second": 400},
        user=ORGANIZER,
    )
    assert (late.status, late.code) == (409, "sale_open"), late
    assert len(_shards(event_id)) == 10


def test_a_lower_rate_another_persons_raise_and_an_open_sale_are_refused_and_change_nothing(
    aws: TemplateModel,
) -> None:
    # Given an event expecting 100 orders a second, not yet on sale, and one already on sale
    waiting = _not_yet_on_sale(capacity=40, expected_orders_per_second=100)
    on_sale = create_event(capacity=40)

    # When the rate is lowered, raised by someone else, or raised once the sale is open
    lower = post(
        "/set-expected-rate",
        {"event_id": waiting["event_id"], "expected_orders_per_second": 60},
        user=ORGANIZER,
    )
    stranger = post(
        "/set-expected-rate",
        {"event_id": waiting["event_id"], "expected_orders_per_second": 400},
        user="mallory@example.com",
    )
    opened = post(
        "/set-expected-rate",
        {"event_id": on_sale["event_id"], "expected_orders_per_second": 400},
        user=ORGANIZER,
    )

    # Then each is refused with its own code, and the shards are as they were
    assert (lower.status, lower.code) == (409, "rate_not_raised"), lower
    assert lower.body["error"]["expected_orders_per_second"] == 100
    assert (stranger.status, stranger.code) == (403, "forbidden"), stranger
    assert (opened.status, opened.code) == (409, "sale_open"), opened
    assert len(_shards(waiting["event_id"])) == 5
    assert _shards(on_sale["event_id"]) == []


def test_the_sample_rate_raise_runs(aws: TemplateModel) -> None:
    # Given the event the sample names, organized by its principal, its sale opening tomorrow
    event = factories.put_event(
        event_id="gq4tmzbx7k2nw5hd", organizer="organizer@example.com", capacity=200
    )
    factories.set_opens_at(event["event_id"], event["ticket_type_id"], moment(timedelta(days=1)))

    # When the sample runs through its handler
    answer = update_ticket_type_app.lambda_handler(
        load_event("update-ticket-type-set-expected-rate.json"), LambdaContext()
    )

    # Then the event is sold from 20 shards holding its 200 seats
    assert answer["statusCode"] == 200, answer["body"]
    assert json_body(answer)["stock_shards"] == 20
    assert sum(int(s["available"]) for s in _shards(event["event_id"])) == 200


def test_a_lowered_quota_is_taken_from_the_shards_that_have_it(aws: TemplateModel) -> None:
    # Given 20 seats of one type over 4 shards, 2 sold
    event = create_event(
        capacity=20,
        ticket_types=[{"name": "General", "quota": 20}],
        expected_orders_per_second=80,
    )
    event_id = event["event_id"]
    (kind,) = (t["ticket_type_id"] for t in event["ticket_types"])
    factories.ticket_seed()
    clients.client("s3")
    for buyer in ("ann@example.com", "ben@example.com"):
        assert order(event_id, [(kind, buyer)], buyer=buyer).status == 201

    # When the organizer lowers the quota to 6, then tries 1 (below the 2 sold)
    lowered = post(
        "/update-ticket-type",
        {"event_id": event_id, "ticket_type_id": kind, "quota": 6},
        user=ORGANIZER,
    )
    below = post(
        "/update-ticket-type",
        {"event_id": event_id, "ticket_type_id": kind, "quota": 1},
        user=ORGANIZER,
    )

    # Then the first answers 4 left, taken from the shards (never below zero in any); the
    # second is refused and changes nothing
    assert lowered.status == 200, lowered
    assert (lowered.body["ticket_type"]["quota"], lowered.body["ticket_type"]["left"]) == (6, 4)
    shards = _shards(event_id)
    assert sum(int(s["types"][kind]) for s in shards) == 4
    assert all(int(s["types"][kind]) >= 0 for s in shards)
    assert (below.status, below.code) == (409, "quota_below_sold"), below
    assert sum(int(s["types"][kind]) for s in _shards(event_id)) == 4


def test_the_waiting_list_of_a_sharded_event_opens_only_when_every_shard_is_empty(
    aws: TemplateModel,
) -> None:
    # Given 2 seats over 2 shards
    event = create_event(
        capacity=2, ticket_types=[{"name": "General", "quota": 2}], expected_orders_per_second=40
    )
    event_id = event["event_id"]
    (kind,) = (t["ticket_type_id"] for t in event["ticket_types"])
    factories.ticket_seed()
    clients.client("s3")
    join = {"event_id": event_id, "ticket_type_id": kind}

    # When someone joins while a seat is left, then after both are sold
    early = post("/join-waitlist", join, user="wes@example.com")
    sold = [order(event_id, [(kind, b)], buyer=b) for b in ("ann@example.com", "ben@example.com")]
    joined = post("/join-waitlist", join, user="wes@example.com")

    # Then the first is refused (not sold out) and the second joins
    assert (early.status, early.code) == (409, "not_sold_out"), early
    assert all(a.status == 201 for a in sold)
    assert joined.status == 201, joined

    # When Ann cancels
    ticket_id = sold[0].body["ticket"]["ticket_id"]
    assert post("/cancel-ticket", {"ticket_id": ticket_id}, user="ann@example.com").status == 200

    # Then her seat is set aside for the line, not put back on sale in a shard
    assert sum(int(s["available"]) for s in _shards(event_id)) == 0
    assert int(factories.ticket_type(event_id, kind)["unassigned"]) == 1
    late = order(event_id, [(kind, "Cat")], buyer="cat@example.com")
    assert late.code in {"sold_out", "ticket_type_sold_out"}, late


@pytest.mark.slow
def test_sales_cancellations_offers_and_claims_racing_over_8_shards_stay_exact(
    aws: TemplateModel, atomic_moto: None
) -> None:
    # Given 16 seats over 8 shards sold as three types (quotas 10, 8, 4), all sold before the
    # rush, and people waiting in each line
    quotas = {"Floor": 10, "Balcony": 8, "Box": 4}
    event = create_event(
        capacity=16,
        max_tickets_per_buyer=2,
        ticket_types=[{"name": n, "quota": q} for n, q in quotas.items()],
        expected_orders_per_second=160,
    )
    event_id = event["event_id"]
    kinds = {t["name"]: t["ticket_type_id"] for t in event["ticket_types"]}
    factories.ticket_seed()
    clients.client("s3")
    holders: list[tuple[str, str]] = []
    kinds_held = ["Floor"] * 8 + ["Balcony"] * 6 + ["Box"] * 2
    for n, name in enumerate(kinds_held):
        buyer = f"holder{n}@example.com"
        answer = order(event_id, [(kinds[name], buyer)], buyer=buyer)
        assert answer.status == 201, answer
        holders.append((buyer, answer.body["ticket"]["ticket_id"]))
    waiters = {"Floor": 2, "Balcony": 2, "Box": 1}
    people = []
    for name, count in waiters.items():
        for n in range(count):
            person = f"waiter-{name.lower()}-{n}@example.com"
            joined = post(
                "/join-waitlist", {"event_id": event_id, "ticket_type_id": kinds[name]}, user=person
            )
            assert joined.status == 201, joined
            people.append(person)
    stream = StreamDelivery(aws)
    chooser = random.Random(3)

    def buy(number: int) -> Any:
        name = chooser.choice(list(quotas))
        body = {"event_id": event_id, "tickets": [{"ticket_type_id": kinds[name]}]}
        return "buy", _post("/create-ticket", body, user=f"buyer{number:02d}@example.com")

    def cancel(holder: tuple[str, str]) -> Any:
        return "cancel", _post("/cancel-ticket", {"ticket_id": holder[1]}, user=holder[0])

    def deliver(_: int) -> Any:
        with _ENVIRONMENTS["waitlist"]:
            return "deliver", stream.deliver()

    def claim(person: str) -> Any:
        offers = offers_mailed_to(person)
        if not offers:
            return "claim", None
        return "claim", _post("/claim-offer", {"offer_id": offers[-1]}, user=person)

    # When holders cancel, buyers buy and the line is offered seats, all at once, and then the
    # people offered claim while others keep buying
    cancelling = chooser.sample(range(len(holders)), 8)
    first: list[Any] = [partial(cancel, holders[n]) for n in cancelling]
    first += [partial(buy, n) for n in range(10)]
    first += [partial(deliver, n) for n in range(3)]
    chooser.shuffle(first)
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda job: job(), first))
    stream.deliver()
    second: list[Any] = [partial(claim, p) for p in people]
    second += [partial(buy, n) for n in range(10, 20)]
    second += [partial(deliver, n) for n in range(2)]
    chooser.shuffle(second)
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers += list(pool.map(lambda job: job(), second))
    stream.deliver()

    # Then cancellations and claims went through, buyers got a sale or "sold out"
    assert all(a.status == 200 for kind, a in answers if kind == "cancel"), answers
    claims = [a for kind, a in answers if kind == "claim" and a is not None]
    assert claims
    assert all(a.status == 201 for a in claims), claims
    codes = Counter(a.code or "created" for kind, a in answers if kind == "buy")
    assert set(codes) <= {"created", "sold_out", "ticket_type_sold_out"}, codes
    # and the table is exact: no shard below zero; sold + for sale + held is the capacity and
    # each quota; live tickets are what is sold; nobody holds more than the limit
    counts = factories.stock_counts(event_id)
    shards = _shards(event_id)
    assert all(int(s["available"]) >= 0 for s in shards)
    assert all(int(v) >= 0 for s in shards for v in s["types"].values())
    seats = factories.seats(event_id)
    live = [t for t in counts["tickets"] if t[1] == "issued"]
    assert counts["seats"]["sold"] == len(live)
    assert counts["seats"]["sold"] + counts["seats"]["available"] + int(seats["held"]) == 16
    per_type = Counter(counts["ticket_types"][ticket_id] for ticket_id, _ in live)
    for name, quota in quotas.items():
        kind = factories.ticket_type(event_id, kinds[name])
        sold = counts["types"][kinds[name]]["sold"]
        assert sold == per_type[kinds[name]] <= quota
        assert sold + counts["types"][kinds[name]]["available"] + int(kind["held"]) == quota
    assert all(held <= 2 for held in counts["buyers"].values())
    # and each line was offered exactly the seats freed in its type while people waited, one
    # offer each, in line order; offers not yet claimed are what is held
    freed = Counter(kinds_held[n] for n in cancelling)
    offered = {p for p in people if offers_mailed_to(p)}
    for name, count in waiters.items():
        in_line = [f"waiter-{name.lower()}-{n}@example.com" for n in range(count)]
        served = [p for p in in_line if p in offered]
        assert served == in_line[: min(count, freed[name])], (name, served, freed)
    assert all(len(offers_mailed_to(p)) == 1 for p in offered)
    assert int(seats["held"]) == len(offered) - len(claims)


class _Converging:
    """DynamoDB as the last shards with stock see it when a crowd converges on them: once
    ``on``, every sale's first ``rivals`` transactions on a shard are cancelled by a rival's
    transaction on the same item (TransactionConflict), then it goes through. Pauses between
    tries are recorded, not slept (``gatepass.dal.transactions.time``, as bench/rush.py does)."""

    def __init__(self, rivals: int) -> None:
        self.rivals = rivals
        self.on = False
        self.throttling_looks = False  # every read of a shard and "mark empty" throttled
        self.tries: Counter[str] = Counter()
        self.conflicts = 0
        self.paused: list[float] = []
        self._lock = threading.Lock()

    def sleep(self, seconds: float) -> None:
        self.paused.append(seconds)

    def conflicted(self, items: list[dict[str, Any]]) -> Exception | None:
        orders = [
            str(i["Put"]["Item"]["pk"])
            for i in items
            if "Put" in i and str(i["Put"]["Item"]["pk"]).startswith("ORDER#")
        ]
        on_shard = [
            "Update" in i and str(i["Update"]["Key"]["pk"]).startswith("STOCK#") for i in items
        ]
        if not self.on or not orders or not any(on_shard):
            return None
        with self._lock:
            self.tries[orders[0]] += 1
            if self.tries[orders[0]] > self.rivals:
                return None
            self.conflicts += 1
        reasons = [
            {"Code": "TransactionConflict", "Message": "conflict"} if shard else {"Code": "None"}
            for shard in on_shard
        ]
        return ClientError(
            {
                "Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
                "CancellationReasons": reasons,
            },
            "TransactWriteItems",
        )


@pytest.fixture
def converging(monkeypatch: pytest.MonkeyPatch) -> _Converging:
    from gatepass.dal import transactions

    # 9 conflicts per sale: more than the 8 (4 + min(S - 1, 4)) a sharded sale used to allow
    crowd = _Converging(rivals=9)
    original = BaseClient._make_api_call

    def contended(self: BaseClient, operation_name: str, api_params: dict[str, Any]) -> Any:
        looking = operation_name == "GetItem" and "STOCK#" in str(api_params.get("Key"))
        marking = operation_name == "TransactWriteItems" and any(
            "ConditionCheck" in i for i in api_params["TransactItems"]
        )
        if crowd.on and crowd.throttling_looks and (looking or marking):
            raise ClientError(
                {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "busy"}},
                operation_name,
            )
        if operation_name == "TransactWriteItems":
            refused = crowd.conflicted(list(api_params["TransactItems"]))
            if refused is not None:
                raise refused
        return original(self, operation_name, api_params)

    monkeypatch.setattr(BaseClient, "_make_api_call", contended)
    monkeypatch.setattr(transactions, "time", crowd)
    return crowd


@pytest.mark.parametrize("looks", ["answered", "throttled"])
def test_a_crowd_racing_for_the_last_seats_over_shards_gets_sales_or_sold_out_never_an_error(
    aws: TemplateModel,
    atomic_moto: None,
    converging: _Converging,
    looks: str,
) -> None:
    # Given 8 seats over 8 shards (one each) of which 5 are sold, so that 3 seats are left in
    # 3 of the shards
    event = create_event(
        capacity=8,
        max_tickets_per_buyer=2,
        ticket_types=[{"name": "General", "quota": 8, "max_per_order": 2}],
        expected_orders_per_second=160,
    )
    event_id = event["event_id"]
    (kind,) = (t["ticket_type_id"] for t in event["ticket_types"])
    factories.ticket_seed()
    clients.client("s3")
    for n in range(5):
        early = order(event_id, [(kind, f"early {n}")], buyer=f"early{n}@example.com")
        assert early.status == 201, early
    assert sorted(int(s["available"]) for s in _shards(event_id)) == [0] * 5 + [1] * 3

    # When 20 buyers race for them, one ticket each, and DynamoDB cancels each one's first 9
    # tries on a shard because a rival's transaction holds it (and, in the second case, also
    # throttles every look at a shard after a conflict and every "mark empty" beyond the SDK's
    # retries: both are best effort, never the buyer's error)
    converging.on = True
    converging.throttling_looks = looks == "throttled"

    def buy(n: int) -> Any:
        body = {"event_id": event_id, "tickets": [{"ticket_type_id": kind, "attendee_name": "x"}]}
        return _post("/create-ticket", body, user=f"racer{n:02d}@example.com")

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(buy, range(20)))
    converging.throttling_looks = False

    # Then every buyer got a sale or "sold out", nobody an error: three sales, 17 sold out
    codes = Counter(a.code or str(a.status) for a in answers)
    assert codes == {"201": 3, "sold_out": 17}, codes
    assert converging.conflicts >= 3 * converging.rivals
    # and the table is exact: 8 sold, none left, no shard below zero, 8 tickets
    counts = factories.stock_counts(event_id)
    assert counts["seats"] == {"sold": 8, "available": 0}
    assert counts["types"][kind] == {"sold": 8, "available": 0}
    assert len(counts["tickets"]) == 8
    assert all(int(s["available"]) == 0 for s in _shards(event_id))
    # and the sold-out buyers hold nothing
    assert set(counts["buyers"]) == {f"early{n}@example.com" for n in range(5)} | {
        f"racer{n:02d}@example.com" for n, a in enumerate(answers) if a.status == 201
    }
    assert get_event(event_id).body["seats_left"] == 0


def test_a_sale_whose_shard_stays_held_by_rivals_waits_5_s_then_answers_503_and_takes_nothing(
    aws: TemplateModel, converging: _Converging
) -> None:
    # Given 8 seats over 8 shards, and DynamoDB cancelling every try of a sale on a shard
    # because a rival's transaction holds it (the shards keep their stock)
    event = create_event(
        capacity=8,
        ticket_types=[{"name": "General", "quota": 8}],
        expected_orders_per_second=160,
    )
    event_id = event["event_id"]
    (kind,) = (t["ticket_type_id"] for t in event["ticket_types"])
    factories.ticket_seed()
    clients.client("s3")
    converging.rivals = 10_000
    converging.on = True

    # When a buyer orders one ticket
    answer = order(event_id, [(kind, "Ann")], buyer="ann@example.com")

    # Then the sale backs off (never more than 0.4 s a pause) until it has waited 5 s in all,
    # then answers 503, and nothing was taken
    from gatepass.dal.transactions import SALE_CONFLICT_WAIT_SECONDS

    assert SALE_CONFLICT_WAIT_SECONDS == 5.0
    assert (answer.status, answer.code) == (503, "service_unavailable"), answer
    assert max(converging.paused) <= 0.4
    assert 5.0 <= sum(converging.paused) < 5.4
    assert get_event(event_id).body["seats_left"] == 8
    assert factories.stock_counts(event_id)["tickets"] == []


@pytest.fixture
def event_partition_reads(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether each read of an event's partition (the data layer's one place) was consistent."""
    from gatepass.dal import events as events_dal

    seen: list[bool] = []
    original = events_dal.DynamoEventStore._partition

    def recording(self: Any, event_id: str, *, consistent: bool) -> list[dict[str, Any]]:
        seen.append(consistent)
        return original(self, event_id, consistent=consistent)

    monkeypatch.setattr(events_dal.DynamoEventStore, "_partition", recording)
    return seen


def test_a_sale_reads_its_event_eventually_consistently_and_the_transaction_keeps_it_exact(
    aws: TemplateModel, event_partition_reads: list[bool]
) -> None:
    # Given a sharded event of 3 seats
    event = create_event(
        capacity=3, ticket_types=[{"name": "Floor", "quota": 3}], expected_orders_per_second=60
    )
    floor = event["ticket_types"][0]["ticket_type_id"]
    event_partition_reads.clear()

    # When a buyer orders 2 seats
    sold = order(event["event_id"], [(floor, "Ada"), (floor, "Bo")], buyer="ada@example.com")

    # Then the sale read the event's partition once, eventually consistent (half the read
    # units of the partition a rush reads most), and sold exactly what it asked for
    assert sold.status == 201, sold.body
    assert event_partition_reads == [False]
    assert factories.stock_counts(event["event_id"])["seats"] == {"sold": 2, "available": 1}


def test_an_event_a_replica_has_not_seen_yet_is_read_again_consistently_and_sells(
    aws: TemplateModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gatepass.dal import events as events_dal

    # Given an event created a moment ago, which an eventually consistent read does not see yet
    event = create_event(capacity=5, ticket_types=[{"name": "Floor", "quota": 5}])
    floor = event["ticket_types"][0]["ticket_type_id"]
    original = events_dal.DynamoEventStore._partition

    def lagging(self: Any, event_id: str, *, consistent: bool) -> list[dict[str, Any]]:
        return original(self, event_id, consistent=consistent) if consistent else []

    monkeypatch.setattr(events_dal.DynamoEventStore, "_partition", lagging)

    # When a buyer orders a seat
    sold = order(event["event_id"], [(floor, "Ada")], buyer="ada@example.com")

    # Then the sale read it again consistently, found it and sold the seat
    assert sold.status == 201, sold.body
    assert factories.stock_counts(event["event_id"])["seats"] == {"sold": 1, "available": 4}
