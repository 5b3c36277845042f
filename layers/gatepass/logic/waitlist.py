"""The waiting list: joining a sold-out type's line, leaving it, seeing one's place; offering
set-aside seats to the head of the line; claiming or declining an offer; closing the lines of a
cancelled event (docs/decisions/0051).

Where a freed seat goes is decided by the transaction that frees it (``gatepass.dal.orders``,
``gatepass.dal.events``): to the line while someone waits, else back to sale. The stream
consumer (``WaitlistFunction``) then matches each set-aside seat to the head of the line, emails
the link and starts the offer's timer; an offer that expires or is declined gives its seat on.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Literal

from gatepass import clock, ids
from gatepass.dal.events import EventStore
from gatepass.dal.layout import entry_sort_key, offer_execution_name
from gatepass.dal.mail import Mailer
from gatepass.dal.waitlist import (
    JoinRefused,
    LineMoved,
    OfferMade,
    OfferRefused,
    SeatsSetAside,
    SoldOutBy,
    WaitlistChange,
    WaitlistStore,
)
from gatepass.dal.workflow import Workflow
from gatepass.errors import (
    AlreadyWaiting,
    Conflict,
    EventCancelled,
    EventStarted,
    Forbidden,
    GatepassError,
    NotFound,
    NotSoldOut,
    NotWaiting,
    OfferAlreadyClaimed,
    OfferDeclined,
    OfferExpired,
    UnknownTicketType,
)
from gatepass.models.records import SEATS_NEED, EventRecord, TicketTypeRecord
from gatepass.models.waitlist import (
    DeclineOfferRequest,
    EntryRecord,
    JoinWaitlistRequest,
    LeaveWaitlistRequest,
    MyWaitlistResponse,
    Offer,
    OfferRecord,
    OfferResponse,
    WaitlistEntry,
    WaitlistEntryResponse,
)
from gatepass.observability import MetricUnit, logger, metrics

# Tries when the line or its counters move between a read and the write that relies on it.
ATTEMPTS = 8
# Seats one stream record may match before the next record of the type carries on.
MATCHES_PER_RECORD = 100


# ---------------------------------------------------------------------------- the line


def join_waitlist(
    request: JoinWaitlistRequest, person: str, *, events: EventStore, waitlist: WaitlistStore
) -> WaitlistEntryResponse:
    """Join a sold-out type's line; answers the new entry with its position."""
    for _ in range(ATTEMPTS):
        event, kind = _event_and_type(request.event_id, request.ticket_type_id, events)
        now = clock.now()
        check_on_sale(event.status, event.starts_at, clock.iso(now))
        existing = waitlist.live_entry(event.event_id, kind.ticket_type_id, person)
        if existing is not None:
            raise _already_waiting(existing, waitlist)
        left = min(kind.available, event.seats_left)
        if left > 0:
            raise NotSoldOut(
                f"{kind.name} tickets are not sold out: {left} left. Take one instead.",
                details={"ticket_type_id": kind.ticket_type_id, "left": left},
            )
        joined_at = now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        entry_id = ids.new_id()
        entry = EntryRecord(
            event_id=event.event_id,
            ticket_type_id=kind.ticket_type_id,
            entry_id=entry_id,
            entry_sk=entry_sort_key(joined_at, entry_id),
            person=person,
            status="waiting",
            joined_at=joined_at,
            updated_at=joined_at,
        )
        counter: Literal["type", "seats"] = "type" if kind.available <= 0 else "seats"
        by = SoldOutBy(
            counter=counter,
            shards=event.stock.shards,
            need=kind.ticket_type_id if counter == "type" else SEATS_NEED,
            known_empty=event.stock.empty_for(
                kind.ticket_type_id if counter == "type" else SEATS_NEED
            ),
        )
        try:
            waitlist.join(entry, sold_out_by=by, now=clock.iso(now))
        except JoinRefused as refused:
            _explain_join(refused, waitlist, event.event_id, kind.ticket_type_id, person)
            continue  # a seat came free meanwhile: read again
        metrics.add_metric(name="WaitlistJoined", unit=MetricUnit.Count, value=1)
        logger.info("joined a waiting list", extra={"event_id": event.event_id})
        return WaitlistEntryResponse(entry=_entry_view(entry, waitlist))
    raise Conflict("The event is changing fast; try again.")


