"""Session tokens: compact JWTs (RFC 7519) signed with HMAC-SHA256.

Only ``HS256`` is accepted; ``alg: none`` and every other algorithm are refused, the signature is
compared in constant time, and expiry is enforced. The ``amr`` claim records how the holder
signed in (``otp-email``, a low-assurance factor), leaving room for a stronger factor or an
external identity provider to issue tokens with a different ``amr`` later.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from typing import Any

from gatepass import b64url, clock
from gatepass.errors import Unauthorized

ISSUER = "gatepass"
ALGORITHM = "HS256"
LEEWAY_SECONDS = 30
_HEADER = {"alg": ALGORITHM, "typ": "JWT"}


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_at: int
    expires_in: int


@dataclass(frozen=True)
class SessionClaims:
    subject: str
    issued_at: int
    expires_at: int
    token_id: str
    methods: tuple[str, ...]


def _b64encode(raw: bytes) -> str:
    return b64url.encode(raw)


def _b64decode(text: str) -> bytes:
    try:
        return b64url.decode(text)
    except (binascii.Error, ValueError) as exc:
        raise Unauthorized("The session token is malformed.") from exc


def _sign(key: bytes, signing_input: bytes) -> bytes:
    return hmac.new(key, signing_input, hashlib.sha256).digest()


def issue_session_token(
    key: bytes,
    subject: str,
    *,
    ttl_seconds: int,
    now: int | None = None,
    methods: tuple[str, ...] = ("otp-email",),
) -> IssuedToken:
    issued_at = clock.epoch() if now is None else now
    claims = {
        "iss": ISSUER,
        "sub": subject,
        "iat": issued_at,
        "exp": issued_at + ttl_seconds,
        "jti": secrets.token_urlsafe(12),
        "amr": list(methods),
    }
    header = _b64encode(json.dumps(_HEADER, separators=(",", ":")).encode())
    payload = _b64encode(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = f"{header}.{payload}".encode("ascii")
    token = f"{header}.{payload}.{_b64encode(_sign(key, signing_input))}"
    return IssuedToken(token=token, expires_at=issued_at + ttl_seconds, expires_in=ttl_seconds)


def verify_session_token(key: bytes, token: str, *, now: int | None = None) -> SessionClaims:
    parts = token.split(".")
    if len(parts) != 3 or not all(parts[:2]):
        raise Unauthorized("The session token is malformed.")
    header_part, payload_part, signature_part = parts
    header = _json(header_part)
    if header.get("alg") != ALGORITHM or header.get("typ", "JWT") != "JWT":
        raise Unauthorized("The session token is not signed the way Gatepass signs tokens.")
    expected = _sign(key, f"{header_part}.{payload_part}".encode("ascii"))
    if not hmac.compare_digest(expected, _b64decode(signature_part)):
        raise Unauthorized("The session token's signature is not valid.")
    claims = _json(payload_part)
    moment = clock.epoch() if now is None else now
    try:
        subject = str(claims["sub"])
        issued_at = int(claims["iat"])
        expires_at = int(claims["exp"])
        token_id = str(claims["jti"])
        methods = tuple(str(m) for m in claims.get("amr", ()))
    except (KeyError, TypeError, ValueError) as exc:
        raise Unauthorized("The session token is missing claims.") from exc
    if claims.get("iss") != ISSUER or not subject:
        raise Unauthorized("The session token was not issued by Gatepass.")
    if moment >= expires_at:
        raise Unauthorized("The session token has expired.")
    if issued_at > moment + LEEWAY_SECONDS:
        raise Unauthorized("The session token is not valid yet.")
    return SessionClaims(subject, issued_at, expires_at, token_id, methods)


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None."""
    if not authorization:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def _json(part: str) -> dict[str, Any]:
    try:
        decoded = json.loads(_b64decode(part))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Unauthorized("The session token is malformed.") from exc
    if not isinstance(decoded, dict):
        raise Unauthorized("The session token is malformed.")
    return decoded
