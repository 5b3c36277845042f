"""The waiting room's items in the TicketingTable (docs/decisions/0072, keys in ``dal.layout``).

| item | pk | sk |
| --- | --- | --- |
| queue | ``QUEUE#<event_id>`` | ``CONFIG`` |
| a person's entry | ``QUEUEPERSON#<event_id>#<person>`` | ``ENTRY`` |
| pool entry (joined before the opening) | ``QUEUEPOOL#<event_id>#<k>`` | ``ENTRY#<entry_id>`` |
| counter shard (``n``, ``pool``) | ``QUEUESEQ#<event_id>#<k>`` | ``COUNTER`` |
| draw chunk | ``QUEUEDRAW#<event_id>`` | ``CHUNK#<first order key>`` |
| sale health | ``QUEUEHEALTH#<event_id>#<k>`` | ``W#<window>`` |

A counter shard holds ``n`` (arrival numbers taken) and ``pool`` (pool entries counted as they
joined: the public ``joined`` before the draw).

The queue item is read by every status call: reads go through a per-container cache of a
second (``QueueStore.get``) and it is written once per control period, never per person.

The caches age on ``gatepass.clock``, the clock every rule of the waiting room reads (the
frontier, the draw, the controller's period), not on a second, monotonic one: a copy is as old
as the instant the rules compute at says, so a test that moves that clock, or the dev stack's
movable clock, sees the queue the real system would, whatever the machine's speed. A copy
stamped later than now (the clock was set back) counts as old.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any, Protocol

from boto3.dynamodb.conditions import Key as KeyCondition
from botocore.exceptions import BotoCoreError, ClientError

from gatepass import clients, clock
from gatepass.dal.layout import (
    QUEUE_DRAW_CHUNK_PREFIX,
    queue_counter_key,
    queue_draw_key,
    queue_draw_partition,
    queue_health_key,
    queue_key,
    queue_person_key,
    queue_pool_key,
    queue_pool_partition,
)
from gatepass.dal.storage import StorageUnavailable, condition_failed
from gatepass.models.queue import EntryPhase, QueueEntry, QueueRecord, SaleHealth, Tallies

_BATCH_GET = 100
_BATCH_WRITE = 25
_cache: dict[tuple[str, str], tuple[float, QueueRecord | None]] = {}
_tallies: dict[tuple[str, str], tuple[float, Tallies]] = {}


def reset() -> None:
    """Forget cached queues (tests start each case against a fresh moto)."""
    _cache.clear()
    _tallies.clear()


def _instant() -> float:
    return clock.now().timestamp()


def _young(cached_at: float, now: float, max_age: float) -> bool:
    return max_age > 0 and 0 <= now - cached_at < max_age


class DrawChunk:
    """A run of the draw's order: the places ``offset + 1`` onwards."""

    def __init__(self, first_key: str, offset: int, entries: list[str]) -> None:
        self.first_key = first_key
        self.offset = offset
        self.entries = entries


class QueueStore(Protocol):
    def get(self, event_id: str, *, max_age: float = 1.0) -> QueueRecord | None:
        """The event's queue; ``max_age`` seconds of a container's cached copy are accepted
        (0: read it now, strongly consistent)."""

    def create(self, record: QueueRecord) -> bool: ...

    def update_settings(
        self, record: QueueRecord, *, opens_at: str, cap: int, enabled: bool
    ) -> bool: ...

    def find_entry(self, event_id: str, person: str) -> QueueEntry | None: ...

    def add_to_pool(self, entry: QueueEntry) -> QueueEntry: ...

    def take_number(self, event_id: str, shard: int) -> int: ...

    def add_arrival(self, entry: QueueEntry) -> QueueEntry: ...

    def pool_entries(self, event_id: str, shards: int) -> list[str]: ...

    def take_draw_lease(self, event_id: str, *, now: float, until: float) -> bool: ...

    def write_draw(self, event_id: str, chunks: list[DrawChunk]) -> None: ...

    def finish_draw(
        self, event_id: str, *, drawn_at: str, pool_size: int, rate: float, base_at: float
    ) -> bool: ...

    def chunk_holding(self, event_id: str, order_key: str) -> DrawChunk | None: ...

    def draw_page(self, event_id: str, after: str | None) -> tuple[DrawChunk | None, str | None]:
        """One chunk of the draw after the chunk ``after`` names, and the next one's name."""

    def counters(self, event_id: str, shards: int) -> dict[int, int]: ...

    def count_pool(self, event_id: str, shard: int) -> None:
        """One more pool entry on shard ``shard`` (an atomic add on its counter item)."""

    def tallies(self, event_id: str, shards: int, *, max_age: float = 1.0) -> Tallies:
        """The counter shards in one batch read; ``max_age`` seconds of a cached copy do."""

    def health(self, event_id: str, window: int, shards: int) -> SaleHealth: ...

    def record_sale(
        self, event_id: str, *, window: int, shard: int, outcome: str, latency_ms: int, slow: bool
    ) -> None: ...

    def control(
        self,
        record: QueueRecord,
        *,
        controlled_at: float,
        rate: float,
        admitted_base: float,
        history: list[tuple[float, float]],
    ) -> bool: ...


