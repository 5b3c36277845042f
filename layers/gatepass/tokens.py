"""Session tokens: JWTs (RFC 7519) signed with ES256 (ECDSA P-256, SHA-256).

The private key lives in AWS KMS (an asymmetric ``ECC_NIST_P256`` key): only the function that
mints sessions may call ``kms:Sign``; the authorizer, the other API functions and the web
service read the public key (``kms:GetPublicKey``) and can only verify. Code execution in a
verifier therefore cannot mint a session.

PyJWT does every check of a token: the algorithm allow-list (only ``ES256``; ``none`` and HMAC
are refused, so a public key can never be used as an HMAC secret), the signature, the audience,
the issuer and the required claims; expiry and issue time are checked here against a named
instant. Minting is the JWS compact serialization of a fixed header and the claims (RFC 7515,
section 7.1), with the signer's DER signature turned into ES256's 64 bytes by cryptography's
``decode_dss_signature``. It is written here rather than through PyJWT so that a function that
only mints (verify-otp's first sign-in) loads neither PyJWT nor cryptography's key formats:
PyJWT's algorithms import every key type and serialization format cryptography has
(decision 0084). Verification imports them when it first runs. A test checks that PyJWT
verifies what is minted here, and that the header and claims are the bytes PyJWT would write.

Claims: ``iss`` ``gatepass``, ``aud`` (``gatepass:session`` for sessions: a token minted for
another purpose with the same key never passes as a session), ``sub`` (the person), ``sid``
(the session, shared by the tokens that renew it, so it can be ended), ``jti``, ``iat``,
``exp`` and ``amr`` (how the holder signed in: ``otp-email``, ``oidc``...).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Protocol

from gatepass import clients, clock
from gatepass.b64url import encode as b64url_encode
from gatepass.errors import Unauthorized

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import ec

ISSUER = "gatepass"
SESSION_AUDIENCE = "gatepass:session"
ALGORITHM = "ES256"
LEEWAY_SECONDS = 30
_REQUIRED = ["iss", "aud", "sub", "sid", "jti", "iat", "exp"]


class Signer(Protocol):
    """Something that signs with the session key: KMS in AWS, a local key in tests."""

    @property
    def key_id(self) -> str: ...

    def sign(self, message: bytes) -> bytes:
        """An ES256 signature of ``message``, DER-encoded (as KMS and cryptography return it)."""
        ...


@dataclass(frozen=True)
class VerifyingKey:
    key_id: str
    public_key: ec.EllipticCurvePublicKey


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_at: int
    expires_in: int
    # Known where the token is minted; a client reading the API's answer does not need it.
    session_id: str = ""


@dataclass(frozen=True)
class SessionClaims:
    subject: str
    issued_at: int
    expires_at: int
    token_id: str
    session_id: str
    methods: tuple[str, ...]


class KmsSigner:
    """Signs with an asymmetric KMS key (``ECC_NIST_P256``, ``SIGN_VERIFY``)."""

    def __init__(self, key_id: str) -> None:
        self._key_id = key_id

    @property
    def key_id(self) -> str:
        return self._key_id

    def sign(self, message: bytes) -> bytes:
        answer = clients.client("kms").sign(
            KeyId=self._key_id,
            Message=message,
            MessageType="RAW",
            SigningAlgorithm="ECDSA_SHA_256",
        )
        signature: bytes = answer["Signature"]
        return signature


class LocalSigner:
    """Signs with a private key held in memory (unit tests, the web tests' stand-in API)."""

    def __init__(self, private_key: ec.EllipticCurvePrivateKey, key_id: str = "local") -> None:
        self._private_key = private_key
        self._key_id = key_id

    @classmethod
    def generate(cls, key_id: str = "local") -> LocalSigner:
        from cryptography.hazmat.primitives.asymmetric import ec

        return cls(ec.generate_private_key(ec.SECP256R1()), key_id)

    @property
    def key_id(self) -> str:
        return self._key_id

    def sign(self, message: bytes) -> bytes:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec

        return self._private_key.sign(message, ec.ECDSA(hashes.SHA256()))

    def verifying_key(self) -> VerifyingKey:
        return VerifyingKey(self._key_id, self._private_key.public_key())


@cache
def kms_verifying_key(key_id: str) -> VerifyingKey:
    """The public half of the KMS session key, fetched once per process (it never changes)."""
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import load_der_public_key

    answer = clients.client("kms").get_public_key(KeyId=key_id)
    public_key = load_der_public_key(answer["PublicKey"])
    if not isinstance(public_key, ec.EllipticCurvePublicKey) or not isinstance(
        public_key.curve, ec.SECP256R1
    ):
        raise RuntimeError(f"KMS key {key_id} is not an ECC_NIST_P256 key")
    return VerifyingKey(str(answer.get("KeyId", key_id)), public_key)


def _es256_signature(der: bytes) -> bytes:
    """ES256's signature (RFC 7518, section 3.4): r and s as 32 big-endian bytes each, from the
    DER ``ECDSA-Sig-Value`` that KMS and cryptography return."""
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    try:
        r, s = decode_dss_signature(der)
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")
    except (ValueError, OverflowError) as exc:
        raise ValueError("the session signer's answer is not a P-256 ECDSA signature") from exc


def _segment(value: Mapping[str, object]) -> str:
    return b64url_encode(json.dumps(value, separators=(",", ":")).encode())


def issue_session_token(
    signer: Signer,
    subject: str,
    *,
    ttl_seconds: int,
    now: int | None = None,
    methods: tuple[str, ...] = ("otp-email",),
    session_id: str | None = None,
    audience: str = SESSION_AUDIENCE,
) -> IssuedToken:
    issued_at = clock.epoch() if now is None else now
    sid = session_id or secrets.token_urlsafe(16)
    claims = {
        "iss": ISSUER,
        "aud": audience,
        "sub": subject,
        "sid": sid,
        "iat": issued_at,
        "exp": issued_at + ttl_seconds,
        "jti": secrets.token_urlsafe(12),
        "amr": list(methods),
    }
    # The header as PyJWT writes it: its keys sorted, no spaces.
    header = {"alg": ALGORITHM, "kid": signer.key_id, "typ": "JWT"}
    signing_input = f"{_segment(header)}.{_segment(claims)}"
    signature = _es256_signature(signer.sign(signing_input.encode("ascii")))
    token = f"{signing_input}.{b64url_encode(signature)}"
    return IssuedToken(
        token=token, expires_at=issued_at + ttl_seconds, expires_in=ttl_seconds, session_id=sid
    )


def verify_session_token(
    key: VerifyingKey,
    token: str,
    *,
    now: int | None = None,
    audience: str = SESSION_AUDIENCE,
) -> SessionClaims:
    """The claims of a valid session token, or ``Unauthorized`` saying what is wrong."""
    from gatepass.pyjwt import jwt

    moment = clock.epoch() if now is None else now
    try:
        header = jwt.get_unverified_header(token)
        if header.get("typ", "JWT") != "JWT":
            raise Unauthorized("The session token is not signed the way Gatepass signs.")
        # Expiry and issue time are checked below against ``moment``, so that callers and
        # tests can name the instant.
        claims = jwt.decode(
            token,
            key.public_key,
            algorithms=[ALGORITHM],
            audience=audience,
            issuer=ISSUER,
            options={"require": _REQUIRED, "verify_exp": False, "verify_iat": False},
        )
    except jwt.InvalidAudienceError as exc:
        raise Unauthorized("The token was not issued for this use.") from exc
    except jwt.InvalidIssuerError as exc:
        raise Unauthorized("The session token was not issued by Gatepass.") from exc
    except jwt.InvalidSignatureError as exc:
        raise Unauthorized("The session token's signature is not valid.") from exc
    except jwt.InvalidAlgorithmError as exc:
        raise Unauthorized("The session token is not signed the way Gatepass signs.") from exc
    except jwt.MissingRequiredClaimError as exc:
        raise Unauthorized("The session token is missing claims.") from exc
    except jwt.InvalidTokenError as exc:
        raise Unauthorized("The session token is malformed.") from exc
    try:
        subject = str(claims["sub"])
        issued_at = int(claims["iat"])
        expires_at = int(claims["exp"])
        token_id = str(claims["jti"])
        session_id = str(claims["sid"])
        methods = tuple(str(m) for m in claims.get("amr", ()))
    except (KeyError, TypeError, ValueError) as exc:
        raise Unauthorized("The session token is missing claims.") from exc
    if not subject or not session_id:
        raise Unauthorized("The session token is missing claims.")
    if moment >= expires_at:
        raise Unauthorized("The session token has expired.")
    if issued_at > moment + LEEWAY_SECONDS:
        raise Unauthorized("The session token is not valid yet.")
    return SessionClaims(subject, issued_at, expires_at, token_id, session_id, methods)


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None."""
    if not authorization:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def reset() -> None:
    """Forget fetched public keys (tests start each case against a fresh moto)."""
    kms_verifying_key.cache_clear()
