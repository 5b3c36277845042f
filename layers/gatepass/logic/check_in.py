"""Scanning a ticket at the door: in or out, at a gate, by the organizer or door staff
(docs/decisions/0060), one scan at a time or a scanner's queue at once (``sync_scans``).

The code's signature is verified first, with the event's key the code names among its published
verifying keys, which each container caches (no KMS call; at most one read per event every few
minutes, gatepass.ticket_keys), so a forged or altered code costs one Ed25519 verification.
Version 1 codes (events created before per-event keys) verify with the event's ``v1`` key
(docs/decisions/0064). Then the caller must be the event's
organizer or active door staff, the gate must scan that way and admit the ticket's type, and one
transaction moves the ticket and every counter it touches (``gatepass.dal.door``).

A ticket inside is refused at a second entry unless its type allows several entries; it leaves
through an exit scan and may then come in again. The first entry turns ``issued`` into
``checked_in`` (that time and scanner stay on the ticket); a second first-entry answers 409 with
the time of the first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from gatepass import clock, ticket_codes
from gatepass.dal.door import DoorState, DoorStore, ScanRefused, ScanWrite
from gatepass.dal.tickets import TicketRecord
from gatepass.errors import (
    AlreadyCheckedIn,
    Conflict,
    EventCancelled,
    GateClosed,
    GatepassError,
    NotFound,
    NotInside,
    StaffRevoked,
    TicketRevoked,
    UnknownGate,
    WrongDirection,
    WrongEvent,
    WrongGate,
)
from gatepass.keys import TicketKeys
from gatepass.logic.door_state import door_of, role_of
from gatepass.models.records import GateRecord, ScanIssueRecord, TicketTypeRecord, parse_moment
from gatepass.models.scanner import (
    CheckInRequest,
    CheckInResult,
    QueuedScan,
    ScanOutcome,
    SyncScansRequest,
    SyncScansResponse,
)
from gatepass.observability import MetricUnit, logger, metrics

Direction = Literal["in", "out"]
ATTEMPTS = 3


@dataclass(frozen=True)
class Scan:
    event_id: str
    code: str
    gate_id: str | None
    direction: Direction | None
    at: str
    nonce: str | None = None
    record: dict[str, Any] | None = None


def check_in(
    caller: str, request: CheckInRequest, *, door: DoorStore, keys: TicketKeys
) -> CheckInResult:
    scan = Scan(
        event_id=request.event_id,
        code=request.code,
        gate_id=request.gate_id,
        direction=request.direction,
        at=clock.iso(clock.now()),
    )
    ticket_id = _verified(scan, keys)
    state = door_of(scan.event_id, door=door)
    role_of(state, caller)
    return _apply(caller, scan, state, ticket_id, door=door)


def _verified(scan: Scan, keys: TicketKeys) -> str:
    """The ticket id of a genuine code of this event (nothing is read before this)."""
    parsed = ticket_codes.parse(scan.code)
    claimed = parsed.claims
    verifying = keys.verifying_keys(claimed.event_id, key_id=claimed.key_id)
    if not verifying:
        if claimed.event_id != scan.event_id:
            raise WrongEvent(
                "This ticket is for another event.", details={"ticket_event_id": claimed.event_id}
            )
        raise NotFound("No such event.")
    scanned = ticket_codes.verify_parsed(parsed, verifying)
    if scanned.event_id != scan.event_id:
        raise WrongEvent(
            "This ticket is for another event.", details={"ticket_event_id": scanned.event_id}
        )
    return scanned.ticket_id


def _apply(
    caller: str, scan: Scan, state: DoorState, ticket_id: str, *, door: DoorStore
) -> CheckInResult:
    gate = _gate(state, scan.gate_id)
    staff = None if state.event.organizer == caller else caller
    for _attempt in range(ATTEMPTS):
        ticket = door.get_ticket(ticket_id)
        if ticket is None or ticket.event_id != scan.event_id:
            raise NotFound("No such ticket.")
        kind = _type_of(state, ticket)
        write, result = _plan(caller, scan, state, gate, ticket, kind, staff)
        try:
            door.scan(write)
        except ScanRefused as refused:
            if refused.staff_revoked:
                raise StaffRevoked(
                    "The organizer has revoked your door access for this event."
                ) from None
            if refused.event_cancelled:
                raise EventCancelled(
                    "This event has been cancelled; nobody is checked in."
                ) from None
            if refused.event_missing:
                raise NotFound("No such event.") from None
            if refused.gate_refused:
                raise GateClosed("This gate is closed; scan at another gate.") from None
            if refused.duplicate:
                raise _Duplicate from None
            if refused.ticket_changed:
                # Another scan changed the ticket between our read and write: judge again.
                continue
            raise Conflict("The ticket changed while it was being scanned; scan again.") from None
        metrics.add_metric(
            name="TicketsCheckedIn" if result.direction == "in" else "TicketsScannedOut",
            unit=MetricUnit.Count,
            value=1,
        )
        return result
    raise Conflict("The ticket changed while it was being scanned; scan again.")


def _gate(state: DoorState, gate_id: str | None) -> GateRecord | None:
    if gate_id is None:
        return None
    gate = state.gate(gate_id)
    if gate is None:
        raise UnknownGate("This event has no such gate.")
    if gate.closed:
        raise GateClosed("This gate is closed; scan at another gate.", details=_gate_details(gate))
    return gate


def _type_of(state: DoorState, ticket: TicketRecord) -> TicketTypeRecord | None:
    return next(
        (k for k in state.event.ticket_types if k.ticket_type_id == ticket.ticket_type_id), None
    )


def _plan(
    caller: str,
    scan: Scan,
    state: DoorState,
    gate: GateRecord | None,
    ticket: TicketRecord,
    kind: TicketTypeRecord | None,
    staff: str | None,
) -> tuple[ScanWrite, CheckInResult]:
    about = _about(ticket, kind)
    direction: Direction = scan.direction or (
        "out" if gate is not None and gate.mode == "exit" else "in"
    )
    if gate is not None and not gate.scans(direction):
        raise WrongDirection(
            f"{gate.name} is for {'entries' if gate.mode == 'entry' else 'exits'} only.",
            details={**about, **_gate_details(gate), "direction": direction},
        )
    if ticket.status not in ("issued", "checked_in"):
        raise _revoked(ticket, about)
    if direction == "in" and gate is not None and not gate.admits(ticket.ticket_type_id):
        raise WrongGate(
            f"{gate.name} does not admit {about['ticket_type_name'] or 'this ticket type'}.",
            details={**about, **_gate_details(gate)},
        )
    first_entry = ticket.status == "issued"
    inside = not first_entry and ticket.presence != "left"
    gate_id = gate.gate_id if gate is not None else None
    totals: dict[str, int] = {}
    gate_deltas: dict[str, dict[str, int]] = {}

    def move(gate_key: str | None, name: str, amount: int) -> None:
        if gate_key is not None:
            gate_deltas.setdefault(gate_key, {}).setdefault(name, 0)
            gate_deltas[gate_key][name] += amount

    re_entry = False
    if direction == "in":
        if inside and not (kind is not None and kind.multi_entry):
            raise _already(ticket, about)
        if first_entry:
            totals["checked_in"] = 1
        elif not inside:
            totals["left"] = -1
            re_entry = True
        else:
            re_entry = True
            move(ticket.entry_gate, "inside", -1)
        move(gate_id, "entries", 1)
        move(gate_id, "inside", 1)
        presence = "inside"
    else:
        if not inside:
            raise NotInside(
                "This ticket is not inside, so it cannot leave."
                if first_entry
                else "This ticket already left; it has to come in before it can leave again.",
                details=about,
            )
        totals["left"] = 1
        move(ticket.entry_gate, "inside", -1)
        move(gate_id, "exits", 1)
        presence = "left"
    if gate_id is not None:
        gate_deltas.setdefault(gate_id, {})
    ticket_set: dict[str, Any] = {
        "presence": presence,
        "last_scan_at": scan.at,
        "last_scan_by": caller,
        "last_scan_direction": direction,
    }
    if gate_id is not None:
        ticket_set["last_scan_gate"] = gate_id
    if direction == "in":
        ticket_set["entry_gate"] = gate_id or ""
    if first_entry:
        ticket_set.update(
            {"status": "checked_in", "checked_in_at": scan.at, "checked_in_by": caller}
        )
        if gate_id is not None:
            ticket_set["checked_in_gate"] = gate_id
    result = CheckInResult(
        ticket_id=ticket.ticket_id,
        event_id=scan.event_id,
        holder=ticket.holder,
        status="checked_in",
        checked_in_at=scan.at if first_entry else (ticket.checked_in_at or scan.at),
        ticket_type_id=ticket.ticket_type_id,
        attendee_name=ticket.attendee_name or "",
        ticket_type_name=about["ticket_type_name"],
        direction=direction,
        gate_id=gate_id,
        scanned_by=caller,
        scanned_at=scan.at,
        presence="inside" if direction == "in" else "left",
        re_entry=re_entry,
    )
    record = None
    if scan.nonce is not None:
        record = _record(
            scan,
            caller,
            ScanOutcome(
                nonce=scan.nonce,
                outcome="admitted" if direction == "in" else "exited",
                ticket_id=ticket.ticket_id,
                attendee_name=result.attendee_name,
                ticket_type_name=result.ticket_type_name,
                gate_id=gate_id,
                direction=direction,
                at=scan.at,
                first_checked_in_at=result.checked_in_at,
            ),
        )
    write = ScanWrite(
        event_id=scan.event_id,
        ticket_id=ticket.ticket_id,
        ticket_version=ticket.version,
        first_entry=first_entry,
        ticket_type_id=ticket.ticket_type_id or "",
        ticket_set=ticket_set,
        ticket_add={"entries": 1} if direction == "in" else {"exits": 1},
        totals=totals,
        scan_gate=gate_id,
        gate_deltas={g: d for g, d in gate_deltas.items() if g},
        staff=staff,
        record=record,
    )
    return write, result


def _about(ticket: TicketRecord, kind: TicketTypeRecord | None) -> dict[str, Any]:
    return {
        "ticket_id": ticket.ticket_id,
        "attendee_name": ticket.attendee_name or "",
        "ticket_type_id": ticket.ticket_type_id,
        "ticket_type_name": kind.name if kind is not None else "",
    }


def _gate_details(gate: GateRecord) -> dict[str, Any]:
    return {"gate_id": gate.gate_id, "gate_name": gate.name}


def _already(ticket: TicketRecord, about: dict[str, Any]) -> AlreadyCheckedIn:
    return AlreadyCheckedIn(
        "This ticket is already checked in and inside.",
        details={
            **about,
            "first_checked_in_at": ticket.checked_in_at,
            "first_checked_in_by": ticket.checked_in_by,
            "first_gate_id": ticket.checked_in_gate,
        },
    )


def _revoked(ticket: TicketRecord, about: dict[str, Any]) -> TicketRevoked:
    reasons = {
        "cancelled_by_holder": "This ticket was cancelled by its holder.",
        "event_cancelled": "This ticket was revoked: the event was cancelled.",
        "transferred": "This ticket was given to someone else; their new ticket replaces it.",
        "reissued": "This code was replaced by a new one: the holder was emailed the new code.",
    }
    reason = ticket.revoked_reason or ticket.status
    return TicketRevoked(
        reasons.get(reason, "This ticket has been revoked."),
        details={**about, "reason": reason, "revoked_at": ticket.revoked_at},
    )


# ---------------------------------------------------------------------------- synced queues


class _Duplicate(Exception):
    """The scan's nonce was recorded by an earlier delivery of the same scan."""


