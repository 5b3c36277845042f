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
import functools
import heapq
import itertools
import json
import math
import os
import random
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any
from unittest.mock import patch

from boto3.dynamodb.types import Binary
from botocore.exceptions import ClientError

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
    # API Gateway's throttle on /join-queue and /queue-status together, as an operator sets
    # QueueThrottleRate/Burst for a crowd this size: the account's default limit per region.
    queue_api_rate: float = 10_000.0
    queue_api_burst: float = 10_000.0


class VirtualTime:
    """A discrete-event clock: callers run as greenlets, one at a time, in virtual time."""

    def __init__(self) -> None:
        import greenlet  # type: ignore[import-untyped]

        self._greenlet = greenlet
        self.now = 0.0
        self._queue: list[tuple[float, int, Any]] = []
        self._order = itertools.count()
        self._hub = greenlet.getcurrent()
        self.epoch = 0

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
    # Which items conflicted and which partitions lacked units, by kind of key (ids as *).
    conflicted_items: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    throttled_partitions: dict[str, int] = field(default_factory=lambda: defaultdict(int))


def kind_of(*parts: str) -> str:
    """A key with its ids replaced by ``*``: ``STOCK#<event>#3/STOCK`` is ``STOCK#*#*/STOCK``."""
    return "/".join(
        "#".join(
            word if (word.isalpha() and word.isupper()) or word in ("gsi1", "gsi2", "read") else "*"
            for word in part.split("#")
        )
        for part in parts
        if part
    )


