"""Ticket codes: what a ticket's QR code carries.

A code is ``version | event id | ticket id | Ed25519 signature`` (1 + 10 + 10 + 64 = 85 bytes)
written in upper-case RFC 4648 base32 without padding: 136 characters from QR alphanumeric
mode's alphabet, so the symbol stays small and quick to scan, and a person can type it. No secret
is in it. Each event signs with its own key, derived from the ticket seed in Secrets Manager; the
event's public key is published (``verifying_key``) so an offline scanner can check codes too.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from functools import lru_cache

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from gatepass import b64url, keys
from gatepass.errors import InvalidTicketCode
from gatepass.ids import ID_BYTES, decode_id, encode_id

VERSION = 1
SIGNATURE_BYTES = 64
PAYLOAD_BYTES = 1 + 2 * ID_BYTES
CODE_BYTES = PAYLOAD_BYTES + SIGNATURE_BYTES
CODE_LENGTH = CODE_BYTES * 8 // 5


@dataclass(frozen=True)
class TicketCode:
    event_id: str
    ticket_id: str


@dataclass(frozen=True)
class SecretTicketKeys:
    """``gatepass.keys.TicketKeys`` from the ticket-signing secret (TicketKeySecret)."""

    secret_id: str

    def seed(self) -> bytes:
        return keys.secret_key(self.secret_id)

    def verifying_key(self, event_id: str) -> str:
        return event_verifying_key(self.seed(), event_id)


@lru_cache(maxsize=1024)
def _signing_key(seed: bytes, event_id: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(keys.derive(seed, f"ticket-signing:{event_id}"))


def event_verifying_key(seed: bytes, event_id: str) -> str:
    """The event's public key, raw 32 bytes in base64url: safe to publish."""
    raw = _signing_key(seed, event_id).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return b64url.encode(raw)


def _payload(event_id: str, ticket_id: str) -> bytes:
    return bytes([VERSION]) + decode_id(event_id) + decode_id(ticket_id)


def sign(seed: bytes, event_id: str, ticket_id: str) -> str:
    payload = _payload(event_id, ticket_id)
    signature = _signing_key(seed, event_id).sign(payload)
    return base64.b32encode(payload + signature).decode("ascii")


def normalize(code: str) -> str:
    """Upper-case, without the spaces and hyphens a person may type."""
    return "".join(code.split()).replace("-", "").upper()


def _parse(code: str) -> tuple[TicketCode, bytes, bytes]:
    text = normalize(code)
    if len(text) != CODE_LENGTH:
        raise InvalidTicketCode("This is not a Gatepass ticket code.")
    try:
        raw = base64.b32decode(text)
    except (binascii.Error, ValueError) as exc:
        raise InvalidTicketCode("This is not a Gatepass ticket code.") from exc
    if raw[0] != VERSION:
        raise InvalidTicketCode("This ticket code has an unknown version.")
    payload, signature = raw[:PAYLOAD_BYTES], raw[PAYLOAD_BYTES:]
    event_id = encode_id(payload[1 : 1 + ID_BYTES])
    ticket_id = encode_id(payload[1 + ID_BYTES :])
    return TicketCode(event_id=event_id, ticket_id=ticket_id), payload, signature


def verify(seed: bytes, code: str) -> TicketCode:
    """The ticket a genuine code names; raises InvalidTicketCode for anything forged or altered."""
    parsed, payload, signature = _parse(code)
    try:
        _signing_key(seed, parsed.event_id).public_key().verify(signature, payload)
    except InvalidSignature as exc:
        raise InvalidTicketCode("This ticket code's signature is not valid.") from exc
    return parsed


def verify_with_public_key(verifying_key: str, code: str) -> TicketCode:
    """What an offline scanner does with an event's published key."""
    parsed, payload, signature = _parse(code)
    raw = b64url.decode(verifying_key)
    try:
        Ed25519PublicKey.from_public_bytes(raw).verify(signature, payload)
    except InvalidSignature as exc:
        raise InvalidTicketCode("This ticket code's signature is not valid.") from exc
    return parsed


V1_KEY_ID = "v1"
"""Version 1 codes name no key: the event's one key answers to this id in a bundle."""


def verifying_keys(ticket_keys: keys.TicketKeys, event_id: str) -> dict[str, str]:
    """Key id → public key of every key whose codes the event's scanners must accept."""
    return {V1_KEY_ID: ticket_keys.verifying_key(event_id)}
