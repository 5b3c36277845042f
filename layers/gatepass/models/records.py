"""What an event's partition stores: the event, its seats and ticket types, how its stock is
split, its orders, and its door (staff, gates, synced scans that need attention). These are the
models the data layer reads and writes (``gatepass.dal``), apart from what callers send and
get back, which each domain keeps in its own module (``gatepass.models.events``, ``.orders``,
``.tickets``, ``.door``, ``.scanner``). A function imports the messages of its own routes and
these records, not the messages of every route that shares its data (docs/decisions/0083).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import ConfigDict, Field, model_validator

from gatepass.models.common import Model

MAX_ORDER_TICKETS = 20
DEFAULT_MAX_PER_BUYER = 4
DEFAULT_MAX_PER_ORDER = 10

EventStatus = Literal["on_sale", "cancelled"]
# Free orders are confirmed at once; payments will add "pending" and "expired".
OrderStatus = Literal["confirmed", "cancelled"]
TicketStatus = Literal["issued", "checked_in", "cancelled", "transferred", "reissued"]
LIVE_STATUSES = ("issued", "checked_in")
ImageStatus = Literal["none", "awaiting_upload", "processing", "ready", "rejected"]
GateMode = Literal["entry", "exit", "both"]
Direction = Literal["in", "out"]
StaffStatus = Literal["active", "revoked"]

LEGACY_TICKET_KEY_ID = "v1"
"""The ticket key of events created before per-event keys (docs/decisions/0064)."""

SEATS_NEED = "*"
"""The key of the event's seats in a stock summary's ``empty`` (the rest are type ids)."""


def parse_starts_at(value: str) -> datetime:
    """An ISO-8601 date and time that names its zone (``Z`` or an offset)."""
    if "T" not in value and " " not in value:
        raise ValueError("starts_at needs a date and a time, e.g. 2026-12-01T19:00:00+01:00")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ValueError("starts_at is not an ISO-8601 date and time") from exc
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("starts_at must include a time zone, e.g. Z or +01:00")
    return moment


def parse_moment(value: str, field: str) -> datetime:
    """An ISO-8601 date and time that names its zone."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(f"{field} is not an ISO-8601 date and time") from exc
    if "T" not in value and " " not in value:
        raise ValueError(f"{field} needs a date and a time")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{field} must include a time zone, e.g. Z or +01:00")
    return moment


class StockSummary(Model):
    """How an event's stock is split (``STOCK`` on its partition, read with the event): how
    many shards, the organizer's expected rate, and the shards known empty for the seats
    (``SEATS_NEED``) and for each type. An event without one is sold from its own counters,
    one shard. ``pool`` is what the event's own counters hold for sale (``SEATS_NEED`` and type
    ids): all of the stock with one shard, what came back (a raised quota, an expired offer)
    otherwise."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    shards: int = 1
    expected_orders_per_second: int | None = None
    empty: dict[str, frozenset[int]] = Field(default_factory=dict)
    pool: dict[str, int] = Field(default_factory=dict)
    version: int = 0

    @property
    def sharded(self) -> bool:
        return self.shards > 1

    def empty_for(self, need: str) -> frozenset[int]:
        return self.empty.get(need, frozenset())

    def sold_out(self, need: str) -> bool:
        """Every shard is known empty for ``need`` and the event's own counters hold none."""
        return len(self.empty_for(need)) >= self.shards and self.pool.get(need, 0) <= 0


# ---------------------------------------------------------------------------- sales