def _record(scan: Scan, caller: str, outcome: ScanOutcome) -> dict[str, Any]:
    return {
        **outcome.model_dump(exclude_none=True, exclude={"duplicate"}),
        "scanned_by": caller,
        "offline": bool(scan.record and scan.record.get("offline")),
    }


def sync_scans(
    caller: str, request: SyncScansRequest, *, door: DoorStore, keys: TicketKeys
) -> SyncScansResponse:
    """Record each queued scan exactly once, in the order the scanner made them.

    Resending a scan (same nonce) answers what the first delivery recorded. A scan the scanner
    admitted offline that the server cannot admit now (another gate was first, the ticket was
    revoked meanwhile, the scanner's access was revoked) is kept with its reason and shown to
    the organizer; the first recorded entry stands.
    """
    state = door_of(request.event_id, door=door)
    try:
        role_of(state, caller)
        revoked_staff: GatepassError | None = None
    except StaffRevoked as revoked:
        # Their queued scans are still recorded, each refused, so the organizer sees them.
        revoked_staff = revoked
    synced_at = clock.iso(clock.now())
    results = []
    for queued in sorted(request.scans, key=lambda s: s.scanned_at):
        results.append(_sync_one(caller, queued, state, revoked_staff, synced_at, door, keys))
    return SyncScansResponse(event_id=request.event_id, results=results)


