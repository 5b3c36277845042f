"""The waiting list under contention, against moto and the real projector into PostgreSQL: buyers
across three types that share an event's capacity, holders cancelling, people claiming and
declining their emailed offers (and others trying to claim them too), two stream consumers
racing over the same records. moto is not safe under concurrent calls, so each call into it is
serialized (``atomic_moto``), which is what DynamoDB's per-item atomicity guarantees; the
conditions decide who wins.

Lambda runs one request at a time in an environment, and the handlers keep state in their
modules (the batch processor's records), so each function here is one environment: calls into
the same function take turns, calls into different functions (and their DynamoDB calls)
interleave freely. Each resolver holds the request it resolves itself (``gatepass.resolver``).

The line's order is the order of joining, so everybody joins before the rush: a join still in
flight could otherwise be ordered before someone already offered a seat (docs/decisions/0051)."""

from __future__ import annotations

import random
import threading
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import pytest
from boto3.dynamodb.conditions import Key
from sqlalchemy import Engine, text

from devstack.template import TemplateModel
from gatepass import clients
from gatepass.dal import layout
from tests.support import factories
from tests.support.stream import StreamDelivery
from tests.support.ticketing import create_event, function_of, order, post
from tests.support.waitlist import offers_mailed_to

pytestmark = [pytest.mark.web, pytest.mark.slow]

CAPACITY = 12
QUOTAS = {"Floor": 8, "Balcony": 6, "Box": 4}  # 18 seats of types for 12 places
HELD = {"Floor": 6, "Balcony": 4, "Box": 2}  # sold before the rush: the event is full
WAITING = {"Floor": 5, "Balcony": 4, "Box": 1}
CANCELLING = 8
BUYERS = 16
INTRUDER = "intruder@example.com"


@pytest.fixture
def offers_outlast_the_test(aws: TemplateModel, monkeypatch: pytest.MonkeyPatch) -> None:
    """Offers that stay open for an hour: expiry is not what this test is about, and with the
    tests' 60-second lifetime a slow machine (CI's cores shared by parallel workers) let an
    offer expire before its owner claimed it."""
    from functions.waitlist import app as waitlist_app

    longer = waitlist_app.settings.model_copy(update={"waitlist_offer_lifetime_seconds": 3600})
    monkeypatch.setattr(waitlist_app, "settings", longer)


_ENVIRONMENTS: defaultdict[str, threading.Lock] = defaultdict(threading.Lock)


def _post(path: str, body: dict[str, Any], *, user: str) -> Any:
    """A request to the function behind ``path``, in its one environment."""
    with _ENVIRONMENTS[function_of(path)]:
        return post(path, body, user=user)


def _order(event_id: str, lines: list[tuple[str, str]], *, buyer: str) -> Any:
    with _ENVIRONMENTS[function_of("/create-ticket")]:
        return order(event_id, lines, buyer=buyer)


def _items(event_id: str) -> dict[str, list[dict[str, Any]]]:
    """The event's items as stored: seats, types, tickets, entries of each line, offers."""
    table = clients.dynamodb_table(factories.settings().ticketing_table)
    everything = table.scan(ConsistentRead=True)["Items"]
    mine = [i for i in everything if i.get("event_id") == event_id]
    by_entity: dict[str, list[dict[str, Any]]] = {}
    for item in mine:
        by_entity.setdefault(str(item.get("entity")), []).append(item)
    partition = table.query(
        KeyConditionExpression=Key("pk").eq(layout.event_partition(event_id)),
        ConsistentRead=True,
    )["Items"]
    by_entity["seats"] = [i for i in partition if i.get("entity") == "seats"]
    return by_entity


