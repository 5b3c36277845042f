"""Identifiers: 10 random bytes (80 bits) as 16 lower-case base32 characters.

Short enough to fit twice in a compact ticket code, URL-safe, and case-insensitive so a code
typed at the door still matches.
"""

from __future__ import annotations

import base64
import re
import secrets

ID_BYTES = 10
ID_PATTERN = re.compile(r"^[a-z2-7]{16}$")


def new_id() -> str:
    return encode_id(secrets.token_bytes(ID_BYTES))


def encode_id(raw: bytes) -> str:
    if len(raw) != ID_BYTES:
        raise ValueError("an id is 10 bytes")
    return base64.b32encode(raw).decode("ascii").lower()


def decode_id(value: str) -> bytes:
    if not ID_PATTERN.match(value):
        raise ValueError("not a Gatepass id")
    return base64.b32decode(value.upper())


def is_id(value: str) -> bool:
    return bool(ID_PATTERN.match(value))
