"""Orders in the TicketingTable: the sale, cancellation and transfer transactions, and
revocations.

Every invariant is a condition inside the transaction that changes it (docs/decisions/0050):
counters keep ``available`` so that "this order fits" is ``available >= n``. When DynamoDB
cancels a transaction, the items it refused come back as they were
(``ReturnValuesOnConditionCheckFailure=ALL_OLD``) so logic can say why without a second read.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from typing import Any, Literal, Protocol

from boto3.dynamodb.conditions import Key as KeyCondition
from botocore.exceptions import ClientError

from gatepass import clients, clock
from gatepass.dal import layout, stock
from gatepass.dal.storage import StorageUnavailable, condition_failed, plain_item
from gatepass.dal.tickets import TicketRecord, ticket_item, ticket_record
from gatepass.dal.transactions import (
    SALE_CONFLICT_ATTEMPTS,
    SALE_CONFLICT_WAIT_SECONDS,
    TRANSACTION_ATTEMPTS,
    back_off,
    decorrelated_back_off,
    shuffled,
    transact,
    transact_once,
)
from gatepass.models.records import (
    SEATS_NEED,
    EventRecord,
    OrderRecord,
    SeatsRecord,
    StockSummary,
    TicketTypeRecord,
)


class OrderRefused(Exception):
    """The sale's transaction was cancelled by a condition: each field is what a refused item
    was (``seats`` is None when no such event exists)."""

    def __init__(self) -> None:
        super().__init__("order refused")
        self.seats_refused = False
        self.seats: SeatsRecord | None = None
        self.refused_types: list[TicketTypeRecord] = []
        self.missing_types: list[str] = []
        self.buyer_refused = False
        self.buyer_tickets = 0


class CancelRefused(Exception):
    """The cancellation was cancelled: tickets no longer live (or not the caller's), the event
    started, or an order changed meanwhile."""

    def __init__(self) -> None:
        super().__init__("cancellation refused")
        self.refused_tickets: list[TicketRecord] = []
        self.seats: SeatsRecord | None = None
        self.seats_refused = False
        self.order_changed = False
        self.line_changed = False


@dataclass(frozen=True)
class Revocation:
    ticket_id: str
    revoked_at: str
    reason: str
    position: str


class TransferRefused(Exception):
    def __init__(self) -> None:
        super().__init__("transfer refused")
        self.ticket: TicketRecord | None = None
        self.seats: SeatsRecord | None = None
        self.seats_refused = False


class OrderStore(Protocol):
    def get_order(self, order_id: str) -> OrderRecord | None: ...

    def sell(
        self,
        order: OrderRecord,
        tickets: list[TicketRecord],
        *,
        max_per_buyer: int,
        now: str,
        event: EventRecord | None = None,
    ) -> None: ...

    def cancel(
        self,
        tickets: list[TicketRecord],
        *,
        holder: str,
        orders: dict[str, int],
        reason: str,
        now: str,
        until_start: bool,
        queues: Mapping[str, int],
    ) -> None: ...

    def transfer(
        self,
        old: TicketRecord,
        new: TicketRecord,
        *,
        now: str,
        reason: Literal["transferred", "reissued"] = "transferred",
    ) -> None: ...

    def get_tickets(self, ticket_ids: list[str]) -> list[TicketRecord]: ...

    def queues(self, event_id: str, ticket_type_ids: list[str]) -> dict[str, int]: ...

    def close_sale(self, event_id: str, *, now: str) -> SeatsRecord | None: ...

    def event_tickets(self, event_id: str) -> list[TicketRecord]: ...

    def revoke_for_event(self, ticket: TicketRecord, *, now: str) -> bool: ...

    def revocations(self, event_id: str, *, since: str, limit: int) -> list[Revocation]: ...


class _NotLive(Exception):
    """The ticket was cancelled or transferred before the event was."""


@dataclass(frozen=True)
class _OrderPart:
    ticket_type_id: str
    buyer: str
    order_id: str


def _part_of(ticket: TicketRecord) -> _OrderPart:
    """Which type, buyer and order a ticket counts on (every ticket sold in an order has them)."""
    if not (ticket.ticket_type_id and ticket.buyer and ticket.order_id):
        raise ValueError(f"ticket {ticket.ticket_id} belongs to no order")
    return _OrderPart(ticket.ticket_type_id, ticket.buyer, ticket.order_id)


def order_item(order: OrderRecord) -> dict[str, Any]:
    return {
        **layout.order_key(order.order_id),
        "entity": "order",
        **order.model_dump(),
        "version": 1,
    }


def revocation_item(event_id: str, ticket_id: str, *, at: str, reason: str) -> dict[str, Any]:
    """A line of the event's revocation list. Its position is the time of writing to the
    microsecond, so a list read from a position misses nothing written after it by this
    writer; scanners re-read a little before their last position and drop duplicates, which
    covers writers whose clocks differ (docs/architecture.md)."""
    written = clock.now().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return {
        **layout.revocation_key(event_id, written, ticket_id),
        "entity": "revocation",
        "event_id": event_id,
        "ticket_id": ticket_id,
        "revoked_at": at,
        "reason": reason,
    }


@dataclass(frozen=True)
class LineUpdate:
    item: dict[str, Any]
    to_line: int


def line_update(
    table_name: str,
    event_id: str,
    ticket_type_id: str,
    *,
    freed: int,
    queue: int,
    from_shards: int = 0,
    to_shards: int = 0,
) -> LineUpdate:
    """Give ``freed`` seats of a type back: as many as its line has people waiting for (as
    read: ``queue``) are set aside for the line (``held``, ``unassigned``), the rest are for
    sale. The condition holds the line to what was read, so no seat goes to sale while someone
    waits and none is set aside for nobody (docs/decisions/0051). ``from_shards`` of the freed
    were sold from stock shards and ``to_shards`` go back on sale there (docs/decisions/0070):
    those are counted on the shards, not here."""
    to_line = max(0, min(freed, queue))
    values: dict[str, Any] = {
        ":for_sale": freed - to_line - to_shards,
        ":minus_k": -(freed - from_shards),
        ":one": 1,
    }
    if to_line == 0:
        condition = "attribute_exists(pk) AND (attribute_not_exists(queue) OR queue <= :zero)"
        update = "ADD available :for_sale, sold :minus_k, version :one"
        values[":zero"] = 0
    else:
        condition = "attribute_exists(pk) AND queue >= :to_line"
        if to_line < freed:
            condition += " AND queue <= :to_line"
        update = (
            "ADD available :for_sale, sold :minus_k, held :to_line, queue :minus_to_line, "
            "unassigned :to_line, version :one"
        )
        values.update({":to_line": to_line, ":minus_to_line": -to_line})
    return LineUpdate(
        item={
            "Update": {
                "TableName": table_name,
                "Key": layout.ticket_type_key(event_id, ticket_type_id),
                "ConditionExpression": condition,
                "UpdateExpression": update,
                "ExpressionAttributeValues": values,
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        },
        to_line=to_line,
    )


@dataclass
class _WayBack:
    """Where cancelled tickets' seats and type slices go back to: the line first (as many as
    each type's ``queue``), the rest to the shard (or the event's own counters) each came
    from."""

    seats_from_shards: int = 0
    seats_to_shards: int = 0
    type_from_shards: Counter[str] = dataclasses.field(default_factory=Counter)
    type_to_shards: Counter[str] = dataclasses.field(default_factory=Counter)
    unsold: dict[int, Counter[str]] = dataclasses.field(default_factory=dict)
    for_sale: dict[int, Counter[str]] = dataclasses.field(default_factory=dict)


def _way_back(tickets: list[TicketRecord], queues: Mapping[str, int]) -> _WayBack:
    back = _WayBack()
    line_left = {type_id: max(0, queue) for type_id, queue in queues.items()}
    # Tickets whose type slice came from the event's own counters go to the line first.
    for ticket in sorted(tickets, key=lambda t: t.type_shard is not None):
        type_id = _part_of(ticket).ticket_type_id
        to_line = line_left.get(type_id, 0) > 0
        if to_line:
            line_left[type_id] -= 1
        if ticket.stock_shard is not None:
            back.seats_from_shards += 1
            back.unsold.setdefault(ticket.stock_shard, Counter())[SEATS_NEED] += 1
            if not to_line:
                back.seats_to_shards += 1
                back.for_sale.setdefault(ticket.stock_shard, Counter())[SEATS_NEED] += 1
        if ticket.type_shard is not None:
            back.type_from_shards[type_id] += 1
            back.unsold.setdefault(ticket.type_shard, Counter())[type_id] += 1
            if not to_line:
                back.type_to_shards[type_id] += 1
                back.for_sale.setdefault(ticket.type_shard, Counter())[type_id] += 1
    return back


def buyer_update(table_name: str, order: OrderRecord, *, max_per_buyer: int) -> dict[str, Any]:
    """Count an order's tickets on its buyer, within the buyer limit (a transaction item)."""
    n = len(order.ticket_ids)
    return {
        "Update": {
            "TableName": table_name,
            "Key": layout.buyer_key(order.event_id, order.buyer),
            "ConditionExpression": "attribute_not_exists(pk) OR tickets <= :room",
            "UpdateExpression": (
                "ADD tickets :n, version :one SET entity = :entity, event_id = :event_id, "
                "buyer = :buyer"
            ),
            "ExpressionAttributeValues": {
                ":n": n,
                ":one": 1,
                ":room": max_per_buyer - n,
                ":entity": "buyer",
                ":event_id": order.event_id,
                ":buyer": order.buyer,
            },
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
    }


def new_order_items(
    table_name: str, order: OrderRecord, tickets: list[TicketRecord]
) -> list[dict[str, Any]]:
    """Put the order and its tickets, each only if new (transaction items)."""
    return [
        {
            "Put": {
                "TableName": table_name,
                "Item": item,
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }
        for item in [order_item(order), *(ticket_item(ticket) for ticket in tickets)]
    ]


def _placed(tickets: list[TicketRecord], planned: stock.Plan) -> list[TicketRecord]:
    """The tickets with the shards their seats and type slices come from."""
    seats = iter(planned.sources[SEATS_NEED])
    by_type = {need: iter(sources) for need, sources in planned.sources.items()}
    return [
        dataclasses.replace(
            ticket,
            stock_shard=next(seats),
            type_shard=next(by_type[_part_of(ticket).ticket_type_id]),
        )
        for ticket in tickets
    ]


def _shortfall(short: stock.Shortfall, event: EventRecord | None) -> Exception:
    """The refusal when no shard (nor the event's own counters) has what an order needs."""
    if event is None:
        return RuntimeError("a sale planned from what it saw needs the event")
    refusal = OrderRefused()
    if short.need == SEATS_NEED:
        refusal.seats_refused = True
        refusal.seats = SeatsRecord(
            event_id=event.event_id,
            capacity=event.capacity,
            available=short.left,
            starts_at=event.starts_at,
            status=event.status,
        )
        return refusal
    kind = next(k for k in event.ticket_types if k.ticket_type_id == short.need)
    refusal.refused_types.append(kind.model_copy(update={"available": short.left}))
    return refusal


def _shard_seats(old: dict[str, Any], event: EventRecord | None) -> SeatsRecord:
    """A refused shard's event state, as the seats item would say it."""
    return SeatsRecord(
        event_id=str(old["event_id"]),
        capacity=event.capacity if event is not None else 0,
        available=int(old.get("available", 0)),
        starts_at=str(old["starts_at"]),
        status=old.get("status", "on_sale"),
    )


def _give_up(summary: StockSummary, conflicts: int, waited: float) -> bool:
    """Whether a sale stops retrying after ``conflicts`` conflicts and ``waited`` seconds of
    back-off. One shard (the event's own counters): after four conflicts, as every
    transaction. Shards: conflicts there are buyers converging on the last shards with stock,
    each of which will soon either sell or find the shard empty (a condition, which ends in a
    sale elsewhere or "sold out"), so the sale waits up to SALE_CONFLICT_WAIT_SECONDS in all
    (at most SALE_CONFLICT_ATTEMPTS tries) rather than answering 503."""
    if not summary.sharded:
        return conflicts >= TRANSACTION_ATTEMPTS
    return waited >= SALE_CONFLICT_WAIT_SECONDS or conflicts >= SALE_CONFLICT_ATTEMPTS


def _pool_short(refusal: OrderRefused) -> bool:
    """The event's own counters refused only for want of stock (learnt; try the others)."""
    return refusal.seats_refused or bool(refusal.refused_types)


def _only_short(seats: SeatsRecord | None, now: str) -> bool:
    return seats is not None and seats.status == "on_sale" and seats.starts_at > now


def _type_only_short(kind: TicketTypeRecord, now: str) -> bool:
    return not kind.paused and kind.window_state(now) == "open"


class DynamoOrderStore:
    """The AWS implementation over the TicketingTable."""

    def __init__(self, table_name: str) -> None:
        self.table_name = table_name

    def _table(self) -> Any:
        return clients.dynamodb_table(self.table_name)

    # ------------------------------------------------------------------ reads

    def get_order(self, order_id: str) -> OrderRecord | None:
        item = (
            self._table().get_item(Key=layout.order_key(order_id), ConsistentRead=True).get("Item")
        )
        return OrderRecord.of(item) if item else None

    def get_tickets(self, ticket_ids: list[str]) -> list[TicketRecord]:
        """The tickets that exist, in the order asked (an order has at most 20)."""
        found = []
        for ticket_id in ticket_ids:
            item = (
                self._table()
                .get_item(Key=layout.ticket_key(ticket_id), ConsistentRead=True)
                .get("Item")
            )
            if item:
                found.append(ticket_record(item))
        return found

    def queues(self, event_id: str, ticket_type_ids: list[str]) -> dict[str, int]:
        """How many people wait, not yet matched to a seat, in each type's line."""
        found = {}
        for type_id in ticket_type_ids:
            item = (
                self._table()
                .get_item(
                    Key=layout.ticket_type_key(event_id, type_id),
                    ConsistentRead=True,
                    ProjectionExpression="#queue",
                    ExpressionAttributeNames={"#queue": "queue"},
                )
                .get("Item")
            )
            found[type_id] = int((item or {}).get("queue", 0))
        return found

    def event_tickets(self, event_id: str) -> list[TicketRecord]:
        """Every ticket of an event (its attendees index: one partition per stock shard and
        the event's own, all pages)."""
        tickets: list[TicketRecord] = []
        shards = stock.shard_count(self._table(), event_id)
        for partition in layout.event_tickets_partitions(event_id, shards):
            args: dict[str, Any] = {
                "IndexName": layout.EVENT_TICKETS_INDEX,
                "KeyConditionExpression": KeyCondition("gsi1pk").eq(partition),
            }
            while True:
                page = self._table().query(**args)
                tickets += [ticket_record(item) for item in page.get("Items", [])]
                if "LastEvaluatedKey" not in page:
                    break
                args["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return tickets

    def revocations(self, event_id: str, *, since: str, limit: int) -> list[Revocation]:
        """The event's revoked tickets after position ``since`` (empty: from the start)."""
        condition: Any = KeyCondition("pk").eq(layout.revocations_partition(event_id))
        if since:
            condition = condition & KeyCondition("sk").gt(since)
        items = self._table().query(KeyConditionExpression=condition, Limit=limit).get("Items", [])
        return [
            Revocation(
                ticket_id=str(item["ticket_id"]),
                revoked_at=str(item["revoked_at"]),
                reason=str(item["reason"]),
                position=str(item["sk"]),
            )
            for item in items
        ]

    # ------------------------------------------------------------------ cancelling an event

    def close_sale(self, event_id: str, *, now: str) -> SeatsRecord | None:
        """Mark the event cancelled on its stock shards and its seats, which every sale's
        condition reads; None when it already was (or does not exist). The shards close first,
        so a retry after a failure closes what is left."""
        stock.close_shards(self._table(), event_id, now=now)
        try:
            answer = self._table().update_item(
                Key=layout.seats_key(event_id),
                ConditionExpression="attribute_exists(pk) AND #status = :on_sale",
                UpdateExpression="SET #status = :cancelled, cancelled_at = :now ADD version :one",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":on_sale": "on_sale",
                    ":cancelled": "cancelled",
                    ":now": now,
                    ":one": 1,
                },
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if condition_failed(exc):
                return None
            raise
        return SeatsRecord.of(answer["Attributes"])

    def revoke_for_event(self, ticket: TicketRecord, *, now: str) -> bool:
        """Revoke one ticket of a cancelled event (and list it); False if it was not live."""
        items: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self.table_name,
                    "Key": layout.ticket_key(ticket.ticket_id),
                    "ConditionExpression": "#status IN (:issued, :checked_in)",
                    "UpdateExpression": (
                        "SET #status = :cancelled, revoked_at = :now, revoked_reason = :reason "
                        "ADD version :one"
                    ),
                    "ExpressionAttributeNames": {"#status": "status"},
                    "ExpressionAttributeValues": {
                        ":issued": "issued",
                        ":checked_in": "checked_in",
                        ":cancelled": "cancelled",
                        ":reason": "event_cancelled",
                        ":now": now,
                        ":one": 1,
                    },
                }
            },
            {
                "Put": {
                    "TableName": self.table_name,
                    "Item": revocation_item(
                        ticket.event_id, ticket.ticket_id, at=now, reason="event_cancelled"
                    ),
                }
            },
        ]
        try:
            transact(self._table().meta.client, items, lambda _: _NotLive())
        except _NotLive:
            return False
        return True

    # ------------------------------------------------------------------ the sale

    def sell(
        self,
        order: OrderRecord,
        tickets: list[TicketRecord],
        *,
        max_per_buyer: int,
        now: str,
        event: EventRecord | None = None,
    ) -> None:
        """Take the seats of the event and of every type ordered, count them on the buyer, and
        put the order and its tickets; or none of it.

        With stock shards (docs/decisions/0070; ``event`` as read for the sale carries its
        summary) the seats and types are taken from shards in a random order, the event's
        own counters last; a shard that lacks them is listed empty in the summary and the
        next is tried, one that conflicts is left for another after the usual back-off, and
        an order no single shard can fill takes from several in the one transaction."""
        summary = event.stock if event is not None else StockSummary()
        per_type = Counter(_part_of(t).ticket_type_id for t in tickets)
        needs: dict[str, int] = {SEATS_NEED: len(tickets), **per_type}
        client = self._table().meta.client
        # What this sale has seen of each source (from refusals); the event's own counters as
        # read when sharded, unseen (so tried, as always) when they are the only source.
        known: dict[int | None, dict[str, int]] = {}
        if summary.sharded:
            known[stock.POOL] = dict(summary.pool)
        # Every need the summary lists (not only this order's): a shard found empty is listed
        # for what it lacks, and what others listed is not written again.
        empty: dict[str, set[int]] = {need: set(summary.empty_for(need)) for need in needs}
        empty.update({need: set(k) for need, k in summary.empty.items() if need not in empty})
        conflicts = refusals = 0
        waited = pause = 0.0
        # Each refusal teaches something new (a shard's stock), so refusals are bounded; a
        # conflict on shards is followed by reading them (a read conflicts with nothing): one
        # that lacks what was planned is learnt as a refusal would teach it, so buyers
        # converging on the last shards learn they emptied instead of conflicting on; other
        # conflicts are bounded by a count (one shard) or by the time spent waiting between
        # tries (shards: see ``_give_up``).
        while refusals <= 4 * summary.shards + 8:
            shards: list[int | None] = list(range(summary.shards)) if summary.sharded else []
            planned = stock.plan(needs, [*shuffled(shards), stock.POOL], empty=empty, known=known)
            if isinstance(planned, stock.Shortfall):
                raise _shortfall(planned, event)
            placed = _placed(tickets, planned)
            items, parts = self._sale_items(order, placed, planned, max_per_buyer, now)
            reasons = transact_once(client, items)
            if reasons is None:
                return
            if not any(condition_failed(reason) for reason in reasons):
                conflicts += 1
                if summary.sharded and self._look(order.event_id, planned, known, empty):
                    refusals += 1
                    continue  # a shard it conflicted on lacks the stock: plan again at once
                if _give_up(summary, conflicts, waited):
                    raise StorageUnavailable("Too many people are doing this at once; try again.")
                if summary.sharded:
                    pause = decorrelated_back_off(pause)
                    waited += pause
                else:
                    back_off(min(conflicts - 1, TRANSACTION_ATTEMPTS - 1))
                continue
            refusals += 1
            refusal = self._learn(reasons, parts, planned, known, empty, event, now)
            if refusal is not None:
                raise refusal
        raise StorageUnavailable("Too many people are doing this at once; try again.")

    def _sale_items(
        self,
        order: OrderRecord,
        tickets: list[TicketRecord],
        planned: stock.Plan,
        max_per_buyer: int,
        now: str,
    ) -> tuple[list[dict[str, Any]], list[tuple[str, Any]]]:
        """The sale's transaction items, and what each of the leading ones is (for reading
        the refusal): ``("seats", None)``, ``("type", type_id)``, ``("shard", k)``."""
        event_id = order.event_id
        items: list[dict[str, Any]] = []
        parts: list[tuple[str, Any]] = []
        pool = planned.takes.get(stock.POOL, {})
        if SEATS_NEED in pool:
            n = pool[SEATS_NEED]
            items.append(
                {
                    "Update": {
                        "TableName": self.table_name,
                        "Key": layout.seats_key(event_id),
                        "ConditionExpression": (
                            "attribute_exists(pk) AND available >= :n AND starts_at > :now "
                            "AND #status = :on_sale"
                        ),
                        "UpdateExpression": "ADD available :minus_n, sold :n, version :one",
                        "ExpressionAttributeNames": {"#status": "status"},
                        "ExpressionAttributeValues": {
                            ":n": n,
                            ":minus_n": -n,
                            ":one": 1,
                            ":now": now,
                            ":on_sale": "on_sale",
                        },
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                    }
                }
            )
            parts.append(("seats", None))
        for type_id, k in pool.items():
            if type_id == SEATS_NEED:
                continue
            items.append(
                {
                    "Update": {
                        "TableName": self.table_name,
                        "Key": layout.ticket_type_key(event_id, type_id),
                        "ConditionExpression": (
                            "attribute_exists(pk) AND available >= :k AND paused = :false "
                            "AND max_per_order >= :k "
                            "AND (attribute_not_exists(opens_at) OR opens_at <= :now) "
                            "AND (attribute_not_exists(closes_at) OR closes_at > :now)"
                        ),
                        "UpdateExpression": "ADD available :minus_k, sold :k, version :one",
                        "ExpressionAttributeValues": {
                            ":k": k,
                            ":minus_k": -k,
                            ":one": 1,
                            ":false": False,
                            ":now": now,
                        },
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                    }
                }
            )
            parts.append(("type", type_id))
        for shard, takes in planned.takes.items():
            if shard is None:
                continue
            items.append(stock.shard_take(self.table_name, event_id, shard, takes, now=now))
            parts.append(("shard", shard))
        items.append(buyer_update(self.table_name, order, max_per_buyer=max_per_buyer))
        parts.append(("buyer", None))
        items += new_order_items(self.table_name, order, tickets)
        return items, parts

    def _relist(self, event_id: str, empty: dict[str, set[int]]) -> None:
        """Add the shards others have listed empty since the sale read the event. Best effort,
        like a look."""
        try:
            listed = stock.read_listed(self._table().meta.client, self.table_name, event_id)
        except StorageUnavailable:
            return
        for need, shards in listed.items():
            empty.setdefault(need, set()).update(shards)

    def _look(
        self,
        event_id: str,
        planned: stock.Plan,
        known: dict[int | None, dict[str, int]],
        empty: dict[str, set[int]],
    ) -> bool:
        """After a conflict, read the shards the plan took from: True when one has less than
        was planned (learnt in ``known``, listed empty when it has none). Best effort: a read
        throttled beyond the SDK's retries is passed over, never the buyer's error."""
        client = self._table().meta.client
        learnt = False
        for shard, takes in planned.takes.items():
            if shard is None:
                continue
            try:
                item = stock.read_shard(client, self.table_name, event_id, shard)
            except StorageUnavailable:
                continue  # a throttled look teaches nothing; the sale backs off as on a conflict
            values = stock.shard_values(item) if item else dict.fromkeys(takes, 0)
            known[shard] = values
            learnt = learnt or any(values.get(need, 0) < n for need, n in takes.items())
            if item:
                self._list_empty(client, event_id, shard, item, empty)
        return learnt

    def _list_empty(
        self,
        client: Any,
        event_id: str,
        shard: int,
        seen: dict[str, Any],
        empty: dict[str, set[int]],
    ) -> None:
        """List the shard, as ``seen``, empty in the summary for every need it has none of
        (one write), unless the summary lists it already. Near sell-out the crowd finds the
        same shards empty at once: reading the lists first (half a read unit, of 6,000 a
        second on the event's partition) spares the write (a unit, of 1,000), and a sale that
        read the event early learns every shard others listed since, not one refused try at a
        time (the rush model's 5,000-seat sale over 100 shards wrote its summary 5,837 times
        for 300 shard-and-need marks without it)."""
        values = stock.shard_values(seen)
        if not stock.empty_needs(values, empty, shard):
            return
        self._relist(event_id, empty)
        needs = stock.empty_needs(values, empty, shard)
        for need in needs:
            empty.setdefault(need, set()).add(shard)
        if needs:
            stock.mark_empty(client, self.table_name, event_id, shard, needs, seen=seen)

    def _learn(
        self,
        reasons: list[dict[str, Any]],
        parts: list[tuple[str, Any]],
        planned: stock.Plan,
        known: dict[int | None, dict[str, int]],
        empty: dict[str, set[int]],
        event: EventRecord | None,
        now: str,
    ) -> Exception | None:
        """Read a refused sale: the exception to raise, or None after learning which sources
        lack stock (listing empty shards in the summary) so that another plan can be tried."""
        if any(condition_failed(reason) for reason in reasons[len(parts) :]):
            # Two random 80-bit ids colliding: fail loudly rather than overwrite.
            return RuntimeError("order or ticket id collision")
        refusal = OrderRefused()
        short = False
        for (kind, name), reason in zip(parts, reasons, strict=False):
            if not condition_failed(reason):
                continue
            old = plain_item(reason.get("Item"))
            if kind == "seats":
                refusal.seats_refused = True
                refusal.seats = SeatsRecord.of(old) if old else None
                if old:
                    known.setdefault(stock.POOL, {})[SEATS_NEED] = int(old.get("available", 0))
            elif kind == "type":
                if old:
                    refusal.refused_types.append(TicketTypeRecord.of(old))
                    known.setdefault(stock.POOL, {})[name] = int(old.get("available", 0))
                else:
                    refusal.missing_types.append(name)
            elif kind == "shard":
                if not old or old.get("status") != "on_sale" or str(old["starts_at"]) <= now:
                    refusal.seats_refused = True
                    refusal.seats = _shard_seats(old, event) if old else None
                    continue
                values = stock.shard_values(old)
                known[name] = values
                short = True
                self._list_empty(self._table().meta.client, str(old["event_id"]), name, old, empty)
            else:
                refusal.buyer_refused = True
                refusal.buyer_tickets = int(old.get("tickets", 0))
        stop = refusal.seats_refused and not _only_short(refusal.seats, now)
        stop = stop or bool(refusal.missing_types) or refusal.buyer_refused
        stop = stop or any(not _type_only_short(kind, now) for kind in refusal.refused_types)
        sharded = event is not None and event.stock.sharded
        if sharded and not stop and (short or _pool_short(refusal)):
            return None  # only for want of stock somewhere: plan again with what was learnt
        # The event's own counters as its only source, or a refusal not for want of stock.
        return refusal

    # ------------------------------------------------------------------ cancellation

    def cancel(
        self,
        tickets: list[TicketRecord],
        *,
        holder: str,
        orders: dict[str, int],
        reason: str,
        now: str,
        until_start: bool,
        queues: Mapping[str, int],
    ) -> None:
        """Revoke live tickets of one event held by ``holder`` and give their seats back.

        ``orders`` maps each order touched to its ``live_count`` as read; the order's update is
        conditional on it, so two cancellations of one order never lose a count. ``queues`` maps
        each type to its line as read (``queue``): a freed seat goes to the line while someone
        waits for it, else back to sale (docs/decisions/0051), on the condition that the line is
        still what was read, so a seat is never for sale while someone waits for it.
        """
        event_id = tickets[0].event_id
        n = len(tickets)
        per_type = Counter(_part_of(t).ticket_type_id for t in tickets)
        per_buyer = Counter(_part_of(t).buyer for t in tickets)
        per_order = Counter(_part_of(t).order_id for t in tickets)
        items: list[dict[str, Any]] = []
        for ticket in tickets:
            items.append(
                {
                    "Update": {
                        "TableName": self.table_name,
                        "Key": layout.ticket_key(ticket.ticket_id),
                        "ConditionExpression": "holder = :holder AND #status = :issued",
                        "UpdateExpression": (
                            "SET #status = :cancelled, revoked_at = :now, revoked_reason = :reason "
                            "ADD version :one"
                        ),
                        "ExpressionAttributeNames": {"#status": "status"},
                        "ExpressionAttributeValues": {
                            ":holder": holder,
                            ":issued": "issued",
                            ":cancelled": "cancelled",
                            ":now": now,
                            ":reason": reason,
                            ":one": 1,
                        },
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                    }
                }
            )
        back = _way_back(tickets, queues)
        type_items = [
            line_update(
                self.table_name,
                event_id,
                type_id,
                freed=k,
                queue=queues.get(type_id, 0),
                from_shards=back.type_from_shards[type_id],
                to_shards=back.type_to_shards[type_id],
            )
            for type_id, k in per_type.items()
        ]
        to_line = sum(item.to_line for item in type_items)
        seats_condition = "attribute_exists(pk)"
        values: dict[str, Any] = {
            ":for_sale": n - to_line - back.seats_to_shards,
            ":minus_n": -(n - back.seats_from_shards),
            ":held": to_line,
            ":one": 1,
        }
        if until_start:
            seats_condition += " AND starts_at > :now"
            values[":now"] = now
        items.append(
            {
                "Update": {
                    "TableName": self.table_name,
                    "Key": layout.seats_key(event_id),
                    "ConditionExpression": seats_condition,
                    "UpdateExpression": (
                        "ADD available :for_sale, sold :minus_n, held :held, version :one"
                    ),
                    "ExpressionAttributeValues": values,
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            }
        )
        items += [item.item for item in type_items]
        for buyer, k in per_buyer.items():
            items.append(
                {
                    "Update": {
                        "TableName": self.table_name,
                        "Key": layout.buyer_key(event_id, buyer),
                        "ConditionExpression": "attribute_exists(pk)",
                        "UpdateExpression": "ADD tickets :minus_k, version :one",
                        "ExpressionAttributeValues": {":minus_k": -k, ":one": 1},
                    }
                }
            )
        for order_id, k in per_order.items():
            live = orders[order_id]
            items.append(
                {
                    "Update": {
                        "TableName": self.table_name,
                        "Key": layout.order_key(order_id),
                        "ConditionExpression": "live_count = :live",
                        "UpdateExpression": (
                            "SET live_count = :left, #status = :status, updated_at = :now "
                            "ADD version :one"
                        ),
                        "ExpressionAttributeNames": {"#status": "status"},
                        "ExpressionAttributeValues": {
                            ":live": live,
                            ":left": live - k,
                            ":status": "cancelled" if live - k <= 0 else "confirmed",
                            ":now": now,
                            ":one": 1,
                        },
                    }
                }
            )
        for ticket in tickets:
            items.append(
                {
                    "Put": {
                        "TableName": self.table_name,
                        "Item": revocation_item(event_id, ticket.ticket_id, at=now, reason=reason),
                    }
                }
            )
        # Seats sold from stock shards go back to the shards they came from, which leave the
        # summary's empty lists in the same transaction (docs/decisions/0070).
        for shard in sorted(set(back.unsold) | set(back.for_sale)):
            items.append(
                stock.shard_return(
                    self.table_name,
                    event_id,
                    shard,
                    unsold=back.unsold.get(shard, {}),
                    for_sale=back.for_sale.get(shard, {}),
                )
            )
        refilled: dict[str, set[int]] = {}
        for shard, needs in back.for_sale.items():
            for need, count in needs.items():
                if count > 0:
                    refilled.setdefault(need, set()).add(shard)
        if refilled:
            items.append(stock.summary_refill(self.table_name, event_id, refilled))

        def refused(reasons: list[dict[str, Any]]) -> Exception:
            refusal = CancelRefused()
            for reason in reasons[:n]:
                if condition_failed(reason):
                    refusal.refused_tickets.append(ticket_record(plain_item(reason.get("Item"))))
            seats_reason = reasons[n]
            if condition_failed(seats_reason):
                refusal.seats_refused = True
                old = plain_item(seats_reason.get("Item"))
                refusal.seats = SeatsRecord.of(old) if old else None
            lines = reasons[n + 1 : n + 1 + len(type_items)]
            refusal.line_changed = any(condition_failed(r) for r in lines)
            rest = reasons[n + 1 + len(type_items) :]
            refusal.order_changed = any(condition_failed(r) for r in rest)
            return refusal

        transact(self._table().meta.client, items, refused)

    # ------------------------------------------------------------------ transfer

    def transfer(
        self,
        old: TicketRecord,
        new: TicketRecord,
        *,
        now: str,
        reason: Literal["transferred", "reissued"] = "transferred",
    ) -> None:
        """Revoke ``old`` and issue ``new`` (same order, type and attendee) in its place: to a
        recipient (``transferred``, before the event starts), or to the same holder with a new
        code (``reissued``, by the organizer, until the event is cancelled)."""
        # A reissue may be needed at the door, after the start: only a cancelled event refuses.
        open_event, open_values = "#status = :on_sale", {":on_sale": "on_sale"}
        if reason == "transferred":
            open_event, open_values = (
                f"starts_at > :now AND {open_event}",
                {
                    **open_values,
                    ":now": now,
                },
            )
        items: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self.table_name,
                    "Key": layout.ticket_key(old.ticket_id),
                    "ConditionExpression": "holder = :holder AND #status = :issued",
                    "UpdateExpression": (
                        "SET #status = :transferred, revoked_at = :now, revoked_reason = :reason, "
                        "transferred_to = :to ADD version :one"
                    ),
                    "ExpressionAttributeNames": {"#status": "status"},
                    "ExpressionAttributeValues": {
                        ":holder": old.holder,
                        ":issued": "issued",
                        ":transferred": reason,
                        ":reason": reason,
                        ":to": new.ticket_id,
                        ":now": now,
                        ":one": 1,
                    },
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            },
            {
                "ConditionCheck": {
                    "TableName": self.table_name,
                    "Key": layout.seats_key(old.event_id),
                    "ConditionExpression": open_event,
                    "ExpressionAttributeNames": {"#status": "status"},
                    "ExpressionAttributeValues": open_values,
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            },
            {
                "Put": {
                    "TableName": self.table_name,
                    "Item": ticket_item(new),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {
                "Put": {
                    "TableName": self.table_name,
                    "Item": revocation_item(old.event_id, old.ticket_id, at=now, reason=reason),
                }
            },
        ]

        def refused(reasons: list[dict[str, Any]]) -> Exception:
            ticket_reason, seats_reason = reasons[0], reasons[1]
            if condition_failed(reasons[2]):
                return RuntimeError("ticket id collision")
            refusal = TransferRefused()
            if condition_failed(ticket_reason):
                refusal.ticket = ticket_record(plain_item(ticket_reason.get("Item")))
            if condition_failed(seats_reason):
                refusal.seats_refused = True
                old = plain_item(seats_reason.get("Item"))
                refusal.seats = SeatsRecord.of(old) if old else None
            return refusal

        transact(self._table().meta.client, items, refused)
