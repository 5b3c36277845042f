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


@pytest.mark.parametrize("design", ["single-counter", "sharded", rush.QUEUED])
def test_the_models_count_of_the_table_is_what_the_api_reads(
    design: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.support import factories

    # Given the model reads its exactness figures straight from moto's storage
    compared: list[tuple[dict[str, Any], dict[str, Any]]] = []
    direct = rush._stored_counts

    def both(event_id: str, type_ids: list[str]) -> dict[str, Any]:
        counts = factories.stock_counts(event_id)
        through_api = {
            "shards": max(1, len(factories.stock_shards(event_id))),
            "seats_sold": counts["seats"]["sold"],
            "seats_available": counts["seats"]["available"],
            "tickets": len(counts["tickets"]),
            "per_type": {t: counts["types"].get(t, {}).get("sold", -1) for t in type_ids},
            "most_per_buyer": max(counts["buyers"].values(), default=0),
        }
        compared.append((direct(event_id, type_ids), through_api))
        return compared[-1][0]

    monkeypatch.setattr(rush, "_stored_counts", both)

    # When a crowd rushes an event (180 orders a second expected: nine shards when sharded)
    crowd = rush.Crowd(people=90, arrival_seconds=0.5)
    outcome = rush.sale(design, 60, crowd, limits=rush.Limits(), seed=3)

    # Then it counts what the API's own reads of the table count
    ((read_directly, read_through_api),) = compared
    assert read_directly == read_through_api
    assert outcome["exact"]
    assert outcome["sold"] == 60
    assert read_directly["shards"] == (1 if design == "single-counter" else 9)


def test_behind_the_waiting_room_nobody_buys_before_the_draw_and_the_sale_is_exact() -> None:
    from gatepass.logic.queue import DRAW_GRACE_SECONDS

    # When 300 people rush 100 seats sized for 30 orders a second, behind the waiting room
    crowd = rush.Crowd(people=300)
    outcome = rush.sale(rush.QUEUED, 100, crowd, limits=rush.Limits(), seed=4)

    # Then the sale is exact and everybody was let in and answered, with no error
    assert outcome["exact"]
    assert outcome["sold"] == 100
    assert outcome["errors"] == 0
    assert outcome["admitted"] == 300
    assert outcome["orders"] + outcome["sold_out_answers"] == 300
    # and nobody was let in before the draw, made the grace after the opening
    drawn_at = outcome["queue_opens_seconds"] + DRAW_GRACE_SECONDS
    assert drawn_at <= outcome["first_admission_seconds"] < drawn_at + 2
    # and admission began at the rate the event was sized for (30 a second)
    assert rush.expected_rate(rush.QUEUED, crowd) == 30
    assert outcome["rates_per_second"][0][1] == 30
    # and the sale recorded its health for the controller, every answer a healthy one
    health = outcome["sale_health"]
    assert sum(w["sales"] for w in health) == 300
    assert sum(w["conflicts"] + w["throttles"] for w in health) == 0
    # and the people polled, never faster than the status answer asked
    assert outcome["status_reads"] >= 300
    assert outcome["peak_joins_per_second"] >= 1


def test_status_reads_beyond_api_gateways_throttle_are_asked_again_not_errors() -> None:
    # When the queue's routes take 40 requests a second and the pool all asks at the draw
    limits = rush.Limits(queue_api_rate=40.0, queue_api_burst=40.0)
    outcome = rush.sale(rush.QUEUED, 100, rush.Crowd(people=300), limits=limits, seed=4)

    # Then some reads were answered 429 and asked again, and the sale is still exact
    assert outcome["status_reads_throttled"] > 0
    assert outcome["exact"]
    assert outcome["sold"] == 100
    assert outcome["admitted"] + outcome["error_codes"].get(rush.THROTTLED_BY_API, 0) >= 300


def test_the_same_seed_gives_the_same_rush() -> None:
    crowd = rush.Crowd(people=40, arrival_seconds=0.2)
    first = rush.sale("single-counter", 20, crowd, limits=rush.Limits(), seed=9)
    second = rush.sale("single-counter", 20, crowd, limits=rush.Limits(), seed=9)
    keys = ("sold", "orders", "errors", "conflicts", "sales_per_second", "p99_answer_seconds")
    assert {k: first[k] for k in keys} == {k: second[k] for k in keys}


# ---------------------------------------------------------------------- the model's shortcuts
# The layer answers a sale's reads and transactions on moto's storage directly, and applies
# simple conditions and updates itself (bench.rushstore); each must answer what moto answers.


def _item(attrs: dict[str, Any]) -> Any:
    from boto3.dynamodb.types import TypeSerializer
    from moto.dynamodb.models.dynamo_type import DynamoType, Item

    typed: dict[str, Any] = {k: TypeSerializer().serialize(v) for k, v in attrs.items()}
    return Item(DynamoType(typed["pk"]), DynamoType(typed["sk"]), typed)


ITEMS: list[dict[str, Any] | None] = [
    None,
    {"pk": "E#1", "sk": "SEATS", "available": 3, "status": "on_sale", "starts_at": "2030-01-01"},
    {"pk": "E#1", "sk": "SEATS", "available": 0, "status": "on_sale", "starts_at": "2030-01-01"},
    {"pk": "E#1", "sk": "SEATS", "available": 5, "status": "cancelled", "starts_at": "2020-01-01"},
    {"pk": "S#1", "sk": "STOCK", "available": 2, "types": {"t1": 1, "t2": 0}, "empty": {1, 3}},
    {"pk": "B#1", "sk": "META", "tickets": 3, "entity": "buyer"},
    {"pk": "Q#1", "sk": "T", "queue": 2, "held": 1, "name": "x"},
]
VALUES: dict[str, Any] = {
    ":n": {"N": "2"},
    ":one": {"N": "1"},
    ":minus_n": {"N": "-2"},
    ":zero": {"N": "0"},
    ":room": {"N": "2"},
    ":now": {"S": "2025-06-01"},
    ":on_sale": {"S": "on_sale"},
    ":sold_out": {"S": "sold_out"},
    ":k": {"NS": ["2"]},
    ":buyer": {"S": "b@example.com"},
    ":text": {"S": "3"},
}
NAMES = {"#status": "status", "#t": "t1", "#u": "t2", "#missing": "nothing", "#e": "empty"}
CONDITIONS = [
    "attribute_exists(pk) AND available >= :n AND starts_at > :now AND #status = :on_sale",
    "attribute_not_exists(pk)",
    "attribute_not_exists(pk) OR tickets <= :room",
    "attribute_exists(pk) AND (attribute_not_exists(queue) OR queue <= :zero)",
    "available >= :n AND types.#t >= :one",
    "types.#u >= :one OR types.#missing >= :one",
    "NOT (available > :zero)",
    "#status IN (:on_sale, :sold_out)",
    "available = :text",
    "available < :n AND held > :zero",
    ":n <= available",
    "#e = :k",
    "empty = :k",  # a reserved word: moto refuses it, and the model lets moto answer
]
UPDATES = [
    "ADD available :minus_n, sold :n, version :one",
    "ADD tickets :n, version :one SET entity = :on_sale, buyer = :buyer",
    "SET #status = :sold_out ADD version :one",
    "ADD available :minus_n, types.#t :minus_n, sold :n",
    "ADD #e :k",
]


def test_the_models_conditions_judge_every_item_as_moto_does() -> None:
    from moto.dynamodb.comparisons import get_filter_expression

    from bench import rushstore

    for attrs in ITEMS:
        item = _item(attrs) if attrs else None
        for condition in CONDITIONS:
            # When the model and moto judge the same condition on the same item
            try:
                ours = rushstore.holds(rushstore.parse_condition(condition), item, NAMES, VALUES)
            except rushstore.Unsupported:
                # the model hands it to moto, which refuses it as DynamoDB would
                with pytest.raises(Exception, match="reserved keyword"):
                    get_filter_expression(condition, NAMES, VALUES).expr(item)
                continue
            theirs = get_filter_expression(condition, NAMES, VALUES).expr(item)

            # Then they agree
            assert ours == theirs, (condition, attrs)


def test_the_models_updates_write_what_moto_writes() -> None:
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    from bench import rushstore

    with rush.rush_world(rush.Limits(), seed=3) as (_clock, layer):
        from tests.support import factories

        table_name = factories.settings().ticketing_table
        backend = dynamodb_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]
        table = backend.get_table(table_name)
        for attrs in [a for a in ITEMS if a is not None]:
            for update in UPDATES:
                key = {"pk": {"S": attrs["pk"]}, "sk": {"S": attrs["sk"]}}
                # Given the same item twice
                ours, theirs = _item(attrs), _item(attrs)
                try:
                    writes = rushstore.plan_update(ours, update, NAMES, VALUES)
                except rushstore.Unsupported:
                    continue  # moto applies it in the model too
                # When the model applies the update to one, and moto to the other
                rushstore.apply_writes(writes)
                table.items[theirs.hash_key][theirs.range_key] = theirs
                backend.update_item(table_name, key, update, NAMES, VALUES)
                # Then both items are the same
                stored = backend.get_item(table_name, key)
                assert stored is not None
                assert ours.to_json() == stored.to_json(), (update, attrs)
        assert layer.meter.conflicts == 0


