"""An event's ticket-signing keys: rotating them, publishing them, reissuing one ticket's code
(docs/decisions/0064)."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict

from gatepass.models.common import GatepassId, Model
from gatepass.models.tickets import Ticket


class RotateEventKeyRequest(Model):
    model_config = ConfigDict(extra="forbid")

    event_id: GatepassId


class ReissueTicketRequest(Model):
    model_config = ConfigDict(extra="forbid")

    ticket_id: GatepassId


class EventKeys(Model):
    """What an event publishes so that anyone (an offline scanner) can check its codes: every
    valid verifying key by key id (raw Ed25519 public keys in base64url), and the one that signs
    new tickets. A version 1 code names no key: it verifies with ``v1``."""

    event_id: str
    algorithm: Literal["Ed25519"] = "Ed25519"
    signing_key_id: str
    verifying_keys: dict[str, str]


class ReissueTicketResponse(Model):
    """The revoked ticket's id and the ticket that replaces it (same holder, type and name)."""

    reissued: str
    ticket: Ticket
