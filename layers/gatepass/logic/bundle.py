"""The offline scanner's bundle (docs/decisions/0061): everything a scanner needs to judge
codes with no network, signed so that a bundle changed anywhere after it left here is refused.

Only the organizer and active door staff get one. It holds the event's verifying keys, its
ticket types and gates, every live ticket with its type and holder's name, the revoked tickets
and who is inside now. Holders' addresses are not in it: a ticket without an attendee name
shows its address masked.
"""

from __future__ import annotations

from gatepass import clock
from gatepass.bundles import BundleSigner
from gatepass.dal.door import DoorStore
from gatepass.keys import TicketKeys
from gatepass.logic.door_state import door_of, door_ticket_types, public_gate, role_of
from gatepass.models.records import LIVE_STATUSES
from gatepass.models.scanner import (
    BundleContent,
    BundleKey,
    BundleRevocation,
    BundleTicket,
    SignedBundle,
)
from gatepass.observability import logger


def scanner_bundle(
    event_id: str,
    caller: str,
    *,
    door: DoorStore,
    keys: TicketKeys,
    signer: BundleSigner,
) -> SignedBundle:
    state = door_of(event_id, door=door)
    role = role_of(state, caller)
    live: list[BundleTicket] = []
    revoked: list[BundleRevocation] = []
    for ticket in door.tickets(event_id):
        if ticket.status in LIVE_STATUSES:
            checked_in = ticket.status == "checked_in"
            live.append(
                BundleTicket(
                    ticket_id=ticket.ticket_id,
                    ticket_type_id=ticket.ticket_type_id or "",
                    name=ticket.attendee_name or mask(ticket.holder),
                    status="checked_in" if checked_in else "issued",
                    presence=("left" if ticket.presence == "left" else "inside")
                    if checked_in
                    else None,
                )
            )
        else:
            revoked.append(
                BundleRevocation(
                    ticket_id=ticket.ticket_id,
                    reason=ticket.revoked_reason or ticket.status,
                    revoked_at=ticket.revoked_at or "",
                )
            )
    content = BundleContent(
        event_id=state.event.event_id,
        title=state.event.title,
        starts_at=state.event.starts_at,
        issued_at=clock.iso(clock.now()),
        issued_to=caller,
        role=role,
        # Read fresh: a bundle must carry a key rotated a moment ago (docs/decisions/0064).
        verifying_keys=keys.verifying_keys(event_id, fresh=True),
        ticket_types=door_ticket_types(state),
        gates=[public_gate(g) for g in state.gates],
        tickets=live,
        revoked=revoked,
        inside=[t.ticket_id for t in live if t.presence == "inside"],
    )
    logger.info(
        "scanner bundle issued",
        extra={"event_id": event_id, "tickets": len(live), "revoked": len(revoked)},
    )
    return signer.sign(content.model_dump())


def bundle_key(*, signer: BundleSigner) -> BundleKey:
    return signer.public_key()


def mask(address: str) -> str:
    local, _, domain = address.partition("@")
    return f"{local[:1]}…@{domain}" if domain else "…"
