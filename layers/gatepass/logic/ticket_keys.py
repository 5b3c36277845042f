"""An event's ticket keys: publishing and rotating them (docs/decisions/0064).

Rotating gives the event a new random key pair: new tickets are signed with it; every code
already issued stays valid, because the old public keys stay among the event's verifying keys.
Replacing one leaked code is ``gatepass.logic.reissue``.
"""

from __future__ import annotations

from gatepass import clock, ids
from gatepass.dal.ticket_keys import KeyRing, KeyRingChanged, TicketKeyStore
from gatepass.errors import Conflict, Forbidden, NotFound
from gatepass.keys import TicketKeys
from gatepass.models.ticket_keys import EventKeys, RotateEventKeyRequest
from gatepass.observability import MetricUnit, logger, metrics


def published_keys(event_id: str, *, key_store: TicketKeyStore) -> EventKeys:
    """Every valid verifying key of the event by key id: public, for offline scanners."""
    wanted = event_id.strip().lower()
    ring = key_store.key_ring(wanted) if ids.is_id(wanted) else None
    if ring is None:
        raise NotFound("No such event.")
    return _published(ring)


def rotate_event_key(
    request: RotateEventKeyRequest,
    organizer: str,
    *,
    key_store: TicketKeyStore,
    keys: TicketKeys,
) -> EventKeys:
    """A new signing key for the event; the keys it had stay valid for the codes they signed."""
    ring = organizers_ring(request.event_id, organizer, key_store=key_store)
    _, sealed = keys.new_key(ring.event_id)
    try:
        rotated = key_store.add_key(ring, sealed, at=clock.iso(clock.now()))
    except KeyRingChanged:
        raise Conflict(
            "The event's keys changed while this rotation was made; try again."
        ) from None
    logger.info(
        "ticket key rotated",
        extra={
            "event_id": ring.event_id,
            "previous_key_id": ring.signing_key_id,
            "key_id": rotated.signing_key_id,
        },
    )
    metrics.add_metric(name="TicketKeysRotated", unit=MetricUnit.Count, value=1)
    return _published(rotated)


def organizers_ring(event_id: str, organizer: str, *, key_store: TicketKeyStore) -> KeyRing:
    ring = key_store.key_ring(event_id)
    if ring is None:
        raise NotFound("No such event.")
    if ring.organizer != organizer:
        raise Forbidden("Only the event's organizer can manage its ticket keys.")
    return ring


def _published(ring: KeyRing) -> EventKeys:
    return EventKeys(
        event_id=ring.event_id,
        signing_key_id=ring.signing_key_id,
        verifying_keys=dict(sorted(ring.verifying_keys.items())),
    )
