"""Emailing each holder their ticket once it is issued (docs/decisions/0067).

Runs on the TicketingTable stream, never inside the sale: a ticket item that appears as
``issued`` (an order, a transfer's new ticket, a claimed waiting-list offer: every path that
issues a ticket writes that item) is mailed to its holder. The mail carries the event, the ticket
type, the attendee's name, the code as text and a link to the ticket's page on the site; through
SES it is HTML with the QR image inline, through SNS plain text.

The ticket is read again before sending, so one cancelled or given away in the meantime is not
mailed; a claim item makes a repeated stream record mail once.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from html import escape
from typing import Any, Literal

from gatepass import clock
from gatepass.dal.deliveries import DeliveryStore
from gatepass.dal.events import EventStore
from gatepass.dal.mail import InlineImage, RichMail, RichMailer
from gatepass.dal.orders import OrderStore
from gatepass.dal.tickets import TicketRecord
from gatepass.logic.ticket_pages import ticket_page_url
from gatepass.models.records import EventRecord
from gatepass.observability import MetricUnit, logger, metrics

Outcome = Literal["sent", "already_sent", "not_issued", "missing"]
# Longer than one invocation can take (the function's timeout is 30 s): a claim this old was
# left by an invocation that died between claiming and recording, and may be taken again.
CLAIM_LEASE = timedelta(minutes=5)


class DeliveryInFlight(Exception):
    """Another invocation claimed this ticket's mail moments ago; retry the record later."""


def deliver_ticket(
    ticket_id: str,
    *,
    orders: OrderStore,
    events: EventStore,
    deliveries: DeliveryStore,
    mailer: RichMailer,
    channel: str,
    site_url: str | None,
) -> Outcome:
    found = orders.get_tickets([ticket_id])
    if not found:
        return "missing"
    (ticket,) = found
    if ticket.status != "issued":
        # Cancelled or given away before its mail went out: nothing valid to send.
        return "not_issued"
    event = events.get(ticket.event_id)
    if event is None:
        return "missing"
    now = clock.now()
    claim = deliveries.claim(
        ticket_id, now=clock.iso(now), stale_before=clock.iso(now - CLAIM_LEASE)
    )
    if claim == "sent":
        metrics.add_metric(name="TicketMailsRepeated", unit=MetricUnit.Count, value=1)
        return "already_sent"
    if claim == "in_flight":
        raise DeliveryInFlight(ticket_id)
    giver = _giver(ticket, orders)
    mail = ticket_mail(ticket, event, site_url=site_url, giver=giver, with_html=mailer.carries_html)
    try:
        message_id = mailer.send_rich(ticket.holder, mail)
    except Exception:
        deliveries.release(ticket_id)
        raise
    deliveries.mark_sent(
        ticket_id, now=clock.iso(clock.now()), message_id=message_id, channel=channel
    )
    metrics.add_metric(name="TicketMailsSent", unit=MetricUnit.Count, value=1)
    logger.info("ticket mailed", extra={"ticket_id": ticket_id, "channel": channel})
    return "sent"


def _giver(ticket: TicketRecord, orders: OrderStore) -> str | None:
    if not ticket.transferred_from:
        return None
    previous = orders.get_tickets([ticket.transferred_from])
    # A reissued code (docs/decisions/0064) replaces the holder's own ticket: nobody gave it.
    if not previous or previous[0].holder == ticket.holder:
        return None
    return previous[0].holder


def ticket_mail(
    ticket: TicketRecord,
    event: EventRecord,
    *,
    site_url: str | None,
    giver: str | None,
    with_html: bool,
) -> RichMail:
    """The ticket's email: plain text, and HTML with the QR image as an inline part. Without
    ``with_html`` (a channel that carries text only, like SNS email) the HTML and the image are
    not made: rendering a QR image nobody receives cost every such mail, and every cold start
    the QR encoder's import."""
    kind = next(
        (t.name for t in event.ticket_types if t.ticket_type_id == ticket.ticket_type_id),
        "Admission",
    )
    name = ticket.attendee_name or ticket.holder
    when = event.starts_at_local or event.starts_at
    link = ticket_page_url(site_url, ticket.ticket_id)
    intro = (
        f"{giver} gave you a ticket for {event.title}."
        if giver
        else f"Here is your ticket for {event.title}."
    )
    rows = [
        ("Event", event.title),
        ("When", when),
        ("Where", event.venue),
        ("Ticket type", kind),
        ("Name", name),
        ("Ticket", ticket.ticket_id),
    ]
    where_to_see = (
        f"Your ticket and its QR code: {link}"
        if link
        else "Sign in to Gatepass and find it under My tickets."
    )
    text = "\n".join(
        [
            intro,
            "",
            *(f"{label}: {value}" for label, value in rows if value),
            "",
            "Show the ticket's QR code at the door, or give this code:",
            ticket.code,
            "",
            where_to_see,
        ]
    )
    subject = f"Your ticket: {event.title}"
    if not with_html:
        return RichMail(subject=subject, text=text)
    from gatepass import qr

    content_id = f"qr-{ticket.ticket_id}@gatepass"
    table = "".join(
        f"<tr><th align='left'>{escape(label)}</th><td>{escape(value)}</td></tr>"
        for label, value in rows
        if value
    )
    link_html = (
        f"<p><a href='{escape(link)}'>Open your ticket on the site</a> "
        "(and add it to Apple Wallet or Google Wallet there).</p>"
        if link
        else "<p>Sign in to Gatepass and find it under My tickets.</p>"
    )
    html = (
        "<!doctype html><html><body style='font-family:sans-serif'>"
        f"<p>{escape(intro)}</p><table>{table}</table>"
        f"<p><img src='cid:{content_id}' alt='QR code of your ticket' width='328' height='328'>"
        "</p><p>Show this QR code at the door, or give this code:</p>"
        f"<p><code style='word-break:break-all'>{escape(ticket.code)}</code></p>"
        f"{link_html}</body></html>"
    )
    image = InlineImage(
        content_id=content_id,
        png=qr.render_png(ticket.code),
        filename=f"ticket-{ticket.ticket_id}.png",
    )
    return RichMail(subject=subject, text=text, html=html, images=(image,))


def issued_ticket_of(event_name: str, new_image: Mapping[str, Any] | None) -> str | None:
    """The ticket id of a stream record that issued a ticket, else None."""
    image = new_image or {}
    if event_name != "INSERT" or image.get("entity") != "ticket":
        return None
    if image.get("status") != "issued" or not image.get("ticket_id"):
        return None
    return str(image["ticket_id"])
