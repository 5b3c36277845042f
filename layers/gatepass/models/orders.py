"""Ticket types and orders: what organizers and buyers send and what is shown. What is stored
is in ``gatepass.models.records``.

docs/decisions/0050-ticket-types-and-orders.md has the design: counters keep what is *left*
(``available``) so a transaction's condition can refuse an order that does not fit.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, StringConstraints, model_validator

from gatepass.models.common import Email, GatepassId, Model
from gatepass.models.records import (
    DEFAULT_MAX_PER_ORDER,
    MAX_ORDER_TICKETS,
    TicketTypeRecord,
    parse_moment,
)

MAX_TICKET_TYPES = 20
DEFAULT_TYPE_NAME = "General admission"

RevokedReason = Literal["cancelled_by_holder", "event_cancelled", "transferred", "reissued"]

TypeName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
TypeDescription = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]
Quota = Annotated[int, Field(ge=1, le=100_000, strict=True)]
PerOrder = Annotated[int, Field(ge=1, le=MAX_ORDER_TICKETS, strict=True)]
Moment = Annotated[str, StringConstraints(strip_whitespace=True, max_length=40)]


# Stock shards (docs/decisions/0070): one shard per this many expected orders a second, and at
# most this many shards (2,000 orders a second: the event's partition, which every sale reads,
# allows 6,000 eventually consistent reads a second). Creation and a raise write shards that do
# not fit in their one transaction (100 items) ahead of it.
ORDERS_PER_SHARD = 20
MAX_STOCK_SHARDS = 100
MAX_EXPECTED_ORDERS_PER_SECOND = ORDERS_PER_SHARD * MAX_STOCK_SHARDS
ExpectedRate = Annotated[int, Field(ge=1, le=MAX_EXPECTED_ORDERS_PER_SECOND, strict=True)]


def shards_for(expected_orders_per_second: int | None) -> int:
    """S = max(1, ceil(rate / 20)): the stock shards an expected peak rate needs."""
    if not expected_orders_per_second:
        return 1
    return max(1, -(-expected_orders_per_second // ORDERS_PER_SHARD))


class _SaleWindow(Model):
    opens_at: Moment | None = None
    closes_at: Moment | None = None

    @model_validator(mode="after")
    def _window_in_order(self) -> Any:
        opens = parse_moment(self.opens_at, "opens_at") if self.opens_at else None
        closes = parse_moment(self.closes_at, "closes_at") if self.closes_at else None
        if opens and closes and closes <= opens:
            raise ValueError("closes_at must be after opens_at")
        return self


class TicketTypeSpec(_SaleWindow):
    """A ticket type as an organizer describes it."""

    model_config = ConfigDict(extra="forbid")

    name: TypeName
    description: TypeDescription = ""
    quota: Quota
    max_per_order: PerOrder = DEFAULT_MAX_PER_ORDER
    # A holder may pass an entry gate again without an exit scan (a day pass, a festival
    # wristband); false keeps one entry per exit, as every type before gates had.
    multi_entry: bool = False


class AddTicketTypeRequest(TicketTypeSpec):
    event_id: GatepassId


class SetExpectedRateRequest(Model):
    """``POST /set-expected-rate``: raise the peak orders a second an event expects, before its
    sale opens (docs/decisions/0070)."""

    model_config = ConfigDict(extra="forbid")

    event_id: GatepassId
    expected_orders_per_second: ExpectedRate


class ExpectedRateResponse(Model):
    event_id: str
    expected_orders_per_second: int
    stock_shards: int


class UpdateTicketTypeRequest(_SaleWindow):
    """Only the fields given change; ``opens_at``/``closes_at`` set to "" clear a window end."""

    model_config = ConfigDict(extra="forbid")

    event_id: GatepassId
    ticket_type_id: GatepassId
    name: TypeName | None = None
    description: TypeDescription | None = None
    quota: Quota | None = None
    max_per_order: PerOrder | None = None
    paused: bool | None = None
    multi_entry: bool | None = None


class CancelTicketRequest(Model):
    model_config = ConfigDict(extra="forbid")

    ticket_id: GatepassId | None = None
    order_id: GatepassId | None = None

    @model_validator(mode="after")
    def _one_of(self) -> CancelTicketRequest:
        if (self.ticket_id is None) == (self.order_id is None):
            raise ValueError("send either ticket_id or order_id")
        return self


class CancelEventRequest(Model):
    model_config = ConfigDict(extra="forbid")

    event_id: GatepassId


class TransferTicketRequest(Model):
    model_config = ConfigDict(extra="forbid")

    ticket_id: GatepassId
    to_email: Email


# ---------------------------------------------------------------------------- public shapes


class PublicTicketType(Model):
    ticket_type_id: str
    name: str
    description: str
    quota: int
    sold: int
    left: int
    opens_at: str | None
    closes_at: str | None
    max_per_order: int
    paused: bool
    on_sale: bool
    multi_entry: bool = False


class TicketTypeResponse(Model):
    ticket_type: PublicTicketType


def public_ticket_type(
    kind: TicketTypeRecord, *, event_available: int, event_on_sale: bool, now: str
) -> PublicTicketType:
    left = max(0, min(kind.available, event_available))
    return PublicTicketType(
        ticket_type_id=kind.ticket_type_id,
        name=kind.name,
        description=kind.description,
        quota=kind.quota,
        sold=kind.sold,
        left=left,
        opens_at=kind.opens_at,
        closes_at=kind.closes_at,
        max_per_order=kind.max_per_order,
        paused=kind.paused,
        multi_entry=kind.multi_entry,
        on_sale=event_on_sale and not kind.paused and left > 0 and kind.window_state(now) == "open",
    )
