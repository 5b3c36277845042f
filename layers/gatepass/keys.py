"""Secrets Manager, read only here, and the small keys objects logic receives.

Secrets are generated at deploy time by CloudFormation (``GenerateSecretString``) or managed by
the service (RDS credentials); signing keys made from them are cached for five minutes per
container. Raw secret strings are stretched into fixed-size keys with SHA-256, and
purpose-specific keys are derived with HMAC so that one secret never serves two purposes
directly.

Logic takes a ``TicketKeys`` (or a ``gatepass.sessions.SessionKeys``) and asks it for a key only
when a rule needs one, so a request that never signs anything never reads a secret.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Protocol

from gatepass import clients

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


class TicketKeys(Protocol):
    """Each event's Ed25519 ticket keys (``gatepass.ticket_codes.SecretTicketKeys``)."""

    def seed(self) -> bytes:
        """The seed each event's ticket-signing key is derived from."""

    def verifying_key(self, event_id: str) -> str:
        """The event's public key, safe to publish."""
