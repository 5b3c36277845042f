"""Test data written straight into moto, built by the data layer's own item builders."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from gatepass import clients, clock, ids, ticket_codes
from gatepass.config import (
    ActivityTable,
    FunctionSettings,
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
    TicketKeysKey,
    TicketsBucket,
    UploadsBucket,
)
from gatepass.dal import layout
from gatepass.dal.events import event_item, seats_item, ticket_type_item
from gatepass.dal.layout import seats_key, ticket_type_key
from gatepass.dal.orders import order_item
from gatepass.dal.ticket_keys import DynamoTicketKeyStore, sealed_key_item
from gatepass.dal.tickets import TicketRecord, qr_object_key, ticket_item
from gatepass.logic.events import new_ticket_types
from gatepass.models.records import EventRecord, OrderRecord
from gatepass.ticket_codes import TicketCode
from gatepass.ticket_keys import EventTicketKeys


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
    TicketKeysKey,
    Mail,
    SignIn,
    SubscriptionWorkflow,
    FunctionSettings,
):
    """Every variable the functions get from template.yaml (tests/conftest.py sets them all)."""


def settings() -> StackSettings:
    return StackSettings.load()


def ticket_seed() -> bytes:
    """The shared seed that events created before per-event keys derive their key from."""
    from gatepass import keys

    return keys.secret_key(settings().ticket_key_secret_arn)


def ticket_keys() -> EventTicketKeys:
    """The stack's ticket keys, as the functions that sign use them (KMS in moto)."""
    stack = settings()
    return EventTicketKeys(
        DynamoTicketKeyStore(stack.ticketing_table),
        kms_key_id=stack.ticket_keys_key_id,
        legacy_secret_id=stack.ticket_key_secret_arn,
    )


def sign_code(event_id: str, ticket_id: str) -> str:
    """A genuine code, signed with the event's current key."""
    return ticket_keys().current_signing_key(event_id).sign(event_id, ticket_id)


def verify_code(code: str) -> TicketCode:
    """What a genuine code names, checked with its event's published keys."""
    claimed = ticket_codes.parse(code).claims
    return ticket_codes.verify(code, ticket_keys().verifying_keys(claimed.event_id))


def _table() -> Any:
    return clients.dynamodb_table(settings().ticketing_table)


def _every_page(call: Any, **kwargs: Any) -> list[dict[str, Any]]:
    """Every item a Query or Scan answers, following LastEvaluatedKey past DynamoDB's 1 MB pages
    (a counted check that reads one page undercounts a big event)."""
    items: list[dict[str, Any]] = []
    while True:
        page = call(**kwargs)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def put_event(
    *,
    organizer: str = "olivia@example.com",
    capacity: int = 10,
    sold: int = 0,
    checked_in: int = 0,
    starts_in: timedelta = timedelta(days=30),
    title: str = "Night of Jazz",
    event_id: str | None = None,
    ticket_type_ids: list[str] | None = None,
    max_tickets_per_buyer: int = 4,
    legacy: bool = False,
) -> dict[str, Any]:
    """An event exactly as create-event writes it (one "General admission" type whose quota is
    the capacity, its own sealed signing key), with ``sold`` and ``checked_in`` counted on its
    seats and its type. ``legacy``: as created before per-event keys (one derived key, ``v1``)."""
    event_id = event_id or ids.new_id()
    now = clock.now()
    starts = now + starts_in
    (kind,) = new_ticket_types(event_id, None, capacity=capacity)
    kind = kind.model_copy(
        update={"sold": sold, "checked_in": checked_in, "available": capacity - sold}
    )
    kinds = [kind]
    if ticket_type_ids:
        # The first type takes the chosen id; the others are empty types of the same quota.
        kinds = [kind.model_copy(update={"ticket_type_id": ticket_type_ids[0]})] + [
            new_ticket_types(event_id, None, capacity=capacity)[0].model_copy(
                update={"ticket_type_id": type_id, "position": position, "name": f"Type {position}"}
            )
            for position, type_id in enumerate(ticket_type_ids[1:], start=1)
        ]
        kind = kinds[0]
    event = EventRecord(
        event_id=event_id,
        organizer=organizer,
        title=title,
        description="Four bands, one long night.",
        venue="The Blue Room, Lisbon",
        starts_at=clock.iso(starts),
        starts_at_local=starts.isoformat(timespec="seconds"),
        capacity=capacity,
        image_status="none",
        created_at=clock.iso(now),
        sold=sold,
        checked_in=checked_in,
        ticket_types=tuple(kinds),
        max_tickets_per_buyer=max_tickets_per_buyer,
    )
    sealed: list[dict[str, Any]] = []
    if legacy:
        event = event.model_copy(
            update={"verifying_key": ticket_codes.event_verifying_key(ticket_seed(), event_id)}
        )
    else:
        key, sealed_key = ticket_keys().new_key(event_id)
        event = event.model_copy(
            update={
                "verifying_key": key.public(),
                "signing_key_id": key.key_id,
                "verifying_keys": {key.key_id: key.public()},
            }
        )
        sealed.append(sealed_key_item(sealed_key))
    item = event_item(event)
    if legacy:
        # Stored before per-event keys: no key id, no key map.
        del item["signing_key_id"], item["verifying_keys"]
    table = _table()
    for each in (item, seats_item(event), *(ticket_type_item(k) for k in kinds), *sealed):
        table.put_item(Item=each)
    return {**item, "ticket_type_id": kind.ticket_type_id}


