"""Tickets' QR images: stored after a sale, a transfer or a reissue, and linked for their holder.

The ticket item carries its code, so an image is derived data: a sale stands when storing it
fails (logged, and counted as ``TicketQrImagesDeferred``), and the holder's first request for the
link renders and stores it. Apart from the sale (``gatepass.logic.tickets``) so that the
functions that only show or re-store an image load none of the sale's machinery (idempotency,
the on-sale queue, orders).
"""

from __future__ import annotations

from datetime import timedelta

from gatepass import clock, ids
from gatepass.dal.tickets import TicketRecord, TicketsDataAccess
from gatepass.errors import Forbidden, InvalidInput, NotFound
from gatepass.models.tickets import QrCodeLink
from gatepass.observability import MetricUnit, logger, metrics


def store_qr(tickets: TicketsDataAccess, record: TicketRecord, png: bytes) -> None:
    try:
        tickets.put_qr(record.qr_key, png)
    except Exception:
        # The sale is committed and the code is on the ticket; /get-qr-code repairs the image.
        logger.exception("ticket QR image not stored", extra={"ticket_id": record.ticket_id})
        metrics.add_metric(name="TicketQrImagesDeferred", unit=MetricUnit.Count, value=1)


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
