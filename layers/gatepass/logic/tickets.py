"""Taking tickets (an order of one or more) and showing them.

Order of a sale, chosen so that nothing is ever half-made (docs/decisions/0050):

1. read the event once (its types, its buyer limit) and check what can be told before writing;
2. sign a code with the event's current key and render a QR PNG per ticket in memory (no side
   effect; a failure sells nothing);
3. one DynamoDB transaction takes the seats of the event and of every type ordered, counts them
   on the buyer, and puts the order and its tickets; a refusal is explained from the items
   DynamoDB returns;
4. store the PNGs in the tickets bucket.

The ticket item carries its code, so the image is derived data: if step 4 fails the sale stands
(the buyer gets 201), the failure is logged and counted, and ``/get-qr-code`` renders and stores
the missing image on the first request for it (``gatepass.logic.ticket_images``).

A retry with the same ``Idempotency-Key`` (same caller, same event, same tickets) answers the
first order again, through a Powertools idempotency record keyed on all of them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyPersistenceLayerError,
)
from aws_lambda_powertools.utilities.idempotency.serialization.pydantic import PydanticSerializer

from gatepass import clock, ids
from gatepass.dal.events import EventStore
from gatepass.dal.orders import OrderRefused, OrderStore
from gatepass.dal.queue import QueueStore
from gatepass.dal.storage import StorageUnavailable
from gatepass.dal.tickets import TicketRecord, TicketsDataAccess, qr_object_key
from gatepass.errors import (
    BuyerLimitReached,
    Conflict,
    EventCancelled,
    EventStarted,
    GatepassError,
    IdempotencyInProgress,
    InvalidInput,
    NotFound,
    SaleClosed,
    SaleNotOpen,
    SoldOut,
    TicketTypePaused,
    TicketTypeSoldOut,
    TooManyTickets,
    UnknownTicketType,
)
from gatepass.keys import TicketKeys
from gatepass.logic.queue import admit, observe_sale
from gatepass.logic.ticket_images import store_qr
from gatepass.logic.ticket_views import ticket_view
from gatepass.models.records import EventRecord, OrderRecord, SeatsRecord, TicketTypeRecord
from gatepass.models.tickets import (
    IDEMPOTENCY_KEY_PATTERN,
    CreateTicketRequest,
    CreateTicketResponse,
    Order,
    OrderLine,
    Ticket,
)
from gatepass.observability import MetricUnit, metrics
from gatepass.queue_tokens import QueueKeys

# How long a retried request still answers the first order.
IDEMPOTENCY_CONFIG = IdempotencyConfig(expires_after_seconds=24 * 3600)


def create_ticket(
    request: CreateTicketRequest,
    buyer: str,
    idempotency_key: str | None = None,
    *,
    events: EventStore,
    orders: OrderStore,
    tickets: TicketsDataAccess,
    keys: TicketKeys,
    queue: QueueStore | None = None,
    queue_keys: QueueKeys | None = None,
    admission_token: str | None = None,
) -> CreateTicketResponse:
    key = check_idempotency_key(idempotency_key)
    # The waiting room's check comes first (docs/decisions/0072): a refusal changes nothing, and
    # an event without a queue sells exactly as before.
    if queue is None or queue_keys is None:
        return _create(
            request, buyer, key, events=events, orders=orders, tickets=tickets, keys=keys
        )
    queued = admit(request.event_id, buyer, admission_token, queue=queue, queue_keys=queue_keys)
    if queued is None:
        return _create(
            request, buyer, key, events=events, orders=orders, tickets=tickets, keys=keys
        )
    return observe_sale(
        queued,
        lambda: _create(
            request, buyer, key, events=events, orders=orders, tickets=tickets, keys=keys
        ),
        queue=queue,
    )


def _create(
    request: CreateTicketRequest,
    buyer: str,
    key: str | None,
    *,
    events: EventStore,
    orders: OrderStore,
    tickets: TicketsDataAccess,
    keys: TicketKeys,
) -> CreateTicketResponse:
    if key is None:
        return _place(request, buyer, events=events, orders=orders, tickets=tickets, keys=keys)
    place_once = idempotent_function(
        _place_once,
        data_keyword_argument="fingerprint",
        persistence_store=tickets.idempotency_store(),
        config=IDEMPOTENCY_CONFIG,
        output_serializer=PydanticSerializer(CreateTicketResponse),
    )
    fingerprint = {
        "holder": buyer,
        "event_id": request.event_id,
        "idempotency_key": key,
        "tickets": [line.model_dump() for line in request.tickets or []],
    }
    try:
        response: CreateTicketResponse = place_once(
            request=request,
            buyer=buyer,
            events=events,
            orders=orders,
            tickets=tickets,
            keys=keys,
            fingerprint=fingerprint,
        )
    except IdempotencyAlreadyInProgressError as exc:
        raise IdempotencyInProgress(
            "A request with this Idempotency-Key is still being processed; retry shortly."
        ) from exc
    except IdempotencyPersistenceLayerError as exc:
        # The idempotency record could not be read or written: busy storage is a 503 too.
        if isinstance(exc.__cause__, StorageUnavailable):
            raise exc.__cause__ from exc
        raise
    return response


def check_idempotency_key(value: str | None) -> str | None:
    if value is None:
        return None
    if not IDEMPOTENCY_KEY_PATTERN.match(value):
        raise InvalidInput(
            "The Idempotency-Key header must be 1 to 64 visible ASCII characters.",
            details={"problems": [{"field": "Idempotency-Key", "problem": "invalid"}]},
        )
    return value


def _place_once(
    *,
    request: CreateTicketRequest,
    buyer: str,
    events: EventStore,
    orders: OrderStore,
    tickets: TicketsDataAccess,
    keys: TicketKeys,
    fingerprint: dict[str, Any],
) -> CreateTicketResponse:
    return _place(request, buyer, events=events, orders=orders, tickets=tickets, keys=keys)


def _place(
    request: CreateTicketRequest,
    buyer: str,
    *,
    events: EventStore,
    orders: OrderStore,
    tickets: TicketsDataAccess,
    keys: TicketKeys,
) -> CreateTicketResponse:
    event = events.get_for_sale(request.event_id)
    if event is None or not event.ticket_types:
        raise NotFound("No such event.")
    now = clock.iso(clock.now())
    lines = order_lines(event, request.tickets)
    check_order(event, lines)
    if event.stock.sharded:
        check_types_on_sale(event, lines, now=now)
    prepared = prepare_order(event, lines, buyer, keys, now=now)
    try:
        orders.sell(
            prepared.order,
            prepared.tickets,
            max_per_buyer=event.max_tickets_per_buyer,
            now=now,
            event=event,
        )
    except OrderRefused as refused:
        asked = Counter(line.ticket_type_id for line in lines)
        raise refusal(refused, event, asked=asked, now=now) from None
    metrics.add_metric(name="OrdersPlaced", unit=MetricUnit.Count, value=1)
    return complete_order(prepared, tickets=tickets)


@dataclass(frozen=True)
class PreparedOrder:
    """An order ready to write: its record, its tickets with signed codes, their QR images."""

    order: OrderRecord
    tickets: list[TicketRecord]
    pngs: dict[str, bytes]


def prepare_order(
    event: EventRecord, lines: list[OrderLine], buyer: str, keys: TicketKeys, *, now: str
) -> PreparedOrder:
    """Sign a code and render a QR PNG per ticket, in memory: no side effect, so a failure
    sells nothing (a sale, or a claimed waiting-list offer)."""
    from gatepass import qr

    # Opened once per container and event key (gatepass.ticket_keys), not per ticket.
    signing_key = keys.signing_key(event.event_id, event.signing_key_id)
    order_id = ids.new_id()
    records: list[TicketRecord] = []
    pngs: dict[str, bytes] = {}
    for line in lines:
        ticket_id = ids.new_id()
        code = signing_key.sign(event.event_id, ticket_id)
        pngs[ticket_id] = qr.render_png(code)
        records.append(
            TicketRecord(
                ticket_id=ticket_id,
                event_id=event.event_id,
                holder=buyer,
                status="issued",
                code=code,
                qr_key=qr_object_key(ticket_id),
                issued_at=now,
                order_id=order_id,
                ticket_type_id=line.ticket_type_id,
                attendee_name=line.attendee_name,
                buyer=buyer,
            )
        )
    placed = OrderRecord(
        order_id=order_id,
        event_id=event.event_id,
        buyer=buyer,
        status="confirmed",
        ticket_ids=[record.ticket_id for record in records],
        ticket_count=len(records),
        live_count=len(records),
        created_at=now,
        updated_at=now,
    )
    return PreparedOrder(order=placed, tickets=records, pngs=pngs)


def complete_order(prepared: PreparedOrder, *, tickets: TicketsDataAccess) -> CreateTicketResponse:
    """After the order's transaction: store the QR images and answer the order."""
    metrics.add_metric(name="TicketsSold", unit=MetricUnit.Count, value=len(prepared.tickets))
    for record in prepared.tickets:
        store_qr(tickets, record, prepared.pngs[record.ticket_id])
    views = [ticket_view(record) for record in prepared.tickets]
    return CreateTicketResponse(order=order_view(prepared.order, views), ticket=views[0])


