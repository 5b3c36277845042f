"""The session authorizer (REST API, TOKEN type): which tokens it lets through, and how it
refuses the rest (401, by raising ``Unauthorized``)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from functions.authorizer import app as authorizer_app
from gatepass import clock, tokens
from tests.conftest import load_event
from tests.support.session_keys import (
    SAMPLE_ISSUED_AT,
    seed_sample_session,
    stack_signer,
    stack_verifying_key,
    start_stack_session,
    use_sample_key,
)

pytestmark = pytest.mark.integration

ALICE = "alice@example.com"
METHOD_ARN = "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod/POST/create-ticket"
STAGE_ARN = "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod/*/*"


def authorize(token_header: str | None, lambda_context: Any) -> dict[str, Any]:
    event: dict[str, Any] = {"type": "TOKEN", "methodArn": METHOD_ARN}
    if token_header is not None:
        event["authorizationToken"] = token_header
    return authorizer_app.lambda_handler(event, lambda_context)  # type: ignore[no-any-return]


def key() -> tokens.KmsSigner:
    return stack_signer()


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_valid_token_is_allowed_on_the_whole_stage(aws: Any, lambda_context: Any) -> None:
    # Given Alice holds a fresh session token
    token = start_stack_session(ALICE)
    sid = tokens.verify_session_token(stack_verifying_key(), token.token).session_id

    # When the authorizer checks it for one route
    answer = authorize(f"Bearer {token.token}", lambda_context)

    # Then every method of the stage is allowed for her (the answer is cached per token)
    assert answer["principalId"] == ALICE
    assert answer["policyDocument"] == {
        "Version": "2012-10-17",
        "Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": STAGE_ARN}],
    }
    assert answer["context"] == {
        "sub": ALICE,
        "sid": sid,
        "amr": "otp-email",
        "expires_at": token.expires_at,
    }


def _hmac_signed_with_public_key(header: str, payload: str) -> str:
    """The classic confusion attack: HS256 keyed with the (public) verifying key's bytes."""
    public = stack_verifying_key().public_key.public_bytes(
        Encoding.PEM, PublicFormat.SubjectPublicKeyInfo
    )
    forged_header = b64({"alg": "HS256", "typ": "JWT"})
    mac = hmac.new(public, f"{forged_header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{forged_header}.{payload}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


def _forged(now: int) -> dict[str, str]:
    """Tokens that must not pass, by what is wrong with them."""
    good = tokens.issue_session_token(key(), ALICE, ttl_seconds=3600, now=now).token
    header, payload, signature = good.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    other_key = tokens.issue_session_token(
        tokens.LocalSigner.generate(), ALICE, ttl_seconds=3600, now=now
    ).token
    wrong_audience = tokens.issue_session_token(
        key(), ALICE, ttl_seconds=3600, now=now, audience="gatepass:sign-in-link"
    ).token
    return {
        "expired": tokens.issue_session_token(key(), ALICE, ttl_seconds=300, now=now - 301).token,
        "tampered": f"{header}.{b64({**claims, 'sub': 'mallory@example.com'})}.{signature}",
        "unsigned": f"{b64({'alg': 'none', 'typ': 'JWT'})}.{payload}.",
        "unsigned-with-signature": f"{b64({'alg': 'none', 'typ': 'JWT'})}.{payload}.{signature}",
        "other-algorithm": f"{b64({'alg': 'HS512', 'typ': 'JWT'})}.{payload}.{signature}",
        "other-key": other_key,
        "wrong-audience": wrong_audience,
        "hmac-with-public-key": _hmac_signed_with_public_key(header, payload),
        "malformed": "not.a.jwt",
        "two-parts": f"{header}.{payload}",
        "garbage-signature": f"{header}.{payload}.%%%",
    }


@pytest.mark.parametrize(
    "case",
    [
        "expired",
        "tampered",
        "unsigned",
        "unsigned-with-signature",
        "other-algorithm",
        "other-key",
        "wrong-audience",
        "hmac-with-public-key",
        "malformed",
        "two-parts",
        "garbage-signature",
    ],
)
def test_bad_tokens_are_refused_with_401(aws: Any, lambda_context: Any, case: str) -> None:
    # Given a token that is wrong in one way
    token = _forged(clock.epoch())[case]

    # When the authorizer checks it, then it raises API Gateway's "Unauthorized" (401)
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorize(f"Bearer {token}", lambda_context)


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer ", "Basic YWxpY2U6cHc="])
def test_missing_token_is_refused_with_401(
    aws: Any, lambda_context: Any, header: str | None
) -> None:
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorize(header, lambda_context)


def test_unrecognised_method_arn_is_refused(aws: Any, lambda_context: Any) -> None:
    token = start_stack_session(ALICE).token
    event = {"type": "TOKEN", "authorizationToken": f"Bearer {token}", "methodArn": "nonsense"}

    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorizer_app.lambda_handler(event, lambda_context)


def test_authorizer_event_file(
    aws: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the stack's signing key is the one the sample token was made with, a minute later
    use_sample_key(authorizer_app.settings.session_signing_key_id)
    seed_sample_session()
    moment = int(SAMPLE_ISSUED_AT.timestamp()) + 60
    monkeypatch.setattr(clock, "epoch", lambda: moment)

    # When the authorizer runs with events/authorizer.json
    answer = authorizer_app.lambda_handler(load_event("authorizer.json"), lambda_context)

    # Then Alice is allowed on the sample API's stage
    assert answer["principalId"] == ALICE
    [statement] = answer["policyDocument"]["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Resource"] == "arn:aws:execute-api:us-east-1:123456789012:1234567890/dev/*/*"

    # And an hour later the same token is refused
    monkeypatch.setattr(clock, "epoch", lambda: moment + 3600)
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorizer_app.lambda_handler(load_event("authorizer.json"), lambda_context)