def test_the_models_reads_answer_what_moto_answers(
    world: tuple[rush.VirtualTime, rush.DynamoLimits, Any],
) -> None:
    from unittest.mock import patch

    from boto3.dynamodb.conditions import Key
    from boto3.dynamodb.types import Binary

    _clock, layer, table = world
    # Given a partition of items of every kind of value, and index entries in two partitions
    for n in range(12):
        table.put_item(
            Item={
                "pk": "P#1",
                "sk": f"ITEM#{n:02d}",
                "n": n,
                "text": "x" * (n * 30_000),  # pages of a megabyte end early
                "blob": Binary(bytes([n, 255, 0])),
                "map": {"a": n, "b": {"c": "d"}, "l": [1, "two"]},
                "tags": {"x", "y"},
                "gsi1pk": f"IDX#{n % 2}",
                "gsi1sk": f"{n:02d}",
            }
        )
    questions: list[dict[str, Any]] = [
        {"KeyConditionExpression": Key("pk").eq("P#1")},
        {"KeyConditionExpression": Key("pk").eq("P#1"), "ConsistentRead": True},
        {"KeyConditionExpression": Key("pk").eq("P#1") & Key("sk").begins_with("ITEM#0")},
        {"KeyConditionExpression": Key("pk").eq("P#1") & Key("sk").gt("ITEM#05"), "Limit": 3},
        {"KeyConditionExpression": Key("pk").eq("P#1"), "ScanIndexForward": False, "Limit": 4},
        {"KeyConditionExpression": Key("pk").eq("P#2")},
        {"IndexName": "gsi1", "KeyConditionExpression": Key("gsi1pk").eq("IDX#1")},
    ]

    def every_page(question: dict[str, Any]) -> list[Any]:
        pages, args = [], dict(question)
        while True:
            page = table.query(**args)
            page.pop("ResponseMetadata", None)
            pages.append(page)
            if "LastEvaluatedKey" not in page or len(pages) > 20:
                return pages
            args["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    for question in questions:
        # When the same question is asked of the model's store and of moto through botocore
        layer.off = True
        ours = every_page(question)
        again = every_page(question)  # answered from the model's cache the second time
        with patch.object(rush, "_documents", lambda client: False):
            theirs = every_page(question)
        # Then the answers are the same, page for page
        for page in theirs:
            page.pop("ScannedCount", None)
        for page in ours + again:
            page.pop("ScannedCount", None)
        assert ours == theirs, question
        assert again == theirs, question
    key = {"pk": "P#1", "sk": "ITEM#03"}
    layer.off = True
    ours_item = table.get_item(Key=key)
    with patch.object(rush, "_documents", lambda client: False):
        theirs_item = table.get_item(Key=key)
    theirs_item.pop("ResponseMetadata", None)
    assert ours_item == theirs_item


def test_the_models_plain_writes_answer_and_store_what_moto_does(
    world: tuple[rush.VirtualTime, rush.DynamoLimits, Any],
) -> None:
    from unittest.mock import patch

    _clock, layer, table = world
    layer.off = True
    # The waiting room's plain writes: a counter taken with its new value, an entry put once,
    # a health counter added to, a refused condition, and what the grammar leaves to moto
    writes: list[dict[str, Any]] = [
        {
            "Key": {"sk": "N#1"},
            "UpdateExpression": "ADD n :one SET entity = :entity",
            "ExpressionAttributeValues": {":one": 1, ":entity": "queue_counter"},
            "ReturnValues": "UPDATED_NEW",
        },
        {
            "Key": {"sk": "N#1"},
            "UpdateExpression": "ADD n :one SET entity = :entity",
            "ExpressionAttributeValues": {":one": 1, ":entity": "queue_counter"},
            "ReturnValues": "ALL_NEW",
        },
        {
            "Key": {"sk": "H#1"},
            "UpdateExpression": "ADD sales :one, latency_ms :ms, slow :slow",
            "ExpressionAttributeValues": {":one": 1, ":ms": 42, ":slow": 0},
        },
        {
            "Item": {"sk": "E#1", "entry_id": "e1", "tags": {"a"}, "n": 3},
            "ConditionExpression": "attribute_not_exists(pk)",
        },
        {
            "Item": {"sk": "E#1", "entry_id": "e2"},
            "ConditionExpression": "attribute_not_exists(pk)",
        },
        {
            "Key": {"sk": "N#1"},
            "UpdateExpression": "SET #v = :v",
            "ConditionExpression": "n >= :big",
            "ExpressionAttributeNames": {"#v": "version"},
            "ExpressionAttributeValues": {":v": 1, ":big": 10},
        },
        {
            "Key": {"sk": "N#1"},
            "UpdateExpression": "REMOVE entity",
            "ReturnValues": "ALL_NEW",
        },
    ]

    def apply(pk: str, write: dict[str, Any]) -> Any:
        args = {k: v for k, v in write.items() if k not in ("Key", "Item")}
        try:
            if "Item" in write:
                answer = table.put_item(Item={"pk": pk, **write["Item"]}, **args)
            else:
                answer = table.update_item(Key={"pk": pk, **write["Key"]}, **args)
        except ClientError as exc:
            return exc.response["Error"]["Code"]
        answer.pop("ResponseMetadata", None)
        answer.pop("ConsumedCapacity", None)  # moto's own addition
        attributes = answer.get("Attributes", {})
        attributes.pop("pk", None)  # each side's own partition
        if write.get("ReturnValues") == "UPDATED_NEW":
            # moto adds the key, which DynamoDB's UPDATED_NEW leaves out (it was not updated)
            attributes.pop("sk", None)
        return answer

    for write in writes:
        # When the model and moto (through botocore) make the same write to their own partition
        ours = apply("OURS", write)
        with patch.object(rush, "_documents", lambda client: False):
            theirs = apply("THEIRS", write)
        # Then they answer alike
        assert ours == theirs, write

    # And store the same items
    def stored(pk: str) -> list[dict[str, Any]]:
        with patch.object(rush, "_documents", lambda client: False):
            items = table.query(KeyConditionExpression=Key("pk").eq(pk))["Items"]
        return [{k: v for k, v in item.items() if k != "pk"} for item in items]

    from boto3.dynamodb.conditions import Key

    assert stored("OURS") == stored("THEIRS")
    assert len(stored("OURS")) == 3
