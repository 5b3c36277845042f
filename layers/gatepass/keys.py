"""Secrets Manager, read only here, and the small keys objects logic receives.

Secrets are generated at deploy time by CloudFormation (``GenerateSecretString``) or managed by
the service (RDS credentials); signing keys made from them are cached for five minutes per
container. Raw secret strings are stretched into fixed-size keys with SHA-256, and
purpose-specific keys are derived with HMAC so that one secret never serves two purposes
directly.

Logic takes a ``TicketKeys`` (or a ``gatepass.sessions.SessionKeys``) and asks it for a key only
when a rule needs one, so a request that never signs anything never reads a secret. Ticket keys
are per event and sealed with KMS (``gatepass.ticket_keys``); the ticket seed secret is read only
to sign for events created before that (docs/decisions/0064).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import TYPE_CHECKING, Protocol

from gatepass import clients

if TYPE_CHECKING:
    from gatepass.models.records import SealedKey

CACHE_SECONDS = 300
_cache: dict[str, tuple[float, bytes]] = {}
_strings: dict[str, tuple[float, str | None]] = {}


def secret_string(secret_id: str) -> str | None:
    """The current string of the secret named by ``secret_id`` (name or ARN), uncached."""
    value = (
        clients.client("secretsmanager").get_secret_value(SecretId=secret_id).get("SecretString")
    )
    return value if isinstance(value, str) else None


def cached_secret_string(secret_id: str) -> str | None:
    """``secret_string``, kept for ``CACHE_SECONDS`` (wallet credentials: JSON, not a key)."""
    cached = _strings.get(secret_id)
    if cached and time.monotonic() - cached[0] < CACHE_SECONDS:
        return cached[1]
    value = secret_string(secret_id)
    _strings[secret_id] = (time.monotonic(), value)
    return value


def secret_key(secret_id: str) -> bytes:
    """A 32-byte key made from the secret named by ``secret_id`` (name or ARN)."""
    cached = _cache.get(secret_id)
    if cached and time.monotonic() - cached[0] < CACHE_SECONDS:
        return cached[1]
    value = secret_string(secret_id)
    if value is None or len(value) < 32:
        raise RuntimeError(f"secret {secret_id} is missing or too short")
    key = hashlib.sha256(value.encode("utf-8")).digest()
    _cache[secret_id] = (time.monotonic(), key)
    return key


def derive(key: bytes, purpose: str) -> bytes:
    """A key for one purpose (``"session-token"``, ``"sign-in-code"``, ``"event:<id>"``)."""
    return hmac.new(key, purpose.encode("utf-8"), hashlib.sha256).digest()


def reset() -> None:
    """Forget cached secrets (tests start each case against a fresh moto)."""
    _cache.clear()
    _strings.clear()


class SigningKey(Protocol):
    """One of an event's private keys, opened (``gatepass.ticket_codes.SigningKey``)."""

    @property
    def key_id(self) -> str: ...

    def public(self) -> str:
        """The public half, raw Ed25519 in base64url."""

    def sign(self, event_id: str, ticket_id: str) -> str:
        """The code of one ticket of the event, naming this key."""


class TicketKeys(Protocol):
    """Each event's Ed25519 ticket keys by key id (``gatepass.ticket_keys.EventTicketKeys``;
    docs/decisions/0064). Verifying needs only public keys; signing opens one private key."""

    def verifying_keys(
        self, event_id: str, *, key_id: str | None = None, fresh: bool = False
    ) -> dict[str, str]:
        """Every valid public key of the event by key id (raw Ed25519, base64url; ``v1`` for
        the derived key of events created before per-event keys); empty for no such event.
        ``key_id``: the key a code names; if it is not among cached keys, they are read again.
        ``fresh``: read them now (a scanner bundle), not from the container's cache."""

    def signing_key(self, event_id: str, key_id: str) -> SigningKey:
        """The event's private key ``key_id``, to sign codes with."""

    def current_signing_key(self, event_id: str) -> SigningKey:
        """The key the event signs new tickets with now (read fresh: rotations are elsewhere)."""

    def new_key(self, event_id: str) -> tuple[SigningKey, SealedKey]:
        """A new random key pair for the event, and its private half sealed for storage."""
