"""Event items in the TicketingTable: the only code that reads or writes them for this domain.

Logic hands in and gets back ``EventRecord``s; the keys, the upcoming-events index and the page
cursors (opaque base64url of the index position) stay here. An event is three kinds of item in
its partition (docs/decisions/0050): the descriptive ``META``, the ``SEATS`` counter and one
item per ticket type; a read is one Query of the partition, a new event one transaction.
"""

from __future__ import annotations

import binascii
import json
from dataclasses import dataclass
from typing import Any, Protocol

from boto3.dynamodb.conditions import Key as KeyCondition
from botocore.exceptions import BotoCoreError, ClientError

from gatepass import b64url, clients, ids
from gatepass.dal import stock
from gatepass.dal.layout import (
    EVENTS_INDEX,
    EVENTS_PARTITION,
    KEY_ATTRIBUTES,
    META,
    SEATS,
    STOCK,
    TYPE_PREFIX,
    Key,
    event_id_of,
    event_index_keys,
    event_key,
    event_partition,
    seats_key,
    stock_shard_key,
    ticket_type_key,
)
from gatepass.dal.storage import StorageUnavailable, condition_failed, plain_item
from gatepass.dal.ticket_keys import SealedKey, sealed_key_item
from gatepass.dal.transactions import TRANSACTION_ITEMS, transact
from gatepass.models.records import COUNTER_FIELDS, EventRecord, SeatsRecord, TicketTypeRecord

# An upload may only settle an event that is still waiting for that very upload.
_WAITING = (
    "attribute_exists(pk) AND image_upload_key = :key AND image_status IN (:awaiting, :processing)"
)


class InvalidCursor(ValueError):
    """The page cursor was not made by ``encode_cursor``."""


@dataclass(frozen=True)
class EventPage:
    events: list[EventRecord]
    next_cursor: str | None


class EventStore(Protocol):
    def put_new(self, event: EventRecord, sealed_key: SealedKey | None = None) -> None:
        """The event, and its first sealed ticket-signing key, or neither."""

    def get(self, event_id: str) -> EventRecord | None:
        """The event with its own counters and its stock summary: no stock shard is read
        (docs/decisions/0070), so a sale and anything that needs no counts stays cheap."""

    def get_for_sale(self, event_id: str) -> EventRecord | None:
        """The event as ``get`` reads it, eventually consistent: half the read units of the
        event's partition, whose 3,000 a second bound a rush (docs/decisions/0070). A sale's
        transaction checks what must hold as it is; an event not seen yet is read again
        consistently, so one created a moment ago is found."""

    def get_counted(self, event_id: str) -> EventRecord | None:
        """The event with its true counts: its stock shards summed into its counters."""

    def upcoming(self, *, since: str, limit: int, cursor: str | None) -> EventPage:
        """Events starting at ``since`` or later, soonest first, ``limit`` at a time; raises
        ``InvalidCursor`` for a cursor this store did not make."""

    def mark_image_ready(
        self,
        event_id: str,
        upload_key: str,
        *,
        display_key: str,
        thumbnail_key: str,
        width: int,
        height: int,
        at: str,
    ) -> bool: ...

    def mark_image_rejected(
        self, event_id: str, upload_key: str, *, reason: str, at: str
    ) -> bool: ...


def event_item(event: EventRecord) -> dict[str, Any]:
    """A new event as the TicketingTable stores it (docs/architecture.md)."""
    return {
        **event_key(event.event_id),
        **event_index_keys(
            event.event_id,
            starts_at=event.starts_at,
            organizer=event.organizer,
            created_at=event.created_at,
        ),
        "entity": "event",
        **event.model_dump(exclude_none=True, exclude=set(COUNTER_FIELDS)),
        "updated_at": event.created_at,
        "version": 1,
    }


def seats_item(event: EventRecord) -> dict[str, Any]:
    """The event's seats counter: ``available`` is what a sale's condition reads (with stock
    shards, what is for sale outside them: nothing, when the event is new)."""
    return {
        **seats_key(event.event_id),
        "entity": "seats",
        "event_id": event.event_id,
        "capacity": event.capacity,
        "available": 0 if event.stock.sharded else event.seats_left,
        "sold": event.sold,
        "held": event.held,
        "checked_in": event.checked_in,
        "starts_at": event.starts_at,
        "status": event.status,
        "type_count": len(event.ticket_types),
        "version": 1,
    }