class SeatsRecord(Model):
    """The event's seats counter (``SEATS``): what a sale's first condition reads."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    event_id: str
    capacity: int
    available: int
    sold: int = 0
    held: int = 0
    checked_in: int = 0
    starts_at: str
    status: EventStatus = "on_sale"
    type_count: int = 0
    version: int = 1

    @classmethod
    def of(cls, fields: Mapping[str, Any]) -> SeatsRecord:
        return cls.model_validate(dict(fields))


class TicketTypeRecord(Model):
    """A ticket type with its counters (``TYPE#<id>``)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    event_id: str
    ticket_type_id: str
    position: int
    name: str
    description: str = ""
    quota: int
    available: int
    sold: int = 0
    held: int = 0
    checked_in: int = 0
    queue: int = 0
    unassigned: int = 0
    opens_at: str | None = None
    closes_at: str | None = None
    max_per_order: int = DEFAULT_MAX_PER_ORDER
    paused: bool = False
    multi_entry: bool = False
    version: int = 1

    @classmethod
    def of(cls, fields: Mapping[str, Any]) -> TicketTypeRecord:
        return cls.model_validate(dict(fields))

    def window_state(self, now: str) -> Literal["open", "not_open", "closed"]:
        if self.opens_at and self.opens_at > now:
            return "not_open"
        if self.closes_at and self.closes_at <= now:
            return "closed"
        return "open"


class OrderRecord(Model):
    model_config = ConfigDict(frozen=True, extra="ignore")

    order_id: str
    event_id: str
    buyer: str
    status: OrderStatus
    ticket_ids: list[str]
    ticket_count: int
    live_count: int
    created_at: str
    updated_at: str = ""

    @classmethod
    def of(cls, fields: Mapping[str, Any]) -> OrderRecord:
        return cls.model_validate(dict(fields))


# ---------------------------------------------------------------------------- the event


class EventRecord(Model):
    """An event as it is stored: what the data layer gives logic, and what the web's read model
    holds (its rows carry the same names). Never sent to a caller as it is: see ``public_event``.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    event_id: str
    organizer: str = ""
    title: str
    description: str = ""
    venue: str = ""
    starts_at: str
    starts_at_local: str | None = None
    capacity: int
    image_status: ImageStatus = "none"
    image_reason: str | None = None
    image_upload_key: str | None = None
    image_display_key: str | None = None
    image_thumbnail_key: str | None = None
    image_width: int | None = None
    image_height: int | None = None
    verifying_key: str = ""
    """The public half of the key new tickets are signed with (``signing_key_id``)."""
    signing_key_id: str = LEGACY_TICKET_KEY_ID
    verifying_keys: dict[str, str] = Field(default_factory=dict)
    """Every valid public key of the event by key id (docs/decisions/0064)."""
    created_at: str = ""
    max_tickets_per_buyer: int = DEFAULT_MAX_PER_BUYER
    # From the seats counter and the ticket types (docs/decisions/0050), not the stored META.
    sold: int = 0
    checked_in: int = 0
    available: int | None = None
    held: int = 0
    status: EventStatus = "on_sale"
    ticket_types: tuple[TicketTypeRecord, ...] = ()
    stock: StockSummary = Field(default_factory=StockSummary)
    """How the event's stock is split (docs/decisions/0070); not stored on the META item."""

    @classmethod
    def of(cls, fields: Mapping[str, Any]) -> EventRecord:
        return cls.model_validate(dict(fields))

    @model_validator(mode="after")
    def _legacy_key(self) -> EventRecord:
        """An event created before per-event keys published one derived key, ``v1``."""
        if not self.verifying_keys and self.verifying_key:
            object.__setattr__(self, "verifying_keys", {LEGACY_TICKET_KEY_ID: self.verifying_key})
        return self

    @property
    def seats_left(self) -> int:
        left = self.capacity - self.sold - self.held if self.available is None else self.available
        return max(0, left)


# The fields of ``EventRecord`` that are not stored on the event's descriptive item.
COUNTER_FIELDS = frozenset(
    {"sold", "checked_in", "available", "held", "status", "ticket_types", "stock"}
)


@dataclass(frozen=True)
class SealedKey:
    """An event's private ticket key as stored (docs/decisions/0064): only ciphertext, bound to
    its event and key id."""

    event_id: str
    key_id: str
    public: str
    encrypted_data_key: bytes
    nonce: bytes
    ciphertext: bytes
    created_at: str

    def __repr__(self) -> str:
        return f"SealedKey(event_id={self.event_id!r}, key_id={self.key_id!r})"


# ---------------------------------------------------------------------------- the door


class StaffRecord(Model):
    model_config = ConfigDict(frozen=True, extra="ignore")

    event_id: str
    email: str
    status: StaffStatus
    invited_at: str
    invited_by: str
    revoked_at: str | None = None

    @classmethod
    def of(cls, fields: Mapping[str, Any]) -> StaffRecord:
        return cls.model_validate(dict(fields))


class GateRecord(Model):
    """A gate and its counters: admitted entries and exits through it, and how many of those
    inside now came in through it."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    event_id: str
    gate_id: str
    position: int = 0
    name: str
    ticket_type_ids: tuple[str, ...] = ()
    mode: GateMode = "both"
    closed: bool = False
    entries: int = 0
    exits: int = 0
    inside: int = 0
    created_at: str = ""
    version: int = 1

    @classmethod
    def of(cls, fields: Mapping[str, Any]) -> GateRecord:
        return cls.model_validate(dict(fields))

    def admits(self, ticket_type_id: str | None) -> bool:
        return not self.ticket_type_ids or (ticket_type_id or "") in self.ticket_type_ids

    def scans(self, direction: Direction) -> bool:
        return self.mode == "both" or (self.mode == "entry") == (direction == "in")


class ScanIssueRecord(Model):
    """A synced scan the organizer should see: one that a scanner admitted offline but that
    lost to another scan (``already_checked_in``) or that was refused on arrival."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    event_id: str
    nonce: str
    kind: str
    message: str
    ticket_id: str | None = None
    attendee_name: str = ""
    gate_id: str | None = None
    direction: Direction = "in"
    scanned_by: str
    scanned_at: str
    synced_at: str
    first_checked_in_at: str | None = None
    first_checked_in_by: str | None = None
    first_gate_id: str | None = None

    @classmethod
    def of(cls, fields: Mapping[str, Any]) -> ScanIssueRecord:
        return cls.model_validate(dict(fields))
