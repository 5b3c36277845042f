"""The on-sale rush, modeled (issue 13): the real create-ticket handler against moto in this
process, behind a layer that imposes DynamoDB's documented limits in virtual time.

AWS cannot be reached from here, and moto has no limits at all, so this suite adds them:

- every partition key value serves at most 1,000 write units and 3,000 read units a second, and
  so does every partition key value of a global secondary index, whose throttling holds back the
  table's write (back-pressure);
- a transactional write costs two write units per item per started kilobyte, a standard write
  one, an index write one per started kilobyte of the projected item; a consistent read one read
  unit per started 4 KB (an eventually consistent one half);
- a transaction that touches an item another transaction is still writing is cancelled with
  ``TransactionConflict`` (a plain write to such an item fails with
  ``TransactionConflictException``); a throttled transaction is cancelled with
  ``ThrottlingError``, and the data layer's own retry decides what happens next;
- a throttled plain request is retried as botocore's standard mode does (the attempts of
  ``gatepass.clients``, full-jitter exponential backoff), then fails with
  ``ProvisionedThroughputExceededException``.

Time is virtual: each buyer is a greenlet, a DynamoDB call takes a fixed service time during
which its buyer waits and others run, and the real code's CPU time does not count (its QR
rendering is replaced by a fixed image: drawing is not what a rush contends on). The arithmetic
and the AWS documentation behind each number are in docs/performance.md ("The rush, modeled").
"""

from __future__ import annotations

import base64
import heapq
import itertools
import json
import math
import random
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any
from unittest.mock import patch

from boto3.dynamodb.types import Binary

TYPE_TAGS = frozenset({"S", "N", "B", "BOOL", "NULL", "M", "L", "SS", "NS", "BS"})
WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem"})
READS = frozenset({"GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"})


@dataclass(frozen=True)
class Limits:
    """DynamoDB's limits and service times as the model applies them (docs/performance.md)."""

    partition_write_units: float = 1_000.0
    partition_read_units: float = 3_000.0
    # A table pre-warmed for the sale (issue 13, item 3); neither design reaches it here.
    table_write_units: float = 40_000.0
    read_seconds: float = 0.004
    write_seconds: float = 0.006
    # How long a transaction holds its items: two phases of single-digit milliseconds each.
    transaction_seconds: float = 0.020
    sdk_attempts: int = 5
    sdk_max_backoff: float = 20.0


class VirtualTime:
    """A discrete-event clock: callers run as greenlets, one at a time, in virtual time."""

    def __init__(self) -> None:
        import greenlet  # type: ignore[import-untyped]

        self._greenlet = greenlet
        self.now = 0.0
        self._queue: list[tuple[float, int, Any]] = []
        self._order = itertools.count()
        self._hub = greenlet.getcurrent()

    def at(self, when: float, fn: Callable[[], None]) -> None:
        runner = self._greenlet.greenlet(fn, parent=self._hub)
        heapq.heappush(self._queue, (max(when, self.now), next(self._order), runner))

    def sleep(self, seconds: float) -> None:
        current = self._greenlet.getcurrent()
        if current is self._hub:
            self.now += max(0.0, seconds)
            return
        heapq.heappush(self._queue, (self.now + max(0.0, seconds), next(self._order), current))
        self._hub.switch()

    def run(self) -> None:
        while self._queue:
            when, _, runner = heapq.heappop(self._queue)
            self.now = when
            runner.switch()