def ticket_type_item(kind: TicketTypeRecord, *, sharded: bool = False) -> dict[str, Any]:
    item = {
        **ticket_type_key(kind.event_id, kind.ticket_type_id),
        "entity": "ticket_type",
        **kind.model_dump(exclude_none=True),
    }
    if sharded:
        item["available"] = 0
    return item


def event_of(items: list[dict[str, Any]]) -> EventRecord | None:
    """An event from the items of its partition (None without its descriptive item)."""
    meta = next((i for i in items if i.get("sk") == META), None)
    if meta is None:
        return None
    seats = next((i for i in items if i.get("sk") == SEATS), None)
    type_items = [i for i in items if str(i.get("sk", "")).startswith(TYPE_PREFIX)]
    summary = next((i for i in items if i.get("sk") == STOCK), None)
    kinds = sorted(
        (TicketTypeRecord.of(i) for i in type_items),
        key=lambda kind: (kind.position, kind.ticket_type_id),
    )
    counters: dict[str, Any] = {"stock": stock.stock_of(summary, seats, type_items)}
    if seats is not None:
        counted = SeatsRecord.of(seats)
        counters |= {
            "sold": counted.sold,
            "checked_in": counted.checked_in,
            "available": counted.available,
            "held": counted.held,
            "status": counted.status,
        }
    return EventRecord.of({**meta, **counters, "ticket_types": tuple(kinds)})


def encode_cursor(item: dict[str, Any]) -> str:
    """The position after ``item`` in the upcoming-events index, opaque to callers."""
    key = {name: str(item[name]) for name in KEY_ATTRIBUTES}
    raw = json.dumps(key, separators=(",", ":"), sort_keys=True).encode("utf-8")
    return b64url.encode(raw)


def decode_cursor(cursor: str) -> Key:
    try:
        key = json.loads(b64url.decode(cursor))
    except (binascii.Error, ValueError) as exc:
        raise InvalidCursor(cursor) from exc
    if not isinstance(key, dict) or set(key) != set(KEY_ATTRIBUTES):
        raise InvalidCursor(cursor)
    if not all(isinstance(value, str) for value in key.values()):
        raise InvalidCursor(cursor)
    event_id = event_id_of(key["pk"]) or ""
    if (
        not ids.is_id(event_id)
        or key["sk"] != META
        or key["gsi1pk"] != EVENTS_PARTITION
        or not key["gsi1sk"].endswith(f"#{event_id}")
    ):
        raise InvalidCursor(cursor)
    return key


