"""Ticket codes: what a ticket's QR code carries (docs/decisions/0064).

A version 2 code is ``2 | event id | ticket id | key id | Ed25519 signature`` (1 + 10 + 10 + 5 +
64 = 90 bytes), signed by one of the event's own randomly generated keys and naming it; written in
upper-case RFC 4648 base32 without padding, that is 144 characters from QR alphanumeric mode's
alphabet, so the symbol stays small and a person can type it. No secret is in it.

Version 1 codes (``1 | event id | ticket id | signature``, 136 characters) were signed by a key
derived from one shared seed; they carry no key id, and verify with the event's key named
``LEGACY_KEY_ID``, whose public half every such event has published since it was created. So a
code issued before per-event keys keeps working for as long as that key stays among the event's
verifying keys.

This module only writes and reads codes; where keys come from is ``gatepass.ticket_keys``.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from gatepass import b64url, keys
from gatepass.errors import InvalidTicketCode, UnknownTicketKey
from gatepass.ids import ID_BYTES, decode_id, encode_id

LEGACY_VERSION = 1
VERSION = 2
LEGACY_KEY_ID = "v1"
"""The key of version 1 codes: derived from the shared seed (events created before 0064)."""
KEY_ID_BYTES = 5
KEY_ID_PATTERN = re.compile(r"^[a-z2-7]{8}$")
SIGNATURE_BYTES = 64
LEGACY_PAYLOAD_BYTES = 1 + 2 * ID_BYTES
PAYLOAD_BYTES = LEGACY_PAYLOAD_BYTES + KEY_ID_BYTES
LEGACY_CODE_LENGTH = (LEGACY_PAYLOAD_BYTES + SIGNATURE_BYTES) * 8 // 5
CODE_LENGTH = (PAYLOAD_BYTES + SIGNATURE_BYTES) * 8 // 5
_NOT_A_CODE = "This is not a Gatepass ticket code."


@dataclass(frozen=True)
class TicketCode:
    event_id: str
    ticket_id: str
    key_id: str = LEGACY_KEY_ID


@dataclass(frozen=True)
class SigningKey:
    """One of an event's private keys, in memory only (never logged: no repr of the key)."""

    key_id: str
    private: Ed25519PrivateKey

    def __repr__(self) -> str:
        return f"SigningKey(key_id={self.key_id!r})"

    def public(self) -> str:
        """The public half, raw 32 bytes in base64url: safe to publish."""
        raw = self.private.public_key().public_bytes_raw()
        return b64url.encode(raw)

    def sign(self, event_id: str, ticket_id: str) -> str:
        """The code of one ticket; version 1 for the legacy key, version 2 otherwise."""
        if self.key_id == LEGACY_KEY_ID:
            payload = bytes([LEGACY_VERSION]) + decode_id(event_id) + decode_id(ticket_id)
        else:
            payload = (
                bytes([VERSION])
                + decode_id(event_id)
                + decode_id(ticket_id)
                + decode_key_id(self.key_id)
            )
        return base64.b32encode(payload + self.private.sign(payload)).decode("ascii")


def new_key_id() -> str:
    """A key id: 5 random bytes as 8 lower-case base32 characters (unique within an event)."""
    return base64.b32encode(secrets.token_bytes(KEY_ID_BYTES)).decode("ascii").lower()


def decode_key_id(key_id: str) -> bytes:
    if not KEY_ID_PATTERN.match(key_id):
        raise ValueError("not a ticket key id")
    return base64.b32decode(key_id.upper())


def generate_signing_key() -> SigningKey:
    """A new random key pair with a new key id."""
    return SigningKey(new_key_id(), Ed25519PrivateKey.generate())


def signing_key_from_raw(key_id: str, raw: bytes) -> SigningKey:
    return SigningKey(key_id, Ed25519PrivateKey.from_private_bytes(raw))


def private_bytes(key: SigningKey) -> bytes:
    """The raw 32-byte private key, for sealing only (``gatepass.ticket_keys``)."""
    return key.private.private_bytes_raw()


@lru_cache(maxsize=256)
def legacy_signing_key(seed: bytes, event_id: str) -> SigningKey:
    """The key of an event created before per-event keys: derived from the shared seed."""
    raw = keys.derive(seed, f"ticket-signing:{event_id}")
    return SigningKey(LEGACY_KEY_ID, Ed25519PrivateKey.from_private_bytes(raw))


def event_verifying_key(seed: bytes, event_id: str) -> str:
    """The legacy key's public half (what such events published as ``verifying_key``)."""
    return legacy_signing_key(seed, event_id).public()


def normalize(code: str) -> str:
    """Upper-case, without the spaces and hyphens a person may type."""
    return "".join(code.split()).replace("-", "").upper()


@dataclass(frozen=True)
class ParsedCode:
    """A code read but not yet verified: what it claims, and what its signature covers."""

    claims: TicketCode
    payload: bytes
    signature: bytes


def parse(code: str) -> ParsedCode:
    """What a code claims; raises InvalidTicketCode for text that is not a code of any version."""
    text = normalize(code)
    if len(text) not in (LEGACY_CODE_LENGTH, CODE_LENGTH):
        raise InvalidTicketCode(_NOT_A_CODE)
    try:
        raw = base64.b32decode(text)
    except (binascii.Error, ValueError) as exc:
        raise InvalidTicketCode(_NOT_A_CODE) from exc
    version = raw[0]
    if version not in (LEGACY_VERSION, VERSION):
        raise InvalidTicketCode("This ticket code has an unknown version.")
    size = LEGACY_PAYLOAD_BYTES if version == LEGACY_VERSION else PAYLOAD_BYTES
    if len(raw) != size + SIGNATURE_BYTES:
        raise InvalidTicketCode(_NOT_A_CODE)
    payload, signature = raw[:size], raw[size:]
    event_id = encode_id(payload[1 : 1 + ID_BYTES])
    ticket_id = encode_id(payload[1 + ID_BYTES : 1 + 2 * ID_BYTES])
    key_id = LEGACY_KEY_ID
    if version == VERSION:
        key_id = base64.b32encode(payload[LEGACY_PAYLOAD_BYTES:]).decode("ascii").lower()
    return ParsedCode(TicketCode(event_id, ticket_id, key_id), payload, signature)


def verify(code: str, verifying_keys: Mapping[str, str]) -> TicketCode:
    """The ticket a genuine code names, checked with the event's key it names.

    ``verifying_keys`` are the event's valid public keys by key id. Raises UnknownTicketKey for a
    code naming a key the event does not have, InvalidTicketCode for anything forged or altered.
    """
    parsed = parse(code)
    return verify_parsed(parsed, verifying_keys)


def verify_parsed(parsed: ParsedCode, verifying_keys: Mapping[str, str]) -> TicketCode:
    public = verifying_keys.get(parsed.claims.key_id)
    if public is None:
        raise UnknownTicketKey(
            "This ticket code was signed with a key this event does not have.",
            details={"key_id": parsed.claims.key_id},
        )
    _check(public, parsed)
    return parsed.claims


def verify_with_public_key(verifying_key: str, code: str) -> TicketCode:
    """What an offline scanner does with one of an event's published keys."""
    parsed = parse(code)
    _check(verifying_key, parsed)
    return parsed.claims


@lru_cache(maxsize=1024)
def _public_key(public: str) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(b64url.decode(public))


def _check(public: str, parsed: ParsedCode) -> None:
    try:
        _public_key(public).verify(parsed.signature, parsed.payload)
    except (InvalidSignature, ValueError) as exc:
        raise InvalidTicketCode("This ticket code's signature is not valid.") from exc
