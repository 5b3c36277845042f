"""Orders in the TicketingTable: the sale, cancellation and transfer transactions, and
revocations.

Every invariant is a condition inside the transaction that changes it (docs/decisions/0050):
counters keep ``available`` so that "this order fits" is ``available >= n``. When DynamoDB
cancels a transaction, the items it refused come back as they were
(``ReturnValuesOnConditionCheckFailure=ALL_OLD``) so logic can say why without a second read.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from typing import Any, Literal, Protocol

from boto3.dynamodb.conditions import Key as KeyCondition
from botocore.exceptions import ClientError

from gatepass import clients, clock
from gatepass.dal import layout
from gatepass.dal.storage import condition_failed, plain_item
from gatepass.dal.tickets import TicketRecord, ticket_item, ticket_record
from gatepass.dal.transactions import transact
from gatepass.models.orders import OrderRecord, SeatsRecord, TicketTypeRecord


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
        self, order: OrderRecord, tickets: list[TicketRecord], *, max_per_buyer: int, now: str
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
    table_name: str, event_id: str, ticket_type_id: str, *, freed: int, queue: int
) -> LineUpdate:
    """Give ``freed`` seats of a type back: as many as its line has people waiting for (as
    read: ``queue``) are set aside for the line (``held``, ``unassigned``), the rest are for
    sale. The condition holds the line to what was read, so no seat goes to sale while someone
    waits and none is set aside for nobody (docs/decisions/0051)."""
    to_line = max(0, min(freed, queue))
    values: dict[str, Any] = {
        ":for_sale": freed - to_line,
        ":minus_k": -freed,
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
        """Every ticket of an event (its attendees index, all pages)."""
        args: dict[str, Any] = {
            "IndexName": layout.EVENT_TICKETS_INDEX,
            "KeyConditionExpression": KeyCondition("gsi1pk").eq(
                layout.event_tickets_partition(event_id)
            ),
        }
        tickets: list[TicketRecord] = []
        while True:
            page = self._table().query(**args)
            tickets += [ticket_record(item) for item in page.get("Items", [])]
            if "LastEvaluatedKey" not in page:
                return tickets
            args["ExclusiveStartKey"] = page["LastEvaluatedKey"]

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
        """Mark the event cancelled on its seats, which every sale's condition reads; None when
        it already was (or does not exist)."""
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
    ) -> None:
        """Take the seats of every type ordered and of the event, count them on the buyer, and
        put the order and its tickets; or none of it."""
        n = len(tickets)
        per_type = Counter(_part_of(t).ticket_type_id for t in tickets)
        type_ids = list(per_type)
        items: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self.table_name,
                    "Key": layout.seats_key(order.event_id),
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
        ]
        for type_id in type_ids:
            k = per_type[type_id]
            items.append(
                {
                    "Update": {
                        "TableName": self.table_name,
                        "Key": layout.ticket_type_key(order.event_id, type_id),
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
        items.append(buyer_update(self.table_name, order, max_per_buyer=max_per_buyer))
        items += new_order_items(self.table_name, order, tickets)

        def refused(reasons: list[dict[str, Any]]) -> Exception:
            seats_reason, rest = reasons[0], reasons[1:]
            type_reasons, rest = rest[: len(type_ids)], rest[len(type_ids) :]
            buyer_reason, new_items = rest[0], rest[1:]
            if any(condition_failed(reason) for reason in new_items):
                # Two random 80-bit ids colliding: fail loudly rather than overwrite.
                return RuntimeError("order or ticket id collision")
            refusal = OrderRefused()
            if condition_failed(seats_reason):
                refusal.seats_refused = True
                old = plain_item(seats_reason.get("Item"))
                refusal.seats = SeatsRecord.of(old) if old else None
            for type_id, reason in zip(type_ids, type_reasons, strict=True):
                if condition_failed(reason):
                    old = plain_item(reason.get("Item"))
                    if old:
                        refusal.refused_types.append(TicketTypeRecord.of(old))
                    else:
                        refusal.missing_types.append(type_id)
            if condition_failed(buyer_reason):
                refusal.buyer_refused = True
                refusal.buyer_tickets = int(plain_item(buyer_reason.get("Item")).get("tickets", 0))
            return refusal

        transact(self._table().meta.client, items, refused)

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
        type_items = [
            line_update(self.table_name, event_id, type_id, freed=k, queue=queues.get(type_id, 0))
            for type_id, k in per_type.items()
        ]
        to_line = sum(item.to_line for item in type_items)
        seats_condition = "attribute_exists(pk)"
        values: dict[str, Any] = {
            ":for_sale": n - to_line,
            ":minus_n": -n,
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