def add_seats(event: dict[str, Any], more: int) -> None:
    """Raise the capacity and the first type's quota by ``more`` seats, as an organizer would."""
    table = _table()
    keys = (
        (seats_key(event["event_id"]), "capacity"),
        (ticket_type_key(event["event_id"], event["ticket_type_id"]), "quota"),
    )
    for key, size in keys:
        table.update_item(
            Key=key,
            UpdateExpression="ADD #size :more, available :more, version :one",
            ExpressionAttributeNames={"#size": size},
            ExpressionAttributeValues={":more": more, ":one": 1},
        )


def set_opens_at(event_id: str, ticket_type_id: str, opens_at: str) -> None:
    """Move a type's sale opening, as an organizer would."""
    _table().update_item(
        Key=ticket_type_key(event_id, ticket_type_id),
        UpdateExpression="SET opens_at = :at ADD version :one",
        ExpressionAttributeValues={":at": opens_at, ":one": 1},
    )


def start_event(event_id: str) -> None:
    """Move the event's start a minute into the past, as time would (its seats carry it too)."""
    started = clock.iso(clock.now() - timedelta(minutes=1))
    for key in (layout.event_key(event_id), seats_key(event_id)):
        _table().update_item(
            Key=key,
            UpdateExpression="SET starts_at = :started",
            ExpressionAttributeValues={":started": started},
        )


def seats(event_id: str) -> dict[str, Any]:
    """The event's seats counter as stored."""
    item: dict[str, Any] = _table().get_item(Key=seats_key(event_id))["Item"]
    return item


def ticket_type(event_id: str, ticket_type_id: str) -> dict[str, Any]:
    item: dict[str, Any] = _table().get_item(Key=ticket_type_key(event_id, ticket_type_id))["Item"]
    return item


def stock_shards(event_id: str) -> list[dict[str, Any]]:
    """An event's stock shards as stored, in shard order (docs/decisions/0070)."""
    items: list[dict[str, Any]] = []
    shards = int((stock_summary(event_id) or {}).get("shards", 1))
    for shard in range(shards if shards > 1 else 0):
        item = _table().get_item(Key=layout.stock_shard_key(event_id, shard)).get("Item")
        if item:
            items.append(item)
    return items


def stock_summary(event_id: str) -> dict[str, Any]:
    """An event's stock summary as stored (empty without one)."""
    item: dict[str, Any] = (
        _table().get_item(Key=layout.stock_summary_key(event_id)).get("Item") or {}
    )
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
    attendee_name: str = "",
    ticket_type_id: str | None = None,
) -> dict[str, Any]:
    """A sold ticket of the event's first type (or ``ticket_type_id``) as create-ticket writes
    it (an order of one): the ticket, and one seat sold on the event and its type."""
    ticket_id = ticket_id or ids.new_id()
    event_id = event["event_id"]
    ticket_type_id = ticket_type_id or event["ticket_type_id"]
    record = TicketRecord(
        ticket_id=ticket_id,
        event_id=event_id,
        holder=holder,
        status=status,
        code=sign_code(event_id, ticket_id),
        qr_key=qr_object_key(ticket_id),
        issued_at=clock.iso(clock.now()),
        order_id=ids.new_id(),
        ticket_type_id=ticket_type_id,
        attendee_name=attendee_name,
        buyer=holder,
    )
    item = ticket_item(record)
    table = _table()
    table.put_item(Item=item)
    table.put_item(
        Item=order_item(
            OrderRecord(
                order_id=str(record.order_id),
                event_id=event_id,
                buyer=holder,
                status="confirmed",
                ticket_ids=[ticket_id],
                ticket_count=1,
                live_count=1,
                created_at=record.issued_at,
                updated_at=record.issued_at,
            )
        )
    )
    table.update_item(
        Key=layout.buyer_key(event_id, holder),
        UpdateExpression="ADD tickets :one, version :one SET entity = :entity, "
        "event_id = :event_id, buyer = :buyer",
        ExpressionAttributeValues={
            ":one": 1,
            ":entity": "buyer",
            ":event_id": event_id,
            ":buyer": holder,
        },
    )
    for key in (seats_key(event_id), ticket_type_key(event_id, ticket_type_id)):
        table.update_item(
            Key=key,
            UpdateExpression="ADD sold :one, available :minus_one, version :one",
            ExpressionAttributeValues={":one": 1, ":minus_one": -1},
        )
    return item