class Bucket:
    """A token bucket holding at most one second of its rate."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.level = rate
        self.at = 0.0

    def refill(self, now: float) -> None:
        self.level = min(self.rate, self.level + (now - self.at) * self.rate)
        self.at = now


def _is_typed(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and next(iter(value)) in TYPE_TAGS


def _plain(value: Any) -> Any:
    """A native value from DynamoDB JSON or from what the resource layer passes."""
    if _is_typed(value):
        from boto3.dynamodb.types import TypeDeserializer

        return TypeDeserializer().deserialize(value)
    return value


def size_of(value: Any) -> int:
    """DynamoDB's item-size arithmetic, close enough for capacity units."""
    value = _plain(value)
    if isinstance(value, str):
        return len(value.encode())
    if isinstance(value, bool) or value is None:
        return 1
    if isinstance(value, int | float | Decimal):
        return len(str(value).lstrip("-").replace(".", "")) // 2 + 1
    if isinstance(value, bytes | bytearray):
        return len(value)
    if isinstance(value, Binary):  # the sealed ticket keys' ciphertext (ADR 0064)
        raw: Any = value  # boto3's Binary converts itself with bytes(); its stubs do not say so
        return len(bytes(raw))
    if isinstance(value, dict):
        return 3 + sum(len(str(k).encode()) + size_of(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return 3 + sum(1 + size_of(v) for v in value)
    if isinstance(value, set | frozenset):
        return sum(size_of(v) for v in value)
    return len(str(value))


def units(size: int, per: int) -> int:
    return max(1, math.ceil(size / per))


@dataclass
class Touch:
    """One item a write touches: its partition, its size, and the index partitions it writes."""

    table: str
    key: tuple[str, str]
    size: int
    index_partitions: list[str]


@dataclass
class Meter:
    """What the layer did, for the report."""

    calls: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    throttled: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    conflicts: int = 0


class DynamoLimits:
    """The ``around`` of ``bench.contention.moto_in_process``: every DynamoDB call is metered
    against the limits, takes its service time, and may be throttled or cancelled."""

    def __init__(self, clock: VirtualTime, limits: Limits, rng: random.Random) -> None:
        self.clock = clock
        self.limits = limits
        self.rng = rng
        self.meter = Meter()
        self._buckets: dict[tuple[str, str], Bucket] = {}
        self._held: dict[tuple[str, tuple[str, str]], float] = {}
        self._indexes: dict[str, list[tuple[str, str]]] = {}
        self._read_units: dict[tuple[str, str], float] = {}
        self.off = False

    # ------------------------------------------------------------------ plumbing

    def __call__(self, original: Any, client: Any, operation: str, params: dict[str, Any]) -> Any:
        if self.off or client.meta.service_model.service_name != "dynamodb":
            return original(client, operation, params)
        self.meter.calls[operation] += 1
        if operation == "TransactWriteItems":
            return self._transaction(operation, params)
        if operation in WRITES:
            return self._write(original, client, operation, params)
        if operation in READS:
            return self._read(original, client, operation, params)
        return original(client, operation, params)

    def _backend(self) -> Any:
        from moto.core.models import DEFAULT_ACCOUNT_ID
        from moto.dynamodb.models import dynamodb_backends

        return dynamodb_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]

    def _index_keys(self, table: str) -> list[tuple[str, str]]:
        if table not in self._indexes:
            described = self._backend().get_table(table)
            self._indexes[table] = [
                (index.name, index.schema[0]["AttributeName"]) for index in described.global_indexes
            ]
        return self._indexes[table]

    def _touch(self, table: str, key: dict[str, Any], new_item: dict[str, Any] | None) -> Touch:
        """Read straight from moto's storage: the layer's own look-ups cost no virtual time."""
        from boto3.dynamodb.types import TypeSerializer

        serializer = TypeSerializer()
        typed = {name: serializer.serialize(_plain(v)) for name, v in key.items()}
        stored = self._backend().get_item(table, typed)
        before = {k: _plain(v.to_regular_json()) for k, v in stored.attrs.items()} if stored else {}
        image = {k: _plain(v) for k, v in new_item.items()} if new_item is not None else before
        size = max(stored.size() if stored else 0, size_of(image) if new_item else 0)
        partitions = [
            f"{index}#{image[attribute]}"
            for index, attribute in self._index_keys(table)
            if attribute in image
        ]
        return Touch(
            table=table,
            key=(str(_plain(key["pk"])), str(_plain(key.get("sk", "")))),
            size=max(size, 1),
            index_partitions=partitions,
        )

    def _bucket(self, table: str, partition: str, rate: float) -> Bucket:
        found = self._buckets.get((table, partition))
        if found is None:
            found = self._buckets[(table, partition)] = Bucket(rate)
        found.refill(self.clock.now)
        return found

    def _take(self, table: str, demands: dict[str, float], rate: float) -> bool:
        """Take every partition's units, or none when one of them lacks them."""
        buckets = {p: self._bucket(table, p, rate) for p in demands}
        total = self._bucket(table, "*table*", self.limits.table_write_units)
        if any(buckets[p].level < units for p, units in demands.items()):
            return False
        if rate == self.limits.partition_write_units and total.level < sum(demands.values()):
            return False
        for p, units in demands.items():
            buckets[p].level -= units
        if rate == self.limits.partition_write_units:
            total.level -= sum(demands.values())
        return True

    def _write_demands(self, touches: list[Touch], per_item: int) -> dict[str, float]:
        demands: dict[str, float] = defaultdict(float)
        for touch in touches:
            demands[touch.key[0]] += per_item * units(touch.size, 1024)
            for partition in touch.index_partitions:
                demands[partition] += units(touch.size, 1024)
        return demands

    def _busy(self, touches: list[Touch]) -> list[bool]:
        now = self.clock.now
        return [self._held.get((t.table, t.key), -1.0) > now for t in touches]

    def _hold(self, touches: list[Touch], seconds: float) -> None:
        until = self.clock.now + seconds
        for touch in touches:
            self._held[(touch.table, touch.key)] = until

    def _sdk_backoff(self, attempt: int) -> float:
        return self.rng.random() * min(2.0**attempt, self.limits.sdk_max_backoff)

    @staticmethod
    def _error(operation: str, code: str, message: str, **extra: Any) -> Exception:
        from botocore.exceptions import ClientError

        response: Any = {"Error": {"Code": code, "Message": message}, **extra}
        return ClientError(response, operation)

    # ------------------------------------------------------------------ operations

    def _transaction(self, operation: str, params: dict[str, Any]) -> Any:
        touches: list[Touch] = []
        for entry in params["TransactItems"]:
            ((kind, action),) = entry.items()
            new_item = action["Item"] if kind == "Put" else None
            key = action["Item"] if kind == "Put" else action["Key"]
            touches.append(
                self._touch(
                    action["TableName"], {"pk": key["pk"], "sk": key.get("sk", "")}, new_item
                )
            )
        busy = self._busy(touches)
        if any(busy):
            self.meter.conflicts += 1
            self.clock.sleep(self.limits.transaction_seconds / 2)
            reasons = [
                {"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}
                if b
                else {"Code": "None"}
                for b in busy
            ]
            raise self._error(
                operation,
                "TransactionCanceledException",
                "Transaction cancelled",
                CancellationReasons=reasons,
            )
        by_table: dict[str, list[Touch]] = defaultdict(list)
        for touch in touches:
            by_table[touch.table].append(touch)
        if not all(
            self._take(table, self._write_demands(group, 2), self.limits.partition_write_units)
            for table, group in by_table.items()
        ):
            self.meter.throttled[operation] += 1
            self.clock.sleep(self.limits.transaction_seconds / 2)
            raise self._error(
                operation,
                "TransactionCanceledException",
                "Transaction cancelled",
                CancellationReasons=[{"Code": "ThrottlingError"} for _ in touches],
            )
        self._hold(touches, self.limits.transaction_seconds)
        answer = self._apply(operation, params)  # conditions decide, atomically, now
        self.clock.sleep(self.limits.transaction_seconds)
        return answer

    def _apply(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        """The transaction on moto's storage engine, without moto's HTTP round trip (which
        costs more than the transaction itself); its refusal as botocore would raise it."""
        from boto3.dynamodb.types import TypeSerializer
        from moto.dynamodb.exceptions import TransactionCanceledException

        serializer = TypeSerializer()

        def typed(values: dict[str, Any]) -> dict[str, Any]:
            return {
                name: value if _is_typed(value) else serializer.serialize(value)
                for name, value in values.items()
            }

        items = []
        for entry in params["TransactItems"]:
            ((kind, action),) = entry.items()
            action = dict(action)
            for part in ("Item", "Key", "ExpressionAttributeValues"):
                if part in action:
                    action[part] = typed(action[part])
            items.append({kind: action})
        try:
            _check_then_apply(self._backend(), items)
        except TransactionCanceledException as exc:
            body = json.loads(exc.description)
            raise self._error(
                operation,
                "TransactionCanceledException",
                body["Message"],
                CancellationReasons=body["CancellationReasons"],
            ) from None
        return {}

    def _write(self, original: Any, client: Any, operation: str, params: dict[str, Any]) -> Any:
        table = params["TableName"]
        new_item = params.get("Item")
        key = new_item if new_item is not None else params["Key"]
        touch = self._touch(table, {"pk": key["pk"], "sk": key.get("sk", "")}, new_item)
        for attempt in range(self.limits.sdk_attempts):
            if self._busy([touch])[0]:
                self.meter.conflicts += 1
                self.clock.sleep(self.limits.write_seconds)
                raise self._error(operation, "TransactionConflictException", "in a transaction")
            demands = self._write_demands([touch], 1)
            if self._take(table, demands, self.limits.partition_write_units):
                answer = original(client, operation, params)
                self.clock.sleep(self.limits.write_seconds)
                return answer
            self.meter.throttled[operation] += 1
            self.clock.sleep(self.limits.write_seconds + self._sdk_backoff(attempt))
        raise self._error(operation, "ProvisionedThroughputExceededException", "throttled")

    def _read(self, original: Any, client: Any, operation: str, params: dict[str, Any]) -> Any:
        table = params.get("TableName", "*")
        partition = self._read_partition(params)
        consistent = bool(params.get("ConsistentRead"))
        guess = self._read_units.get((table, partition), 1.0)
        for attempt in range(self.limits.sdk_attempts):
            if self._take(table, {f"read#{partition}": guess}, self.limits.partition_read_units):
                answer = self._direct_query(params) if operation == "Query" else None
                if answer is None:
                    answer = original(client, operation, params)
                items = answer.get("Items") or ([answer["Item"]] if answer.get("Item") else [])
                read = units(sum(size_of(i) for i in items) or 1, 4096)
                self._read_units[(table, partition)] = read * (1.0 if consistent else 0.5)
                self.clock.sleep(self.limits.read_seconds)
                return answer
            self.meter.throttled[operation] += 1
            self.clock.sleep(self.limits.read_seconds + self._sdk_backoff(attempt))
        raise self._error(operation, "ProvisionedThroughputExceededException", "throttled")

    def _direct_query(self, params: dict[str, Any]) -> dict[str, Any] | None:
        """A resource ``Query`` with a key condition only, on moto's storage engine (as
        ``_apply``); None for any other shape, which takes moto's HTTP path."""
        from boto3.dynamodb.conditions import ConditionBase, ConditionExpressionBuilder
        from boto3.dynamodb.types import TypeSerializer
        from moto.dynamodb.parsing.key_condition_expression import parse_expression

        condition = params.get("KeyConditionExpression")
        other = set(params) - {
            "TableName",
            "KeyConditionExpression",
            "ConsistentRead",
            "IndexName",
            "Limit",
            "ExclusiveStartKey",
            "ScanIndexForward",
        }
        if not isinstance(condition, ConditionBase) or other:
            return None
        built = ConditionExpressionBuilder().build_expression(condition, is_key_condition=True)
        serializer = TypeSerializer()
        names = built.attribute_name_placeholders
        values: Any = {
            k: serializer.serialize(v) for k, v in built.attribute_value_placeholders.items()
        }
        backend = self._backend()
        index = params.get("IndexName")
        hash_conditions, range_conditions, _ = parse_expression(
            key_condition_expression=built.condition_expression,
            expression_attribute_values=values,
            expression_attribute_names=names,
            schema=backend.get_schema(table_name=params["TableName"], index_name=index),
        )
        start = params.get("ExclusiveStartKey")
        items, _, last = backend.query(
            params["TableName"],
            hash_conditions[0][1],
            range_conditions[-1][1] if range_conditions else None,
            range_conditions[-1][2] if range_conditions else [],
            params.get("Limit"),
            {k: serializer.serialize(v) for k, v in start.items()} if start else None,
            params.get("ScanIndexForward", True),
            None,
            index_name=index,
            consistent_read=params.get("ConsistentRead", False),
            expr_names=names,
            expr_values=values,
            filter_expression=None,
            hash_key_conditions=hash_conditions,
            range_key_conditions=range_conditions,
        )
        answer: dict[str, Any] = {
            "Items": [
                {k: _plain(v.to_regular_json()) for k, v in item.attrs.items()} for item in items
            ],
            "Count": len(items),
        }
        if last is not None:
            answer["LastEvaluatedKey"] = {k: _plain(v) for k, v in last.items()}
        return answer

    @staticmethod
    def _read_partition(params: dict[str, Any]) -> str:
        if "Key" in params:
            return str(_plain(params["Key"]["pk"]))
        values = params.get("ExpressionAttributeValues") or {}
        condition = params.get("KeyConditionExpression")
        if condition is not None and not isinstance(condition, str):
            # A boto3 condition object: its first value is the partition key.
            return f"{params.get('IndexName', '')}#{_first_value(condition)}"
        first = next(iter(values.values()), "")
        return f"{params.get('IndexName', '')}#{_plain(first)}"


def _first_value(condition: Any) -> Any:
    values = getattr(condition, "_values", ())
    for value in values:
        if hasattr(value, "_values"):
            return _first_value(value)
        if not hasattr(value, "name"):
            return value
    return ""


# ---------------------------------------------------------------------- the sale


@dataclass(frozen=True)
class Crowd:
    """People who arrive within ``arrival_seconds`` wanting one or two tickets; one who gets an
    error (anything but a sale or "sold out") tries again after a while, as people do."""

    people: int
    arrival_seconds: float = 10.0
    retries: int = 3
    retry_after: tuple[float, float] = (1.0, 5.0)
    two_tickets_share: float = 0.2


@dataclass
class Outcome:
    design: str
    capacity: int
    people: int
    sold: int = 0
    orders: int = 0
    sold_out_answers: int = 0
    errors: int = 0
    error_codes: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    first_arrival: float = math.inf
    last_sale: float = 0.0
    answer_seconds: list[float] = field(default_factory=list)

    def report(self) -> dict[str, Any]:
        selling = max(self.last_sale - self.first_arrival, 1e-9)
        latencies = sorted(self.answer_seconds)
        p99 = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))] if latencies else 0.0
        p50 = latencies[len(latencies) // 2] if latencies else 0.0
        return {
            "design": self.design,
            "capacity": self.capacity,
            "people": self.people,
            "sold": self.sold,
            "orders": self.orders,
            "sold_out_answers": self.sold_out_answers,
            "errors": self.errors,
            "error_codes": dict(self.error_codes),
            "selling_seconds": round(selling, 3),
            "sales_per_second": round(self.sold / selling, 1),
            "p50_answer_seconds": round(p50, 4),
            "p99_answer_seconds": round(p99, 4),
        }


SOLD_OUT = frozenset({"sold_out", "ticket_type_sold_out", "buyer_limit_reached"})
QUOTAS = (("Standing", 0.7), ("Seated", 0.3))


def _check_then_apply(backend: Any, transact_items: list[dict[str, Any]]) -> None:
    """moto's ``transact_write_items`` without its rollback copies.

    moto deep-copies a whole table for every item of a transaction, so that it can roll back:
    a sale would cost time in proportion to every ticket sold before it. DynamoDB evaluates a
    transaction's conditions against the items as they were before it, so checking every
    condition first and writing only when all hold is the same transaction, with nothing to
    roll back.
    """
    from moto.dynamodb.comparisons import get_filter_expression
    from moto.dynamodb.exceptions import (
        ConditionalCheckFailed,
        MultipleTransactionsException,
        TransactionCanceledException,
    )

    seen: set[tuple[str, str]] = set()
    keyed: list[tuple[str, dict[str, Any], str, dict[str, Any]]] = []
    errors: list[tuple[Any, Any, Any]] = []
    for entry in transact_items:
        ((kind, op),) = entry.items()
        table = backend.get_table(op["TableName"])
        if kind == "Put":
            key = {table.hash_key_attr: op["Item"][table.hash_key_attr]}
            if table.range_key_attr is not None:
                key[table.range_key_attr] = op["Item"][table.range_key_attr]
        else:
            key = op["Key"]
        marker = (op["TableName"], str(sorted(key.items())))
        if marker in seen:
            raise MultipleTransactionsException()
        seen.add(marker)
        keyed.append((kind, op, op["TableName"], key))
        current = backend.get_item(op["TableName"], key)
        condition = op.get("ConditionExpression")
        if condition is not None and not get_filter_expression(
            condition, op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
        ).expr(current):
            old = None
            if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
                old = current.to_json()["Attributes"]
            errors.append(("ConditionalCheckFailed", ConditionalCheckFailed().message, old))
        else:
            errors.append((None, None, None))
    if any(code is not None for code, _, _ in errors):
        raise TransactionCanceledException(errors)
    for kind, op, table_name, key in keyed:
        names, values = op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
        if kind == "Put":
            backend.put_item(table_name, op["Item"])
        elif kind == "Delete":
            backend.delete_item(table_name, key)
        elif kind == "Update":
            backend.update_item(
                table_name,
                key,
                update_expression=op["UpdateExpression"],
                expression_attribute_names=names,
                expression_attribute_values=values,
            )


@contextmanager
def rush_world(limits: Limits, seed: int) -> Iterator[tuple[VirtualTime, DynamoLimits]]:
    from bench.contention import moto_in_process
    from gatepass import qr
    from gatepass.dal import transactions

    clock = VirtualTime()
    layer = DynamoLimits(clock, limits, random.Random(seed))
    png = base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNgAAAAAgABSK+kcQAAAABJRU5ErkJggg=="
    )

    class _VirtualSleep:
        sleep = staticmethod(clock.sleep)

    from moto.dynamodb.models import DynamoDBBackend

    from gatepass.dal.tickets import DynamoTicketsDataAccess

    with (
        patch.object(DynamoDBBackend, "transact_write_items", _check_then_apply),
        # Images go to S3 after the sale, on keys spread across prefixes: not what contends.
        patch.object(DynamoTicketsDataAccess, "put_qr", lambda self, key, png: None),
        moto_in_process(around=layer),
        patch.object(qr, "render_png", lambda code: png),
        patch.object(transactions, "time", _VirtualSleep),
        # The data layer's back-off jitter, seeded: the same seed gives the same rush.
        patch.object(transactions, "random", random.Random(seed + 1)),
    ):
        yield clock, layer