def test_freed_seats_are_offered_once_each_in_line_order_while_others_buy_cancel_and_claim(
    aws: TemplateModel,
    atomic_moto: None,
    projector: Any,
    db_engine: Engine,
    offers_outlast_the_test: None,
) -> None:
    # Given a full event of 12 places sold as three types, and people waiting in each line
    event = create_event(
        capacity=CAPACITY,
        max_tickets_per_buyer=4,
        ticket_types=[{"name": name, "quota": quota} for name, quota in QUOTAS.items()],
    )
    event_id = event["event_id"]
    kinds = {t["name"]: t["ticket_type_id"] for t in event["ticket_types"]}
    holders: list[tuple[str, dict[str, Any]]] = []
    for name, count in HELD.items():
        for n in range(count):
            buyer = f"holder-{name.lower()}-{n}@example.com"
            answer = order(event_id, [(kinds[name], buyer)], buyer=buyer)
            assert answer.status == 201, answer
            holders.append((buyer, answer.body["ticket"]))
    line: dict[str, list[str]] = {}
    for name, count in WAITING.items():
        for n in range(count):
            person = f"waiter-{name.lower()}-{n}@example.com"
            joined = post(
                "/join-waitlist", {"event_id": event_id, "ticket_type_id": kinds[name]}, user=person
            )
            assert joined.status == 201, joined
            line.setdefault(name, []).append(person)
    waiters = [person for people in line.values() for person in people]
    factories.ticket_seed()
    clients.client("s3")

    chooser = random.Random(7)
    cancelling = chooser.sample(holders, CANCELLING)
    declining = set(chooser.sample(waiters, 3))
    baskets = [kinds[chooser.choice(list(QUOTAS))] for _ in range(BUYERS)]
    answers: dict[str, list[tuple[int, str | None, dict[str, Any]]]] = {
        "cancel": [],
        "buy": [],
        "claim": [],
        "decline": [],
        "intrude": [],
    }
    record = threading.Lock()

    def note(kind: str, answer: Any) -> None:
        with record:
            answers[kind].append((answer.status, answer.code, answer.body))

    # When, all at once, holders cancel, others buy, two consumers race over the stream, and
    # every person offered a seat (and an intruder, and a second tab) acts on the emailed link
    done = threading.Event()
    acted: dict[str, set[str]] = {"owner": set(), "second": set(), "intruder": set()}

    def act_on_offers(who: str) -> int:
        """Claim or decline each emailed offer once; returns how many were new."""
        fresh = 0
        for person in waiters:
            for offer_id in offers_mailed_to(person):
                if offer_id in acted[who]:
                    continue
                acted[who].add(offer_id)
                fresh += 1
                if who == "intruder":
                    note("intrude", _post("/claim-offer", {"offer_id": offer_id}, user=INTRUDER))
                elif person in declining and who == "owner":
                    note("decline", _post("/decline-offer", {"offer_id": offer_id}, user=person))
                else:
                    note("claim", _post("/claim-offer", {"offer_id": offer_id}, user=person))
        return fresh

    consumers = [StreamDelivery(aws), StreamDelivery(aws)]

    def deliver(consumer: StreamDelivery) -> int:
        with _ENVIRONMENTS["WaitlistFunction"]:
            return int(consumer.deliver_once())

    def background(step: Callable[[], int]) -> None:
        while not done.is_set():
            if not step():
                done.wait(0.05)

    def cancel(holder: tuple[str, dict[str, Any]]) -> None:
        buyer, ticket = holder
        note("cancel", _post("/cancel-ticket", {"ticket_id": ticket["ticket_id"]}, user=buyer))

    def buy(number: int) -> None:
        buyer = f"buyer-{number}@example.com"
        note("buy", _order(event_id, [(baskets[number], buyer)], buyer=buyer))

    with ThreadPoolExecutor(max_workers=12) as pool:
        loops = [pool.submit(background, partial(deliver, consumer)) for consumer in consumers]
        loops += [
            pool.submit(background, partial(act_on_offers, who))
            for who in ("owner", "second", "intruder")
        ]
        work = [pool.submit(cancel, holder) for holder in cancelling]
        work += [pool.submit(buy, number) for number in range(BUYERS)]
        for future in work:
            future.result()
        done.set()
        for future in loops:
            future.result()
    # and then everything left settles: the stream is delivered, and offers acted on
    for _ in range(50):
        moved = consumers[0].deliver()
        moved += act_on_offers("owner") + act_on_offers("intruder")
        if not moved:
            break
    assert consumers[0].failures == []
    assert consumers[1].failures == []

    # Then every answer is one a person can act on, never a failure
    codes = {
        kind: Counter(code or status for status, code, _ in got) for kind, got in answers.items()
    }
    assert set(codes["cancel"]) == {200}, codes
    assert set(codes["buy"]) <= {201, "sold_out", "ticket_type_sold_out"}, codes
    assert set(codes["claim"]) <= {201, "offer_already_claimed", "offer_declined"}, codes
    assert set(codes["decline"]) <= {200, "offer_already_claimed"}, codes
    assert set(codes["intrude"]) == {"forbidden"}, codes

    stored = _items(event_id)
    (seats,) = stored["seats"]
    types = {str(t["ticket_type_id"]): t for t in stored["ticket_type"]}
    offers = stored.get("offer", [])
    entries = stored.get("waitlist_entry", [])
    tickets = stored["ticket"]
    live = [t for t in tickets if t["status"] in ("issued", "checked_in")]
    bought = codes["buy"][201]
    claimed = codes["claim"][201]
    declined = codes["decline"][200]

    # and sold never passes the capacity or a quota, in the answers and in the table
    assert len(live) == sum(HELD.values()) - CANCELLING + bought + claimed <= CAPACITY
    assert int(seats["sold"]) == len(live)
    assert int(seats["sold"]) + int(seats["held"]) + int(seats["available"]) == CAPACITY
    per_type = Counter(str(t["ticket_type_id"]) for t in live)
    for name, quota in QUOTAS.items():
        kind = types[kinds[name]]
        assert int(kind["sold"]) == per_type[kinds[name]] <= quota
        assert int(kind["sold"]) + int(kind["held"]) + int(kind["available"]) == quota
    # and every freed seat (a cancellation, a declined offer) went to exactly one offer or back
    # to sale: nothing is held for nobody, nothing is left unoffered
    assert all(int(k.get("unassigned", 0)) == 0 for k in types.values())
    assert int(seats["held"]) == sum(int(k["held"]) for k in types.values()) == 0
    assert {o["status"] for o in offers} <= {"claimed", "declined"}
    assert len(offers) == claimed + declined
    freed = CANCELLING + declined
    for_sale_again = int(seats["available"]) + bought
    assert len(offers) + for_sale_again == freed
    # and nobody was offered twice, and each line was served in the order people joined
    assert max(Counter(str(o["entry_id"]) for o in offers).values(), default=0) == 1
    offered_entries = {str(o["entry_id"]) for o in offers}
    for name in QUOTAS:
        queue = sorted(
            (e for e in entries if e["ticket_type_id"] == kinds[name]), key=lambda e: e["sk"]
        )
        served = [str(e["entry_id"]) in offered_entries for e in queue]
        assert served == sorted(served, reverse=True), (name, served)
        waiting_now = sum(1 for e in queue if e["status"] == "waiting")
        assert int(types[kinds[name]]["queue"]) == waiting_now

    # And the read model, fed the whole stream twice (a replay), ends equal to the table
    projection = StreamDelivery(aws, "ProjectorFunction")
    projection.deliver()
    projection.replay()
    assert projection.failures == []
    with db_engine.connect() as conn:
        seat_row = conn.execute(
            text("SELECT sold, held, available FROM event_seats WHERE event_id = :e"),
            {"e": event_id},
        ).one()
        type_rows = conn.execute(
            text(
                "SELECT ticket_type_id, sold, held, available, queue, unassigned"
                " FROM ticket_types WHERE event_id = :e"
            ),
            {"e": event_id},
        ).all()
        ticket_rows = conn.execute(
            text("SELECT ticket_id, status FROM tickets WHERE event_id = :e"), {"e": event_id}
        ).all()
        entry_rows = conn.execute(
            text(
                "SELECT entry_id, person, status, offer_id FROM waitlist_entries"
                " WHERE event_id = :e"
            ),
            {"e": event_id},
        ).all()
        offer_rows = conn.execute(
            text(
                "SELECT offer_id, person, status, order_id FROM waitlist_offers WHERE event_id = :e"
            ),
            {"e": event_id},
        ).all()
    assert tuple(seat_row) == (int(seats["sold"]), int(seats["held"]), int(seats["available"]))
    assert sorted(map(tuple, type_rows)) == sorted(
        (
            str(k["ticket_type_id"]),
            int(k["sold"]),
            int(k["held"]),
            int(k["available"]),
            int(k["queue"]),
            int(k.get("unassigned", 0)),
        )
        for k in types.values()
    )
    assert sorted(map(tuple, ticket_rows)) == sorted(
        (str(t["ticket_id"]), str(t["status"])) for t in tickets
    )
    assert sorted(map(tuple, entry_rows)) == sorted(
        (str(e["entry_id"]), str(e["person"]), str(e["status"]), e.get("offer_id")) for e in entries
    )
    assert sorted(map(tuple, offer_rows)) == sorted(
        (str(o["offer_id"]), str(o["person"]), str(o["status"]), o.get("order_id")) for o in offers
    )
