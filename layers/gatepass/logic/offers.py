"""Claiming a waiting-list offer: the offered seat becomes an order of one ticket, signed and
rendered like any order (``gatepass.logic.tickets``), in one transaction with the offer
(docs/decisions/0051). Apart from ``gatepass.logic.waitlist`` so that what only reads and moves
the line does not carry the ticket code and QR libraries."""

from __future__ import annotations

from gatepass import clock
from gatepass.dal.events import EventStore
from gatepass.dal.tickets import TicketsDataAccess
from gatepass.dal.waitlist import OfferRefused, WaitlistStore
from gatepass.errors import BuyerLimitReached, Conflict, GatepassError, NotFound
from gatepass.keys import TicketKeys
from gatepass.logic.tickets import complete_order, prepare_order
from gatepass.logic.waitlist import (
    callers_offer,
    check_on_sale,
    check_open,
    offer_state,
    offer_view,
)
from gatepass.models.records import EventRecord, SeatsRecord
from gatepass.models.tickets import OrderLine
from gatepass.models.waitlist import ClaimOfferRequest, ClaimOfferResponse
from gatepass.observability import MetricUnit, metrics


def claim_offer(
    request: ClaimOfferRequest,
    person: str,
    *,
    events: EventStore,
    waitlist: WaitlistStore,
    tickets: TicketsDataAccess,
    keys: TicketKeys,
) -> ClaimOfferResponse:
    """Take the offered seat: an order of one ticket, signed and rendered like any order."""
    offer = callers_offer(request.offer_id, person, waitlist)
    now = clock.iso(clock.now())
    check_open(offer, now)
    event = events.get(offer.event_id)
    if event is None:
        raise NotFound("No such event.")
    line = OrderLine(ticket_type_id=offer.ticket_type_id, attendee_name=request.attendee_name)
    prepared = prepare_order(event, [line], person, keys, now=now)
    try:
        waitlist.claim(
            offer,
            prepared.order,
            prepared.tickets,
            max_per_buyer=event.max_tickets_per_buyer,
            now=now,
        )
    except OfferRefused as refused:
        raise _claim_refusal(refused, event, now) from None
    metrics.add_metric(name="WaitlistOffersClaimed", unit=MetricUnit.Count, value=1)
    placed = complete_order(prepared, tickets=tickets)
    claimed = offer.model_copy(
        update={"status": "claimed", "order_id": prepared.order.order_id, "updated_at": now}
    )
    return ClaimOfferResponse(offer=offer_view(claimed), order=placed.order, ticket=placed.ticket)


def _claim_refusal(refused: OfferRefused, event: EventRecord, now: str) -> GatepassError:
    if refused.offer is not None:
        problem = offer_state(refused.offer, now)
        if problem is not None:
            return problem
    if refused.seats_refused:
        seats: SeatsRecord | None = refused.seats
        if seats is None:
            return NotFound("No such event.")
        check_on_sale(seats.status, seats.starts_at, now)
    if refused.buyer_refused:
        limit = event.max_tickets_per_buyer
        return BuyerLimitReached(
            f"At most {limit} tickets per person for this event; you already have "
            f"{refused.buyer_tickets}.",
            details={"max_tickets_per_buyer": limit, "held": refused.buyer_tickets},
        )
    return Conflict("The offer changed while it was being claimed; try again.")
