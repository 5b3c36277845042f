"""An event's ticket-signing keys: rotating them, publishing them, reissuing one ticket's code
(docs/decisions/0064)."""

from __future__ import annotations

from dataclasses import dataclass
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


@dataclass(frozen=True)
class SealedKey:
    """A private key as stored: only ciphertext, bound to its event and key id."""

    event_id: str
    key_id: str
    public: str
    encrypted_data_key: bytes
    nonce: bytes
    ciphertext: bytes
    created_at: str

    def __repr__(self) -> str:
        return f"SealedKey(event_id={self.event_id!r}, key_id={self.key_id!r})"