def _explain_join(
    refused: JoinRefused, waitlist: WaitlistStore, event_id: str, type_id: str, person: str
) -> None:
    """Raise what a refused join means, or return when it is worth reading again."""
    if refused.entry_sk:
        existing = waitlist.live_entry(event_id, type_id, person)
        if existing is not None:
            raise _already_waiting(existing, waitlist)
        return
    if refused.seats_refused:
        if refused.seats is None:
            raise NotFound("No such event.")
        check_on_sale(refused.seats.status, refused.seats.starts_at, clock.iso(clock.now()))
    if refused.type_refused and refused.kind is None:
        raise UnknownTicketType(
            "This event has no such ticket type.", details={"ticket_type_ids": [type_id]}
        )


def _already_waiting(entry: EntryRecord, waitlist: WaitlistStore) -> AlreadyWaiting:
    view = _entry_view(entry, waitlist)
    return AlreadyWaiting(
        "You are already on this waiting list.", details={"entry": view.model_dump()}
    )


def leave_waitlist(
    request: LeaveWaitlistRequest, person: str, *, waitlist: WaitlistStore
) -> WaitlistEntryResponse:
    """Leave a line. Holding an offer, leaving declines it (the seat passes on)."""
    for _ in range(ATTEMPTS):
        entry = waitlist.live_entry(request.event_id, request.ticket_type_id, person)
        if entry is None:
            raise NotWaiting(
                "You are not on this waiting list.",
                details={"event_id": request.event_id, "ticket_type_id": request.ticket_type_id},
            )
        now = clock.iso(clock.now())
        if entry.status == "offered" and entry.offer_id:
            decline_offer(DeclineOfferRequest(offer_id=entry.offer_id), person, waitlist=waitlist)
            ended = entry.model_copy(update={"status": "declined"})
            return WaitlistEntryResponse(entry=_entry_view(ended, waitlist))
        kind = waitlist.ticket_type(entry.event_id, entry.ticket_type_id)
        if kind is None:
            raise NotFound("This event has no such ticket type.")
        try:
            waitlist.leave(entry, kind, now=now)
        except LineMoved:
            continue
        logger.info("left a waiting list", extra={"event_id": entry.event_id})
        left = entry.model_copy(update={"status": "left"})
        return WaitlistEntryResponse(entry=_entry_view(left, waitlist))
    raise Conflict("The waiting list is changing fast; try again.")


def my_waitlist(person: str, *, waitlist: WaitlistStore) -> MyWaitlistResponse:
    return MyWaitlistResponse(
        entries=[_entry_view(entry, waitlist) for entry in waitlist.person_entries(person)]
    )


def _entry_view(entry: EntryRecord, waitlist: WaitlistStore) -> WaitlistEntry:
    return WaitlistEntry(
        entry_id=entry.entry_id,
        event_id=entry.event_id,
        ticket_type_id=entry.ticket_type_id,
        status=entry.status,
        joined_at=entry.joined_at,
        position=waitlist.position(entry) if entry.status == "waiting" else None,
        offer_id=entry.offer_id if entry.status == "offered" else None,
        offer_expires_at=entry.expires_at if entry.status == "offered" else None,
    )


def _event_and_type(
    event_id: str, ticket_type_id: str, events: EventStore
) -> tuple[EventRecord, TicketTypeRecord]:
    event = events.get_counted(event_id)
    if event is None:
        raise NotFound("No such event.")
    kind = next((k for k in event.ticket_types if k.ticket_type_id == ticket_type_id), None)
    if kind is None:
        raise UnknownTicketType(
            "This event has no such ticket type.", details={"ticket_type_ids": [ticket_type_id]}
        )
    return event, kind


def check_on_sale(status: str, starts_at: str, now: str) -> None:
    if status == "cancelled":
        raise EventCancelled("This event has been cancelled; its waiting lists are closed.")
    if starts_at <= now:
        raise EventStarted("This event has started; its waiting lists are closed.")


