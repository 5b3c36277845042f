"""Test data written straight into moto, in the shapes docs/architecture.md gives the items."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from gatepass import clients, clock, ids, ticket_codes
from gatepass.config import Settings
from gatepass.logic import events


def settings() -> Settings:
    return Settings.from_env()


def ticket_seed() -> bytes:
    return ticket_codes.ticket_seed(settings())


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
    """An event item exactly as create-event writes it (TicketingTable, ``EVENT#<id>``/``META``)."""
    event_id = event_id or ids.new_id()
    now = clock.now()
    item = events.event_item(
        event_id,
        organizer,
        title=title,
        description="Four bands, one long night.",
        venue="The Blue Room, Lisbon",
        starts=now + starts_in,
        capacity=capacity,
        image_status="none",
        verifying_key=ticket_codes.event_verifying_key(ticket_seed(), event_id),
        now=now,
    )
    item.update(sold=sold, checked_in=checked_in)
    clients.dynamodb_table(settings().need("ticketing_table")).put_item(Item=item)
    return item


def get_item(pk: str, sk: str = "META") -> dict[str, Any] | None:
    table = clients.dynamodb_table(settings().need("ticketing_table"))
    item: dict[str, Any] | None = table.get_item(Key={"pk": pk, "sk": sk}).get("Item")
    return item


def query_items(pk: str) -> list[dict[str, Any]]:
    from boto3.dynamodb.conditions import Key

    table = clients.dynamodb_table(settings().need("ticketing_table"))
    items: list[dict[str, Any]] = table.query(KeyConditionExpression=Key("pk").eq(pk))["Items"]
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
    issued_at = clock.iso(clock.now())
    item: dict[str, Any] = {
        "pk": f"TICKET#{ticket_id}",
        "sk": "META",
        "gsi1pk": f"EVENT#{event_id}#TICKETS",
        "gsi1sk": holder,
        "gsi2pk": f"HOLDER#{holder}",
        "gsi2sk": f"{issued_at}#{ticket_id}",
        "entity": "ticket",
        "ticket_id": ticket_id,
        "event_id": event_id,
        "holder": holder,
        "status": status,
        "code": ticket_codes.sign(ticket_seed(), event_id, ticket_id),
        "qr_key": f"tickets/{ticket_id}.png",
        "issued_at": issued_at,
        "version": 1,
    }
    table = clients.dynamodb_table(settings().need("ticketing_table"))
    table.put_item(Item=item)
    table.put_item(
        Item={
            "pk": f"EVENT#{event_id}",
            "sk": f"HOLDER#{holder}",
            "entity": "holding",
            "event_id": event_id,
            "holder": holder,
            "ticket_id": ticket_id,
        }
    )
    table.update_item(
        Key={"pk": f"EVENT#{event_id}", "sk": "META"},
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
