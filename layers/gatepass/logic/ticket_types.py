"""Organizers' changes to an event's ticket types: add one, or change its name, description,
sale window, quota, per-order maximum or pause it (docs/decisions/0050).

A quota never goes below what is sold or held: the new quota moves ``available`` by the same
amount, on the condition that enough seats are still available.
"""

from __future__ import annotations

from typing import Any

from gatepass import clock
from gatepass.dal.events import EventStore, TicketTypeChanges, TypeChangeRefused
from gatepass.dal.stock import StockChangeRefused, StockChanges
from gatepass.errors import (
    Conflict,
    EventCancelled,
    Forbidden,
    InvalidInput,
    NotFound,
    QuotaBelowSold,
    RateNotRaised,
    SaleOpen,
    TooManyTicketTypes,
)
from gatepass.logic.events import new_ticket_type
from gatepass.models.orders import (
    MAX_TICKET_TYPES,
    AddTicketTypeRequest,
    ExpectedRateResponse,
    PublicTicketType,
    SetExpectedRateRequest,
    TicketTypeResponse,
    UpdateTicketTypeRequest,
    public_ticket_type,
    shards_for,
)
from gatepass.models.records import SEATS_NEED, EventRecord, TicketTypeRecord, parse_moment
from gatepass.observability import logger

# Tries when the type's counters or line move between the read and the change.
CHANGE_ATTEMPTS = 5


def add_ticket_type(
    request: AddTicketTypeRequest, organizer: str, *, events: EventStore, types: TicketTypeChanges
) -> TicketTypeResponse:
    event = _organizers_event(request.event_id, organizer, events)
    if len(event.ticket_types) >= MAX_TICKET_TYPES:
        raise _too_many()
    position = max((kind.position for kind in event.ticket_types), default=-1) + 1
    kind = new_ticket_type(event.event_id, request, position=position)
    try:
        types.add(kind, max_types=MAX_TICKET_TYPES)
    except TypeChangeRefused as refused:
        raise _refusal(refused) from None
    logger.info("ticket type added", extra={"event_id": event.event_id})
    return TicketTypeResponse(ticket_type=_public(event, kind))


def update_ticket_type(
    request: UpdateTicketTypeRequest,
    organizer: str,
    *,
    events: EventStore,
    types: TicketTypeChanges,
) -> TicketTypeResponse:
    for attempt in range(CHANGE_ATTEMPTS):
        try:
            event, changed = _update_once(request, organizer, events=events, types=types)
            break
        except TypeChangeRefused as refused:
            if _moved(refused) and attempt + 1 < CHANGE_ATTEMPTS:
                continue  # a sale, a cancellation or the line moved meanwhile: read again
            if _moved(refused):
                raise Conflict("The ticket type is changing fast; try again.") from None
            raise _refusal(refused) from None
    else:  # pragma: no cover - the loop either breaks or raises
        raise AssertionError("unreachable")
    logger.info("ticket type changed", extra={"event_id": event.event_id})
    return TicketTypeResponse(ticket_type=_public(event, changed))


def _update_once(
    request: UpdateTicketTypeRequest,
    organizer: str,
    *,
    events: EventStore,
    types: TicketTypeChanges,
) -> tuple[EventRecord, TicketTypeRecord]:
    event = _organizers_event(request.event_id, organizer, events)
    kind = next((k for k in event.ticket_types if k.ticket_type_id == request.ticket_type_id), None)
    if kind is None:
        raise NotFound("This event has no such ticket type.")
    given = request.model_fields_set
    set_fields: dict[str, Any] = {}
    remove_fields: list[str] = []
    for name in ("name", "description", "max_per_order", "paused", "multi_entry"):
        value = getattr(request, name)
        if name in given and value is not None:
            set_fields[name] = value
    for name in ("opens_at", "closes_at"):
        if name in given:
            value = getattr(request, name)
            if value:
                set_fields[name] = clock.iso(parse_moment(value, name))
            else:
                remove_fields.append(name)
    opens = set_fields.get("opens_at", None if "opens_at" in remove_fields else kind.opens_at)
    closes = set_fields.get("closes_at", None if "closes_at" in remove_fields else kind.closes_at)
    if opens and closes and closes <= opens:
        raise InvalidInput(
            "closes_at must be after opens_at.",
            details={"problems": [{"field": "closes_at", "problem": "not after opens_at"}]},
        )
    quota = request.quota if "quota" in given else None
    if quota is not None and kind.quota - quota > kind.available:
        raise _below_sold(kind)
    sharded = event.stock.sharded
    changed = types.update(
        kind,
        set_fields=set_fields,
        remove_fields=remove_fields,
        quota=quota,
        # With stock shards, seats for the line come from the event's own counter only.
        seats_available=event.stock.pool.get(SEATS_NEED, 0) if sharded else event.seats_left,
        stock_shards=event.stock.shards,
    )
    if sharded:
        # The answer counts the type's shards too.
        counted = events.get_counted(event.event_id) or event
        changed = next(
            (k for k in counted.ticket_types if k.ticket_type_id == changed.ticket_type_id),
            changed,
        )
        event = counted
    return event, changed


