"""Checking a ticket in at the door.

The code's signature is verified before anything is read from DynamoDB, so a forged or altered
code costs one Ed25519 verification and nothing else. Then only the event's organizer may check
in, and one transaction turns the ticket from ``issued`` into ``checked_in`` and counts it on the
event; a second scan answers 409 with the time of the first.
"""

from __future__ import annotations

from gatepass import clock, ticket_codes
from gatepass.dal.tickets import CheckInRefused, TicketRecord, TicketsDataAccess
from gatepass.errors import (
    AlreadyCheckedIn,
    Conflict,
    EventCancelled,
    Forbidden,
    NotFound,
    TicketRevoked,
    WrongEvent,
)
from gatepass.keys import TicketKeys
from gatepass.models.tickets import CheckInResult
from gatepass.observability import MetricUnit, metrics


def check_in(
    organizer: str, event_id: str, code: str, *, tickets: TicketsDataAccess, keys: TicketKeys
) -> CheckInResult:
    scanned = ticket_codes.verify(keys.seed(), code)
    if scanned.event_id != event_id:
        raise WrongEvent(
            "This ticket is for another event.", details={"ticket_event_id": scanned.event_id}
        )
    event = tickets.get_event(event_id)
    if event is None:
        raise NotFound("No such event.")
    if event.organizer != organizer:
        raise Forbidden("Only the event's organizer can check people in.")
    ticket = tickets.get_ticket(scanned.ticket_id)
    if ticket is None or ticket.event_id != event_id:
        raise NotFound("No such ticket.")
    if ticket.status == "checked_in":
        raise _already(ticket)
    if ticket.status != "issued":
        raise _revoked(ticket)
    now = clock.iso(clock.now())
    try:
        tickets.check_in(
            ticket_id=ticket.ticket_id,
            event_id=event_id,
            ticket_type_id=ticket.ticket_type_id or "",
            by=organizer,
            at=now,
        )
    except CheckInRefused as refused:
        if refused.ticket is None:
            raise NotFound("No such ticket.") from None
        if refused.ticket.status == "checked_in":
            # Scanned twice at the same moment: the other scan won.
            raise _already(refused.ticket) from None
        if refused.ticket.status != "issued":
            raise _revoked(refused.ticket) from None
        if refused.event_cancelled:
            raise EventCancelled("This event has been cancelled; nobody is checked in.") from None
        if refused.event_missing:
            raise NotFound("No such event.") from None
        raise Conflict("The ticket changed while it was being checked in; scan again.") from None
    metrics.add_metric(name="TicketsCheckedIn", unit=MetricUnit.Count, value=1)
    return CheckInResult(
        ticket_id=ticket.ticket_id,
        event_id=event_id,
        holder=ticket.holder,
        status="checked_in",
        checked_in_at=now,
        ticket_type_id=ticket.ticket_type_id,
        attendee_name=ticket.attendee_name or "",
    )


def _already(ticket: TicketRecord) -> AlreadyCheckedIn:
    return AlreadyCheckedIn(
        "This ticket has already been checked in.",
        details={"ticket_id": ticket.ticket_id, "first_checked_in_at": ticket.checked_in_at},
    )


def _revoked(ticket: TicketRecord) -> TicketRevoked:
    reasons = {
        "cancelled_by_holder": "This ticket was cancelled by its holder.",
        "event_cancelled": "This ticket was revoked: the event was cancelled.",
        "transferred": "This ticket was given to someone else; their new ticket replaces it.",
    }
    reason = ticket.revoked_reason or ticket.status
    return TicketRevoked(
        reasons.get(reason, "This ticket has been revoked."),
        details={"ticket_id": ticket.ticket_id, "reason": reason, "revoked_at": ticket.revoked_at},
    )
