"""The door's set-up (docs/decisions/0060): an organizer invites and revokes door staff and
defines gates; the organizer and active staff read the door's state and counts.

Only the organizer changes anything here. Staff are invited by address: the invitation is the
permission, so a person signs in as usual and finds the events they may scan.
"""

from __future__ import annotations

from typing import Any

from gatepass import clock, ids
from gatepass.dal.door import DoorState, DoorStore
from gatepass.errors import (
    EventCancelled,
    Forbidden,
    InvalidInput,
    NotFound,
    OrganizerIsStaff,
    TooManyDoorStaff,
    TooManyGates,
    UnknownGate,
)
from gatepass.logic.door_state import door_of, door_ticket_types, public_gate, role_of
from gatepass.models.door import (
    MAX_DOOR_STAFF,
    MAX_GATES,
    AddDoorStaffRequest,
    AddGateRequest,
    DoorEvent,
    DoorEventList,
    DoorStaffMember,
    DoorStaffResponse,
    DoorTotals,
    EventDoor,
    GateResponse,
    RemoveDoorStaffRequest,
    ScanIssue,
    UpdateGateRequest,
)
from gatepass.models.records import GateRecord, StaffRecord
from gatepass.observability import logger

ISSUES_SHOWN = 100


def _organizers(event_id: str, caller: str, door: DoorStore) -> DoorState:
    state = door_of(event_id, door=door)
    if state.event.organizer != caller:
        raise Forbidden("Only the event's organizer can change its door.")
    return state


# ---------------------------------------------------------------------------- staff


def add_door_staff(
    request: AddDoorStaffRequest, caller: str, *, door: DoorStore
) -> DoorStaffResponse:
    state = _organizers(request.event_id, caller, door)
    if state.event.status == "cancelled":
        raise EventCancelled("This event has been cancelled; nobody scans for it.")
    if request.email == state.event.organizer:
        raise OrganizerIsStaff("The organizer can already scan; invite someone else.")
    active = [m for m in state.staff.values() if m.status == "active"]
    existing = state.staff.get(request.email)
    if existing is not None and existing.status == "active":
        return DoorStaffResponse(event_id=request.event_id, member=_member(existing))
    if len(active) >= MAX_DOOR_STAFF:
        raise TooManyDoorStaff(
            f"An event has at most {MAX_DOOR_STAFF} door staff.",
            details={"max_door_staff": MAX_DOOR_STAFF},
        )
    member = StaffRecord(
        event_id=request.event_id,
        email=request.email,
        status="active",
        invited_at=clock.iso(clock.now()),
        invited_by=caller,
    )
    door.put_staff(member, starts_at=state.event.starts_at)
    logger.info("door staff added", extra={"event_id": request.event_id})
    return DoorStaffResponse(event_id=request.event_id, member=_member(member))


def remove_door_staff(
    request: RemoveDoorStaffRequest, caller: str, *, door: DoorStore
) -> DoorStaffResponse:
    _organizers(request.event_id, caller, door)
    revoked = door.revoke_staff(request.event_id, request.email, at=clock.iso(clock.now()))
    if revoked is None:
        raise NotFound("This address is not door staff of this event.")
    logger.info("door staff revoked", extra={"event_id": request.event_id})
    return DoorStaffResponse(event_id=request.event_id, member=_member(revoked))


def door_events(caller: str, *, door: DoorStore) -> DoorEventList:
    """The events the caller may scan as door staff, soonest first."""
    found = []
    for member in door.staff_events(caller):
        state = door.door(member.event_id)
        if state is None or state.event.status == "cancelled":
            continue
        found.append(
            DoorEvent(
                event_id=state.event.event_id,
                title=state.event.title,
                starts_at=state.event.starts_at,
                venue=state.event.venue,
                role="staff",
            )
        )
    return DoorEventList(events=found)


# ---------------------------------------------------------------------------- gates


def add_gate(request: AddGateRequest, caller: str, *, door: DoorStore) -> GateResponse:
    state = _organizers(request.event_id, caller, door)
    if state.event.status == "cancelled":
        raise EventCancelled("This event has been cancelled; its door stays as it is.")
    if len(state.gates) >= MAX_GATES:
        raise TooManyGates(
            f"An event has at most {MAX_GATES} gates.", details={"max_gates": MAX_GATES}
        )
    types = _known_types(state, request.ticket_type_ids)
    gate = GateRecord(
        event_id=request.event_id,
        gate_id=ids.new_id(),
        position=max((g.position for g in state.gates), default=-1) + 1,
        name=request.name,
        ticket_type_ids=types,
        mode=request.mode,
        created_at=clock.iso(clock.now()),
    )
    door.put_gate(gate)
    logger.info("gate added", extra={"event_id": request.event_id})
    return GateResponse(event_id=request.event_id, gate=public_gate(gate))


def update_gate(request: UpdateGateRequest, caller: str, *, door: DoorStore) -> GateResponse:
    state = _organizers(request.event_id, caller, door)
    if state.gate(request.gate_id) is None:
        raise UnknownGate("This event has no such gate.")
    given = request.model_fields_set
    changes: dict[str, Any] = {}
    for name in ("name", "mode", "closed"):
        value = getattr(request, name)
        if name in given and value is not None:
            changes[name] = value
    if "ticket_type_ids" in given and request.ticket_type_ids is not None:
        changes["ticket_type_ids"] = _known_types(state, request.ticket_type_ids)
    changed = door.update_gate(request.event_id, request.gate_id, changes)
    if changed is None:
        raise UnknownGate("This event has no such gate.")
    logger.info("gate changed", extra={"event_id": request.event_id})
    return GateResponse(event_id=request.event_id, gate=public_gate(changed))


def _known_types(state: DoorState, wanted: list[str]) -> tuple[str, ...]:
    known = {kind.ticket_type_id for kind in state.event.ticket_types}
    unknown = [type_id for type_id in wanted if type_id not in known]
    if unknown:
        raise InvalidInput(
            "A gate can only admit this event's ticket types.",
            details={"problems": [{"field": "ticket_type_ids", "problem": "not of this event"}]},
        )
    return tuple(dict.fromkeys(wanted))


# ---------------------------------------------------------------------------- reading the door


def event_door(event_id: str, caller: str, *, door: DoorStore) -> EventDoor:
    state = door_of(event_id, door=door)
    role = role_of(state, caller)
    organizer = role == "organizer"
    return EventDoor(
        event_id=state.event.event_id,
        title=state.event.title,
        starts_at=state.event.starts_at,
        venue=state.event.venue,
        role=role,
        ticket_types=door_ticket_types(state),
        gates=[public_gate(g) for g in state.gates],
        totals=totals_of(state),
        staff=[_member(m) for m in sorted(state.staff.values(), key=lambda m: m.invited_at)]
        if organizer
        else [],
        issues=[
            ScanIssue.model_validate(issue.model_dump())
            for issue in door.issues(event_id, limit=ISSUES_SHOWN)
        ]
        if organizer
        else [],
    )


def totals_of(state: DoorState) -> DoorTotals:
    gated = sum(g.inside for g in state.gates)
    return DoorTotals(
        arrived=state.event.checked_in,
        inside=state.inside,
        left=state.left,
        inside_without_gate=state.inside - gated,
    )


def _member(member: StaffRecord) -> DoorStaffMember:
    return DoorStaffMember(
        email=member.email,
        status=member.status,
        invited_at=member.invited_at,
        revoked_at=member.revoked_at,
    )
