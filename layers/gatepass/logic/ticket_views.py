"""Tickets as callers see them: shared by the sale, cancellation and transfer, and free of the
signing and QR libraries so that functions which only show tickets do not load them."""

from __future__ import annotations

from gatepass.dal.tickets import TicketRecord
from gatepass.models.records import TicketStatus
from gatepass.models.tickets import Ticket


def ticket_view(record: TicketRecord) -> Ticket:
    return Ticket(
        ticket_id=record.ticket_id,
        event_id=record.event_id,
        holder=record.holder,
        status=ticket_status(record.status),
        code=record.code,
        issued_at=record.issued_at,
        checked_in_at=record.checked_in_at,
        order_id=record.order_id,
        ticket_type_id=record.ticket_type_id,
        attendee_name=record.attendee_name or "",
        revoked_at=record.revoked_at,
        revoked_reason=record.revoked_reason,
    )


def ticket_status(value: str) -> TicketStatus:
    statuses: dict[str, TicketStatus] = {
        "issued": "issued",
        "checked_in": "checked_in",
        "cancelled": "cancelled",
        "transferred": "transferred",
        "reissued": "reissued",
    }
    return statuses.get(value, "issued")
