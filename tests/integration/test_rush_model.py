"""The rush model (``bench/rush.py``) answers as DynamoDB does at its limits, so the numbers
``make bench`` reports for a rush rest on the documented behaviour and nothing kinder. Nothing
here is timed: the clock is virtual."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from bench import rush

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def world() -> Iterator[tuple[rush.VirtualTime, rush.DynamoLimits, Any]]:
    with rush.rush_world(rush.Limits(), seed=3) as (clock, layer):
        from gatepass import clients
        from tests.support import factories

        yield clock, layer, clients.dynamodb_table(factories.settings().ticketing_table)


def _counter(sk: str) -> dict[str, Any]:
    return {
        "Update": {
            "TableName": "",
            "Key": {"pk": "HOT#1", "sk": sk},
            "UpdateExpression": "ADD n :one",
            "ExpressionAttributeValues": {":one": 1},
        }
    }


def _run_at_once(clock: rush.VirtualTime, calls: list[Callable[[], Any]]) -> list[str]:
    """Start every call at the same virtual instant; what each was answered."""
    answers: list[str] = []

    def runner(call: Callable[[], Any]) -> Callable[[], None]:
        def go() -> None:
            try:
                call()
                answers.append("ok")
            except ClientError as exc:
                reasons = exc.response.get("CancellationReasons") or []
                codes = {r["Code"] for r in reasons} - {"None"}
                answers.append(",".join(sorted(codes)) or exc.response["Error"]["Code"])

        return go

    start = clock.now + 1.0
    for call in calls:
        clock.at(start, runner(call))
    clock.run()
    return answers


def test_two_transactions_on_one_item_at_once_the_second_is_cancelled_as_a_conflict(
    world: tuple[rush.VirtualTime, rush.DynamoLimits, Any],
) -> None:
    clock, layer, table = world
    item = _counter("A")
    item["Update"]["TableName"] = table.name

    # When two transactions update the same item at the same moment
    answers = _run_at_once(
        clock, [lambda: table.meta.client.transact_write_items(TransactItems=[item])] * 2
    )

    # Then one commits and the other is cancelled with TransactionConflict
    assert sorted(answers) == ["TransactionConflict", "ok"]
    assert table.get_item(Key={"pk": "HOT#1", "sk": "A"})["Item"]["n"] == 1
    assert layer.meter.conflicts == 1
    # and, the first's hold over, the item takes a transaction again
    answers = _run_at_once(
        clock, [lambda: table.meta.client.transact_write_items(TransactItems=[item])]
    )
    assert answers == ["ok"]


def test_one_partition_takes_a_thousand_write_units_a_second_and_no_more(
    world: tuple[rush.VirtualTime, rush.DynamoLimits, Any],
) -> None:
    clock, layer, table = world

    def update(sk: str) -> Callable[[], Any]:
        item = _counter(sk)
        item["Update"]["TableName"] = table.name
        return lambda: table.meta.client.transact_write_items(TransactItems=[item])

    # When 600 transactions update 600 different items of one partition at the same moment
    answers = _run_at_once(clock, [update(f"ITEM#{n:04d}") for n in range(600)])

    # Then 500 fit the partition's 1,000 write units (two units a transactional write), and
    # the rest are cancelled as DynamoDB cancels a throttled transaction
    assert answers.count("ok") == 500
    assert answers.count("ThrottlingError") == 100
    assert layer.meter.throttled["TransactWriteItems"] == 100


def test_a_throttled_plain_write_is_retried_as_the_sdk_does_and_lands_later(
    world: tuple[rush.VirtualTime, rush.DynamoLimits, Any],
) -> None:
    clock, layer, table = world

    def put(n: int) -> Callable[[], Any]:
        return lambda: table.put_item(Item={"pk": "HOT#2", "sk": f"ITEM#{n:04d}"})

    # When 1,001 single-unit writes reach one partition at the same moment
    answers = _run_at_once(clock, [put(n) for n in range(1_001)])

    # Then all of them land: the one over the limit after the SDK's back-off, in virtual time
    assert answers.count("ok") == 1_001
    assert layer.meter.throttled["PutItem"] >= 1
    assert clock.now > 1.0 + rush.Limits().write_seconds


def test_a_small_rush_sells_exactly_the_capacity_and_counts_every_other_answer() -> None:
    # When 100 people rush an event of 40 seats through the single counter
    crowd = rush.Crowd(people=100, arrival_seconds=0.5)
    outcome = rush.sale("single-counter", 40, crowd, limits=rush.Limits(), seed=5)

    # Then the table and the answers agree: the capacity sold exactly, no quota exceeded
    assert outcome["exact"]
    assert outcome["sold"] == 40
    assert outcome["stored"]["seats_sold"] == 40
    # and everybody was answered: a sale, "sold out", or an error the report counts
    assert outcome["orders"] + outcome["sold_out_answers"] + outcome["errors"] >= 100
    assert set(outcome["error_codes"]) <= {"service_unavailable"}
    # and a crowd this dense on one counter meets conflicts the layer answered
    assert outcome["conflicts"] > 0


def test_the_same_seed_gives_the_same_rush() -> None:
    crowd = rush.Crowd(people=40, arrival_seconds=0.2)
    first = rush.sale("single-counter", 20, crowd, limits=rush.Limits(), seed=9)
    second = rush.sale("single-counter", 20, crowd, limits=rush.Limits(), seed=9)
    keys = ("sold", "orders", "errors", "conflicts", "sales_per_second", "p99_answer_seconds")
    assert {k: first[k] for k in keys} == {k: second[k] for k in keys}