def _sync_one(
    caller: str,
    queued: QueuedScan,
    state: DoorState,
    revoked_staff: GatepassError | None,
    synced_at: str,
    door: DoorStore,
    keys: TicketKeys,
) -> ScanOutcome:
    earlier = door.get_scan(state.event.event_id, queued.nonce)
    if earlier is not None:
        return ScanOutcome.model_validate({**earlier, "duplicate": True})
    at = clock.iso(parse_moment(queued.scanned_at, "scanned_at"))
    scan = Scan(
        event_id=state.event.event_id,
        code=queued.code,
        gate_id=queued.gate_id,
        direction=queued.direction,
        at=at,
        nonce=queued.nonce,
        record={"offline": queued.offline},
    )
    try:
        if revoked_staff is not None:
            raise revoked_staff
        ticket_id = _verified(scan, keys)
        result = _apply(caller, scan, state, ticket_id, door=door)
    except _Duplicate:
        again = door.get_scan(state.event.event_id, queued.nonce)
        return ScanOutcome.model_validate(
            {**(again or {}), "nonce": queued.nonce, "duplicate": True}
        )
    except GatepassError as refusal:
        return _refused(caller, queued, scan, refusal, synced_at, state, door)
    return ScanOutcome(
        nonce=queued.nonce,
        outcome="admitted" if result.direction == "in" else "exited",
        ticket_id=result.ticket_id,
        attendee_name=result.attendee_name,
        ticket_type_name=result.ticket_type_name,
        gate_id=result.gate_id,
        direction=result.direction,
        at=at,
        first_checked_in_at=result.checked_in_at,
    )