def order_lines(event: EventRecord, lines: list[OrderLine] | None) -> list[OrderLine]:
    """The tickets asked for; none means one of the first type (version 1's request)."""
    if lines is None:
        return [OrderLine(ticket_type_id=event.ticket_types[0].ticket_type_id)]
    known = {kind.ticket_type_id for kind in event.ticket_types}
    unknown = sorted({line.ticket_type_id for line in lines} - known)
    if unknown:
        raise UnknownTicketType(
            "This event has no such ticket type.", details={"ticket_type_ids": unknown}
        )
    return lines


def check_order(event: EventRecord, lines: list[OrderLine]) -> None:
    """What can be told before writing (the transaction checks all of it again, atomically)."""
    limit = event.max_tickets_per_buyer
    if len(lines) > limit:
        raise TooManyTickets(
            f"At most {limit} tickets per person for this event.",
            details={"max_tickets_per_buyer": limit},
        )
    kinds = {kind.ticket_type_id: kind for kind in event.ticket_types}
    for type_id, count in Counter(line.ticket_type_id for line in lines).items():
        kind = kinds[type_id]
        if count > kind.max_per_order:
            raise _per_order(kind)


def check_types_on_sale(event: EventRecord, lines: list[OrderLine], *, now: str) -> None:
    """A sale from stock shards touches no type item, so a type's pause and sale window are
    checked on the event as read for the sale (consistently, just before it), in the same
    order the transaction's refusal is explained (docs/decisions/0070)."""
    wanted = {line.ticket_type_id for line in lines}
    kinds = [kind for kind in event.ticket_types if kind.ticket_type_id in wanted]
    refused = OrderRefused()
    refused.refused_types = [
        kind for kind in kinds if kind.paused or kind.window_state(now) != "open"
    ]
    if event.status == "cancelled" or event.starts_at <= now or refused.refused_types:
        refused.seats_refused = event.status == "cancelled" or event.starts_at <= now
        refused.seats = SeatsRecord(
            event_id=event.event_id,
            capacity=event.capacity,
            available=event.seats_left,
            starts_at=event.starts_at,
            status=event.status,
        )
        asked = Counter(line.ticket_type_id for line in lines)
        raise refusal(refused, event, asked=asked, now=now)


