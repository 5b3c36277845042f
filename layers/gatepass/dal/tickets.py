"""Data access for tickets: the sale and check-in transactions, ticket and event reads, QR images
in the tickets bucket, and the idempotency records of ticket creation.

Conditions that protect invariants live in the transactions themselves (never read-then-write):
a sale is one ``TransactWriteItems`` over the event, the holding and the ticket; a check-in is one
over the ticket and the event. When DynamoDB cancels one, the items it saw come back with
``ReturnValuesOnConditionCheckFailure=ALL_OLD`` so logic can say why without a second read.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer
from botocore.exceptions import ClientError

from gatepass import clients
from gatepass.dal.layout import event_key, holding_key, ticket_index_keys, ticket_key
from gatepass.dal.storage import StorageUnavailable, condition_failed, error_code, object_missing
from gatepass.dal.storage import plain_item as _plain_item

TRANSACTION_ATTEMPTS = 4
_CONFLICT_BACKOFF_SECONDS = 0.025


def qr_object_key(ticket_id: str) -> str:
    return f"tickets/{ticket_id}.png"


@dataclass(frozen=True)
class EventSeats:
    """What ticketing needs to know about an event: its organizer, its start and its counts
    (``gatepass.models.events.EventRecord`` is the whole event)."""

    event_id: str
    organizer: str
    starts_at: str
    capacity: int
    sold: int
    checked_in: int


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


class SaleRefused(Exception):
    """DynamoDB cancelled the sale. ``event`` is None when no such event exists;
    ``held_ticket_id`` is the attendee's ticket when already holding one was (one of) the
    reasons."""

    def __init__(
        self, *, event_refused: bool, event: EventSeats | None, held_ticket_id: str | None
    ) -> None:
        super().__init__("sale refused")
        self.event_refused = event_refused
        self.event = event
        self.held_ticket_id = held_ticket_id


class CheckInRefused(Exception):
    """DynamoDB cancelled the check-in. ``ticket`` is the ticket as it was, None if missing."""

    def __init__(self, *, ticket: TicketRecord | None, event_missing: bool) -> None:
        super().__init__("check-in refused")
        self.ticket = ticket
        self.event_missing = event_missing


class TicketsDataAccess(Protocol):
    def get_event(self, event_id: str) -> EventSeats | None: ...

    def get_ticket(self, ticket_id: str) -> TicketRecord | None: ...

    def sell(self, ticket: TicketRecord, *, now: str) -> None: ...

    def check_in(self, *, ticket_id: str, event_id: str, by: str, at: str) -> None: ...

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
        return _ticket_record(item) if item else None

    # ------------------------------------------------------------------ transactions

    def sell(self, ticket: TicketRecord, *, now: str) -> None:
        """Count the seat, record the holding and put the ticket, or none of them."""
        items = [
            {
                "Update": {
                    "TableName": self.table_name,
                    "Key": event_key(ticket.event_id),
                    "ConditionExpression": (
                        "attribute_exists(pk) AND #sold < #capacity AND #starts_at > :now"
                    ),
                    "UpdateExpression": "ADD #sold :one, #version :one SET #updated_at = :now",
                    "ExpressionAttributeNames": {
                        "#sold": "sold",
                        "#capacity": "capacity",
                        "#starts_at": "starts_at",
                        "#version": "version",
                        "#updated_at": "updated_at",
                    },
                    "ExpressionAttributeValues": {":one": 1, ":now": now},
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            },
            {
                "Put": {
                    "TableName": self.table_name,
                    "Item": holding_item(ticket),
                    "ConditionExpression": "attribute_not_exists(pk)",
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            },
            {
                "Put": {
                    "TableName": self.table_name,
                    "Item": ticket_item(ticket),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
        ]

        def refused(reasons: list[dict[str, Any]]) -> Exception:
            event_reason, holding_reason, ticket_reason = reasons
            if condition_failed(ticket_reason):
                # Two random 80-bit ids colliding: fail loudly rather than overwrite a ticket.
                return RuntimeError("ticket id collision")
            event_item = _old_item(event_reason)
            holding = _old_item(holding_reason) if condition_failed(holding_reason) else None
            return SaleRefused(
                event_refused=condition_failed(event_reason),
                event=_event_record(event_item) if event_item else None,
                held_ticket_id=str(holding.get("ticket_id", "")) if holding is not None else None,
            )

        self._transact(items, refused)

    def check_in(self, *, ticket_id: str, event_id: str, by: str, at: str) -> None:
        """Turn an issued ticket into a checked-in one and count it on the event, atomically."""
        items = [
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
                    "Key": event_key(event_id),
                    "ConditionExpression": "attribute_exists(pk)",
                    "UpdateExpression": (
                        "ADD #checked_in :one, #version :one SET #updated_at = :at"
                    ),
                    "ExpressionAttributeNames": {
                        "#checked_in": "checked_in",
                        "#version": "version",
                        "#updated_at": "updated_at",
                    },
                    "ExpressionAttributeValues": {":one": 1, ":at": at},
                }
            },
        ]

        def refused(reasons: list[dict[str, Any]]) -> Exception:
            ticket_reason, event_reason = reasons
            ticket_item = _old_item(ticket_reason)
            return CheckInRefused(
                ticket=_ticket_record(ticket_item) if ticket_item else None,
                event_missing=condition_failed(event_reason),
            )

        self._transact(items, refused)

    def _transact(
        self,
        items: list[dict[str, Any]],
        refused: Callable[[list[dict[str, Any]]], Exception],
    ) -> None:
        client = self._table().meta.client
        for attempt in range(TRANSACTION_ATTEMPTS):
            try:
                client.transact_write_items(TransactItems=items)
                return
            except ClientError as exc:
                if error_code(exc) != "TransactionCanceledException":
                    raise
                response: dict[str, Any] = dict(exc.response)
                reasons: list[dict[str, Any]] = list(response.get("CancellationReasons", []))
                if any(condition_failed(reason) for reason in reasons):
                    raise refused(reasons) from exc
                # Only conflicts with concurrent transactions on the same items: try again.
                time.sleep(_CONFLICT_BACKOFF_SECONDS * (2**attempt) * random.random())  # noqa: S311
        raise StorageUnavailable("Too many people are doing this at once; try again.")

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
    return DynamoDBPersistenceLayer(table_name=table_name, boto3_client=client)


def _old_item(reason: dict[str, Any]) -> dict[str, Any] | None:
    raw = reason.get("Item")
    return _plain_item(raw) if raw else None


def holding_item(ticket: TicketRecord) -> dict[str, Any]:
    """The item that says this holder holds a ticket for this event (one per holder)."""
    return {
        **holding_key(ticket.event_id, ticket.holder),
        "entity": "holding",
        "event_id": ticket.event_id,
        "holder": ticket.holder,
        "ticket_id": ticket.ticket_id,
    }


def ticket_item(ticket: TicketRecord) -> dict[str, Any]:
    """A new ticket as the TicketingTable stores it (``TICKET#<id>``/``META``)."""
    item: dict[str, Any] = {
        **ticket_key(ticket.ticket_id),
        **ticket_index_keys(
            ticket.ticket_id,
            event_id=ticket.event_id,
            holder=ticket.holder,
            issued_at=ticket.issued_at,
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
    return item


def _event_record(item: dict[str, Any]) -> EventSeats:
    return EventSeats(
        event_id=str(item["event_id"]),
        organizer=str(item.get("organizer", "")),
        starts_at=str(item.get("starts_at", "")),
        capacity=int(item.get("capacity", 0)),
        sold=int(item.get("sold", 0)),
        checked_in=int(item.get("checked_in", 0)),
    )


def _ticket_record(item: dict[str, Any]) -> TicketRecord:
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
    )
