"""Adding a ticket to a phone wallet (docs/decisions/0068 and 0069): owner only. Google's save
link is here; Apple's pass is in ``gatepass.logic.apple_pass`` (it alone draws images).

The pass or link is made at each request from the ticket as it is now, so a cancelled or
given-away ticket (and every ticket of a cancelled event) comes out void: Apple's ``voided``,
Google's ``INACTIVE``. Installed passes learn of it only by push (Apple's web service and APNs,
Google's REST API), which needs the real accounts (docs/operations.md).
"""

from __future__ import annotations

from gatepass import clock, ids, wallet
from gatepass.dal.events import EventStore
from gatepass.dal.orders import OrderStore
from gatepass.dal.tickets import TicketRecord
from gatepass.errors import Forbidden, InvalidInput, NotFound
from gatepass.logic.ticket_pages import ticket_page_url
from gatepass.models.tickets import GoogleWalletLink
from gatepass.observability import MetricUnit, metrics


def owned_pass_ticket(
    caller: str, ticket_id: str, *, orders: OrderStore, events: EventStore
) -> wallet.PassTicket:
    """The caller's ticket as a pass shows it; 400 for a malformed id, 404, 403."""
    wanted = ticket_id.strip().lower()
    if not ids.is_id(wanted):
        raise InvalidInput(
            "ticket_id is not a ticket id.",
            details={"problems": [{"field": "ticket_id", "problem": "not a ticket id"}]},
        )
    found = orders.get_tickets([wanted])
    if not found:
        raise NotFound("No such ticket.")
    (ticket,) = found
    if ticket.holder != caller:
        raise Forbidden("This ticket belongs to someone else.")
    event = events.get(ticket.event_id)
    if event is None:
        raise NotFound("No such event.")
    kind = next(
        (t.name for t in event.ticket_types if t.ticket_type_id == ticket.ticket_type_id),
        "Admission",
    )
    return _pass_ticket(ticket, kind, event.title, event.venue, event.starts_at, event.status)


def _pass_ticket(
    ticket: TicketRecord, kind: str, title: str, venue: str, starts_at: str, event_status: str
) -> wallet.PassTicket:
    return wallet.PassTicket(
        ticket_id=ticket.ticket_id,
        code=ticket.code,
        status=ticket.status,
        attendee_name=ticket.attendee_name or ticket.holder,
        ticket_type=kind,
        event_id=ticket.event_id,
        event_title=title,
        venue=venue,
        starts_at=starts_at,
        event_cancelled=event_status == "cancelled",
    )


def google_wallet_link(
    caller: str,
    ticket_id: str,
    *,
    orders: OrderStore,
    events: EventStore,
    credentials: wallet.SecretGoogleCredentials,
    site_url: str | None,
) -> GoogleWalletLink:
    ticket = owned_pass_ticket(caller, ticket_id, orders=orders, events=events)
    signer = credentials.load()
    now = clock.now()
    origins = [site_url.rstrip("/")] if site_url and site_url.startswith("http") else []
    claims = wallet.google_claims(
        ticket,
        signer,
        now=now,
        origins=origins,
        ticket_url=ticket_page_url(site_url, ticket.ticket_id),
    )
    metrics.add_metric(name="WalletPassesIssued", unit=MetricUnit.Count, value=1)
    return GoogleWalletLink(
        ticket_id=ticket.ticket_id,
        save_url=wallet.google_save_url(claims, signer),
        state=wallet.google_state(ticket, now),
    )
