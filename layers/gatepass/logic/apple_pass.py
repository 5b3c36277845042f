"""An Apple Wallet pass of the caller's ticket (docs/decisions/0068), written anew at each
download so that it says whether the ticket still admits (``voided``), and linked briefly."""

from __future__ import annotations

from datetime import timedelta

from gatepass import clock, wallet
from gatepass.dal.events import EventStore
from gatepass.dal.orders import OrderStore
from gatepass.dal.passes import PassStore
from gatepass.logic.ticket_pages import ticket_page_url
from gatepass.logic.wallet import owned_pass_ticket
from gatepass.models.tickets import ApplePassLink
from gatepass.observability import MetricUnit, metrics


def apple_pass_link(
    caller: str,
    ticket_id: str,
    *,
    orders: OrderStore,
    events: EventStore,
    passes: PassStore,
    credentials: wallet.SecretAppleCredentials,
    site_url: str | None,
    ttl_seconds: int,
) -> ApplePassLink:
    ticket = owned_pass_ticket(caller, ticket_id, orders=orders, events=events)
    signer = credentials.load()
    document = wallet.pass_json(
        ticket, signer, ticket_url=ticket_page_url(site_url, ticket.ticket_id)
    )
    passes.put_pass(
        ticket.ticket_id, wallet.build_pkpass(document, wallet.pass_icon_pngs(), signer)
    )
    metrics.add_metric(name="WalletPassesIssued", unit=MetricUnit.Count, value=1)
    return ApplePassLink(
        ticket_id=ticket.ticket_id,
        url=passes.pass_url(ticket.ticket_id, ttl_seconds),
        expires_at=clock.iso(clock.now() + timedelta(seconds=ttl_seconds)),
        expires_in=ttl_seconds,
        voided=ticket.void,
    )
