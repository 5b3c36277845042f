"""Reissuing a leaked ticket's code (docs/decisions/0064).

The organizer replaces one ticket's code: the old ticket is revoked (it joins the event's
revocation list, and check-in refuses it with the reason ``reissued``) and a new ticket with its
own id, the same holder, order, type and name, is signed with the event's current key in the same
transaction; its QR image is rendered and the holder is emailed the new code. No other ticket
changes, and neither do the seats or the buyer's count.
"""

from __future__ import annotations

import dataclasses

from gatepass import clock, ids
from gatepass.dal.mail import Mailer
from gatepass.dal.orders import OrderStore, TransferRefused
from gatepass.dal.ticket_keys import TicketKeyStore
from gatepass.dal.tickets import TicketRecord, TicketsDataAccess, qr_object_key
from gatepass.errors import EventCancelled, NotFound
from gatepass.keys import TicketKeys
from gatepass.logic.orders import not_active
from gatepass.logic.ticket_images import store_qr
from gatepass.logic.ticket_keys import organizers_ring
from gatepass.logic.ticket_views import ticket_view
from gatepass.models.ticket_keys import ReissueTicketRequest, ReissueTicketResponse
from gatepass.observability import MetricUnit, logger, metrics


def reissue_ticket(
    request: ReissueTicketRequest,
    organizer: str,
    *,
    orders: OrderStore,
    tickets: TicketsDataAccess,
    key_store: TicketKeyStore,
    keys: TicketKeys,
    mailer: Mailer,
) -> ReissueTicketResponse:
    from gatepass import qr

    found = orders.get_tickets([request.ticket_id])
    if not found:
        raise NotFound("No such ticket.")
    (old,) = found
    ring = organizers_ring(old.event_id, organizer, key_store=key_store)
    if old.status != "issued":
        raise not_active(old)
    now = clock.iso(clock.now())
    ticket_id = ids.new_id()
    code = keys.signing_key(ring.event_id, ring.signing_key_id).sign(old.event_id, ticket_id)
    png = qr.render_png(code)
    new = dataclasses.replace(
        old,
        ticket_id=ticket_id,
        code=code,
        qr_key=qr_object_key(ticket_id),
        issued_at=now,
        transferred_from=old.ticket_id,
        transferred_to=None,
        checked_in_at=None,
        checked_in_by=None,
    )
    try:
        orders.transfer(old, new, now=now, reason="reissued")
    except TransferRefused as refused:
        if refused.ticket is not None:
            raise not_active(refused.ticket) from None
        if refused.seats is not None and refused.seats.status == "cancelled":
            raise EventCancelled(
                "This event has been cancelled; its tickets cannot be reissued."
            ) from None
        raise NotFound("No such event.") from None
    store_qr(tickets, new, png)
    metrics.add_metric(name="TicketsReissued", unit=MetricUnit.Count, value=1)
    logger.info(
        "ticket reissued",
        extra={"event_id": old.event_id, "ticket_id": old.ticket_id, "new_ticket_id": ticket_id},
    )
    _mail_new_code(mailer, new, title=ring.title)
    return ReissueTicketResponse(reissued=old.ticket_id, ticket=ticket_view(new))


def _mail_new_code(mailer: Mailer, ticket: TicketRecord, *, title: str) -> None:
    name = f" ({ticket.attendee_name})" if ticket.attendee_name else ""
    try:
        mailer.send(
            ticket.holder,
            f"A new code for your ticket to {title}" if title else "A new code for your ticket",
            f"The organizer of {title or 'your event'} replaced the code of your ticket{name}.\n"
            f"Your new ticket code is:\n\n{ticket.code}\n\n"
            "The previous code no longer admits anyone. Sign in to Gatepass to show the new QR "
            "code under My tickets, or type this code at the door.",
        )
    except Exception:
        # The new code stands; the holder finds it under their tickets all the same.
        logger.exception("reissue mail not sent", extra={"ticket_id": ticket.ticket_id})