class DynamoEventStore:
    def __init__(self, table_name: str) -> None:
        self._table_name = table_name

    @property
    def _table(self) -> Any:
        return clients.dynamodb_table(self._table_name)

    def put_new(self, event: EventRecord, sealed_key: SealedKey | None = None) -> None:
        """The descriptive item, the seats counter, every type and the first sealed signing
        key, or none of them. Stock shards that do not fit in that one transaction (at most
        100 items) are written before it: nothing reads a shard of an event that is not there
        (or past the count its summary gives), and they are deleted again if the event's own
        transaction fails."""
        items = [event_item(event), seats_item(event)]
        sharded = event.stock.sharded
        items += [ticket_type_item(kind, sharded=sharded) for kind in event.ticket_types]
        if sharded or event.stock.expected_orders_per_second is not None:
            items.append(
                stock.summary_item(
                    event.event_id,
                    shards=event.stock.shards,
                    rate=event.stock.expected_orders_per_second,
                )
            )
        if sealed_key is not None:
            items.append(sealed_key_item(sealed_key))
        shards = stock.shard_items(event, event.stock.shards) if sharded else []
        ahead = max(0, len(shards) + len(items) - TRANSACTION_ITEMS)
        written: list[dict[str, Any]] = []
        try:
            for start in range(0, ahead, TRANSACTION_ITEMS):
                chunk = shards[start : min(ahead, start + TRANSACTION_ITEMS)]
                self._put_all(chunk)
                written += chunk
            self._put_all(items + shards[ahead:])
        except (ClientError, BotoCoreError) as exc:
            self._forget_shards(event.event_id, written)
            raise StorageUnavailable("The event could not be saved; please try again.") from exc

    def _put_all(self, items: list[dict[str, Any]]) -> None:
        """Put new items in one transaction, each on the condition that it is new."""
        self._table.meta.client.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": self._table_name,
                        "Item": item,
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                }
                for item in items
            ]
        )

    def _forget_shards(self, event_id: str, shards: list[dict[str, Any]]) -> None:
        """Delete shards written ahead of an event whose own transaction failed, unless the
        event is there after all (a commit whose answer was lost). Best effort: a shard left
        over belongs to no event and is read by nothing."""
        if not shards:
            return
        try:
            found = self._table.get_item(Key=event_key(event_id), ConsistentRead=True)
            if "Item" in found:
                return
            for shard in shards:
                self._table.delete_item(Key={"pk": shard["pk"], "sk": shard["sk"]})
        except (ClientError, BotoCoreError):
            return  # the event's save already answers 503; a left-over shard harms nothing

    def get(self, event_id: str) -> EventRecord | None:
        return event_of(self._partition(event_id, consistent=True))

    def get_for_sale(self, event_id: str) -> EventRecord | None:
        return event_of(self._partition(event_id, consistent=False)) or self.get(event_id)

    def get_counted(self, event_id: str) -> EventRecord | None:
        return self._counted(self.get(event_id))

    def _counted(self, event: EventRecord | None) -> EventRecord | None:
        """The event with its shards' stock and sales added to its own counters."""
        if event is None or not event.stock.sharded:
            return event
        summed = stock.totals(
            stock.read_shards(
                self._table.meta.client, self._table_name, event.event_id, event.stock.shards
            )
        )
        kinds = tuple(
            kind.model_copy(
                update={
                    "available": kind.available
                    + summed.types_available.get(kind.ticket_type_id, 0),
                    "sold": kind.sold + summed.types_sold.get(kind.ticket_type_id, 0),
                }
            )
            for kind in event.ticket_types
        )
        return event.model_copy(
            update={
                "available": (event.available or 0) + summed.available,
                "sold": event.sold + summed.sold,
                "ticket_types": kinds,
            }
        )

    def _partition(self, event_id: str, *, consistent: bool) -> list[dict[str, Any]]:
        args: dict[str, Any] = {
            "KeyConditionExpression": KeyCondition("pk").eq(event_partition(event_id)),
            "ConsistentRead": consistent,
        }
        items: list[dict[str, Any]] = []
        while True:
            page = self._table.query(**args)
            items.extend(page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return items
            args["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def upcoming(self, *, since: str, limit: int, cursor: str | None) -> EventPage:
        start_after = decode_cursor(cursor) if cursor else None
        if start_after is not None and start_after["gsi1sk"] < since:
            # Everything up to the cursor has started since; the page begins at now.
            start_after = None
        # One item more than asked tells whether another page exists without an empty last page.
        args: dict[str, Any] = {
            "IndexName": EVENTS_INDEX,
            "KeyConditionExpression": KeyCondition("gsi1pk").eq(EVENTS_PARTITION)
            & KeyCondition("gsi1sk").gte(since),
            "Limit": limit + 1,
        }
        if start_after is not None:
            args["ExclusiveStartKey"] = start_after
        items: list[dict[str, Any]] = self._table.query(**args).get("Items", [])
        page, more = items[:limit], len(items) > limit
        # The index holds the descriptive items; each event's counters and types are in its
        # partition (a page is at most 50 events).
        found = [
            self._counted(event_of(self._partition(str(item["event_id"]), consistent=False)))
            for item in page
        ]
        return EventPage(
            events=[event for event in found if event is not None],
            next_cursor=encode_cursor(page[-1]) if more and page else None,
        )

    def mark_image_ready(
        self,
        event_id: str,
        upload_key: str,
        *,
        display_key: str,
        thumbnail_key: str,
        width: int,
        height: int,
        at: str,
    ) -> bool:
        return self._settle(
            event_id,
            upload_key,
            "SET image_status = :ready, image_display_key = :display, "
            "image_thumbnail_key = :thumbnail, image_width = :width, image_height = :height, "
            "updated_at = :at REMOVE image_reason ADD version :one",
            {
                ":ready": "ready",
                ":display": display_key,
                ":thumbnail": thumbnail_key,
                ":width": width,
                ":height": height,
            },
            at,
        )

    def mark_image_rejected(self, event_id: str, upload_key: str, *, reason: str, at: str) -> bool:
        return self._settle(
            event_id,
            upload_key,
            "SET image_status = :rejected, image_reason = :reason, updated_at = :at "
            "REMOVE image_display_key, image_thumbnail_key, image_width, image_height "
            "ADD version :one",
            {":rejected": "rejected", ":reason": reason},
            at,
        )

    def _settle(
        self, event_id: str, upload_key: str, update: str, values: dict[str, Any], at: str
    ) -> bool:
        try:
            self._table.update_item(
                Key=event_key(event_id),
                UpdateExpression=update,
                ConditionExpression=_WAITING,
                ExpressionAttributeValues={
                    **values,
                    ":key": upload_key,
                    ":awaiting": "awaiting_upload",
                    ":processing": "processing",
                    ":at": at,
                    ":one": 1,
                },
            )
        except ClientError as exc:
            if condition_failed(exc):
                return False
            raise
        return True


class TypeChangeRefused(Exception):
    """A change to a ticket type was refused: ``kind`` is the type as it was (None if there is
    no such type), ``seats`` the event's seats when they were the reason."""

    def __init__(self, kind: TicketTypeRecord | None, seats: SeatsRecord | None) -> None:
        super().__init__("ticket type change refused")
        self.kind = kind
        self.seats = seats


def _refused_type_change(reasons: list[dict[str, Any]]) -> Exception:
    seats_reason, type_reason = reasons
    seats = plain_item(seats_reason.get("Item")) if condition_failed(seats_reason) else {}
    kind = plain_item(type_reason.get("Item")) if condition_failed(type_reason) else {}
    return TypeChangeRefused(
        TicketTypeRecord.of(kind) if kind else None, SeatsRecord.of(seats) if seats else None
    )


class TicketTypeChanges(Protocol):
    def add(self, kind: TicketTypeRecord, *, max_types: int) -> None: ...

    def update(
        self,
        kind: TicketTypeRecord,
        *,
        set_fields: dict[str, Any],
        remove_fields: list[str],
        quota: int | None,
        seats_available: int = 0,
        stock_shards: int = 1,
    ) -> TicketTypeRecord: ...


class DynamoTicketTypeStore:
    """Organizers' changes to ticket types: each one transaction with a check of the seats, so
    a cancelled event's types stay as they were."""

    def __init__(self, table_name: str) -> None:
        self._table_name = table_name

    @property
    def _table(self) -> Any:
        return clients.dynamodb_table(self._table_name)

    def _lowering(
        self, kind: TicketTypeRecord, decrease: int, shards: int
    ) -> tuple[int, dict[int, int]]:
        """Where a quota lowered by ``decrease`` takes its unsold seats from: the type's own
        counter first, then the stock shards that have them (read now, consistently)."""
        if shards <= 1:
            return decrease, {}
        own = (
            self._table.get_item(
                Key=ticket_type_key(kind.event_id, kind.ticket_type_id), ConsistentRead=True
            ).get("Item")
            or {}
        )
        from_pool = max(0, min(decrease, int(own.get("available", 0))))
        left = decrease - from_pool
        takes: dict[int, int] = {}
        for item in stock.read_shards(
            self._table.meta.client, self._table_name, kind.event_id, shards
        ):
            if left <= 0:
                break
            has = int(dict(item.get("types") or {}).get(kind.ticket_type_id, 0))
            if has > 0:
                takes[int(item["shard"])] = min(has, left)
                left -= takes[int(item["shard"])]
        # Not enough anywhere: ask the own counter for the rest, which refuses (quota_below_sold).
        return from_pool + left, takes

    def add(self, kind: TicketTypeRecord, *, max_types: int) -> None:
        items: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self._table_name,
                    "Key": seats_key(kind.event_id),
                    "ConditionExpression": (
                        "attribute_exists(pk) AND type_count < :max AND #status = :on_sale"
                    ),
                    "UpdateExpression": "ADD type_count :one, version :one",
                    "ExpressionAttributeNames": {"#status": "status"},
                    "ExpressionAttributeValues": {
                        ":max": max_types,
                        ":one": 1,
                        ":on_sale": "on_sale",
                    },
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            },
            {
                "Put": {
                    "TableName": self._table_name,
                    "Item": ticket_type_item(kind),
                    "ConditionExpression": "attribute_not_exists(pk)",
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            },
        ]
        transact(self._table.meta.client, items, _refused_type_change)

    def update(
        self,
        kind: TicketTypeRecord,
        *,
        set_fields: dict[str, Any],
        remove_fields: list[str],
        quota: int | None,
        seats_available: int = 0,
        stock_shards: int = 1,
    ) -> TicketTypeRecord:
        """Apply a change to ``kind`` as it was read: a new quota moves ``available`` by the
        same amount, and a lower one needs that many seats still available. A higher one gives
        its new seats to the type's line first, as many as people wait for and the event's
        ``seats_available`` (as read) allow (docs/decisions/0051); the line and the seats are
        held to what was read, so a raced change is refused and read again."""
        names: dict[str, str] = {"#status": "status"}
        values: dict[str, Any] = {":one": 1}
        sets: list[str] = []
        for position, (field, value) in enumerate(sorted(set_fields.items())):
            names[f"#f{position}"] = field
            values[f":v{position}"] = value
            sets.append(f"#f{position} = :v{position}")
        removes = []
        for position, field in enumerate(sorted(remove_fields)):
            names[f"#r{position}"] = field
            removes.append(f"#r{position}")
        adds = ["version :one"]
        condition = "attribute_exists(pk)"
        to_line = 0
        shard_takes: dict[int, int] = {}
        seats_condition = "attribute_exists(pk) AND #status = :on_sale"
        seats_values: dict[str, Any] = {":on_sale": "on_sale"}
        if quota is not None and quota != kind.quota:
            delta = quota - kind.quota
            values.update({":delta": delta, ":read_quota": kind.quota})
            adds += ["quota :delta"]
            condition += " AND quota = :read_quota"
            if delta < 0:
                # With stock shards, what the event's own counter lacks is taken from shards
                # that have it, each on the condition that it still does (docs/decisions/0070).
                from_pool, shard_takes = self._lowering(kind, -delta, stock_shards)
                values[":decrease"] = from_pool
                values[":pool_delta"] = -from_pool
                condition += " AND available >= :decrease"
                adds += ["available :pool_delta"]
            else:
                # New seats go to the line first (docs/decisions/0051).
                to_line = max(0, min(delta, kind.queue, seats_available))
                names["#queue"] = "queue"
                values[":read_queue"] = kind.queue
                if kind.queue == 0:
                    condition += " AND (attribute_not_exists(#queue) OR #queue = :read_queue)"
                else:
                    condition += " AND #queue = :read_queue"
                values[":for_sale"] = delta - to_line
                adds += ["available :for_sale"]
                if to_line:
                    values.update({":to_line": to_line, ":minus_to_line": -to_line})
                    adds += ["held :to_line", "#queue :minus_to_line", "unassigned :to_line"]
                    seats_condition += " AND available >= :to_line"
                    seats_values[":to_line"] = to_line
                if to_line < min(delta, kind.queue):
                    # The event's seats were the limit: they must still be.
                    seats_condition += " AND available <= :seats_read"
                    seats_values[":seats_read"] = max(0, seats_available)
        expression = "ADD " + ", ".join(adds)
        if sets:
            expression = "SET " + ", ".join(sets) + " " + expression
        if removes:
            expression += " REMOVE " + ", ".join(removes)
        seats_check: dict[str, Any] = {
            "TableName": self._table_name,
            "Key": seats_key(kind.event_id),
            "ConditionExpression": seats_condition,
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": seats_values,
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        if to_line:
            seats_check["UpdateExpression"] = (
                "ADD available :minus_to_line, held :to_line, version :one"
            )
            seats_values.update({":minus_to_line": -to_line, ":one": 1})
        items: list[dict[str, Any]] = [
            {"Update": seats_check} if to_line else {"ConditionCheck": seats_check},
            {
                "Update": {
                    "TableName": self._table_name,
                    "Key": ticket_type_key(kind.event_id, kind.ticket_type_id),
                    "ConditionExpression": condition,
                    "UpdateExpression": expression,
                    "ExpressionAttributeValues": values,
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            },
        ]
        type_names = {k: v for k, v in names.items() if k != "#status"}
        if type_names:
            items[1]["Update"]["ExpressionAttributeNames"] = type_names
        for shard, amount in sorted(shard_takes.items()):
            items.append(
                {
                    "Update": {
                        "TableName": self._table_name,
                        "Key": stock_shard_key(kind.event_id, shard),
                        "ConditionExpression": "types.#t >= :n",
                        "UpdateExpression": "ADD types.#t :minus, version :one",
                        "ExpressionAttributeNames": {"#t": kind.ticket_type_id},
                        "ExpressionAttributeValues": {":n": amount, ":minus": -amount, ":one": 1},
                    }
                }
            )

        def refused(reasons: list[dict[str, Any]]) -> Exception:
            if any(condition_failed(reason) for reason in reasons[2:]):
                return TypeChangeRefused(kind, None)  # a shard sold meanwhile: read again
            return _refused_type_change(reasons[:2])

        transact(self._table.meta.client, items, refused)
        item = self._table.get_item(
            Key=ticket_type_key(kind.event_id, kind.ticket_type_id), ConsistentRead=True
        )["Item"]
        return TicketTypeRecord.of(item)
