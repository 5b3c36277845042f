"""Test data written straight into moto, built by the data layer's own item builders."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from gatepass import clients, clock, ids, ticket_codes
from gatepass.config import (
    ActivityTable,
    IdempotencyTable,
    IdentityTable,
    Mail,
    MediaBucket,
    PresignedUrls,
    SessionKey,
    SignIn,
    SubscriptionWorkflow,
    TicketingTable,
    TicketKey,
    TicketsBucket,
    UploadsBucket,
)
from gatepass.dal.events import event_item
from gatepass.dal.layout import event_key
from gatepass.dal.tickets import TicketRecord, holding_item, qr_object_key, ticket_item
from gatepass.models.events import EventRecord
from gatepass.ticket_codes import SecretTicketKeys


class StackSettings(
    TicketingTable,
    IdentityTable,
    ActivityTable,
    IdempotencyTable,
    UploadsBucket,
    MediaBucket,
    TicketsBucket,
    PresignedUrls,
    SessionKey,
    TicketKey,
    Mail,
    SignIn,
    SubscriptionWorkflow,
):
    """Every variable the functions get from template.yaml (tests/conftest.py sets them all)."""


def settings() -> StackSettings:
    return StackSettings.load()


def ticket_seed() -> bytes:
    return SecretTicketKeys(settings().ticket_key_secret_arn).seed()


def _table() -> Any:
    return clients.dynamodb_table(settings().ticketing_table)


def put_event(
    *,
    organizer: str = "olivia@example.com",
    capacity: int = 10,
    sold: int = 0,
    checked_in: int = 0,
    starts_in: timedelta = timedelta(days=30),
    title: str = "Night of Jazz",
    event_id: str | None = None,
) -> dict[str, Any]:
    """An event item exactly as create-event writes it."""
    event_id = event_id or ids.new_id()
    now = clock.now()
    starts = now + starts_in
    item = event_item(
        EventRecord(
            event_id=event_id,
            organizer=organizer,
            title=title,
            description="Four bands, one long night.",
            venue="The Blue Room, Lisbon",
            starts_at=clock.iso(starts),
            starts_at_local=starts.isoformat(timespec="seconds"),
            capacity=capacity,
            image_status="none",
            verifying_key=ticket_codes.event_verifying_key(ticket_seed(), event_id),
            created_at=clock.iso(now),
        )
    )
    item.update(sold=sold, checked_in=checked_in)
    _table().put_item(Item=item)
    return item


def get_item(pk: str, sk: str = "META") -> dict[str, Any] | None:
    item: dict[str, Any] | None = _table().get_item(Key={"pk": pk, "sk": sk}).get("Item")
    return item


def query_items(pk: str) -> list[dict[str, Any]]:
    from boto3.dynamodb.conditions import Key

    items: list[dict[str, Any]] = _table().query(KeyConditionExpression=Key("pk").eq(pk))["Items"]
    return items


def put_ticket(
    event: dict[str, Any],
    *,
    holder: str = "alice@example.com",
    ticket_id: str | None = None,
    status: str = "issued",
) -> dict[str, Any]:
    """A sold ticket as create-ticket writes it: the ticket item, its holding, and sold + 1."""
    ticket_id = ticket_id or ids.new_id()
    event_id = event["event_id"]
    record = TicketRecord(
        ticket_id=ticket_id,
        event_id=event_id,
        holder=holder,
        status=status,
        code=ticket_codes.sign(ticket_seed(), event_id, ticket_id),
        qr_key=qr_object_key(ticket_id),
        issued_at=clock.iso(clock.now()),
    )
    item = ticket_item(record)
    table = _table()
    table.put_item(Item=item)
    table.put_item(Item=holding_item(record))
    table.update_item(
        Key=event_key(event_id),
        UpdateExpression="ADD #sold :one, #version :one",
        ExpressionAttributeNames={"#sold": "sold", "#version": "version"},
        ExpressionAttributeValues={":one": 1},
    )
    return item


def decode_qr_png(png: bytes) -> list[str]:
    """Every QR symbol a real decoder (ZXing) finds in a PNG."""
    import io

    import zxingcpp
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("L")
    return [result.text for result in zxingcpp.read_barcodes(image)]
