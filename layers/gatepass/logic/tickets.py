"""Taking a ticket and showing it.

Order of a sale, chosen so that nothing is ever half-made:

1. sign the code and render the QR PNG in memory (no side effect; a failure here sells nothing);
2. one DynamoDB transaction counts the seat, records the holding and puts the ticket;
3. store the PNG in the tickets bucket.

The ticket item carries its code, so the image is derived data: if step 3 fails the sale stands
(the buyer gets 201), the failure is logged and counted, and ``/get-qr-code`` renders and stores
the missing image on the first request for it.

A retry with the same ``Idempotency-Key`` (same caller, same event) answers the first ticket
again, through a Powertools idempotency record keyed on caller, key and event.
"""

from __future__ import annotations

from datetime import timedelta

from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
)
from aws_lambda_powertools.utilities.idempotency.serialization.pydantic import PydanticSerializer

from gatepass import clock, ids
from gatepass.dal.tickets import (
    SaleRefused,
    TicketRecord,
    TicketsDataAccess,
    qr_object_key,
)
from gatepass.errors import (
    AlreadyHoldsTicket,
    Conflict,
    EventStarted,
    Forbidden,
    GatepassError,
    IdempotencyInProgress,
    InvalidInput,
    NotFound,
    SoldOut,
)
from gatepass.keys import TicketKeys
from gatepass.models.tickets import (
    IDEMPOTENCY_KEY_PATTERN,
    CreateTicketResponse,
    QrCodeLink,
    Ticket,
)
from gatepass.observability import MetricUnit, logger, metrics

# How long a retried request still answers the first ticket.
IDEMPOTENCY_CONFIG = IdempotencyConfig(expires_after_seconds=24 * 3600)


def create_ticket(
    holder: str,
    event_id: str,
    idempotency_key: str | None = None,
    *,
    tickets: TicketsDataAccess,
    keys: TicketKeys,
) -> CreateTicketResponse:
    key = check_idempotency_key(idempotency_key)
    seed = keys.seed()
    if key is None:
        return _issue(tickets, seed, holder, event_id)
    issue_once = idempotent_function(
        _issue_once,
        data_keyword_argument="request",
        persistence_store=tickets.idempotency_store(),
        config=IDEMPOTENCY_CONFIG,
        output_serializer=PydanticSerializer(CreateTicketResponse),
    )
    request = {"holder": holder, "event_id": event_id, "idempotency_key": key}
    try:
        response: CreateTicketResponse = issue_once(dal=tickets, seed=seed, request=request)
    except IdempotencyAlreadyInProgressError as exc:
        raise IdempotencyInProgress(
            "A request with this Idempotency-Key is still being processed; retry shortly."
        ) from exc
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


def _issue_once(
    *, dal: TicketsDataAccess, seed: bytes, request: dict[str, str]
) -> CreateTicketResponse:
    return _issue(dal, seed, request["holder"], request["event_id"])


def _issue(dal: TicketsDataAccess, seed: bytes, holder: str, event_id: str) -> CreateTicketResponse:
    from gatepass import qr, ticket_codes

    ticket_id = ids.new_id()
    now = clock.iso(clock.now())
    code = ticket_codes.sign(seed, event_id, ticket_id)
    png = qr.render_png(code)
    record = TicketRecord(
        ticket_id=ticket_id,
        event_id=event_id,
        holder=holder,
        status="issued",
        code=code,
        qr_key=qr_object_key(ticket_id),
        issued_at=now,
    )
    try:
        dal.sell(record, now=now)
    except SaleRefused as refused:
        raise _refusal(refused, now) from None
    metrics.add_metric(name="TicketsSold", unit=MetricUnit.Count, value=1)
    try:
        dal.put_qr(record.qr_key, png)
    except Exception:
        # The sale is committed and the code is on the ticket; /get-qr-code repairs the image.
        logger.exception("ticket QR image not stored", extra={"ticket_id": ticket_id})
        metrics.add_metric(name="TicketQrImagesDeferred", unit=MetricUnit.Count, value=1)
    return CreateTicketResponse(ticket=ticket_view(record))


def _refusal(refused: SaleRefused, now: str) -> GatepassError:
    event = refused.event
    if refused.event_refused and event is None:
        return NotFound("No such event.")
    if refused.held_ticket_id is not None:
        return AlreadyHoldsTicket(
            "You already hold a ticket for this event.",
            details={"ticket_id": refused.held_ticket_id},
        )
    if event is not None and event.starts_at <= now:
        return EventStarted("This event has already started; tickets are no longer issued.")
    if event is not None and event.sold >= event.capacity:
        return SoldOut("This event is sold out.", details={"capacity": event.capacity})
    return Conflict("The event changed while your ticket was being taken; try again.")


def ticket_view(record: TicketRecord) -> Ticket:
    return Ticket(
        ticket_id=record.ticket_id,
        event_id=record.event_id,
        holder=record.holder,
        status="checked_in" if record.status == "checked_in" else "issued",
        code=record.code,
        issued_at=record.issued_at,
        checked_in_at=record.checked_in_at,
    )


def qr_code_link(
    caller: str, ticket_id: str, *, tickets: TicketsDataAccess, ttl_seconds: int
) -> QrCodeLink:
    """A short-lived link to the QR image of the caller's own ticket."""
    wanted = ticket_id.strip().lower()
    if not ids.is_id(wanted):
        raise InvalidInput(
            "ticket_id is not a ticket id.",
            details={"problems": [{"field": "ticket_id", "problem": "not a ticket id"}]},
        )
    ticket = tickets.get_ticket(wanted)
    if ticket is None:
        raise NotFound("No such ticket.")
    if ticket.holder != caller:
        raise Forbidden("This ticket belongs to someone else.")
    if not tickets.qr_exists(ticket.qr_key):
        # Imported here: this rare path is the only one in get-qr-code that needs qrcode.
        from gatepass import qr

        logger.warning("rendering a missing ticket QR image", extra={"ticket_id": wanted})
        tickets.put_qr(ticket.qr_key, qr.render_png(ticket.code))
    url = tickets.qr_url(ticket.qr_key, ttl_seconds)
    expires_at = clock.iso(clock.now() + timedelta(seconds=ttl_seconds))
    return QrCodeLink(ticket_id=wanted, url=url, expires_at=expires_at, expires_in=ttl_seconds)
