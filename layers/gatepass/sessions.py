"""The session keys objects the sign-in rules and the session verifiers receive.

Apart from ``gatepass.keys`` so that only the functions that handle sessions load PyJWT and
cryptography, and those only when a token is made or checked (``gatepass.tokens`` is imported
there, so send-otp, which only hashes codes, never loads them): ``SessionKeys`` (the code
hashes' key, and where sessions are minted the KMS signer) and ``SessionVerifier`` (the KMS
key's public half only).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from gatepass.errors import ConfigurationError
from gatepass.keys import derive, secret_key

if TYPE_CHECKING:
    from gatepass import tokens


class SessionKeys(Protocol):
    """What the sign-in rules need: the code hashes' key, and (where sessions are minted) the
    session signer."""

    def sign_in_code(self) -> bytes:
        """The key of the sign-in codes' keyed hashes."""

    def session_signer(self) -> tokens.Signer:
        """What signs session tokens (the KMS key; only minting functions may use it)."""


class SessionVerifier(Protocol):
    def session_verifying_key(self) -> tokens.VerifyingKey:
        """The public half of the session-signing key."""


@dataclass(frozen=True)
class SecretSessionKeys:
    """``SessionKeys`` from the code-hash secret (SessionKeySecret) and, where sessions are
    minted, the KMS signing key (SessionSigningKey)."""

    secret_id: str
    signing_key_id: str | None = None

    def sign_in_code(self) -> bytes:
        return derive(secret_key(self.secret_id), "sign-in-code")

    def session_signer(self) -> tokens.Signer:
        if not self.signing_key_id:
            raise ConfigurationError("this function does not mint sessions (no signing key)")
        from gatepass import tokens

        return tokens.KmsSigner(self.signing_key_id)


@dataclass(frozen=True)
class KmsSessionSigner:
    """``tokens.Signer`` over the KMS session-signing key, for functions that mint sessions
    without ``SessionKeys`` (verify-id-token): PyJWT loads when a token is made, not before."""

    signing_key_id: str

    @property
    def key_id(self) -> str:
        return self.signing_key_id

    def sign(self, message: bytes) -> bytes:
        from gatepass import tokens

        return tokens.KmsSigner(self.signing_key_id).sign(message)


@dataclass(frozen=True)
class KmsSessionVerifier:
    """``SessionVerifier`` from the KMS key's public half (kms:GetPublicKey only)."""

    signing_key_id: str

    def session_verifying_key(self) -> tokens.VerifyingKey:
        from gatepass import tokens

        return tokens.kms_verifying_key(self.signing_key_id)
