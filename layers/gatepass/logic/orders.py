"""Cancelling tickets (one, or what the caller holds of an order) and whole events, and the
revocation list every event publishes (docs/decisions/0050).

A cancelled ticket's code is revoked: check-in refuses it, and its id is on the event's
revocation list so offline scanners refuse it too. A holder's cancellation gives the seats back
at once, in the same transaction that revokes the code; an event's cancellation closes the sale
first (one write that every sale's condition reads), then revokes every ticket and emails every
holder, each step safe to repeat.
"""

from __future__ import annotations

from gatepass import clock, ids
from gatepass.dal.events import EventStore
from gatepass.dal.mail import Mailer
from gatepass.dal.orders import CancelRefused, OrderStore
from gatepass.dal.tickets import TicketRecord
from gatepass.dal.waitlist import WaitlistStore
from gatepass.errors import (
    Conflict,
    EventStarted,
    Forbidden,
    InvalidInput,
    NotFound,
    TicketNotActive,
)
from gatepass.logic.ticket_views import ticket_view
from gatepass.logic.waitlist import close_lines
from gatepass.models.orders import CancelEventRequest, CancelTicketRequest
from gatepass.models.tickets import (
    CancelEventResponse,
    CancelTicketResponse,
    RevocationList,
    RevokedTicket,
)
from gatepass.observability import MetricUnit, logger, metrics

REVOCATIONS_PAGE = 500
# Tries when people join or leave a line while its seats are being given back.
LINE_ATTEMPTS = 8


def cancel_ticket(
    request: CancelTicketRequest, caller: str, *, orders: OrderStore
) -> CancelTicketResponse:
    if request.ticket_id is not None:
        found = orders.get_tickets([request.ticket_id])
        if not found:
            raise NotFound("No such ticket.")
        (ticket,) = found
        if ticket.holder != caller:
            raise Forbidden("This ticket belongs to someone else.")
        if ticket.status != "issued":
            raise not_active(ticket)
        wanted = [ticket]
    else:
        order = orders.get_order(str(request.order_id))
        if order is None:
            raise NotFound("No such order.")
        held = [t for t in orders.get_tickets(order.ticket_ids) if t.holder == caller]
        if order.buyer != caller and not held:
            raise Forbidden("This order belongs to someone else.")
        wanted = [t for t in held if t.status == "issued"]
        if not wanted:
            raise TicketNotActive(
                "Nothing of this order is yours to cancel any more.",
                details={"order_id": order.order_id},
            )
    live = {}
    for order_id in {t.order_id for t in wanted if t.order_id}:
        order = orders.get_order(order_id)
        if order is None:
            raise NotFound("No such order.")
        live[order_id] = order.live_count
    now = clock.iso(clock.now())
    type_ids = sorted({t.ticket_type_id for t in wanted if t.ticket_type_id})
    for attempt in range(LINE_ATTEMPTS):
        # A freed seat goes to its type's line while someone waits (docs/decisions/0051): the
        # transaction holds each line to what was read here, and a line that moved meanwhile
        # is read again.
        queues = orders.queues(wanted[0].event_id, type_ids)
        try:
            orders.cancel(
                wanted,
                holder=caller,
                orders=live,
                reason="cancelled_by_holder",
                now=now,
                until_start=True,
                queues=queues,
            )
            break
        except CancelRefused as refused:
            if _only_the_line_moved(refused) and attempt + 1 < LINE_ATTEMPTS:
                continue
            raise _refusal(refused, now) from None
    metrics.add_metric(name="TicketsCancelled", unit=MetricUnit.Count, value=len(wanted))
    cancelled = [
        TicketRecord(
            **{
                **t.__dict__,
                "status": "cancelled",
                "revoked_at": now,
                "revoked_reason": "cancelled_by_holder",
            }
        )
        for t in wanted
    ]
    return CancelTicketResponse(cancelled=[ticket_view(t) for t in cancelled])


def _only_the_line_moved(refused: CancelRefused) -> bool:
    return refused.line_changed and not (
        refused.refused_tickets or refused.seats_refused or refused.order_changed
    )


def _refusal(refused: CancelRefused, now: str) -> Exception:
    if refused.refused_tickets:
        return not_active(refused.refused_tickets[0])
    seats = refused.seats
    if refused.seats_refused and seats is not None and seats.starts_at <= now:
        return EventStarted("This event has started; its tickets can no longer be cancelled.")
    if refused.seats_refused:
        return NotFound("No such event.")
    return Conflict("The order changed while it was being cancelled; try again.")


def not_active(ticket: TicketRecord) -> TicketNotActive:
    return TicketNotActive(
        f"This ticket is {ticket.status.replace('_', ' ')}; only an issued ticket can change.",
        details={"ticket_id": ticket.ticket_id, "ticket_status": ticket.status},
    )


def cancel_event(
    request: CancelEventRequest,
    organizer: str,
    *,
    events: EventStore,
    orders: OrderStore,
    mailer: Mailer,
    waitlist: WaitlistStore,
) -> CancelEventResponse:
    event = events.get(request.event_id)
    if event is None:
        raise NotFound("No such event.")
    if event.organizer != organizer:
        raise Forbidden("Only the event's organizer can cancel it.")
    now = clock.iso(clock.now())
    if orders.close_sale(event.event_id, now=now) is None and event.status != "cancelled":
        raise NotFound("No such event.")
    # Every step below is safe to repeat: a retried request finishes what a failed one began.
    revoked = notified = 0
    holders: set[str] = set()
    for ticket in orders.event_tickets(event.event_id):
        if orders.revoke_for_event(ticket, now=now):
            revoked += 1
            holders.add(ticket.holder)
    for holder in sorted(holders):
        try:
            mailer.send(
                holder,
                f"Cancelled: {event.title}",
                f"{event.title} on {event.starts_at[:10]} has been cancelled by its organizer. "
                "Your tickets for it are no longer valid.",
            )
            notified += 1
        except Exception:
            logger.exception("cancellation mail not sent", extra={"event_id": event.event_id})
    # Nobody is offered a seat of a cancelled event (the matcher's condition reads the seats'
    # status too); the lines end and open offers are withdrawn.
    closed = close_lines(event, waitlist=waitlist, mailer=mailer)
    metrics.add_metric(name="EventsCancelled", unit=MetricUnit.Count, value=1)
    logger.info("event cancelled", extra={"event_id": event.event_id, "revoked": revoked})
    return CancelEventResponse(
        event_id=event.event_id,
        status="cancelled",
        revoked=revoked,
        notified=notified,
        waitlist_closed=closed,
    )


def revocation_list(event_id: str, since: str | None, *, orders: OrderStore) -> RevocationList:
    normalized = event_id.strip().lower()
    if not ids.is_id(normalized):
        raise NotFound("No such event.")
    position = since or ""
    if len(position) > 64:
        raise InvalidInput(
            "since is not a position from this list.",
            details={"problems": [{"field": "since", "problem": "too long"}]},
        )
    found = orders.revocations(normalized, since=position, limit=REVOCATIONS_PAGE)
    return RevocationList(
        event_id=normalized,
        revocations=[
            RevokedTicket(ticket_id=r.ticket_id, revoked_at=r.revoked_at, reason=r.reason)
            for r in found
        ],
        next_since=found[-1].position if found else (since or None),
    )