# ---------------------------------------------------------------------------- offers (stream)


def offer_seats(
    event_id: str, ticket_type_id: str, *, waitlist: WaitlistStore, lifetime_seconds: int
) -> list[OfferRecord]:
    """Offer every seat set aside for a type's line to the head of the line, one transaction
    a seat; safe to run twice at once (each seat and each person is matched once)."""
    made: list[OfferRecord] = []
    for _ in range(MATCHES_PER_RECORD):
        kind = waitlist.ticket_type(event_id, ticket_type_id)
        if kind is None or kind.unassigned < 1:
            break
        head = waitlist.head_of_line(event_id, ticket_type_id)
        if head is None:
            logger.error(
                "seats set aside for a line nobody waits in",
                extra={"event_id": event_id, "unassigned": kind.unassigned},
            )
            break
        now = clock.now()
        offer = OfferRecord(
            offer_id=ids.new_id(),
            event_id=event_id,
            ticket_type_id=ticket_type_id,
            person=head.person,
            entry_id=head.entry_id,
            entry_sk=head.entry_sk,
            status="open",
            offered_at=clock.iso(now),
            expires_at=clock.iso(now + timedelta(seconds=lifetime_seconds)),
            updated_at=clock.iso(now),
        )
        outcome = waitlist.offer_seat(head, offer, now=clock.iso(now))
        if outcome == "closed":
            logger.info("no offers: the event is over or cancelled", extra={"event_id": event_id})
            break
        if outcome == "offered":
            made.append(offer)
            metrics.add_metric(name="WaitlistOffers", unit=MetricUnit.Count, value=1)
    return made


def announce_offer(
    offer: OfferRecord,
    *,
    events: EventStore,
    waitlist: WaitlistStore,
    mailer: Mailer,
    workflow: Workflow,
    site_url: str,
) -> None:
    """Start the offer's timer (one execution per offer, by name) and email its link. A
    retried record starts nothing new and may send the same link again."""
    expires = datetime.fromisoformat(offer.expires_at.replace("Z", "+00:00"))
    wait = max(0, math.ceil((expires - clock.now()).total_seconds()))
    workflow.start(
        offer_execution_name(offer.offer_id),
        {"offer_id": offer.offer_id, "expires_at": offer.expires_at, "wait_seconds": wait},
    )
    current = waitlist.get_offer(offer.offer_id)
    if current is None or current.status != "open":
        return  # a replayed record of an offer that has ended: no mail
    event = events.get(offer.event_id)
    title = event.title if event else "your event"
    kinds = {k.ticket_type_id: k.name for k in (event.ticket_types if event else ())}
    kind_name = kinds.get(offer.ticket_type_id, "ticket")
    link = f"{site_url.rstrip('/')}/offers/{offer.offer_id}"
    mailer.send(
        offer.person,
        f"A seat for you: {title}",
        f"A {kind_name} seat for {title} came free and is offered to you until "
        f"{offer.expires_at} (UTC).\n\nClaim it here: {link}\n\n"
        "If you do not want it, decline it on the same page so that it goes to the next "
        "person in line. After that time it passes on by itself.",
    )
    logger.info("offer announced", extra={"offer_id": offer.offer_id})


def settle_offer(offer_id: str, *, waitlist: WaitlistStore) -> None:
    """An offer that expired or was declined gives its seat on, exactly once."""
    for _ in range(ATTEMPTS):
        offer = waitlist.get_offer(offer_id)
        if offer is None or offer.seat_settled or offer.status not in ("expired", "declined"):
            return
        kind = waitlist.ticket_type(offer.event_id, offer.ticket_type_id)
        if kind is None:
            return
        if waitlist.settle_offer(offer, kind, now=clock.iso(clock.now())):
            metrics.add_metric(name="WaitlistOffersEnded", unit=MetricUnit.Count, value=1)
            return
    raise RuntimeError("the line kept moving while an offer's seat was given on")


# ---------------------------------------------------------------------------- decline