def sale(design: str, capacity: int, crowd: Crowd, *, limits: Limits, seed: int) -> dict[str, Any]:
    """One on-sale of a fresh event in virtual time: what buyers were told, and what the table
    holds afterwards."""
    rng = random.Random(seed)
    with rush_world(limits, seed) as (clock, layer):
        from functions.create_ticket import app as sale_function
        from gatepass.models.tickets import CreateTicketRequest
        from tests.support import factories
        from tests.support.ticketing import create_event

        quotas = [
            {"name": name, "quota": round(capacity * share), "max_per_order": 2}
            for name, share in QUOTAS
        ]
        event = create_event(capacity=capacity, ticket_types=quotas, max_tickets_per_buyer=4)
        factories.ticket_seed()
        type_ids = [t["ticket_type_id"] for t in event["ticket_types"]]
        outcome = Outcome(design=design, capacity=capacity, people=crowd.people)

        def person(number: int, arrives: float) -> Callable[[], None]:
            wanted = 2 if rng.random() < crowd.two_tickets_share else 1
            kind = rng.choices(type_ids, weights=[share for _, share in QUOTAS])[0]
            request = CreateTicketRequest.model_validate(
                {
                    "event_id": event["event_id"],
                    "tickets": [{"ticket_type_id": kind, "attendee_name": f"guest {number}"}]
                    * wanted,
                }
            )
            buyer = f"person{number:06d}@example.com"

            def attempt() -> None:
                outcome.first_arrival = min(outcome.first_arrival, clock.now)
                for tries in range(crowd.retries + 1):
                    started = clock.now
                    code = _buy(sale_function, request, buyer)
                    if code is None:
                        outcome.sold += wanted
                        outcome.orders += 1
                        outcome.last_sale = clock.now
                        outcome.answer_seconds.append(clock.now - started)
                        return
                    if code in SOLD_OUT:
                        outcome.sold_out_answers += 1
                        return
                    outcome.errors += 1
                    outcome.error_codes[code] += 1
                    if tries < crowd.retries:
                        clock.sleep(rng.uniform(*crowd.retry_after))

            return attempt

        for number in range(crowd.people):
            arrives = rng.uniform(0.0, crowd.arrival_seconds)
            clock.at(arrives, person(number, arrives))
        clock.run()
        layer.off = True
        stored = _stored_counts(event["event_id"], type_ids)
    report = outcome.report()
    report.update(
        {
            "stored": stored,
            "quotas": {q["name"]: q["quota"] for q in quotas},
            "exact": stored["seats_sold"] == report["sold"] == stored["tickets"]
            and report["sold"] <= capacity
            and all(
                stored["per_type"][type_id] <= q["quota"]
                for type_id, q in zip(type_ids, quotas, strict=True)
            ),
            "conflicts": layer.meter.conflicts,
            "throttled": dict(layer.meter.throttled),
            "virtual_seconds": round(clock.now, 3),
        }
    )
    return report


