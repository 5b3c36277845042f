"""The session-signing key the ``events/`` sample tokens were made with.

In AWS the key is a KMS key whose private half no one can read; moto generates one per test. So
that ``events/authorizer.json`` and ``events/log-activity-signed-in.json`` carry tokens that
verify exactly as written, tests put this sample key (published here, good for nothing else)
into moto's copy of the template's ``SessionSigningKey``. ``python -m tests.support.session_keys``
prints a fresh sample token.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

import boto3
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from gatepass import tokens
from gatepass.dal.sessions import DynamoSessionStore
from gatepass.logic.sessions import start_session
from gatepass.models.identity import SessionTokenResponse
from gatepass.models.sessions import SessionPolicy, SessionRecord

SAMPLE_PRIVATE_KEY_PEM = b"""-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgpyX5xXnFQoRZeSyW
vfz4c+UUHOmT1OWChNWgmotwlluhRANCAAQcH8oByjf9sjv9MNG4sJSJUH2w4pdy
s6wjPCf6U5CSVKoX9SvsG9Hot029KaMyY2Wfg9qI6DRXpmlt0EuYTgaw
-----END PRIVATE KEY-----
"""
SAMPLE_ISSUED_AT = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def sample_private_key() -> ec.EllipticCurvePrivateKey:
    key = load_pem_private_key(SAMPLE_PRIVATE_KEY_PEM, password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key


def sample_signer() -> tokens.LocalSigner:
    return tokens.LocalSigner(sample_private_key(), key_id="sample")


def use_sample_key(key_id: str) -> None:
    """Make moto's KMS key ``key_id`` (id, ARN or alias) sign with the sample key."""
    from moto.kms.models import kms_backends

    kms = boto3.client("kms")
    described = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    backend = kms_backends[described["AWSAccountId"]][kms.meta.region_name]
    # moto's key wrapper types its key as the abstract base; the ECC one holds it here.
    held: Any = backend.keys[described["KeyId"]].private_key
    held.private_key = sample_private_key()
    tokens.reset()


def _print_sample_token() -> None:
    issued = tokens.issue_session_token(
        sample_signer(),
        "alice@example.com",
        ttl_seconds=3600,
        now=int(SAMPLE_ISSUED_AT.timestamp()),
        session_id="sample-session",
    )
    print(issued.token)


def stack_signer() -> tokens.KmsSigner:
    """The template's SessionSigningKey (in the moto of the running test)."""
    return tokens.KmsSigner(os.environ["SESSION_SIGNING_KEY_ID"])


def stack_verifying_key() -> tokens.VerifyingKey:
    return tokens.kms_verifying_key(os.environ["SESSION_SIGNING_KEY_ID"])


def stack_sessions() -> DynamoSessionStore:
    """The template's session store (the IdentityTable, in the moto of the running test)."""
    return DynamoSessionStore(os.environ["IDENTITY_TABLE"])


def start_stack_session(
    subject: str,
    *,
    now: int | None = None,
    ttl_seconds: int = 3600,
    idle_seconds: int = 1800,
) -> SessionTokenResponse:
    """A session as a sign-in starts it: its item in the store, its token signed by the stack's
    key (what the authorizer then accepts)."""
    return start_session(
        subject,
        methods=("otp-email",),
        signer=stack_signer(),
        store=stack_sessions(),
        policy=SessionPolicy(ttl_seconds=ttl_seconds, idle_seconds=idle_seconds),
        now=now,
    )


def seed_sample_session() -> None:
    """The session the ``events/`` samples name (``sample-session`` of alice@example.com, begun
    when the sample token was issued)."""
    issued = int(SAMPLE_ISSUED_AT.timestamp())
    stack_sessions().create(
        SessionRecord(
            person="alice@example.com",
            session_id="sample-session",
            created_at=issued,
            last_seen_at=issued,
            expires_at=issued + 3600,
            idle_expires_at=issued + 1800,
            idle_seconds=1800,
            methods=("otp-email",),
        )
    )


if __name__ == "__main__":
    _print_sample_token()
