"""The waiting room's tokens: a position token (what place a person holds) and an admission
token (what ``POST /create-ticket`` requires while an event's queue is on); docs/decisions/0072.

Format: ``q1.<payload>.<mac>``, both parts unpadded base64url; the payload is compact JSON
``{"k": kind, "sub": person, "evt": event_id, "iat", "exp", ...}``; the MAC is HMAC-SHA256 over
``q1.<payload>`` with a key per kind, derived from the ``QueueTokenSecret`` (Secrets Manager,
read once per container and cached like every secret, ``gatepass.keys``). One fixed algorithm and
no header: nothing in the token chooses how it is checked, so there is nothing to confuse. The
kind is both in the payload and in the key, so a position token never passes as an admission.

Verifying is one HMAC and a JSON parse: no KMS, no Secrets Manager call per request.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from gatepass import b64url, keys
from gatepass.errors import (
    AdmissionExpired,
    AdmissionInvalid,
    AdmissionNotYours,
    AdmissionRequired,
    AdmissionWrongEvent,
    QueueTokenInvalid,
    QueueTokenNotYours,
    QueueTokenRequired,
    QueueTokenWrongEvent,
)
from gatepass.models.queue import AdmissionClaims, PositionClaims

VERSION = "q1"
ADMISSION_SECONDS = 300
"""How long an admission token lasts; asking /queue-status again while admitted renews it."""
POSITION_SECONDS = 24 * 3600
MAX_TOKEN_LENGTH = 1024
Kind = Literal["position", "admission"]


class QueueKeys(Protocol):
    """The MAC key of each kind of token (``SecretQueueKeys`` in AWS, fixed bytes in tests)."""

    def key(self, kind: Kind) -> bytes: ...


class SecretQueueKeys:
    """Keys derived from a Secrets Manager secret, read once per container (cached 5 minutes)."""

    def __init__(self, secret_id: str) -> None:
        self.secret_id = secret_id

    def key(self, kind: Kind) -> bytes:
        return keys.derive(keys.secret_key(self.secret_id), f"queue-{kind}:{VERSION}")


@dataclass(frozen=True)
class IssuedQueueToken:
    token: str
    expires_at: int


def _mac(key: bytes, signed: str) -> bytes:
    return hmac.new(key, signed.encode("ascii"), hashlib.sha256).digest()


def _issue(
    queue_keys: QueueKeys, kind: Kind, claims: dict[str, Any], *, now: int, ttl: int
) -> IssuedQueueToken:
    payload = {"k": kind, **claims, "iat": now, "exp": now + ttl}
    body = b64url.encode(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
    signed = f"{VERSION}.{body}"
    token = f"{signed}.{b64url.encode(_mac(queue_keys.key(kind), signed))}"
    return IssuedQueueToken(token=token, expires_at=now + ttl)


def _open(queue_keys: QueueKeys, kind: Kind, token: str) -> dict[str, Any] | None:
    """The payload of a genuine token of ``kind``, or None (forged, tampered, malformed)."""
    if len(token) > MAX_TOKEN_LENGTH:
        return None
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != VERSION:
        return None
    signed = f"{parts[0]}.{parts[1]}"
    try:
        mac = b64url.decode(parts[2])
        payload = json.loads(b64url.decode(parts[1]))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    if not hmac.compare_digest(mac, _mac(queue_keys.key(kind), signed)):
        return None
    if not isinstance(payload, dict) or payload.get("k") != kind:
        return None
    return payload


def issue_position(
    queue_keys: QueueKeys,
    *,
    person: str,
    event_id: str,
    entry_id: str,
    phase: str,
    shard: int,
    sequence: int,
    now: int,
) -> IssuedQueueToken:
    claims: dict[str, Any] = {"sub": person, "evt": event_id, "ent": entry_id, "ph": phase}
    claims |= {"sh": shard, "seq": sequence}
    return _issue(queue_keys, "position", claims, now=now, ttl=POSITION_SECONDS)


def issue_admission(
    queue_keys: QueueKeys, *, person: str, event_id: str, place: int, now: int
) -> IssuedQueueToken:
    claims = {"sub": person, "evt": event_id, "pl": place}
    return _issue(queue_keys, "admission", claims, now=now, ttl=ADMISSION_SECONDS)


def verify_position(
    queue_keys: QueueKeys, token: str | None, *, person: str, event_id: str, now: int
) -> PositionClaims:
    if not token:
        raise QueueTokenRequired("Send the position token join-queue gave you (X-Queue-Token).")
    payload = _open(queue_keys, "position", token)
    try:
        if payload is None:
            raise ValueError
        claims = PositionClaims(
            person=str(payload["sub"]),
            event_id=str(payload["evt"]),
            entry_id=str(payload["ent"]),
            phase="pool" if payload["ph"] == "pool" else "arrival",
            shard=int(payload["sh"]),
            sequence=int(payload["seq"]),
        )
        expires_at = int(payload["exp"])
    except (KeyError, TypeError, ValueError):
        raise QueueTokenInvalid("This position token is not one Gatepass issued.") from None
    if claims.person != person:
        raise QueueTokenNotYours("This position token was issued to someone else.")
    if claims.event_id != event_id:
        raise QueueTokenWrongEvent(
            "This position token is for another event.", details={"event_id": claims.event_id}
        )
    if now >= expires_at:
        raise QueueTokenInvalid("This position token has expired: join the queue again.")
    return claims


def verify_admission(
    queue_keys: QueueKeys, token: str | None, *, person: str, event_id: str, now: int
) -> AdmissionClaims:
    """The claims of an admission token the caller may use for this event now, or the refusal
    that says what is wrong with it."""
    if not token:
        raise AdmissionRequired(
            "This sale is behind a waiting room: join the queue and send the admission token "
            "you get when your turn comes (X-Admission-Token)."
        )
    payload = _open(queue_keys, "admission", token)
    try:
        if payload is None:
            raise ValueError
        claims = AdmissionClaims(
            person=str(payload["sub"]),
            event_id=str(payload["evt"]),
            place=int(payload["pl"]),
            expires_at=int(payload["exp"]),
        )
    except (KeyError, TypeError, ValueError):
        raise AdmissionInvalid("This admission token is not one Gatepass issued.") from None
    if claims.person != person:
        raise AdmissionNotYours("This admission token was issued to someone else.")
    if claims.event_id != event_id:
        raise AdmissionWrongEvent(
            "This admission token is for another event.", details={"event_id": claims.event_id}
        )
    if now >= claims.expires_at:
        raise AdmissionExpired(
            "This admission token has expired: ask for your queue status again to renew it.",
            details={"expired_at": claims.expires_at},
        )
    return claims