def all_items() -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = _table().scan()["Items"]
    return items


def stock_counts(event_id: str) -> dict[str, Any]:
    """What the table counts for an event: its seats, each type, each buyer, its tickets and
    who holds each (with stock shards, the event's own counters and its shards summed, and the
    tickets of every attendees index partition)."""
    from boto3.dynamodb.conditions import Key

    table = _table()
    partition = _every_page(
        table.query, KeyConditionExpression=Key("pk").eq(layout.event_partition(event_id))
    )
    seats = next(i for i in partition if i["sk"] == layout.SEATS)
    shards = stock_shards(event_id)
    types = {
        str(i["ticket_type_id"]): {
            "sold": int(i["sold"])
            + sum(int(s["types_sold"].get(i["ticket_type_id"], 0)) for s in shards),
            "available": int(i["available"])
            + sum(int(s["types"].get(i["ticket_type_id"], 0)) for s in shards),
        }
        for i in partition
        if str(i["sk"]).startswith(layout.TYPE_PREFIX)
    }
    buyers = {
        str(i["buyer"]): int(i["tickets"])
        for i in _every_page(table.scan)
        if i.get("entity") == "buyer" and i.get("event_id") == event_id and int(i["tickets"])
    }
    tickets: list[dict[str, Any]] = []
    for index_partition in layout.event_tickets_partitions(event_id, max(1, len(shards))):
        tickets += _every_page(
            table.query,
            IndexName=layout.EVENT_TICKETS_INDEX,
            KeyConditionExpression=Key("gsi1pk").eq(index_partition),
        )
    return {
        "seats": {
            "sold": int(seats["sold"]) + sum(int(s["sold"]) for s in shards),
            "available": int(seats["available"]) + sum(int(s["available"]) for s in shards),
        },
        "types": types,
        "buyers": buyers,
        "tickets": sorted((str(t["ticket_id"]), str(t["status"])) for t in tickets),
        "ticket_types": {str(t["ticket_id"]): str(t["ticket_type_id"]) for t in tickets},
        "holders": {str(t["ticket_id"]): str(t["holder"]) for t in tickets},
    }


def tickets_held_by(holder: str) -> list[dict[str, Any]]:
    """A holder's tickets as the holder index finds them."""
    from boto3.dynamodb.conditions import Key

    items: list[dict[str, Any]] = _table().query(
        IndexName=layout.HOLDER_TICKETS_INDEX,
        KeyConditionExpression=Key("gsi2pk").eq(layout.holder_partition(holder)),
    )["Items"]
    return items


def stored_qr(ticket_id: str) -> bytes:
    body: bytes = (
        clients.client("s3")
        .get_object(Bucket=settings().tickets_bucket, Key=qr_object_key(ticket_id))["Body"]
        .read()
    )
    return body


def decode_qr_png(png: bytes) -> list[str]:
    """Every QR symbol a real decoder (ZXing) finds in a PNG."""
    import io

    import zxingcpp
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("L")
    return [
        result.text
        for result in zxingcpp.read_barcodes(
            image, formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
        )
    ]


def put_gate(event_id: str, gate_id: str, *, name: str, mode: str = "both") -> None:
    """A gate as add-gate writes it, with a chosen id."""
    from gatepass.dal.door import DynamoDoorStore
    from gatepass.models.records import GateRecord

    DynamoDoorStore(settings().ticketing_table).put_gate(
        GateRecord(
            event_id=event_id,
            gate_id=gate_id,
            name=name,
            mode=mode,
            created_at=clock.iso(clock.now()),
        )
    )