def _buy(sale_function: Any, request: Any, buyer: str) -> str | None:
    """One order through create-ticket's logic and data layer, as its handler wires them:
    None for a sale, else the error code the API would answer."""
    from gatepass.dal.storage import StorageUnavailable
    from gatepass.errors import GatepassError

    try:
        sale_function.take_ticket(
            request,
            buyer,
            None,
            events=sale_function.events,
            orders=sale_function.orders,
            tickets=sale_function.tickets,
            keys=sale_function.keys,
        )
    except GatepassError as refused:
        return refused.code
    except StorageUnavailable:
        return "service_unavailable"
    except Exception as failed:  # what the API would answer as a 500
        return f"internal_error:{type(failed).__name__}"
    return None


def _stored_counts(event_id: str, type_ids: list[str]) -> dict[str, Any]:
    """What the table says (read after the sale, with the limits off)."""
    from boto3.dynamodb.conditions import Key

    from gatepass.dal import layout
    from tests.support import factories

    table = factories._table()
    args: dict[str, Any] = {
        "IndexName": layout.EVENT_TICKETS_INDEX,
        "KeyConditionExpression": Key("gsi1pk").eq(layout.event_tickets_partition(event_id)),
        "Select": "COUNT",
    }
    tickets = 0
    while True:
        page = table.query(**args)
        tickets += int(page["Count"])
        if "LastEvaluatedKey" not in page:
            break
        args["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return {
        "seats_sold": int(factories.seats(event_id).get("sold", -1)),
        "tickets": tickets,
        "per_type": {t: int(factories.ticket_type(event_id, t).get("sold", -1)) for t in type_ids},
    }


# ---------------------------------------------------------------------- the suite

DESIGNS = ("single-counter",)


def run(quick: bool) -> dict[str, Any]:
    limits = Limits()
    plan = [(500, [600, 2_000])] if quick else [(5_000, [2_000, 6_000, 20_000]), (50_000, [60_000])]
    rows = []
    for capacity, crowds in plan:
        for people in crowds:
            for design in DESIGNS:
                rows.append(
                    sale(design, capacity, Crowd(people=people), limits=limits, seed=people)
                )
    return {"limits": asdict(limits), "rows": rows, "designs": list(DESIGNS)}


if __name__ == "__main__":
    print(json.dumps(run(quick=True), indent=2))