def decline_offer(
    request: DeclineOfferRequest, person: str, *, waitlist: WaitlistStore
) -> OfferResponse:
    """Give the offered seat up: it passes to the next person in line (or back to sale)."""
    offer = callers_offer(request.offer_id, person, waitlist)
    now = clock.iso(clock.now())
    check_open(offer, now)
    try:
        waitlist.decline(offer, person=person, now=now)
    except OfferRefused as refused:
        raise offer_state(refused.offer or offer, now) or Conflict(
            "The offer changed meanwhile; try again."
        ) from None
    logger.info("offer declined", extra={"offer_id": offer.offer_id})
    return OfferResponse(offer=offer_view(offer.model_copy(update={"status": "declined"})))


def callers_offer(offer_id: str, person: str, waitlist: WaitlistStore) -> OfferRecord:
    offer = waitlist.get_offer(offer_id)
    if offer is None:
        raise NotFound("No such offer.")
    if offer.person != person:
        raise Forbidden("This offer was made to someone else.")
    return offer


def check_open(offer: OfferRecord, now: str) -> None:
    problem = offer_state(offer, now)
    if problem is not None:
        raise problem


def offer_state(offer: OfferRecord, now: str) -> GatepassError | None:
    detail = {"offer_id": offer.offer_id, "offer_status": offer.status}
    if offer.status == "claimed":
        return OfferAlreadyClaimed(
            "This offer has already been claimed.", details={**detail, "order_id": offer.order_id}
        )
    if offer.status == "declined":
        return OfferDeclined("This offer was declined.", details=detail)
    if offer.status == "withdrawn":
        return EventCancelled("This event has been cancelled; its offers are withdrawn.")
    if offer.status == "expired" or offer.expires_at <= now:
        return OfferExpired(
            f"This offer expired at {offer.expires_at}.",
            details={**detail, "offer_status": "expired", "expires_at": offer.expires_at},
        )
    return None


def offer_view(offer: OfferRecord) -> Offer:
    return Offer(
        offer_id=offer.offer_id,
        event_id=offer.event_id,
        ticket_type_id=offer.ticket_type_id,
        status=offer.status,
        offered_at=offer.offered_at,
        expires_at=offer.expires_at,
        order_id=offer.order_id,
    )


# ---------------------------------------------------------------------------- a cancelled event


def close_lines(event: EventRecord, *, waitlist: WaitlistStore, mailer: Mailer) -> int:
    """End every live entry of a cancelled event (open offers are withdrawn), zero its lines'
    counters and tell each person; safe to repeat. Returns how many entries were closed."""
    now = clock.iso(clock.now())
    closed: list[EntryRecord] = []
    for kind in event.ticket_types:
        for _ in range(ATTEMPTS):
            live = waitlist.live_entries(event.event_id, kind.ticket_type_id)
            if not live:
                break
            closed += [entry for entry in live if waitlist.close_entry(entry, now=now)]
        waitlist.close_line(event.event_id, kind.ticket_type_id)
    for person in sorted({entry.person for entry in closed}):
        try:
            mailer.send(
                person,
                f"Cancelled: {event.title}",
                f"{event.title} on {event.starts_at[:10]} has been cancelled by its organizer. "
                "You are no longer on its waiting list, and any seat offered to you is "
                "withdrawn.",
            )
        except Exception:
            logger.exception("waiting-list mail not sent", extra={"event_id": event.event_id})
    return len(closed)


# ---------------------------------------------------------------------------- the stream


def react(
    change: WaitlistChange,
    *,
    events: EventStore,
    waitlist: WaitlistStore,
    mailer: Mailer,
    workflow: Workflow,
    site_url: str,
    lifetime_seconds: int,
) -> None:
    """What WaitlistFunction does with one stream record of the TicketingTable."""
    if isinstance(change, SeatsSetAside):
        offer_seats(
            change.event_id,
            change.ticket_type_id,
            waitlist=waitlist,
            lifetime_seconds=lifetime_seconds,
        )
    elif isinstance(change, OfferMade):
        announce_offer(
            change.offer,
            events=events,
            waitlist=waitlist,
            mailer=mailer,
            workflow=workflow,
            site_url=site_url,
        )
    else:
        settle_offer(change.offer_id, waitlist=waitlist)