def _moved(refused: TypeChangeRefused) -> bool:
    """Whether reading again may help: the seats or the type changed since they were read
    (a sale, a cancellation, the line), rather than the event being cancelled or the type
    missing. Reading again also re-checks every rule (a quota below what is sold)."""
    if refused.seats is not None:
        return refused.seats.status != "cancelled"
    return refused.kind is not None


def _organizers_event(event_id: str, organizer: str, events: EventStore) -> EventRecord:
    event = events.get_counted(event_id)
    if event is None:
        raise NotFound("No such event.")
    if event.organizer != organizer:
        raise Forbidden("Only the event's organizer can change its ticket types.")
    if event.status == "cancelled":
        raise EventCancelled("This event has been cancelled; its ticket types stay as they are.")
    return event


def _public(event: EventRecord, kind: TicketTypeRecord) -> PublicTicketType:
    now = clock.iso(clock.now())
    return public_ticket_type(
        kind,
        event_available=event.seats_left,
        event_on_sale=event.status == "on_sale" and event.starts_at > now,
        now=now,
    )


def _refusal(refused: TypeChangeRefused) -> Exception:
    if refused.seats is not None:
        if refused.seats.status == "cancelled":
            return EventCancelled(
                "This event has been cancelled; its ticket types stay as they are."
            )
        return _too_many()
    if refused.kind is None:
        return NotFound("This event has no such ticket type.")
    return _below_sold(refused.kind)


def _too_many() -> TooManyTicketTypes:
    return TooManyTicketTypes(
        f"An event has at most {MAX_TICKET_TYPES} ticket types.",
        details={"max_ticket_types": MAX_TICKET_TYPES},
    )


def _below_sold(kind: TicketTypeRecord) -> QuotaBelowSold:
    taken = kind.quota - kind.available
    return QuotaBelowSold(
        f"{kind.name} has {taken} tickets sold or held; its quota cannot go below that.",
        details={"ticket_type_id": kind.ticket_type_id, "sold": kind.sold, "minimum": taken},
    )


def set_expected_rate(
    request: SetExpectedRateRequest, organizer: str, *, events: EventStore, stock: StockChanges
) -> ExpectedRateResponse:
    """Raise the peak orders a second the organizer expects, before the sale opens: the
    event's stock is split again, exactly, over max(1, ceil(rate / 20)) shards
    (docs/decisions/0070). Once any type is on sale (or anything is sold) the split is
    fixed, and a rate is never lowered."""
    for _ in range(CHANGE_ATTEMPTS):
        event = events.get_counted(request.event_id)
        if event is None:
            raise NotFound("No such event.")
        if event.organizer != organizer:
            raise Forbidden("Only the event's organizer can change its expected rate.")
        if event.status == "cancelled":
            raise EventCancelled("This event has been cancelled; nothing more is sold.")
        now = clock.iso(clock.now())
        opened = [k for k in event.ticket_types if not k.opens_at or k.opens_at <= now]
        if opened or event.sold > 0:
            raise SaleOpen(
                "The sale has opened; the expected rate can only be raised before it does.",
                details={"ticket_type_ids": [k.ticket_type_id for k in opened]},
            )
        current = event.stock.expected_orders_per_second or 0
        if request.expected_orders_per_second < current:
            raise RateNotRaised(
                f"The event already expects {current} orders a second; the rate can only be "
                "raised.",
                details={"expected_orders_per_second": current},
            )
        wanted = max(event.stock.shards, shards_for(request.expected_orders_per_second))
        try:
            shards = stock.reshard(
                event.event_id, shards=wanted, rate=request.expected_orders_per_second
            )
        except StockChangeRefused:
            continue  # a change landed between the read and the split: read again
        logger.info("expected rate raised", extra={"event_id": event.event_id, "shards": shards})
        return ExpectedRateResponse(
            event_id=event.event_id,
            expected_orders_per_second=request.expected_orders_per_second,
            stock_shards=shards,
        )
    raise Conflict("The event is changing fast; try again.")