def _number(value: Any, default: float = 0.0) -> float:
    return float(value) if value is not None else default


def _decimal(value: float) -> Decimal:
    return Decimal(str(round(value, 6)))


def _record(item: dict[str, Any]) -> QueueRecord:
    return QueueRecord(
        event_id=str(item["event_id"]),
        organizer=str(item["organizer"]),
        opens_at=str(item["opens_at"]),
        max_admissions_per_minute=int(item["max_admissions_per_minute"]),
        enabled=bool(item["enabled"]),
        seed=str(item["seed"]),
        seed_commitment=str(item["seed_commitment"]),
        shards=int(item["shards"]),
        created_at=str(item["created_at"]),
        drawn_at=str(item["drawn_at"]) if item.get("drawn_at") else None,
        pool_size=int(item.get("pool_size", 0)),
        rate_per_minute=_number(item.get("rate_per_minute")),
        admitted_base=_number(item.get("admitted_base")),
        base_at=_number(item.get("base_at")),
        controlled_at=_number(item.get("controlled_at")),
        draw_lease_until=_number(item.get("draw_lease_until")),
        history=[(float(t), float(f)) for t, f in item.get("history", [])],
        version=int(item.get("version", 0)),
    )


def _entry(item: dict[str, Any]) -> QueueEntry:
    phase: EntryPhase = "pool" if item["phase"] == "pool" else "arrival"
    return QueueEntry(
        event_id=str(item["event_id"]),
        person=str(item["person"]),
        entry_id=str(item["entry_id"]),
        phase=phase,
        shard=int(item["shard"]),
        sequence=int(item.get("sequence", 0)),
    )


def _entry_item(entry: QueueEntry) -> dict[str, Any]:
    return {
        **queue_person_key(entry.event_id, entry.person),
        "entity": "queue_entry",
        "event_id": entry.event_id,
        "person": entry.person,
        "entry_id": entry.entry_id,
        "phase": entry.phase,
        "shard": entry.shard,
        "sequence": entry.sequence,
    }