def _refused(
    caller: str,
    queued: QueuedScan,
    scan: Scan,
    refusal: GatepassError,
    synced_at: str,
    state: DoorState,
    door: DoorStore,
) -> ScanOutcome:
    details = refusal.details
    conflict = queued.offline and isinstance(refusal, AlreadyCheckedIn)
    outcome = ScanOutcome(
        nonce=queued.nonce,
        outcome="conflict" if conflict else "refused",
        code=refusal.code,
        message=refusal.message,
        ticket_id=details.get("ticket_id"),
        attendee_name=str(details.get("attendee_name") or ""),
        ticket_type_name=str(details.get("ticket_type_name") or ""),
        gate_id=queued.gate_id,
        direction=queued.direction,
        at=scan.at,
        first_checked_in_at=details.get("first_checked_in_at"),
    )
    issue = None
    if queued.offline:
        # The scanner let this person through (or out) on its own: the organizer must know.
        issue = ScanIssueRecord(
            event_id=state.event.event_id,
            nonce=queued.nonce,
            kind="conflict" if conflict else refusal.code,
            message=refusal.message,
            ticket_id=outcome.ticket_id,
            attendee_name=outcome.attendee_name,
            gate_id=queued.gate_id,
            direction=queued.direction,
            scanned_by=caller,
            scanned_at=scan.at,
            synced_at=synced_at,
            first_checked_in_at=details.get("first_checked_in_at"),
            first_checked_in_by=details.get("first_checked_in_by"),
            first_gate_id=details.get("first_gate_id"),
        )
    recorded = door.record_refused_scan(
        state.event.event_id, queued.nonce, _record(scan, caller, outcome), issue
    )
    if not recorded:
        again = door.get_scan(state.event.event_id, queued.nonce)
        return ScanOutcome.model_validate(
            {**(again or {}), "nonce": queued.nonce, "duplicate": True}
        )
    logger.info(
        "synced scan refused",
        extra={"event_id": state.event.event_id, "code": refusal.code, "conflict": conflict},
    )
    if conflict:
        metrics.add_metric(name="ScanConflicts", unit=MetricUnit.Count, value=1)
    return outcome
