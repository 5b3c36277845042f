"""The door: staff who may scan one event, gates with the types they admit, scans in and out,
the counts they keep, the offline scanner's bundle and the scans it syncs (docs/decisions/0060,
0061, 0062)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, StringConstraints, field_validator

from gatepass.models.common import Email, GatepassId, Model
from gatepass.models.orders import parse_moment
from gatepass.models.tickets import TicketCodeText

MAX_GATES = 20
MAX_DOOR_STAFF = 200
MAX_SYNC_SCANS = 100

GateMode = Literal["entry", "exit", "both"]
Direction = Literal["in", "out"]
StaffStatus = Literal["active", "revoked"]
Presence = Literal["inside", "left"]
DoorRole = Literal["organizer", "staff"]
GateName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]
ScanNonce = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{8,64}$")]
Moment = Annotated[str, StringConstraints(strip_whitespace=True, max_length=40)]


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


class QueuedScan(Model):
    """One scan a scanner made: ``offline`` says the person was already let through (or out) on
    the scanner's own judgement, so a refusal now is a conflict to report, not an answer."""

    model_config = ConfigDict(extra="forbid")

    nonce: ScanNonce
    code: TicketCodeText
    gate_id: GatepassId | None = None
    direction: Direction = "in"
    scanned_at: Moment
    offline: bool = True

    @field_validator("scanned_at")
    @classmethod
    def _aware(cls, value: str) -> str:
        parse_moment(value, "scanned_at")
        return value


class SyncScansRequest(Model):
    model_config = ConfigDict(extra="forbid")

    event_id: GatepassId
    scans: Annotated[list[QueuedScan], Field(min_length=1, max_length=MAX_SYNC_SCANS)]


# ---------------------------------------------------------------------------- stored records


class StaffRecord(Model):
    model_config = ConfigDict(frozen=True, extra="ignore")

    event_id: str
    email: str
    status: StaffStatus
    invited_at: str
    invited_by: str
    revoked_at: str | None = None

    @classmethod
    def of(cls, fields: Mapping[str, Any]) -> StaffRecord:
        return cls.model_validate(dict(fields))


class GateRecord(Model):
    """A gate and its counters: admitted entries and exits through it, and how many of those
    inside now came in through it."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    event_id: str
    gate_id: str
    position: int = 0
    name: str
    ticket_type_ids: tuple[str, ...] = ()
    mode: GateMode = "both"
    closed: bool = False
    entries: int = 0
    exits: int = 0
    inside: int = 0
    created_at: str = ""
    version: int = 1

    @classmethod
    def of(cls, fields: Mapping[str, Any]) -> GateRecord:
        return cls.model_validate(dict(fields))

    def admits(self, ticket_type_id: str | None) -> bool:
        return not self.ticket_type_ids or (ticket_type_id or "") in self.ticket_type_ids

    def scans(self, direction: Direction) -> bool:
        return self.mode == "both" or (self.mode == "entry") == (direction == "in")


class ScanIssueRecord(Model):
    """A synced scan the organizer should see: one that a scanner admitted offline but that
    lost to another scan (``already_checked_in``) or that was refused on arrival."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    event_id: str
    nonce: str
    kind: str
    message: str
    ticket_id: str | None = None
    attendee_name: str = ""
    gate_id: str | None = None
    direction: Direction = "in"
    scanned_by: str
    scanned_at: str
    synced_at: str
    first_checked_in_at: str | None = None
    first_checked_in_by: str | None = None
    first_gate_id: str | None = None

    @classmethod
    def of(cls, fields: Mapping[str, Any]) -> ScanIssueRecord:
        return cls.model_validate(dict(fields))


# ---------------------------------------------------------------------------- answers


class DoorStaffMember(Model):
    email: str
    status: StaffStatus
    invited_at: str
    revoked_at: str | None = None


class DoorStaffResponse(Model):
    event_id: str
    member: DoorStaffMember


class PublicGate(Model):
    gate_id: str
    name: str
    ticket_type_ids: list[str]
    mode: GateMode
    closed: bool
    entries: int
    exits: int
    inside: int


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


class DoorTicketType(Model):
    ticket_type_id: str
    name: str
    multi_entry: bool


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


ScanOutcomeKind = Literal["admitted", "exited", "refused", "conflict"]


class ScanOutcome(Model):
    nonce: str
    outcome: ScanOutcomeKind
    duplicate: bool = False
    code: str | None = None
    message: str = ""
    ticket_id: str | None = None
    attendee_name: str = ""
    ticket_type_name: str = ""
    gate_id: str | None = None
    direction: Direction = "in"
    at: str = ""
    first_checked_in_at: str | None = None


class SyncScansResponse(Model):
    event_id: str
    results: list[ScanOutcome]


# ---------------------------------------------------------------------------- the bundle


class BundleTicket(Model):
    ticket_id: str
    ticket_type_id: str
    name: str
    status: Literal["issued", "checked_in"]
    presence: Presence | None = None


class BundleRevocation(Model):
    ticket_id: str
    reason: str
    revoked_at: str


class BundleContent(Model):
    """What the scanner needs to judge codes alone. ``verifying_keys`` maps a key id to an
    event's Ed25519 public key (raw 32 bytes, base64url)."""

    format: Literal[1] = 1
    event_id: str
    title: str
    starts_at: str
    issued_at: str
    issued_to: str
    role: DoorRole
    verifying_keys: dict[str, str]
    ticket_types: list[DoorTicketType]
    gates: list[PublicGate]
    tickets: list[BundleTicket]
    revoked: list[BundleRevocation]
    inside: list[str]


class SignedBundle(Model):
    """``payload`` is the bundle's JSON as base64url; ``signature`` is Ed25519 over exactly
    those bytes with the bundle key ``key_id`` (``GET /scanner-bundle-key``)."""

    key_id: str
    payload: str
    signature: str


class BundleKey(Model):
    key_id: str
    public_key: str
    algorithm: Literal["Ed25519"] = "Ed25519"