class Store:
    """moto's storage engine addressed directly for the calls a sale makes, answering what
    botocore would have parsed from moto's HTTP stand-in (tests/integration/test_rush_model.py
    compares the two). Going through botocore and moto's request handling costs more than the
    storage work itself, and moto answers a Query by sorting every item of the table; here a
    Query looks at its own partition only. Anything else takes the usual path."""

    def __init__(self) -> None:
        self.generation = 0  # writes of any kind
        self._unkeyed = 0  # writes whose partitions are not known (none in a sale)
        self._partitions: dict[tuple[str, str], int] = defaultdict(int)
        self._index_maps: dict[tuple[str, str], tuple[int, dict[Any, list[Any]]]] = {}
        self._answers: dict[Any, tuple[tuple[int, int], tuple[str, int, Any]]] = {}
        self.last_size: int | None = None  # bytes of the last answer read directly

    def wrote(self, table: str | None, pk: Any | None) -> None:
        """A write to partition ``pk`` of ``table`` (None: somewhere unknown) happened."""
        self.generation += 1
        if table is None or pk is None:
            self._unkeyed += 1
        else:
            self._partitions[(table, str(pk))] += 1

    def wrote_by(self, operation: str, params: dict[str, Any]) -> None:
        """Note the partition a plain write (not a transaction: ``transact`` notes its own)
        is about to change."""
        if operation == "TransactWriteItems":
            return
        key = params.get("Item") if operation == "PutItem" else params.get("Key")
        if operation in WRITES and isinstance(key, dict) and "pk" in key:
            self.wrote(params.get("TableName"), _plain(key["pk"]))
        else:
            self.wrote(None, None)

    @staticmethod
    def backend() -> Any:
        from moto.core.models import DEFAULT_ACCOUNT_ID
        from moto.dynamodb.models import dynamodb_backends

        return dynamodb_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]

    def answer(self, original: Any, client: Any, operation: str, params: dict[str, Any]) -> Any:
        """One call, as moto would answer it (no limits, no virtual time)."""
        found: Any = None
        self.last_size = None
        if _documents(client):
            if operation == "GetItem":
                found = self.get_item(params)
            elif operation == "Query":
                found = self.query(params)
            elif operation == "TransactWriteItems":
                found = self.transact(operation, params)
            elif operation in ("PutItem", "UpdateItem"):
                found = self.write(operation, params)
        return found if found is not None else original(client, operation, params)

    # ------------------------------------------------------------------ reads

    def get_item(self, params: dict[str, Any]) -> dict[str, Any] | None:
        if set(params) - {"TableName", "Key", "ConsistentRead"}:
            return None
        stored = self.backend().get_item(params["TableName"], _typed(params["Key"]))
        answer = {"Item": python_of(stored)} if stored is not None else {}
        self.last_size = size_of(answer["Item"]) if stored is not None else 0
        return answer

    def query(self, params: dict[str, Any]) -> dict[str, Any] | None:
        """A Query with a key condition only (a ``boto3.dynamodb.conditions`` one, as the data
        layer writes them): moto's own ``Table.query`` over the items of the asked partition,
        so its sorting, paging and key conditions answer."""
        from boto3.dynamodb.conditions import ConditionBase, ConditionExpressionBuilder
        from moto.dynamodb.models.dynamo_type import DynamoType
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
        names = built.attribute_name_placeholders
        values: Any = _typed(built.attribute_value_placeholders)
        index = params.get("IndexName")
        start = params.get("ExclusiveStartKey")
        # The same question of an unchanged partition gets the same answer: a rush asks the
        # event's partition thousands of times between two writes to it.
        asked = (
            params["TableName"],
            index,
            built.condition_expression,
            repr(sorted(names.items())),
            repr(sorted(values.items())),
            repr(sorted(start.items())) if start else None,
            params.get("Limit"),
            params.get("ScanIndexForward", True),
            bool(params.get("ConsistentRead")),
        )
        cached = self._answers.get(asked)
        if index is None and cached is not None:
            partition, size, kept = cached[1]
            if cached[0] == (self._unkeyed, self._partitions[(params["TableName"], partition)]):
                self.last_size = size
                copied: dict[str, Any] = _copy(kept)
                return copied
        backend = self.backend()
        table = backend.get_table(params["TableName"])
        hash_conditions, range_conditions, _ = parse_expression(
            key_condition_expression=built.condition_expression,
            expression_attribute_values=values,
            expression_attribute_names=names,
            schema=backend.get_schema(table_name=params["TableName"], index_name=index),
        )
        hash_value = DynamoType(hash_conditions[0][1])
        if index:
            candidates = self._index_partition(table, index, hash_conditions[0][0], hash_value)
        elif table.range_key_attr:
            candidates = list(table.items.get(hash_value, {}).values())
        else:
            candidates = [table.items[hash_value]] if hash_value in table.items else []
        with patch.object(table, "all_items", lambda: candidates):
            items, _, last = backend.query(
                params["TableName"],
                hash_conditions[0][1],
                range_conditions[-1][1] if range_conditions else None,
                range_conditions[-1][2] if range_conditions else [],
                params.get("Limit"),
                _typed(start) if start else None,
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
        answer: dict[str, Any] = {"Items": [python_of(item) for item in items], "Count": len(items)}
        answer["ScannedCount"] = answer["Count"]
        if last is not None:
            answer["LastEvaluatedKey"] = {k: python_value(v) for k, v in last.items()}
        self.last_size = sum(size_of(item) for item in answer["Items"])
        if index is None:
            partition = str(python_value(hash_value))
            version = (self._unkeyed, self._partitions[(params["TableName"], partition)])
            self._answers[asked] = (version, (partition, self.last_size, _copy(answer)))
        return answer

    def _index_partition(self, table: Any, index: str, attribute: str, value: Any) -> list[Any]:
        """The items whose index key is ``value``, from a map of the index built once per
        generation of the table (every write through the layer starts a new one)."""
        built = self._index_maps.get((table.name, index))
        if built is None or built[0] != self.generation:
            by_value: dict[Any, list[Any]] = defaultdict(list)
            for partition in table.items.values():
                for item in partition.values() if table.range_key_attr else [partition]:
                    found = item.attrs.get(attribute)
                    if found is not None:
                        by_value[found].append(item)
            built = self._index_maps[(table.name, index)] = (self.generation, by_value)
        return list(built[1].get(value, ()))

    # ------------------------------------------------------------------ writes

    def write(self, operation: str, params: dict[str, Any]) -> dict[str, Any] | None:
        """A plain PutItem or UpdateItem in ``bench.rushstore``'s grammar on moto's storage
        engine (a refused condition raised as botocore raises it); None for moto to do."""
        from bench import rushstore

        allowed = {
            "TableName",
            "ConditionExpression",
            "ExpressionAttributeNames",
            "ExpressionAttributeValues",
            "ReturnValues",
            "Item" if operation == "PutItem" else "Key",
        }
        if operation == "UpdateItem":
            allowed.add("UpdateExpression")
        returns = params.get("ReturnValues", "NONE")
        if set(params) - allowed or returns not in ("NONE", "UPDATED_NEW", "ALL_NEW"):
            return None
        if operation == "PutItem" and returns != "NONE":
            return None
        backend = self.backend()
        table = backend.get_table(params["TableName"])
        names = params.get("ExpressionAttributeNames")
        values = params.get("ExpressionAttributeValues")
        typed_values = _typed(values) if values else values
        if operation == "PutItem":
            item = _typed(params["Item"])
            key = {table.hash_key_attr: item[table.hash_key_attr]}
            if table.range_key_attr is not None:
                key[table.range_key_attr] = item[table.range_key_attr]
        else:
            key = _typed(params["Key"])
        current = backend.get_item(params["TableName"], key)
        condition = params.get("ConditionExpression")
        try:
            holds = condition is None or rushstore.holds(
                rushstore.parse_condition(condition), current, names, typed_values
            )
            if operation == "UpdateItem":
                # Parsed before anything is written: what the grammar lacks goes to moto whole.
                updated = rushstore.parse_update(params["UpdateExpression"])
        except rushstore.Unsupported:
            return None
        if not holds:
            raise _error(
                operation, "ConditionalCheckFailedException", "The conditional request failed"
            )
        if operation == "PutItem":
            _put(backend, table, item)
            return {}
        op = {"UpdateExpression": params["UpdateExpression"]}
        if not _update(backend, table, key, names, typed_values, op):
            return None
        if returns == "NONE":
            return {}
        stored = backend.get_item(params["TableName"], key)
        attributes = python_of(stored)
        if returns == "UPDATED_NEW":
            written = {rushstore.top_name(path, names) for _, path, _ in updated}
            attributes = {k: v for k, v in attributes.items() if k in written}
        return {"Attributes": attributes}

    def transact(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        """The transaction on moto's storage engine; its refusal as botocore would raise it."""
        from moto.dynamodb.exceptions import TransactionCanceledException

        items = []
        for entry in params["TransactItems"]:
            ((kind, action),) = entry.items()
            action = dict(action)
            for part in ("Item", "Key", "ExpressionAttributeValues"):
                if part in action:
                    action[part] = _typed(action[part])
            items.append({kind: action})
        try:
            _check_then_apply(self.backend(), items, self)
        except TransactionCanceledException as exc:
            body = json.loads(exc.description)
            raise _error(
                operation,
                "TransactionCanceledException",
                body["Message"],
                CancellationReasons=body["CancellationReasons"],
            ) from None
        return {}


# The store of the rush world in use, for transactions that reach moto the usual way.
_ACTIVE_STORE: dict[str, Store] = {}


def _copy(value: Any) -> Any:
    """A deep copy of an answer (dicts, lists and sets of plain values)."""
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    if isinstance(value, set):
        return set(value)
    return value


def _documents(client: Any) -> bool:
    """Whether ``client`` takes and answers Python values (the data layer's tables)."""
    from gatepass import clients

    return bool(client is clients.dynamodb_documents())


def _typed(values: dict[str, Any]) -> dict[str, Any]:
    """DynamoDB JSON of Python values (values already typed are kept)."""
    serializer = _serializer()
    return {
        name: value if _is_typed(value) else serializer.serialize(value)
        for name, value in values.items()
    }


@functools.cache
def _serializer() -> Any:
    from boto3.dynamodb.types import TypeSerializer

    return TypeSerializer()


def python_of(item: Any) -> dict[str, Any]:
    """A moto item as the data layer's client answers it (binary values as ``Binary``)."""
    return {name: python_value(value) for name, value in item.attrs.items()}


def python_value(value: Any) -> Any:
    """One moto ``DynamoType`` as a Python value, as botocore and boto3 would decode it."""
    return _deserializer().deserialize(_bytes_of_binaries(value.to_regular_json()))


@functools.cache
def _deserializer() -> Any:
    from boto3.dynamodb.types import TypeDeserializer

    return TypeDeserializer()


def _bytes_of_binaries(typed: dict[str, Any]) -> dict[str, Any]:
    """moto keeps a binary as it came: base64 text from HTTP, bytes from its own callers."""
    ((tag, value),) = typed.items()
    if tag == "B":
        return {tag: _bytes(value)}
    if tag == "BS":
        return {tag: [_bytes(v) for v in value]}
    if tag == "M":
        return {tag: {k: _bytes_of_binaries(v) for k, v in value.items()}}
    if tag == "L":
        return {tag: [_bytes_of_binaries(v) for v in value]}
    return typed


def _bytes(value: Any) -> bytes:
    return base64.b64decode(value) if isinstance(value, str) else bytes(value)


def _error(operation: str, code: str, message: str, **extra: Any) -> Exception:
    from botocore.exceptions import ClientError

    response: Any = {"Error": {"Code": code, "Message": message}, **extra}
    return ClientError(response, operation)


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
        self.store = Store()
        self.off = False

    # ------------------------------------------------------------------ plumbing

    def __call__(self, original: Any, client: Any, operation: str, params: dict[str, Any]) -> Any:
        if client.meta.service_model.service_name != "dynamodb":
            return original(client, operation, params)
        if operation not in READS:
            self.store.wrote_by(operation, params)  # cached answers of its partition go
        if self.off:
            return self.store.answer(original, client, operation, params)
        self.meter.calls[operation] += 1
        if operation == "TransactWriteItems":
            return self._transaction(operation, params)
        if operation in WRITES:
            return self._write(original, client, operation, params)
        if operation in READS:
            return self._read(original, client, operation, params)
        return original(client, operation, params)

    def _index_keys(self, table: str) -> list[tuple[str, str]]:
        if table not in self._indexes:
            described = self.store.backend().get_table(table)
            self._indexes[table] = [
                (index.name, index.schema[0]["AttributeName"]) for index in described.global_indexes
            ]
        return self._indexes[table]

    def _touch(self, table: str, key: dict[str, Any], new_item: dict[str, Any] | None) -> Touch:
        """Read straight from moto's storage: the layer's own look-ups cost no virtual time."""
        pk, sk = _plain(key["pk"]), _plain(key.get("sk", ""))
        stored = self.store.backend().get_item(table, _typed({"pk": pk, "sk": sk}))
        size = stored.size() if stored is not None else 0
        if new_item is not None:
            image = {k: _plain(v) for k, v in new_item.items()}
            size = max(size, size_of(image))
            partitions = [
                f"{index}#{image[attribute]}"
                for index, attribute in self._index_keys(table)
                if attribute in image
            ]
        else:
            attrs = stored.attrs if stored is not None else {}
            partitions = [
                f"{index}#{python_value(attrs[attribute])}"
                for index, attribute in self._index_keys(table)
                if attribute in attrs
            ]
        return Touch(
            table=table, key=(str(pk), str(sk)), size=max(size, 1), index_partitions=partitions
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
        short = [p for p, units in demands.items() if buckets[p].level < units]
        if short:
            self.meter.throttled_partitions[kind_of(short[0])] += 1
            return False
        if rate == self.limits.partition_write_units and total.level < sum(demands.values()):
            self.meter.throttled_partitions["the table"] += 1
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

    # ------------------------------------------------------------------ operations

    def _transaction(self, operation: str, params: dict[str, Any]) -> Any:
        actions = []
        for entry in params["TransactItems"]:
            ((kind, action),) = entry.items()
            key = action["Item"] if kind == "Put" else action["Key"]
            actions.append((kind, action, (str(_plain(key["pk"])), str(_plain(key.get("sk", ""))))))
        now = self.clock.now
        busy = [
            self._held.get((action["TableName"], key), -1.0) > now for _, action, key in actions
        ]
        if any(busy):
            self.meter.conflicts += 1
            for held, (_, _, key) in zip(busy, actions, strict=True):
                if held:
                    self.meter.conflicted_items[kind_of(*key)] += 1
            self.clock.sleep(self.limits.transaction_seconds / 2)
            reasons = [
                {"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}
                if b
                else {"Code": "None"}
                for b in busy
            ]
            raise _error(
                operation,
                "TransactionCanceledException",
                "Transaction cancelled",
                CancellationReasons=reasons,
            )
        touches = [
            self._touch(
                action["TableName"],
                {"pk": key[0], "sk": key[1]},
                action["Item"] if kind == "Put" else None,
            )
            for kind, action, key in actions
        ]
        by_table: dict[str, list[Touch]] = defaultdict(list)
        for touch in touches:
            by_table[touch.table].append(touch)
        if not all(
            self._take(table, self._write_demands(group, 2), self.limits.partition_write_units)
            for table, group in by_table.items()
        ):
            self.meter.throttled[operation] += 1
            self.clock.sleep(self.limits.transaction_seconds / 2)
            raise _error(
                operation,
                "TransactionCanceledException",
                "Transaction cancelled",
                CancellationReasons=[{"Code": "ThrottlingError"} for _ in actions],
            )
        # The first phase judges every condition with the items held; a refused transaction
        # ends there (held, and answered, after half the time), a granted one commits.
        half = self.limits.transaction_seconds / 2
        try:
            self.store.transact(operation, params)  # conditions decide, atomically, now
        except ClientError:
            self._hold(touches, half)
            self.clock.sleep(half)
            raise
        self._hold(touches, self.limits.transaction_seconds)
        self.clock.sleep(self.limits.transaction_seconds)
        return {}

    def _write(self, original: Any, client: Any, operation: str, params: dict[str, Any]) -> Any:
        table = params["TableName"]
        new_item = params.get("Item")
        key = new_item if new_item is not None else params["Key"]
        touch = self._touch(table, {"pk": key["pk"], "sk": key.get("sk", "")}, new_item)
        for attempt in range(self.limits.sdk_attempts):
            if self._busy([touch])[0]:
                self.meter.conflicts += 1
                self.meter.conflicted_items[kind_of(*touch.key)] += 1
                self.clock.sleep(self.limits.write_seconds)
                raise _error(operation, "TransactionConflictException", "in a transaction")
            demands = self._write_demands([touch], 1)
            if self._take(table, demands, self.limits.partition_write_units):
                answer = self.store.answer(original, client, operation, params)
                # Noted again once written: a read between the first note and a write held up
                # by a throttle kept the partition's old answer, and later reads got it too.
                self.store.wrote_by(operation, params)
                self.clock.sleep(self.limits.write_seconds)
                return answer
            self.meter.throttled[operation] += 1
            self.clock.sleep(self.limits.write_seconds + self._sdk_backoff(attempt))
        raise _error(operation, "ProvisionedThroughputExceededException", "throttled")

    def _read(self, original: Any, client: Any, operation: str, params: dict[str, Any]) -> Any:
        table = params.get("TableName", "*")
        partition = self._read_partition(params)
        consistent = bool(params.get("ConsistentRead"))
        guess = self._read_units.get((table, partition), 1.0)
        for attempt in range(self.limits.sdk_attempts):
            if self._take(table, {f"read#{partition}": guess}, self.limits.partition_read_units):
                answer = self.store.answer(original, client, operation, params)
                size = self.store.last_size
                if size is None:
                    items = answer.get("Items") or ([answer["Item"]] if answer.get("Item") else [])
                    size = sum(size_of(i) for i in items)
                read = units(size or 1, 4096)
                self._read_units[(table, partition)] = read * (1.0 if consistent else 0.5)
                self.clock.sleep(self.limits.read_seconds)
                return answer
            self.meter.throttled[operation] += 1
            self.clock.sleep(self.limits.read_seconds + self._sdk_backoff(attempt))
        raise _error(operation, "ProvisionedThroughputExceededException", "throttled")

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
    # Behind the waiting room: the first admission (the sale starts there), who was let in, how
    # many status reads the crowd made, and the rate the controller set at each of its steps.
    first_admission: float = math.inf
    admitted: int = 0
    polls: int = 0
    polls_by_second: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    status_throttled: int = 0
    joins_by_second: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    rates: list[tuple[float, float]] = field(default_factory=list)
    sold_by_second: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    admitted_by_second: dict[int, int] = field(default_factory=lambda: defaultdict(int))

    def report(self) -> dict[str, Any]:
        start = self.first_admission if self.design == QUEUED else self.first_arrival
        selling = max(self.last_sale - start, 1e-9)
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
            "sold_by_second": dict(sorted(self.sold_by_second.items())),
            "p50_answer_seconds": round(p50, 4),
            "p99_answer_seconds": round(p99, 4),
            **(
                {
                    "queue_opens_seconds": QUEUE_OPENS_AT,
                    "first_admission_seconds": round(self.first_admission, 3),
                    "sold_out_after_opening_seconds": round(self.last_sale - QUEUE_OPENS_AT, 3),
                    "admitted": self.admitted,
                    "status_reads": self.polls,
                    "peak_status_reads_per_second": max(self.polls_by_second.values(), default=0),
                    "peak_joins_per_second": max(self.joins_by_second.values(), default=0),
                    "status_reads_throttled": self.status_throttled,
                    "rates_per_second": [(round(t, 1), round(r, 1)) for t, r in self.rates],
                    "admitted_by_second": dict(sorted(self.admitted_by_second.items())),
                }
                if self.design == QUEUED
                else {}
            ),
        }


SOLD_OUT = frozenset({"sold_out", "ticket_type_sold_out", "buyer_limit_reached"})
QUEUED = "queued"
"""The sharded design behind the waiting room (ADRs 0070, 0072): the queue opens QUEUE_OPENS_AT
seconds into the crowd's arrivals, so people join both before the opening (the drawn pool) and
after it (in arrival order), and buy with the admission token their status read gives them."""
QUEUE_OPENS_AT = 5.0
THROTTLED_BY_API = "queue:too_many_requests"  # API Gateway's 429
MAX_PER_BUYER = 4  # the event's per-buyer limit; the exactness check holds every buyer to it
QUOTAS = (("Standing", 0.7), ("Seated", 0.3))


class _SeededSecrets:
    """``secrets``' two calls the product makes ids and seeds with, from a seeded generator."""

    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed)

    def token_bytes(self, n: int) -> bytes:
        return self._random.randbytes(n)

    def token_hex(self, n: int) -> str:
        return self.token_bytes(n).hex()


def _check_then_apply(
    backend: Any, transact_items: list[dict[str, Any]], store: Store | None = None
) -> None:
    """moto's ``transact_write_items`` without its rollback copies.

    moto deep-copies a whole table for every item of a transaction, so that it can roll back:
    a sale would cost time in proportion to every ticket sold before it. DynamoDB evaluates a
    transaction's conditions against the items as they were before it, so checking every
    condition first and writing only when all hold is the same transaction, with nothing to
    roll back. Conditions and updates in the grammar of ``bench.rushstore`` are applied by it
    to moto's items (moto would parse and validate each anew); any other is moto's.
    """
    from moto.dynamodb.comparisons import get_filter_expression
    from moto.dynamodb.exceptions import (
        ConditionalCheckFailed,
        MultipleTransactionsException,
        TransactionCanceledException,
    )

    from bench import rushstore

    seen: set[tuple[str, str]] = set()
    keyed: list[tuple[str, dict[str, Any], Any, dict[str, Any]]] = []
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
        keyed.append((kind, op, table, key))
        current = backend.get_item(op["TableName"], key)
        condition = op.get("ConditionExpression")
        names, values = op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
        if condition is None:
            holds = True
        else:
            try:
                holds = rushstore.holds(
                    rushstore.parse_condition(condition), current, names, values
                )
            except rushstore.Unsupported:
                holds = get_filter_expression(condition, names, values).expr(current)
        if not holds:
            old = None
            if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
                old = current.to_json()["Attributes"]
            errors.append(("ConditionalCheckFailed", ConditionalCheckFailed().message, old))
        else:
            errors.append((None, None, None))
    if any(code is not None for code, _, _ in errors):
        raise TransactionCanceledException(errors)
    for kind, op, table, key in keyed:
        names, values = op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
        store = store or _ACTIVE_STORE.get("store")
        if store is not None and kind != "ConditionCheck":
            store.wrote(table.name, _plain(key[table.hash_key_attr]))
        if kind == "Put":
            _put(backend, table, op["Item"])
        elif kind == "Delete":
            backend.delete_item(table.name, key)
        elif kind == "Update" and not _update(backend, table, key, names, values, op):
            backend.update_item(
                table.name,
                key,
                update_expression=op["UpdateExpression"],
                expression_attribute_names=names,
                expression_attribute_values=values,
            )


def _put(backend: Any, table: Any, typed_item: dict[str, Any]) -> None:
    """A new item into moto's table as its ``put_item`` stores it, without re-measuring the
    item once per attribute (moto's size check) or checking a condition already checked."""
    from moto.dynamodb.models.dynamo_type import DynamoType, Item

    hash_key, range_key = backend.get_keys_value(table, typed_item)
    item = Item(hash_key, range_key, {})
    dict.update(item.attrs, {name: DynamoType(value) for name, value in typed_item.items()})
    if range_key is not None:
        table.items[hash_key][range_key] = item
    else:
        table.items[hash_key] = item


def _update(
    backend: Any,
    table: Any,
    key: dict[str, Any],
    names: dict[str, str] | None,
    values: dict[str, Any] | None,
    op: dict[str, Any],
) -> bool:
    """An update in ``bench.rushstore``'s grammar, applied; False for moto to do."""
    from moto.dynamodb.models.dynamo_type import Item

    from bench import rushstore

    hash_key, range_key = backend.get_keys_value(table, key)
    item = table.get_item(hash_key, range_key)
    new = item is None
    if new:
        item = Item(hash_key, range_key, key)
    try:
        writes = rushstore.plan_update(item, op["UpdateExpression"], names, values)
    except rushstore.Unsupported:
        return False
    if new:
        if range_key is not None:
            table.items[hash_key][range_key] = item
        else:
            table.items[hash_key] = item
    rushstore.apply_writes(writes)
    return True


@contextmanager
def rush_world(limits: Limits, seed: int) -> Iterator[tuple[VirtualTime, DynamoLimits]]:
    import time as wall
    from datetime import UTC, datetime

    from bench.contention import moto_in_process
    from gatepass import qr
    from gatepass.dal import transactions

    clock = VirtualTime()
    layer = DynamoLimits(clock, limits, random.Random(seed))
    # Virtual second 0 on the wall clock: the next whole minute, so the opening and the
    # controller's 10 s windows fall on the same virtual seconds in every run.
    clock.epoch = (int(wall.time()) // 60 + 1) * 60

    def virtual_now() -> datetime:
        return datetime.fromtimestamp(clock.epoch + clock.now, UTC)

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
        patch.dict(_ACTIVE_STORE, {"store": layer.store}),
        # The waiting room's clock (its opening, draw, frontier and controller windows) and the
        # sale's latency timer run on virtual time too.
        # (Named, not imported here: gatepass.logic.queue makes its metrics on import, which must
        # come after moto_in_process has set the functions' environment.)
        patch("gatepass.clock.now", virtual_now),
        patch("gatepass.logic.queue.timer", lambda: clock.now),
        # Ids, the queue's secret seed and its shard picks, seeded too: the draw orders people
        # by hashes of the seed and their entry ids, so with random ones each run drew another
        # order (and sold other orders first) and the queued rows changed from run to run.
        patch("gatepass.ids.secrets", _SeededSecrets(seed + 2)),
        patch("gatepass.logic.queue.secrets", _SeededSecrets(seed + 3)),
        patch("gatepass.logic.queue.random", random.Random(seed + 4)),
    ):
        from gatepass.dal import queue as queue_store
        from gatepass.logic import queue as queue_rules

        queue_rules.reset()
        queue_store.reset()
        for table in layer.store.backend().tables.values():
            # Nothing in a rush reads the stream, and moto copies every changed item into it.
            table.stream_shard = None
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
        rate = expected_rate(design, crowd)
        sharding: dict[str, Any] = {} if rate is None else {"expected_orders_per_second": rate}
        event = create_event(
            capacity=capacity, ticket_types=quotas, max_tickets_per_buyer=MAX_PER_BUYER, **sharding
        )
        factories.ticket_seed()
        type_ids = [t["ticket_type_id"] for t in event["ticket_types"]]
        outcome = Outcome(design=design, capacity=capacity, people=crowd.people)
        finished = [0]  # people who have had their last answer
        waiting_room = None
        if design == QUEUED:
            waiting_room = WaitingRoom(event["event_id"], rate, clock, outcome, limits)
            waiting_room.open()

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
                try:
                    buy()
                finally:
                    finished[0] += 1

            def buy() -> None:
                outcome.first_arrival = min(outcome.first_arrival, clock.now)
                admission = admitted_at = None
                if waiting_room is not None:
                    admitted = waiting_room.wait_for_turn(buyer, crowd, rng)
                    if admitted is None:
                        return
                    admission, admitted_at = admitted
                for tries in range(crowd.retries + 1):
                    started = clock.now if admitted_at is None else admitted_at
                    code = _buy(sale_function, request, buyer, admission)
                    if code is None:
                        outcome.sold += wanted
                        outcome.orders += 1
                        outcome.last_sale = clock.now
                        outcome.sold_by_second[int(clock.now)] += wanted
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
        if waiting_room is not None:
            clock.at(0.0, waiting_room.watch(lambda: finished[0] >= crowd.people))
        clock.run()
        layer.off = True
        stored = _stored_counts(event["event_id"], type_ids)
        health = waiting_room.health(clock.now) if waiting_room is not None else None
    report = outcome.report()
    report.update(
        {
            "stored": stored,
            "quotas": {q["name"]: q["quota"] for q in quotas},
            "exact": stored["seats_sold"] == report["sold"] == stored["tickets"]
            and report["sold"] <= capacity
            and stored["seats_sold"] + stored["seats_available"] == capacity
            and stored["most_per_buyer"] <= MAX_PER_BUYER
            and all(
                stored["per_type"][type_id] <= q["quota"]
                for type_id, q in zip(type_ids, quotas, strict=True)
            ),
            "conflicts": layer.meter.conflicts,
            "conflicted_items": dict(layer.meter.conflicted_items),
            "throttled": dict(layer.meter.throttled),
            "throttled_partitions": dict(layer.meter.throttled_partitions),
            "virtual_seconds": round(clock.now, 3),
        }
    )
    if health is not None:
        report["sale_health"] = health
    return report


class WaitingRoom:
    """The waiting room as a person in the crowd uses it, through the queue function's own
    logic and data layer (``functions/queue``): configured by the organizer before the crowd
    comes, joined on arrival, read again when its answer says (``poll_after_seconds``) until
    the person is let in. Its errors count as the sale's: a person who gets one tries again
    after a while, as with a purchase."""

    def __init__(
        self,
        event_id: str,
        rate: int | None,
        clock: VirtualTime,
        outcome: Outcome,
        limits: Limits,
    ):
        from gatepass.models.queue import MAX_CAP

        self.event_id = event_id
        self.clock = clock
        self.outcome = outcome
        # API Gateway's token bucket for the queue's routes (burst tokens, refilled at rate).
        self.api_rate, self.api_burst = limits.queue_api_rate, limits.queue_api_burst
        self.api_tokens, self.api_at = limits.queue_api_burst, 0.0
        # The organizer's cap: twice the rate they sized the event for, within what the form
        # takes; the controller starts at the sized rate (logic.queue.start_rate).
        self.cap = min(MAX_CAP, 2 * 60 * (rate or 1))

    def open(self) -> None:
        """The organizer's configure-queue call, made at virtual second 0."""
        from datetime import UTC, datetime

        from functions.queue import app as queue_function
        from gatepass import clock
        from gatepass.logic import queue as rules
        from gatepass.models.queue import ConfigureQueueRequest
        from tests.support.ticketing import ORGANIZER

        opens = datetime.fromtimestamp(self.clock.epoch + QUEUE_OPENS_AT, UTC)
        rules.configure_queue(
            ConfigureQueueRequest(
                event_id=self.event_id,
                opens_at=clock.iso(opens),
                max_admissions_per_minute=self.cap,
                enabled=True,
            ),
            ORGANIZER,
            events=queue_function.events,
            queue=queue_function.queue,
        )

    def _call(self, ask: Callable[[], Any]) -> tuple[Any, str | None]:
        from gatepass.dal.storage import StorageUnavailable
        from gatepass.errors import GatepassError

        now = self.clock.now
        self.api_tokens = min(self.api_burst, self.api_tokens + (now - self.api_at) * self.api_rate)
        self.api_at = now
        if self.api_tokens < 1.0:
            return None, THROTTLED_BY_API
        self.api_tokens -= 1.0
        try:
            return ask(), None
        except GatepassError as refused:
            return None, f"queue:{refused.code}"
        except StorageUnavailable:
            return None, "queue:service_unavailable"
        except Exception as failed:  # what the API would answer as a 500
            return None, f"queue:internal_error:{type(failed).__name__}"

    def wait_for_turn(
        self, person: str, crowd: Crowd, rng: random.Random
    ) -> tuple[str, float] | None:
        """Join, then read the status when told until let in: the admission token and the
        moment it was given, or None for a person who gave up after ``crowd.retries`` errors."""
        from functions.queue import app as queue_function
        from gatepass.logic import queue as rules
        from gatepass.models.queue import JoinQueueRequest

        events, queue = queue_function.events, queue_function.queue
        keys = queue_function.queue_keys
        errors = 0
        position = status = None
        while status is None or not status.admitted:
            if position is None:
                self.outcome.joins_by_second[int(self.clock.now)] += 1
                joined, code = self._call(
                    lambda: rules.join_queue(
                        JoinQueueRequest(event_id=self.event_id),
                        person,
                        events=events,
                        queue=queue,
                        queue_keys=keys,
                    )
                )
                if joined is not None:
                    position, status = joined.position_token, joined.status
                    continue
            else:
                self.clock.sleep(status.poll_after_seconds if status else 1)
                self.outcome.polls += 1
                self.outcome.polls_by_second[int(self.clock.now)] += 1
                read, code = self._call(
                    functools.partial(
                        rules.queue_status,
                        self.event_id,
                        person,
                        position,
                        events=events,
                        queue=queue,
                        queue_keys=keys,
                    )
                )
                if read is not None:
                    status = read
                    continue
                if code == THROTTLED_BY_API:
                    # The page takes a 429 as "ask again at the next poll": not an error.
                    self.outcome.status_throttled += 1
                    continue
            self.outcome.errors += 1
            self.outcome.error_codes[str(code)] += 1
            errors += 1
            if errors > crowd.retries:
                return None
            self.clock.sleep(rng.uniform(*crowd.retry_after))
        self.outcome.admitted += 1
        self.outcome.admitted_by_second[int(self.clock.now)] += 1
        self.outcome.first_admission = min(self.outcome.first_admission, self.clock.now)
        return str(status.admission_token), self.clock.now

    def health(self, until: float) -> list[dict[str, Any]]:
        """What the sale recorded for the controller, per 10 s window that has any (read from
        moto's storage after the sale): answers by outcome and the mean latency."""
        from functions.queue import app as queue_function
        from gatepass.dal.layout import queue_health_key
        from gatepass.logic.queue import CONTROL_SECONDS, HEALTH_SHARDS

        table = queue_function.queue.table_name
        windows = []
        first = self.clock.epoch // CONTROL_SECONDS
        last = int(self.clock.epoch + until) // CONTROL_SECONDS
        for window in range(first, last + 1):
            totals: dict[str, int] = defaultdict(int)
            for shard in range(HEALTH_SHARDS):
                key = _typed(queue_health_key(self.event_id, shard, window))
                stored = Store.backend().get_item(table, key)
                for name, value in (python_of(stored) if stored is not None else {}).items():
                    if name in ("sales", "conflicts", "throttles", "slow", "latency_ms"):
                        totals[name] += int(value)
            answers = totals["sales"] + totals["conflicts"] + totals["throttles"]
            if answers:
                windows.append(
                    {
                        "from_seconds": window * CONTROL_SECONDS - self.clock.epoch,
                        **{k: totals[k] for k in ("sales", "conflicts", "throttles", "slow")},
                        "mean_latency_ms": round(totals["latency_ms"] / answers),
                    }
                )
        return windows

    def watch(self, done: Callable[[], bool]) -> Callable[[], None]:
        """A greenlet that notes the admission rate the controller set, read once a virtual
        second from the stored queue record (outside the limits: nobody's call), until
        ``done``."""
        from functions.queue import app as queue_function
        from gatepass.dal.layout import queue_key

        def watcher() -> None:
            table = queue_function.queue.table_name
            while not done():
                stored = Store.backend().get_item(table, _typed(queue_key(self.event_id)))
                record = python_of(stored) if stored is not None else {}
                if record.get("drawn_at"):
                    rate = min(
                        float(record["rate_per_minute"]),
                        float(record["max_admissions_per_minute"]),
                    )
                    rates = self.outcome.rates
                    if not rates or rates[-1][1] != rate / 60:
                        rates.append((self.clock.now, rate / 60))
                self.clock.sleep(1.0)

        return watcher


def _buy(sale_function: Any, request: Any, buyer: str, admission: str | None = None) -> str | None:
    """One order through create-ticket's logic and data layer, as its handler wires them (with
    its waiting room's check when the buyer comes through one): None for a sale, else the error
    code the API would answer."""
    from gatepass.dal.storage import StorageUnavailable
    from gatepass.errors import GatepassError

    queued: dict[str, Any] = {}
    if admission is not None:
        queued = {
            "queue": sale_function.queue,
            "queue_keys": sale_function.queue_keys,
            "admission_token": admission,
        }
    try:
        sale_function.take_ticket(
            request,
            buyer,
            None,
            events=sale_function.events,
            orders=sale_function.orders,
            tickets=sale_function.tickets,
            keys=sale_function.keys,
            **queued,
        )
    except GatepassError as refused:
        return refused.code
    except StorageUnavailable:
        return "service_unavailable"
    except Exception as failed:  # what the API would answer as a 500
        return f"internal_error:{type(failed).__name__}"
    return None


def _stored_counts(event_id: str, type_ids: list[str]) -> dict[str, Any]:
    """What the table says, read after the sale: the event's own counters and its stock shards
    summed (when it has them), every ticket of every attendees index partition, and the most
    any one buyer holds. Read from the items themselves in moto's storage, not through the
    sale's data layer, so a counter the data layer forgot to sum cannot hide; one pass over
    the table, as ``tests.support.factories.stock_counts`` would read it through moto's HTTP
    stand-in (which takes minutes for a 50,000-seat sale; tests/integration/test_rush_model.py
    checks both agree)."""
    from gatepass.dal import layout
    from tests.support.factories import settings

    table = Store.backend().get_table(settings().ticketing_table)
    event_pk = layout.event_partition(event_id)
    summary_key = layout.stock_summary_key(event_id)
    shard_prefix = layout.stock_shard_key(event_id, 0)["pk"][: -len("0")]
    seats: dict[str, Any] = {}
    own_types: dict[str, dict[str, Any]] = {}
    shards: list[dict[str, Any]] = []
    buyers: dict[str, int] = {}
    by_index: dict[str, int] = defaultdict(int)
    summary: dict[str, Any] = {}
    for partition in table.items.values():
        for stored in partition.values() if table.range_key_attr else [partition]:
            pk, sk = stored.attrs["pk"].value, stored.attrs["sk"].value
            entity = stored.attrs.get("entity")
            gsi1pk = stored.attrs.get("gsi1pk")
            if pk == event_pk and sk == layout.SEATS:
                seats = python_of(stored)
            elif pk == event_pk and sk.startswith(layout.TYPE_PREFIX):
                item = python_of(stored)
                own_types[str(item["ticket_type_id"])] = item
            elif pk == summary_key["pk"] and sk == summary_key["sk"]:
                summary = python_of(stored)
            elif pk.startswith(shard_prefix) and sk == layout.STOCK:
                shards.append(python_of(stored))
            elif entity is not None and entity.value == "buyer":
                item = python_of(stored)
                if item.get("event_id") == event_id and int(item["tickets"]):
                    buyers[str(item["buyer"])] = int(item["tickets"])
            if gsi1pk is not None:
                by_index[str(gsi1pk.value)] += 1
    count = int(summary.get("shards", 1))
    in_use = count if count > 1 else 0  # a one-shard event sells from its own counters
    shards = [s for s in shards if int(str(s["pk"]).rsplit("#", 1)[1]) < in_use]

    def sold(type_id: str) -> int:
        """The type's tickets sold from the event's own counters and from every shard."""
        own = int(own_types[type_id]["sold"])
        return own + sum(int(s["types_sold"].get(type_id, 0)) for s in shards)

    return {
        "shards": max(1, len(shards)),
        "seats_sold": int(seats["sold"]) + sum(int(s["sold"]) for s in shards),
        "seats_available": int(seats["available"]) + sum(int(s["available"]) for s in shards),
        "tickets": sum(by_index[p] for p in layout.event_tickets_partitions(event_id, count)),
        "per_type": {t: sold(t) if t in own_types else -1 for t in type_ids},
        "most_per_buyer": max(buyers.values(), default=0),
    }


def expected_rate(design: str, crowd: Crowd) -> int | None:
    """The ``expected_orders_per_second`` an organizer gives the sharded design: everyone they
    expect, over the seconds in which they expect them to come (one order each), within what
    create-event accepts. None for the single counter (today's event, no rate)."""
    if design == "single-counter":
        return None
    wanted = math.ceil(crowd.people / crowd.arrival_seconds)
    return min(wanted, max_expected_rate())


def max_expected_rate() -> int:
    from gatepass.models import orders

    return int(getattr(orders, "MAX_EXPECTED_ORDERS_PER_SECOND", 0)) or 10**9


def designs() -> tuple[str, ...]:
    """The designs the product can make: "sharded" once create-event takes an expected rate."""
    import inspect

    from tests.support.ticketing import create_event

    if "expected_orders_per_second" in inspect.signature(create_event).parameters:
        return ("single-counter", "sharded", QUEUED)
    return ("single-counter",)


# ---------------------------------------------------------------------- the suite

# Capacities and crowds: 5,000 seats for crowds up to four times the seats, 50,000 for a crowd
# of 1.2 times the seats (people arrive within 10 s; see docs/performance.md).
FULL_PLAN = ((5_000, (2_000, 6_000, 20_000)), (50_000, (60_000,)))
QUICK_PLAN = ((500, (600, 2_000)),)


def run(quick: bool, plan: Any = None, workers: int = 2) -> dict[str, Any]:
    """Every design for every capacity and crowd of the plan, each sale in a fresh moto world;
    ``workers`` sales at a time in their own processes (each is seeded, so the same plan gives
    the same rows however they are spread), the smallest crowds first."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    limits = Limits()
    chosen = plan or (QUICK_PLAN if quick else FULL_PLAN)
    seats = os.environ.get("RUSH_SEATS")  # e.g. RUSH_SEATS=5000: only that capacity of the plan
    if seats:
        chosen = tuple(
            (c, crowds) for c, crowds in chosen if c in {int(x) for x in seats.split(",")}
        )
    kinds = designs()
    only = os.environ.get("RUSH_DESIGNS")  # e.g. RUSH_DESIGNS=queued: only those designs
    if only:
        kinds = tuple(k for k in kinds if k in set(only.split(",")))
    jobs = [
        (design, capacity, people)
        for capacity, crowds in chosen
        for people in crowds
        for design in kinds
    ]
    order = sorted(range(len(jobs)), key=lambda n: jobs[n][2])
    rows: list[dict[str, Any] | None] = [None] * len(jobs)
    if workers <= 1:
        for n in order:
            rows[n] = _one(jobs[n], limits)
    else:
        spawn = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=spawn) as pool:
            futures = {n: pool.submit(_one, jobs[n], limits) for n in order}
            for n, future in futures.items():
                rows[n] = future.result()
    return {
        "limits": asdict(limits),
        "rows": rows,
        "designs": list(kinds),
        "plan": "quick" if quick else "full",
        "capacities_planned": [c for c, _ in (QUICK_PLAN if quick else FULL_PLAN)],
        "capacities_run": [c for c, _ in chosen],
    }


def _one(job: tuple[str, int, int], limits: Limits) -> dict[str, Any]:
    """One sale of the plan (in a worker process: quiet, as ``python -m bench`` keeps them)."""
    import contextlib
    import io
    import warnings

    from bench.common import ensure_path

    ensure_path()
    design, capacity, people = job
    crowd = Crowd(people=people)
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        row = sale(design, capacity, crowd, limits=limits, seed=people)
    row["expected_orders_per_second"] = expected_rate(design, crowd)
    row["arrivals_per_second"] = round(people / crowd.arrival_seconds, 1)
    return row


if __name__ == "__main__":
    print(json.dumps(run(quick=True), indent=2))