def refusal(
    refused: OrderRefused, event: EventRecord, *, asked: Counter[str], now: str
) -> GatepassError:
    """Why DynamoDB refused, in the order a buyer can act on."""
    seats = refused.seats
    if refused.seats_refused and seats is None:
        return NotFound("No such event.")
    if seats is not None and seats.status == "cancelled":
        return EventCancelled("This event has been cancelled; nothing more is sold.")
    if seats is not None and seats.starts_at <= now:
        return EventStarted("This event has already started; tickets are no longer issued.")
    if refused.missing_types:
        return UnknownTicketType(
            "This event has no such ticket type.",
            details={"ticket_type_ids": refused.missing_types},
        )
    for kind in refused.refused_types:
        detail = {"ticket_type_id": kind.ticket_type_id}
        if kind.paused:
            return TicketTypePaused(f"{kind.name} tickets are paused.", details=detail)
        window = kind.window_state(now)
        if window == "not_open":
            return SaleNotOpen(
                f"{kind.name} tickets are not on sale yet.",
                details={**detail, "opens_at": kind.opens_at},
            )
        if window == "closed":
            return SaleClosed(
                f"The sale of {kind.name} tickets has closed.",
                details={**detail, "closes_at": kind.closes_at},
            )
        if asked[kind.ticket_type_id] > kind.max_per_order:
            return _per_order(kind)
    if refused.seats_refused and seats is not None:
        left = max(0, seats.available)
        return SoldOut(
            "This event is sold out." if left == 0 else f"Only {left} seats are left.",
            details={"capacity": seats.capacity, "left": left},
        )
    for kind in refused.refused_types:
        left = max(0, kind.available)
        return TicketTypeSoldOut(
            f"{kind.name} tickets are sold out."
            if left == 0
            else f"Only {left} {kind.name} tickets are left.",
            details={"ticket_type_id": kind.ticket_type_id, "left": left},
        )
    if refused.buyer_refused:
        limit = event.max_tickets_per_buyer
        return BuyerLimitReached(
            f"At most {limit} tickets per person for this event; you already have "
            f"{refused.buyer_tickets}.",
            details={"max_tickets_per_buyer": limit, "held": refused.buyer_tickets},
        )
    return Conflict("The event changed while your order was being taken; try again.")


def _per_order(kind: TicketTypeRecord) -> TooManyTickets:
    return TooManyTickets(
        f"At most {kind.max_per_order} {kind.name} tickets per order.",
        details={"ticket_type_id": kind.ticket_type_id, "max_per_order": kind.max_per_order},
    )


def order_view(order: OrderRecord, tickets: list[Ticket]) -> Order:
    return Order(
        order_id=order.order_id,
        event_id=order.event_id,
        buyer=order.buyer,
        status=order.status,
        created_at=order.created_at,
        tickets=tickets,
    )
