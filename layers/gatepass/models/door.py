"""The door as its organizer runs it: staff who may scan one event, gates with the types they
admit, and what the door looks like now (docs/decisions/0060, 0061). What scanners send and get
back is ``gatepass.models.scanner``; what is stored, ``gatepass.models.records``."""

from __future__ import annotations

from typing import Annotated

from pydantic import ConfigDict, Field, StringConstraints

from gatepass.models.common import Email, GatepassId, Model
from gatepass.models.records import Direction, GateMode, StaffStatus
from gatepass.models.scanner import DoorRole, DoorTicketType, PublicGate

MAX_GATES = 20
MAX_DOOR_STAFF = 200

GateName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]


# ---------------------------------------------------------------------------- requests


class AddDoorStaffRequest(Model):
    model_config = ConfigDict(extra="forbid")

    event_id: GatepassId
    email: Email


class RemoveDoorStaffRequest(Model):
    model_config = ConfigDict(extra="forbid")

    event_id: GatepassId
    email: Email


class AddGateRequest(Model):
    """A gate (an entrance, or the door of an area); no ``ticket_type_ids`` admits every type."""

    model_config = ConfigDict(extra="forbid")

    event_id: GatepassId
    name: GateName
    ticket_type_ids: Annotated[list[GatepassId], Field(max_length=20)] = []
    mode: GateMode = "both"


class UpdateGateRequest(Model):
    """Only the fields given change; a closed gate scans nothing but keeps its counts."""

    model_config = ConfigDict(extra="forbid")

    event_id: GatepassId
    gate_id: GatepassId
    name: GateName | None = None
    ticket_type_ids: Annotated[list[GatepassId], Field(max_length=20)] | None = None
    mode: GateMode | None = None
    closed: bool | None = None


# ---------------------------------------------------------------------------- answers


class DoorStaffMember(Model):
    email: str
    status: StaffStatus
    invited_at: str
    revoked_at: str | None = None


class DoorStaffResponse(Model):
    event_id: str
    member: DoorStaffMember


class GateResponse(Model):
    event_id: str
    gate: PublicGate


class DoorTotals(Model):
    """``inside + left == arrived`` always; ``inside`` is the gates' ``inside`` plus
    ``inside_without_gate`` (scans made with no gate chosen)."""

    arrived: int
    inside: int
    left: int
    inside_without_gate: int


class ScanIssue(Model):
    nonce: str
    kind: str
    message: str
    ticket_id: str | None
    attendee_name: str
    gate_id: str | None
    direction: Direction
    scanned_by: str
    scanned_at: str
    synced_at: str
    first_checked_in_at: str | None
    first_checked_in_by: str | None
    first_gate_id: str | None


class EventDoor(Model):
    """What the door looks like now. Staff see the gates and counts; the organizer also sees
    the staff and the synced scans that need attention."""

    event_id: str
    title: str
    starts_at: str
    venue: str
    role: DoorRole
    ticket_types: list[DoorTicketType]
    gates: list[PublicGate]
    totals: DoorTotals
    staff: list[DoorStaffMember]
    issues: list[ScanIssue]


class DoorEvent(Model):
    event_id: str
    title: str
    starts_at: str
    venue: str
    role: DoorRole


class DoorEventList(Model):
    """The events the caller may scan as door staff (active invitations only)."""

    events: list[DoorEvent]
