"""Data access for tickets: the ticket item, the check-in transaction, ticket and event reads, QR
images in the tickets bucket, and the idempotency records of ticket creation (the sale itself is
an order: ``gatepass.dal.orders``).

Conditions that protect invariants live in the transactions themselves (never read-then-write):
a check-in is one ``TransactWriteItems`` over the ticket, the event's seats and the ticket's
type. When DynamoDB cancels one, the items it saw come back with
``ReturnValuesOnConditionCheckFailure=ALL_OLD`` so logic can say why without a second read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import ClientError

from gatepass import clients
from gatepass.dal.layout import (
    event_key,
    seats_key,
    ticket_index_keys,
    ticket_key,
    ticket_type_key,
)
from gatepass.dal.storage import condition_failed, object_missing
from gatepass.dal.storage import plain_item as _plain_item
from gatepass.dal.transactions import transact

if TYPE_CHECKING:
    # Imported where a sale makes its idempotency store: cancelling, checking in, showing or
    # mailing a ticket needs none of Powertools' idempotency utility.
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer


def qr_object_key(ticket_id: str) -> str:
    return f"tickets/{ticket_id}.png"


@dataclass(frozen=True)
class EventSeats:
    """What check-in needs to know about an event: its organizer and its start (its counts are
    on its seats item; ``gatepass.models.records.EventRecord`` is the whole event)."""

    event_id: str
    organizer: str
    starts_at: str


@dataclass(frozen=True)
class TicketRecord:
    ticket_id: str
    event_id: str
    holder: str
    status: str
    code: str
    qr_key: str
    issued_at: str
    checked_in_at: str | None = None
    checked_in_by: str | None = None
    order_id: str | None = None
    ticket_type_id: str | None = None
    attendee_name: str | None = None
    buyer: str | None = None
    revoked_at: str | None = None
    revoked_reason: str | None = None
    transferred_to: str | None = None
    transferred_from: str | None = None
    # The door (docs/decisions/0060): inside or left after the first entry, the gate the
    # holder last came in through, the gate of the first entry.
    presence: str | None = None
    entry_gate: str | None = None
    checked_in_gate: str | None = None
    version: int = 1
    # The stock shards its seat and its type's slice were taken from (docs/decisions/0070);
    # None: the event's own counters. A cancellation gives them back there.
    stock_shard: int | None = None
    type_shard: int | None = None


class CheckInRefused(Exception):
    """DynamoDB cancelled the check-in. ``ticket`` is the ticket as it was, None if missing."""

    def __init__(
        self, *, ticket: TicketRecord | None, event_missing: bool, event_cancelled: bool = False
    ) -> None:
        super().__init__("check-in refused")
        self.ticket = ticket
        self.event_missing = event_missing
        self.event_cancelled = event_cancelled


class TicketsDataAccess(Protocol):
    def get_event(self, event_id: str) -> EventSeats | None: ...

    def get_ticket(self, ticket_id: str) -> TicketRecord | None: ...

    def check_in(
        self, *, ticket_id: str, event_id: str, ticket_type_id: str, by: str, at: str
    ) -> None: ...

    def put_qr(self, key: str, png: bytes) -> None: ...

    def qr_exists(self, key: str) -> bool: ...

    def qr_url(self, key: str, ttl_seconds: int) -> str: ...

    def idempotency_store(self) -> DynamoDBPersistenceLayer: ...


class DynamoTicketsDataAccess:
    """The AWS implementation: TicketingTable, TicketsBucket and IdempotencyTable."""

    def __init__(
        self,
        table_name: str,
        *,
        bucket_name: str | None = None,
        idempotency_table_name: str | None = None,
    ) -> None:
        self.table_name = table_name
        self.bucket_name = bucket_name
        self.idempotency_table_name = idempotency_table_name

    # ------------------------------------------------------------------ reads

    def get_event(self, event_id: str) -> EventSeats | None:
        item = self._table().get_item(Key=event_key(event_id), ConsistentRead=True).get("Item")
        return _event_record(item) if item else None

    def get_ticket(self, ticket_id: str) -> TicketRecord | None:
        item = self._table().get_item(Key=ticket_key(ticket_id), ConsistentRead=True).get("Item")
        return ticket_record(item) if item else None

    # ------------------------------------------------------------------ transactions

    def check_in(
        self, *, ticket_id: str, event_id: str, ticket_type_id: str, by: str, at: str
    ) -> None:
        """Turn an issued ticket into a checked-in one and count it on the event's seats and its
        type, atomically; a cancelled event checks nobody in."""
        items: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self.table_name,
                    "Key": ticket_key(ticket_id),
                    "ConditionExpression": (
                        "attribute_exists(pk) AND #event_id = :event_id AND #status = :issued"
                    ),
                    "UpdateExpression": (
                        "SET #status = :checked_in, #checked_in_at = :at, #checked_in_by = :by "
                        "ADD #version :one"
                    ),
                    "ExpressionAttributeNames": {
                        "#event_id": "event_id",
                        "#status": "status",
                        "#checked_in_at": "checked_in_at",
                        "#checked_in_by": "checked_in_by",
                        "#version": "version",
                    },
                    "ExpressionAttributeValues": {
                        ":event_id": event_id,
                        ":issued": "issued",
                        ":checked_in": "checked_in",
                        ":at": at,
                        ":by": by,
                        ":one": 1,
                    },
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            },
            {
                "Update": {
                    "TableName": self.table_name,
                    "Key": seats_key(event_id),
                    "ConditionExpression": "attribute_exists(pk) AND #status = :on_sale",
                    "UpdateExpression": "ADD checked_in :one, version :one",
                    "ExpressionAttributeNames": {"#status": "status"},
                    "ExpressionAttributeValues": {":one": 1, ":on_sale": "on_sale"},
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            },
            {
                "Update": {
                    "TableName": self.table_name,
                    "Key": ticket_type_key(event_id, ticket_type_id),
                    "ConditionExpression": "attribute_exists(pk)",
                    "UpdateExpression": "ADD checked_in :one, version :one",
                    "ExpressionAttributeValues": {":one": 1},
                }
            },
        ]

        def refused(reasons: list[dict[str, Any]]) -> Exception:
            ticket_reason, seats_reason, type_reason = reasons
            old = _old_item(ticket_reason)
            seats = _old_item(seats_reason)
            return CheckInRefused(
                ticket=ticket_record(old) if old else None,
                event_missing=(condition_failed(seats_reason) and seats is None)
                or condition_failed(type_reason),
                event_cancelled=seats is not None and seats.get("status") == "cancelled",
            )

        self._transact(items, refused)

    def _transact(
        self,
        items: list[dict[str, Any]],
        refused: Callable[[list[dict[str, Any]]], Exception],
    ) -> None:
        transact(self._table().meta.client, items, refused)

    # ------------------------------------------------------------------ QR images

    def put_qr(self, key: str, png: bytes) -> None:
        clients.client("s3").put_object(
            Bucket=self._bucket(),
            Key=key,
            Body=png,
            ContentType="image/png",
            CacheControl="private, max-age=86400",
        )

    def qr_exists(self, key: str) -> bool:
        try:
            clients.client("s3").head_object(Bucket=self._bucket(), Key=key)
        except ClientError as exc:
            if object_missing(exc):
                return False
            raise
        return True

    def qr_url(self, key: str, ttl_seconds: int) -> str:
        url: str = clients.client("s3").generate_presigned_url(
            "get_object",
            Params={"Bucket": self._bucket(), "Key": key},
            ExpiresIn=ttl_seconds,
        )
        return url

    # ------------------------------------------------------------------ idempotency

    def idempotency_store(self) -> DynamoDBPersistenceLayer:
        if not self.idempotency_table_name:
            raise RuntimeError("no idempotency table configured")
        return _persistence_layer(self.idempotency_table_name, clients.client("dynamodb"))

    # ------------------------------------------------------------------ helpers

    def _table(self) -> Any:
        return clients.dynamodb_table(self.table_name)

    def _bucket(self) -> str:
        if not self.bucket_name:
            raise RuntimeError("no tickets bucket configured")
        return self.bucket_name


@lru_cache(maxsize=4)
def _persistence_layer(table_name: str, client: Any) -> DynamoDBPersistenceLayer:
    # Keyed on the client, so it follows gatepass.clients: one per container, and a fresh one
    # whenever clients are reset (tests start each case against a new moto).
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    return DynamoDBPersistenceLayer(table_name=table_name, boto3_client=client)


def _old_item(reason: dict[str, Any]) -> dict[str, Any] | None:
    raw = reason.get("Item")
    return _plain_item(raw) if raw else None


def ticket_item(ticket: TicketRecord) -> dict[str, Any]:
    """A new ticket as the TicketingTable stores it (``TICKET#<id>``/``META``)."""
    item: dict[str, Any] = {
        **ticket_key(ticket.ticket_id),
        **ticket_index_keys(
            ticket.ticket_id,
            event_id=ticket.event_id,
            holder=ticket.holder,
            issued_at=ticket.issued_at,
            shard=ticket.stock_shard,
        ),
        "entity": "ticket",
        "ticket_id": ticket.ticket_id,
        "event_id": ticket.event_id,
        "holder": ticket.holder,
        "status": ticket.status,
        "code": ticket.code,
        "qr_key": ticket.qr_key,
        "issued_at": ticket.issued_at,
        "version": 1,
    }
    for name in _OPTIONAL_TICKET_FIELDS + _SHARD_FIELDS:
        value = getattr(ticket, name)
        if value is not None:
            item[name] = value
    return item


_SHARD_FIELDS = ("stock_shard", "type_shard")


_OPTIONAL_TICKET_FIELDS = (
    "order_id",
    "ticket_type_id",
    "attendee_name",
    "buyer",
    "revoked_at",
    "revoked_reason",
    "transferred_to",
    "transferred_from",
    "presence",
    "entry_gate",
    "checked_in_gate",
)


def _event_record(item: dict[str, Any]) -> EventSeats:
    return EventSeats(
        event_id=str(item["event_id"]),
        organizer=str(item.get("organizer", "")),
        starts_at=str(item.get("starts_at", "")),
    )


def ticket_record(item: dict[str, Any]) -> TicketRecord:
    def optional(name: str) -> str | None:
        value = item.get(name)
        return None if value is None else str(value)

    return TicketRecord(
        ticket_id=str(item["ticket_id"]),
        event_id=str(item["event_id"]),
        holder=str(item["holder"]),
        status=str(item["status"]),
        code=str(item["code"]),
        qr_key=str(item.get("qr_key") or qr_object_key(str(item["ticket_id"]))),
        issued_at=str(item["issued_at"]),
        checked_in_at=optional("checked_in_at"),
        checked_in_by=optional("checked_in_by"),
        version=int(item.get("version", 1)),
        stock_shard=_shard(item, "stock_shard"),
        type_shard=_shard(item, "type_shard"),
        **{name: optional(name) for name in _OPTIONAL_TICKET_FIELDS},
    )


def _shard(item: dict[str, Any], name: str) -> int | None:
    value = item.get(name)
    return None if value is None else int(value)
