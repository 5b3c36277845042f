"""What a scanner sends and gets back: a scan at the door (the check-in page), the scans an
offline scanner syncs, and the signed bundle it judges codes with (docs/decisions/0060, 0061,
0062). Check-in and the scanner bundle import this and ``gatepass.models.records``, not the
organizer's door routes (``gatepass.models.door``)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StringConstraints, field_validator

from gatepass.models.common import GatepassId, Model, TicketCodeText
from gatepass.models.records import Direction, GateMode, TicketStatus, parse_moment

MAX_SYNC_SCANS = 100

Presence = Literal["inside", "left"]
DoorRole = Literal["organizer", "staff"]
ScanNonce = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{8,64}$")]
Moment = Annotated[str, StringConstraints(strip_whitespace=True, max_length=40)]


# ---------------------------------------------------------------------------- a scan at the door


class CheckInRequest(Model):
    """A scan at the door: ``gate_id`` names the gate (none: the event's door as a whole),
    ``direction`` says entry or exit (none: the gate's own, entry for a gate that does both)."""

    model_config = ConfigDict(extra="forbid")

    event_id: GatepassId
    code: TicketCodeText
    gate_id: GatepassId | None = None
    direction: Literal["in", "out"] | None = None


class CheckInResult(Model):
    ticket_id: str
    event_id: str
    holder: str
    status: TicketStatus
    checked_in_at: str
    ticket_type_id: str | None = None
    attendee_name: str = ""
    ticket_type_name: str = ""
    direction: Literal["in", "out"] = "in"
    gate_id: str | None = None
    scanned_by: str = ""
    scanned_at: str = ""
    presence: Literal["inside", "left"] = "inside"
    re_entry: bool = False


# ---------------------------------------------------------------------------- synced scans


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


# ---------------------------------------------------------------------------- gates and types


class PublicGate(Model):
    gate_id: str
    name: str
    ticket_type_ids: list[str]
    mode: GateMode
    closed: bool
    entries: int
    exits: int
    inside: int


class DoorTicketType(Model):
    ticket_type_id: str
    name: str
    multi_entry: bool


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
