"""An event's door as every door route reads it: the event, its staff and gates
(``DoorState``), the caller's part there, and its gates and ticket types as scanners see them.
Check-in, the scanner bundle and the organizer's door routes (``gatepass.logic.door``) share
these; keeping them apart keeps the organizer's request and answer models out of check-in's and
the bundle's cold start (docs/decisions/0083)."""

from __future__ import annotations

from gatepass import ids
from gatepass.dal.door import DoorState, DoorStore
from gatepass.errors import NotDoorStaff, NotFound, StaffRevoked
from gatepass.models.records import GateRecord
from gatepass.models.scanner import DoorRole, DoorTicketType, PublicGate


def door_of(event_id: str, *, door: DoorStore) -> DoorState:
    if not ids.is_id(event_id):
        raise NotFound("No such event.")
    state = door.door(event_id)
    if state is None:
        raise NotFound("No such event.")
    return state


def role_of(state: DoorState, caller: str) -> DoorRole:
    """The caller's part at this event's door; raises when they have none."""
    if state.event.organizer == caller:
        return "organizer"
    member = state.staff.get(caller)
    if member is None:
        raise NotDoorStaff("Only the event's organizer and its door staff can scan for it.")
    if member.status != "active":
        raise StaffRevoked(
            "The organizer has revoked your door access for this event.",
            details={"revoked_at": member.revoked_at},
        )
    return "staff"


def door_ticket_types(state: DoorState) -> list[DoorTicketType]:
    return [
        DoorTicketType(ticket_type_id=k.ticket_type_id, name=k.name, multi_entry=k.multi_entry)
        for k in state.event.ticket_types
    ]


def public_gate(gate: GateRecord) -> PublicGate:
    return PublicGate(
        gate_id=gate.gate_id,
        name=gate.name,
        ticket_type_ids=list(gate.ticket_type_ids),
        mode=gate.mode,
        closed=gate.closed,
        entries=gate.entries,
        exits=gate.exits,
        inside=gate.inside,
    )