class DynamoQueueStore:
    def __init__(self, table_name: str) -> None:
        self.table_name = table_name

    @property
    def _table(self) -> Any:
        return clients.dynamodb_table(self.table_name)

    def _fail(self, exc: Exception) -> StorageUnavailable:
        return StorageUnavailable("The waiting room is busy; please try again.")

    # ------------------------------------------------------------------------ the queue item

    def get(self, event_id: str, *, max_age: float = 1.0) -> QueueRecord | None:
        now = _instant()
        cached = _cache.get((self.table_name, event_id))
        if cached is not None and _young(cached[0], now, max_age):
            return cached[1]
        try:
            item = self._table.get_item(Key=queue_key(event_id), ConsistentRead=True).get("Item")
        except (ClientError, BotoCoreError) as exc:
            raise self._fail(exc) from exc
        record = _record(item) if item else None
        _cache[(self.table_name, event_id)] = (now, record)
        return record

    def _conditional(self, write: Callable[..., Any], **request: Any) -> bool:
        """One conditional write: False when its condition failed (nothing written), True when
        it was made; any other failure is the store's (``_fail``)."""
        try:
            write(**request)
        except ClientError as exc:
            if condition_failed(exc):
                return False
            raise self._fail(exc) from exc
        except BotoCoreError as exc:
            raise self._fail(exc) from exc
        return True

    def _remember(self, record: QueueRecord) -> None:
        _cache.pop((self.table_name, record.event_id), None)

    def create(self, record: QueueRecord) -> bool:
        if not self._conditional(
            self._table.put_item,
            Item={
                **queue_key(record.event_id),
                "entity": "queue",
                "event_id": record.event_id,
                "organizer": record.organizer,
                "opens_at": record.opens_at,
                "max_admissions_per_minute": record.max_admissions_per_minute,
                "enabled": record.enabled,
                "seed": record.seed,
                "seed_commitment": record.seed_commitment,
                "shards": record.shards,
                "created_at": record.created_at,
                "version": 1,
            },
            ConditionExpression="attribute_not_exists(pk)",
        ):
            return False
        self._remember(record)
        return True

    def update_settings(
        self, record: QueueRecord, *, opens_at: str, cap: int, enabled: bool
    ) -> bool:
        """Conditional on the version read, and, when the opening moves, on no draw yet."""
        condition = "version = :version"
        if opens_at != record.opens_at:
            condition += " AND attribute_not_exists(drawn_at)"
        if not self._conditional(
            self._table.update_item,
            Key=queue_key(record.event_id),
            UpdateExpression=(
                "SET opens_at = :opens, max_admissions_per_minute = :cap, "
                "enabled = :enabled, version = version + :one"
            ),
            ConditionExpression=condition,
            ExpressionAttributeValues={
                ":opens": opens_at,
                ":cap": cap,
                ":enabled": enabled,
                ":version": record.version,
                ":one": 1,
            },
        ):
            return False
        self._remember(record)
        return True

    # ------------------------------------------------------------------------ entries

    def find_entry(self, event_id: str, person: str) -> QueueEntry | None:
        try:
            item = self._table.get_item(
                Key=queue_person_key(event_id, person), ConsistentRead=True
            ).get("Item")
        except (ClientError, BotoCoreError) as exc:
            raise self._fail(exc) from exc
        return _entry(item) if item else None

    def _existing(self, entry: QueueEntry) -> QueueEntry:
        found = self.find_entry(entry.event_id, entry.person)
        if found is None:
            raise StorageUnavailable("The waiting room is busy; please try again.")
        return found

    def add_to_pool(self, entry: QueueEntry) -> QueueEntry:
        """The person's entry and the pool's, in one transaction; an entry already there wins."""
        client = clients.dynamodb_documents()
        try:
            client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self.table_name,
                            "Item": _entry_item(entry),
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {
                        "Put": {
                            "TableName": self.table_name,
                            "Item": {
                                **queue_pool_key(entry.event_id, entry.shard, entry.entry_id),
                                "entity": "queue_pool_entry",
                                "entry_id": entry.entry_id,
                            },
                        }
                    },
                ]
            )
        except ClientError as exc:
            reasons = exc.response.get("CancellationReasons", [])
            if any(condition_failed(reason) for reason in reasons):
                return self._existing(entry)
            raise self._fail(exc) from exc
        except BotoCoreError as exc:
            raise self._fail(exc) from exc
        return entry

    def take_number(self, event_id: str, shard: int) -> int:
        try:
            answer = self._table.update_item(
                Key=queue_counter_key(event_id, shard),
                UpdateExpression="ADD n :one SET entity = :entity",
                ExpressionAttributeValues={":one": 1, ":entity": "queue_counter"},
                ReturnValues="UPDATED_NEW",
            )
        except (ClientError, BotoCoreError) as exc:
            raise self._fail(exc) from exc
        return int(answer["Attributes"]["n"])

    def add_arrival(self, entry: QueueEntry) -> QueueEntry:
        try:
            self._table.put_item(
                Item=_entry_item(entry), ConditionExpression="attribute_not_exists(pk)"
            )
        except ClientError as exc:
            if condition_failed(exc):
                return self._existing(entry)
            raise self._fail(exc) from exc
        except BotoCoreError as exc:
            raise self._fail(exc) from exc
        return entry

    # ------------------------------------------------------------------------ the draw

    def pool_entries(self, event_id: str, shards: int) -> list[str]:
        found: list[str] = []
        for shard in range(shards):
            args: dict[str, Any] = {
                "KeyConditionExpression": KeyCondition("pk").eq(
                    queue_pool_partition(event_id, shard)
                ),
                "ConsistentRead": True,
                "ProjectionExpression": "entry_id",
            }
            while True:
                try:
                    page = self._table.query(**args)
                except (ClientError, BotoCoreError) as exc:
                    raise self._fail(exc) from exc
                found.extend(str(item["entry_id"]) for item in page.get("Items", []))
                if "LastEvaluatedKey" not in page:
                    break
                args["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return found

    def take_draw_lease(self, event_id: str, *, now: float, until: float) -> bool:
        return self._conditional(
            self._table.update_item,
            Key=queue_key(event_id),
            UpdateExpression="SET draw_lease_until = :until",
            ConditionExpression=(
                "attribute_exists(pk) AND attribute_not_exists(drawn_at) AND "
                "(attribute_not_exists(draw_lease_until) OR draw_lease_until < :now)"
            ),
            ExpressionAttributeValues={":until": _decimal(until), ":now": _decimal(now)},
        )

    def write_draw(self, event_id: str, chunks: list[DrawChunk]) -> None:
        """Idempotent: the same draw writes the same chunks under the same keys."""
        requests = [
            {
                "PutRequest": {
                    "Item": {
                        **queue_draw_key(event_id, chunk.first_key),
                        "entity": "queue_draw_chunk",
                        "offset": chunk.offset,
                        "entries": chunk.entries,
                    }
                }
            }
            for chunk in chunks
        ]
        self._batch_write(requests)

    def _batch_write(self, requests: list[dict[str, Any]]) -> None:
        client = clients.dynamodb_documents()
        for start in range(0, len(requests), _BATCH_WRITE):
            pending = {self.table_name: requests[start : start + _BATCH_WRITE]}
            for attempt in range(8):
                try:
                    answer = client.batch_write_item(RequestItems=pending)
                except (ClientError, BotoCoreError) as exc:
                    raise self._fail(exc) from exc
                pending = answer.get("UnprocessedItems") or {}
                if not pending:
                    break
                time.sleep(0.05 * (2**attempt))
            if pending:
                raise StorageUnavailable("The draw could not be stored; it will be made again.")

    def finish_draw(
        self, event_id: str, *, drawn_at: str, pool_size: int, rate: float, base_at: float
    ) -> bool:
        if not self._conditional(
            self._table.update_item,
            Key=queue_key(event_id),
            UpdateExpression=(
                "SET drawn_at = :drawn, pool_size = :pool, rate_per_minute = :rate, "
                "admitted_base = :zero, base_at = :at, controlled_at = :at, "
                "history = :history, version = version + :one"
            ),
            ConditionExpression="attribute_exists(pk) AND attribute_not_exists(drawn_at)",
            ExpressionAttributeValues={
                ":drawn": drawn_at,
                ":pool": pool_size,
                ":rate": _decimal(rate),
                ":zero": 0,
                ":at": _decimal(base_at),
                ":history": [[_decimal(base_at), 0]],
                ":one": 1,
            },
        ):
            return False
        _cache.pop((self.table_name, event_id), None)
        return True

    def chunk_holding(self, event_id: str, order_key: str) -> DrawChunk | None:
        """The chunk whose first key is the greatest at or below ``order_key``: one read."""
        try:
            page = self._table.query(
                KeyConditionExpression=KeyCondition("pk").eq(queue_draw_partition(event_id))
                & KeyCondition("sk").between(
                    QUEUE_DRAW_CHUNK_PREFIX, f"{QUEUE_DRAW_CHUNK_PREFIX}{order_key}"
                ),
                ScanIndexForward=False,
                Limit=1,
            )
        except (ClientError, BotoCoreError) as exc:
            raise self._fail(exc) from exc
        items = page.get("Items", [])
        return _chunk(items[0]) if items else None

    def draw_page(self, event_id: str, after: str | None) -> tuple[DrawChunk | None, str | None]:
        condition: Any = KeyCondition("pk").eq(queue_draw_partition(event_id))
        if after:
            condition &= KeyCondition("sk").gt(f"{QUEUE_DRAW_CHUNK_PREFIX}{after}")
        else:
            condition &= KeyCondition("sk").begins_with(QUEUE_DRAW_CHUNK_PREFIX)
        try:
            page = self._table.query(KeyConditionExpression=condition, Limit=2)
        except (ClientError, BotoCoreError) as exc:
            raise self._fail(exc) from exc
        items = page.get("Items", [])
        if not items:
            return None, None
        chunk = _chunk(items[0])
        return chunk, (chunk.first_key if len(items) > 1 else None)

    # ------------------------------------------------------------------------ the controller

    def _batch_get(self, keys: Iterable[dict[str, str]]) -> list[dict[str, Any]]:
        client = clients.dynamodb_documents()
        wanted = list(keys)
        found: list[dict[str, Any]] = []
        for start in range(0, len(wanted), _BATCH_GET):
            pending: dict[str, Any] = {
                self.table_name: {"Keys": wanted[start : start + _BATCH_GET]}
            }
            for attempt in range(8):
                try:
                    answer = client.batch_get_item(RequestItems=pending)
                except (ClientError, BotoCoreError) as exc:
                    raise self._fail(exc) from exc
                found.extend(answer.get("Responses", {}).get(self.table_name, []))
                pending = answer.get("UnprocessedKeys") or {}
                if not pending:
                    break
                time.sleep(0.02 * (2**attempt))
        return found

    def counters(self, event_id: str, shards: int) -> dict[int, int]:
        items = self._batch_get(queue_counter_key(event_id, k) for k in range(shards))
        return {int(str(item["pk"]).rsplit("#", 1)[1]): int(item.get("n", 0)) for item in items}

    def count_pool(self, event_id: str, shard: int) -> None:
        try:
            self._table.update_item(
                Key=queue_counter_key(event_id, shard),
                UpdateExpression="ADD #pool :one SET entity = :entity",
                ExpressionAttributeNames={"#pool": "pool"},  # a reserved word
                ExpressionAttributeValues={":one": 1, ":entity": "queue_counter"},
            )
        except (ClientError, BotoCoreError) as exc:
            raise self._fail(exc) from exc

    def tallies(self, event_id: str, shards: int, *, max_age: float = 1.0) -> Tallies:
        now = _instant()
        cached = _tallies.get((self.table_name, event_id))
        if cached is not None and _young(cached[0], now, max_age):
            return cached[1]
        items = self._batch_get(queue_counter_key(event_id, k) for k in range(shards))
        found = Tallies(
            pool=sum(int(item.get("pool", 0)) for item in items),
            arrivals={
                int(str(item["pk"]).rsplit("#", 1)[1]): int(item.get("n", 0)) for item in items
            },
        )
        _tallies[(self.table_name, event_id)] = (now, found)
        return found

    def health(self, event_id: str, window: int, shards: int) -> SaleHealth:
        items = self._batch_get(queue_health_key(event_id, k, window) for k in range(shards))

        def total(name: str) -> int:
            return sum(int(item.get(name, 0)) for item in items)

        return SaleHealth(
            sales=total("sales"),
            conflicts=total("conflicts"),
            throttles=total("throttles"),
            slow=total("slow"),
            latency_ms_total=total("latency_ms"),
        )

    def record_sale(
        self, event_id: str, *, window: int, shard: int, outcome: str, latency_ms: int, slow: bool
    ) -> None:
        try:
            self._table.update_item(
                Key=queue_health_key(event_id, shard, window),
                UpdateExpression=f"ADD {outcome} :one, latency_ms :ms, slow :slow",
                ExpressionAttributeValues={":one": 1, ":ms": latency_ms, ":slow": int(slow)},
            )
        except (ClientError, BotoCoreError) as exc:
            raise self._fail(exc) from exc

    def control(
        self,
        record: QueueRecord,
        *,
        controlled_at: float,
        rate: float,
        admitted_base: float,
        history: list[tuple[float, float]],
    ) -> bool:
        """One controller step, conditional on the step it follows: one writer a period."""
        if not self._conditional(
            self._table.update_item,
            Key=queue_key(record.event_id),
            UpdateExpression=(
                "SET controlled_at = :at, base_at = :at, rate_per_minute = :rate, "
                "admitted_base = :base, history = :history, version = version + :one"
            ),
            ConditionExpression="version = :version",
            ExpressionAttributeValues={
                ":at": _decimal(controlled_at),
                ":rate": _decimal(rate),
                ":base": _decimal(admitted_base),
                ":history": [[_decimal(t), _decimal(f)] for t, f in history],
                ":version": record.version,
                ":one": 1,
            },
        ):
            return False
        _cache.pop((self.table_name, record.event_id), None)
        return True


def _chunk(item: dict[str, Any]) -> DrawChunk:
    return DrawChunk(
        first_key=str(item["sk"])[len(QUEUE_DRAW_CHUNK_PREFIX) :],
        offset=int(item["offset"]),
        entries=[str(e) for e in item.get("entries", [])],
    )
