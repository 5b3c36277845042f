"""Giving a ticket to someone else (docs/decisions/0050).

The old code is revoked and a new ticket, with its own id and signed code, is issued to the
recipient in the same transaction: the same order, type and attendee name, so seats and the
buyer's count do not move (the per-buyer limit is on buying). The recipient finds the ticket
under their tickets, and is emailed it from the table stream like every issued ticket
(``gatepass.logic.delivery``), so the transfer itself sends nothing.
"""

from __future__ import annotations

import dataclasses

from gatepass import clock, ids
from gatepass.dal.orders import OrderStore, TransferRefused
from gatepass.dal.tickets import TicketRecord, TicketsDataAccess, qr_object_key
from gatepass.errors import EventCancelled, EventStarted, Forbidden, NotFound, TransferToSelf
from gatepass.keys import TicketKeys
from gatepass.logic.orders import not_active
from gatepass.logic.ticket_images import store_qr
from gatepass.logic.ticket_views import ticket_view
from gatepass.models.orders import TransferTicketRequest
from gatepass.models.tickets import TransferTicketResponse
from gatepass.observability import MetricUnit, metrics


def transfer_ticket(
    request: TransferTicketRequest,
    caller: str,
    *,
    orders: OrderStore,
    tickets: TicketsDataAccess,
    keys: TicketKeys,
) -> TransferTicketResponse:
    from gatepass import qr

    found = orders.get_tickets([request.ticket_id])
    if not found:
        raise NotFound("No such ticket.")
    (old,) = found
    if old.holder != caller:
        raise Forbidden("This ticket belongs to someone else.")
    if request.to_email == caller:
        raise TransferToSelf(
            "This ticket is already yours; give it to another address.",
            details={"problems": [{"field": "to_email", "problem": "is your own address"}]},
        )
    if old.status != "issued":
        raise not_active(old)
    now = clock.iso(clock.now())
    ticket_id = ids.new_id()
    code = keys.current_signing_key(old.event_id).sign(old.event_id, ticket_id)
    png = qr.render_png(code)
    new = dataclasses.replace(
        old,
        ticket_id=ticket_id,
        holder=request.to_email,
        code=code,
        qr_key=qr_object_key(ticket_id),
        issued_at=now,
        transferred_from=old.ticket_id,
        transferred_to=None,
        checked_in_at=None,
        checked_in_by=None,
    )
    try:
        orders.transfer(old, new, now=now)
    except TransferRefused as refused:
        raise _refusal(refused, old, now) from None
    store_qr(tickets, new, png)
    metrics.add_metric(name="TicketsTransferred", unit=MetricUnit.Count, value=1)
    return TransferTicketResponse(transferred=old.ticket_id, ticket=ticket_view(new))


def _refusal(refused: TransferRefused, old: TicketRecord, now: str) -> Exception:
    if refused.ticket is not None:
        return not_active(refused.ticket)
    seats = refused.seats
    if seats is not None and seats.status == "cancelled":
        return EventCancelled("This event has been cancelled; its tickets cannot change hands.")
    if seats is not None and seats.starts_at <= now:
        return EventStarted("This event has started; its tickets can no longer change hands.")
    return NotFound("No such event.")
