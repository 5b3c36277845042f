"""Project DynamoDB stream records (TicketingTable and ActivityTable, NEW_AND_OLD_IMAGES) into the
read model.

Each record is applied in its own transaction, so one bad record fails alone. Events and tickets
are upserted only over a lower ``version``; a REMOVE leaves a tombstone one version above the
removed item, so neither a replay nor a late older change moves a row backwards. An activity
record is counted into ``activity_daily`` in the same transaction that first inserts its row,
so a replay never counts it twice; when DynamoDB expires it (TTL), the row drops the personal
fields and the counts stay.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from gatepass.observability import logger
from gatepass.readmodel import sql
from gatepass.readmodel.cache import CATALOG_GENERATION, Invalidator, event_generation
from gatepass.streams import StreamRecord

if TYPE_CHECKING:
    from psycopg import Connection

    from gatepass.readmodel.database import Database

# The read model's tables (gatepass.readmodel.schema) this module writes, and their keys.
TABLE_KEYS: dict[str, tuple[str, ...]] = {
    "events": ("event_id",),
    "event_seats": ("event_id",),
    "ticket_types": ("ticket_type_id",),
    "stock_shards": ("event_id", "shard"),
    "orders": ("order_id",),
    "tickets": ("ticket_id",),
    "waitlist_entries": ("entry_id",),
    "waitlist_offers": ("offer_id",),
    "activities": ("activity_id",),
    "activity_daily": ("event_id", "day", "type"),
}
# Counting an activity into its day, once, in the transaction that first inserts its row.
COUNT_ACTIVITY = sql.insert(
    "activity_daily",
    ("event_id", "day", "type", "count"),
    f"ON CONFLICT ({', '.join(map(sql.name, TABLE_KEYS['activity_daily']))}) "
    'DO UPDATE SET "count" = "activity_daily"."count" + 1',
)

ChangeName = Literal["INSERT", "MODIFY", "REMOVE"]
_CHANGE_NAMES: dict[str, ChangeName] = {"INSERT": "INSERT", "MODIFY": "MODIFY", "REMOVE": "REMOVE"}


# What every sale, cancellation, offer or check-in changes on a seats or type counter. The site
# reads these apart from its cached pages (``webapp.services``, a second at most behind), so a
# change of these alone invalidates nothing and a rush keeps the catalog cached (ADR 0071).
# ``types`` and ``types_sold`` are a stock shard's per-type counters (ADR 0070).
COUNT_FIELDS = frozenset(
    {
        "available",
        "sold",
        "held",
        "checked_in",
        "queue",
        "unassigned",
        "types",
        "types_sold",
        "version",
        "updated_at",
    }
)


class UnprojectableRecord(ValueError):
    """A stream record that cannot be applied as it is (reported as this record's failure)."""


@dataclass(frozen=True)
class Change:
    name: ChangeName
    new_image: Mapping[str, Any]
    old_image: Mapping[str, Any]

    @classmethod
    def from_record(cls, record: StreamRecord) -> Change:
        event_name = record.event_name
        if not record.has_stream_data or event_name is None:
            raise UnprojectableRecord("not a DynamoDB stream record")
        name = _CHANGE_NAMES.get(event_name)
        if name is None:
            raise UnprojectableRecord(f"unknown stream event {event_name}")
        return cls(name=name, new_image=record.new_image or {}, old_image=record.old_image or {})

    @property
    def image(self) -> Mapping[str, Any]:
        """The item as it is now, or as it was just before it was removed."""
        return self.old_image if self.name == "REMOVE" else self.new_image

    def counts_only(self) -> bool:
        """Whether this change moved nothing but counters (``COUNT_FIELDS``)."""
        if self.name != "MODIFY" or not self.old_image:
            return False
        names = (set(self.new_image) | set(self.old_image)) - COUNT_FIELDS
        return all(self.new_image.get(name) == self.old_image.get(name) for name in names)


@dataclass(frozen=True)
class Outcome:
    entity: str
    key: str
    applied: bool
    invalidates: tuple[str, ...] = ()


def apply_change(database: Database, invalidator: Invalidator, change: Change) -> Outcome:
    """Apply one change in its own transaction, then make the web's cached reads of it stale."""
    with database.begin() as conn:
        outcome = project(conn, change)
    if outcome.invalidates:
        try:
            invalidator.invalidate(outcome.invalidates)
        except Exception:
            # The row is committed; cached reads expire on their TTL even if Redis is away.
            logger.warning("cache invalidation failed", extra={"key": outcome.key}, exc_info=True)
    return outcome


def project_record(record: StreamRecord, database: Database, invalidator: Invalidator) -> Outcome:
    """What the projector function does with each stream record."""
    outcome = apply_change(database, invalidator, Change.from_record(record))
    logger.debug(
        "projected",
        extra={"entity": outcome.entity, "key": outcome.key, "applied": outcome.applied},
    )
    return outcome


def project(conn: Connection[Any], change: Change) -> Outcome:
    """Apply one change inside the caller's transaction."""
    image = change.image
    entity = image.get("entity")
    if entity == "event":
        row = event_row(image)
        applied = _upsert_versioned(conn, "events", _tombstone(row, change))
        invalidates = (CATALOG_GENERATION, event_generation(row["event_id"])) if applied else ()
        return Outcome("event", row["event_id"], applied, invalidates)
    if entity in ("seats", "ticket_type"):
        if entity == "seats":
            row, table, key = seats_row(image), "event_seats", "event_id"
        else:
            row, table, key = ticket_type_row(image), "ticket_types", "ticket_type_id"
        applied = _upsert_versioned(conn, table, _tombstone(row, change))
        # Counts are read apart from the cached pages; anything else on them (a type's name,
        # quota, window or pause, a cancelled event) makes both caches stale.
        stale = applied and not change.counts_only()
        invalidates = (CATALOG_GENERATION, event_generation(row["event_id"])) if stale else ()
        return Outcome(entity, row[key], applied, invalidates)
    if entity == "stock_shard":
        # A shard's counts are read apart from the cached pages like the seats'; its creation
        # (a new event, a raised rate), a cancelled event or a removal make both caches stale.
        row = stock_shard_row(image)
        applied = _upsert_versioned(conn, "stock_shards", _tombstone(row, change))
        stale = applied and not change.counts_only()
        invalidates = (CATALOG_GENERATION, event_generation(row["event_id"])) if stale else ()
        return Outcome(entity, f"{row['event_id']}#{row['shard']}", applied, invalidates)
    if entity == "order":
        row = order_row(image)
        applied = _upsert_versioned(conn, "orders", _tombstone(row, change))
        return Outcome("order", row["order_id"], applied)
    if entity == "ticket":
        row = ticket_row(image)
        applied = _upsert_versioned(conn, "tickets", _tombstone(row, change))
        return Outcome("ticket", row["ticket_id"], applied)
    if entity == "activity":
        row = activity_row(image)
        if change.name == "REMOVE":
            return Outcome("activity", row["activity_id"], _expire_activity(conn, row))
        return Outcome("activity", row["activity_id"], _insert_activity(conn, row))
    if entity in ("waitlist_entry", "offer"):
        # The waiting list: counts on pages are read apart from the caches, like sales.
        if entity == "waitlist_entry":
            row, table, key = waitlist_entry_row(image), "waitlist_entries", "entry_id"
        else:
            row, table, key = offer_row(image), "waitlist_offers", "offer_id"
        applied = _upsert_versioned(conn, table, _tombstone(row, change))
        return Outcome(entity, row[key], applied)
    # Buyers' counts, v1 holdings, waiting-list guards, stock summaries (and anything added
    # later) are not part of the read model.
    return Outcome(str(entity or "unknown"), _describe_key(image), applied=False)


# ---------------------------------------------------------------------------- rows


def event_row(image: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "event_id": _text(image, "event_id"),
        "title": _text(image, "title"),
        "description": _optional_text(image, "description") or "",
        "venue": _optional_text(image, "venue") or "",
        "starts_at": _timestamp(image, "starts_at"),
        "starts_at_local": _optional_text(image, "starts_at_local"),
        "capacity": _integer(image, "capacity"),
        "max_tickets_per_buyer": _optional_integer(image, "max_tickets_per_buyer") or 1,
        "organizer": _text(image, "organizer"),
        "image_status": _optional_text(image, "image_status") or "none",
        "image_reason": _optional_text(image, "image_reason"),
        "image_display_key": _optional_text(image, "image_display_key"),
        "image_thumbnail_key": _optional_text(image, "image_thumbnail_key"),
        "image_width": _optional_integer(image, "image_width"),
        "image_height": _optional_integer(image, "image_height"),
        "verifying_key": _optional_text(image, "verifying_key"),
        "created_at": _optional_timestamp(image, "created_at"),
        "updated_at": _optional_timestamp(image, "updated_at"),
        "version": _integer(image, "version"),
        "deleted": False,
    }


def seats_row(image: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "event_id": _text(image, "event_id"),
        "capacity": _integer(image, "capacity"),
        "available": _integer(image, "available"),
        "sold": _optional_integer(image, "sold") or 0,
        "held": _optional_integer(image, "held") or 0,
        "checked_in": _optional_integer(image, "checked_in") or 0,
        "status": _optional_text(image, "status") or "on_sale",
        "version": _integer(image, "version"),
        "deleted": False,
    }


def ticket_type_row(image: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "ticket_type_id": _text(image, "ticket_type_id"),
        "event_id": _text(image, "event_id"),
        "position": _optional_integer(image, "position") or 0,
        "name": _text(image, "name"),
        "description": _optional_text(image, "description") or "",
        "quota": _integer(image, "quota"),
        "available": _integer(image, "available"),
        "sold": _optional_integer(image, "sold") or 0,
        "held": _optional_integer(image, "held") or 0,
        "checked_in": _optional_integer(image, "checked_in") or 0,
        "opens_at": _optional_timestamp(image, "opens_at"),
        "closes_at": _optional_timestamp(image, "closes_at"),
        "max_per_order": _integer(image, "max_per_order"),
        "paused": bool(image.get("paused", False)),
        "queue": _optional_integer(image, "queue") or 0,
        "unassigned": _optional_integer(image, "unassigned") or 0,
        "version": _integer(image, "version"),
        "deleted": False,
    }


def stock_shard_row(image: Mapping[str, Any]) -> dict[str, Any]:
    shard = _integer(image, "shard")
    if shard < 0:
        raise UnprojectableRecord("shard is negative")
    return {
        "event_id": _text(image, "event_id"),
        "shard": shard,
        "available": _integer(image, "available"),
        "sold": _optional_integer(image, "sold") or 0,
        "types": _counts(image, "types"),
        "types_sold": _counts(image, "types_sold"),
        "status": _optional_text(image, "status") or "on_sale",
        "version": _integer(image, "version"),
        "deleted": False,
    }


def waitlist_entry_row(image: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "entry_id": _text(image, "entry_id"),
        "event_id": _text(image, "event_id"),
        "ticket_type_id": _text(image, "ticket_type_id"),
        "person": _text(image, "person"),
        "status": _text(image, "status"),
        "joined_at": _timestamp(image, "joined_at"),
        "offer_id": _optional_text(image, "offer_id"),
        "expires_at": _optional_timestamp(image, "expires_at"),
        "updated_at": _optional_timestamp(image, "updated_at"),
        "version": _integer(image, "version"),
        "deleted": False,
    }


def offer_row(image: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "offer_id": _text(image, "offer_id"),
        "event_id": _text(image, "event_id"),
        "ticket_type_id": _text(image, "ticket_type_id"),
        "person": _text(image, "person"),
        "entry_id": _text(image, "entry_id"),
        "status": _text(image, "status"),
        "offered_at": _timestamp(image, "offered_at"),
        "expires_at": _timestamp(image, "expires_at"),
        "order_id": _optional_text(image, "order_id"),
        "updated_at": _optional_timestamp(image, "updated_at"),
        "version": _integer(image, "version"),
        "deleted": False,
    }


def order_row(image: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "order_id": _text(image, "order_id"),
        "event_id": _text(image, "event_id"),
        "buyer": _text(image, "buyer"),
        "status": _text(image, "status"),
        "ticket_count": _integer(image, "ticket_count"),
        "live_count": _integer(image, "live_count"),
        "created_at": _optional_timestamp(image, "created_at"),
        "updated_at": _optional_timestamp(image, "updated_at"),
        "version": _integer(image, "version"),
        "deleted": False,
    }


def ticket_row(image: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "ticket_id": _text(image, "ticket_id"),
        "event_id": _text(image, "event_id"),
        "holder": _text(image, "holder"),
        "status": _text(image, "status"),
        "code": _optional_text(image, "code"),
        "qr_key": _optional_text(image, "qr_key"),
        "issued_at": _optional_timestamp(image, "issued_at"),
        "checked_in_at": _optional_timestamp(image, "checked_in_at"),
        "checked_in_by": _optional_text(image, "checked_in_by"),
        "order_id": _optional_text(image, "order_id"),
        "ticket_type_id": _optional_text(image, "ticket_type_id"),
        "attendee_name": _optional_text(image, "attendee_name"),
        "buyer": _optional_text(image, "buyer"),
        "revoked_at": _optional_timestamp(image, "revoked_at"),
        "revoked_reason": _optional_text(image, "revoked_reason"),
        "transferred_to": _optional_text(image, "transferred_to"),
        "transferred_from": _optional_text(image, "transferred_from"),
        "version": _integer(image, "version"),
        "deleted": False,
    }


def activity_row(image: Mapping[str, Any]) -> dict[str, Any]:
    properties = image.get("properties") or {}
    if not isinstance(properties, Mapping):
        raise UnprojectableRecord("activity properties are not a map")
    return {
        "activity_id": _text(image, "activity_id"),
        "type": _text(image, "type"),
        "actor": _optional_text(image, "user") or _optional_text(image, "client_id"),
        "event_id": _optional_text(image, "event_id"),
        "at": _timestamp(image, "at"),
        "properties": {str(k): _plain(v) for k, v in properties.items()},
        "deleted": False,
    }


def _tombstone(row: dict[str, Any], change: Change) -> dict[str, Any]:
    if change.name != "REMOVE":
        return row
    return {**row, "version": row["version"] + 1, "deleted": True}


# ---------------------------------------------------------------------------- writes


def _upsert_versioned(conn: Connection[Any], table: str, row: dict[str, Any]) -> bool:
    statement = sql.upsert_versioned(table, tuple(row), TABLE_KEYS[table])
    return conn.execute(statement, sql.parameters(row)).fetchone() is not None


def _insert_activity(conn: Connection[Any], row: dict[str, Any]) -> bool:
    statement = sql.insert(
        "activities", tuple(row), 'ON CONFLICT ("activity_id") DO NOTHING RETURNING "activity_id"'
    )
    if conn.execute(statement, sql.parameters(row)).fetchone() is None:
        return False
    count = {
        "event_id": row["event_id"] or "",
        "day": row["at"].astimezone(UTC).date(),
        "type": row["type"],
        "count": 1,
    }
    conn.execute(COUNT_ACTIVITY, count)
    return True


def _expire_activity(conn: Connection[Any], row: dict[str, Any]) -> bool:
    # A tombstone even for a row never seen, so a late replay of its INSERT is not counted.
    tombstone = {**row, "actor": None, "properties": {}, "deleted": True}
    statement = sql.insert(
        "activities",
        tuple(tombstone),
        'ON CONFLICT ("activity_id") DO UPDATE SET "actor" = NULL, '
        """"properties" = '{}'::jsonb, "deleted" = true """
        'WHERE "activities"."deleted" IS false RETURNING "activity_id"',
    )
    return conn.execute(statement, sql.parameters(tombstone)).fetchone() is not None


# ---------------------------------------------------------------------------- attribute reading


def _describe_key(image: Mapping[str, Any]) -> str:
    return f"{image.get('pk', '?')}|{image.get('sk', '?')}"


def _text(image: Mapping[str, Any], name: str) -> str:
    value = _optional_text(image, name)
    if not value:
        raise UnprojectableRecord(f"{name} is missing")
    return value


def _optional_text(image: Mapping[str, Any], name: str) -> str | None:
    value = image.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise UnprojectableRecord(f"{name} is not a string")
    return value


def _integer(image: Mapping[str, Any], name: str) -> int:
    value = _optional_integer(image, name)
    if value is None:
        raise UnprojectableRecord(f"{name} is missing")
    return value


def _optional_integer(image: Mapping[str, Any], name: str) -> int | None:
    value = image.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | Decimal) or value != int(value):
        raise UnprojectableRecord(f"{name} is not a whole number")
    return int(value)


def _counts(image: Mapping[str, Any], name: str) -> dict[str, int]:
    """A map of whole numbers (a stock shard's ``types``, ``types_sold``)."""
    value = image.get(name)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise UnprojectableRecord(f"{name} is not a map")
    return {str(key): _integer(value, key) for key in value}


def _timestamp(image: Mapping[str, Any], name: str) -> datetime:
    value = _optional_timestamp(image, name)
    if value is None:
        raise UnprojectableRecord(f"{name} is missing")
    return value


def _optional_timestamp(image: Mapping[str, Any], name: str) -> datetime | None:
    text = _optional_text(image, name)
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise UnprojectableRecord(f"{name} is not an ISO-8601 timestamp") from exc
    if moment.tzinfo is None:
        raise UnprojectableRecord(f"{name} has no time zone")
    return moment


def _plain(value: Any) -> Any:
    """DynamoDB's Decimals, sets and bytes as JSON values."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        return sorted((_plain(v) for v in value), key=str)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode("ascii")
    return value
