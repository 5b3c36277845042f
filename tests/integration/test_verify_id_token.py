"""POST /verify-id-token: the identity provider's ID token, verified against the keys the
provider publishes (served over real HTTP on 127.0.0.1), becomes a Gatepass session once; every
wrong token is a 401 that records nothing."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from functions.verify_id_token import app as verify_id_token_app
from gatepass import tokens
from gatepass.federation import IdTokenVerifier
from tests.conftest import load_event
from tests.support.api import api_event, json_body
from tests.support.idp import Issuer, running_issuer
from tests.support.session_keys import stack_verifying_key

pytestmark = pytest.mark.integration


@pytest.fixture
def issuer(aws: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Issuer]:
    with running_issuer() as running:
        verifier = IdTokenVerifier(running.url, running.client_id)
        monkeypatch.setattr(verify_id_token_app, "verifier", verifier)
        yield running


def exchange(lambda_context: Any, id_token: str) -> Any:
    event = api_event("POST", "/verify-id-token", body={"id_token": id_token})
    return verify_id_token_app.lambda_handler(event, lambda_context)


def used_marks() -> list[dict[str, Any]]:
    table = boto3.resource("dynamodb").Table(verify_id_token_app.settings.identity_table)
    return [i for i in table.scan()["Items"] if str(i["pk"]).startswith("IDTOKEN#")]


def test_a_provider_token_becomes_a_gatepass_session(issuer: Issuer, lambda_context: Any) -> None:
    # Given the provider vouched for Alice's address
    id_token = issuer.id_token(email="Alice@Example.com", amr=["pwd"])

    # When the web exchanges her ID token
    response = exchange(lambda_context, id_token)

    # Then she holds a Gatepass session for her address, marked as an OIDC sign-in
    assert response["statusCode"] == 200
    body = json_body(response)
    claims = tokens.verify_session_token(stack_verifying_key(), body["token"])
    assert claims.subject == "alice@example.com"
    assert claims.methods == ("oidc", "pwd")
    assert len(used_marks()) == 1
    # And her session is recorded like any other sign-in's
    table = boto3.resource("dynamodb").Table(verify_id_token_app.settings.identity_table)
    session = table.get_item(
        Key={"pk": "SESSIONS#alice@example.com", "sk": f"SESSION#{claims.session_id}"}
    )["Item"]
    assert session["methods"] == ["oidc", "pwd"]


def test_a_replayed_token_is_refused(issuer: Issuer, lambda_context: Any) -> None:
    id_token = issuer.id_token()
    assert exchange(lambda_context, id_token)["statusCode"] == 200

    again = exchange(lambda_context, id_token)

    assert again["statusCode"] == 401
    assert json_body(again)["error"]["code"] == "unauthorized"
    assert "already used" in json_body(again)["error"]["message"]


def _wrong(issuer: Issuer, case: str) -> str:
    now = int(time.time())
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return {
        "expired": lambda: issuer.id_token(iat=now - 7200, exp=now - 3600),
        "wrong-audience": lambda: issuer.id_token(aud="someone-else"),
        "wrong-issuer": lambda: issuer.id_token(iss="https://evil.example.com"),
        "other-key": lambda: issuer.id_token(key=other_key),
        "unverified-email": lambda: issuer.id_token(email_verified=False),
        "no-email": lambda: issuer.id_token(email=None),
        "bad-email": lambda: issuer.id_token(email="not an address"),
        "tampered": lambda: _tampered(issuer.id_token()),
        "not-a-jwt": lambda: "x" * 40,
    }[case]()


def _tampered(token: str) -> str:
    header, payload, signature = token.split(".")
    return f"{header}.{payload[:-4]}AAAA.{signature}"


@pytest.mark.parametrize(
    "case",
    [
        "expired",
        "wrong-audience",
        "wrong-issuer",
        "other-key",
        "unverified-email",
        "no-email",
        "bad-email",
        "tampered",
        "not-a-jwt",
    ],
)
def test_wrong_tokens_are_refused_and_change_nothing(
    issuer: Issuer, lambda_context: Any, case: str
) -> None:
    response = exchange(lambda_context, _wrong(issuer, case))

    assert response["statusCode"] == 401
    error = json_body(response)["error"]
    assert error["code"] == "unauthorized"
    assert error["message"]
    assert used_marks() == []


def test_sample_event_is_refused_by_a_configured_provider(
    issuer: Issuer, lambda_context: Any
) -> None:
    response = verify_id_token_app.lambda_handler(
        load_event("verify-id-token.json"), lambda_context
    )

    assert response["statusCode"] == 401
    assert used_marks() == []


def test_a_stack_without_a_provider_answers_404(aws: Any, lambda_context: Any) -> None:
    # The default stack (SignInMethod email-code) configures no provider.
    assert verify_id_token_app.verifier is None

    response = verify_id_token_app.lambda_handler(
        load_event("verify-id-token.json"), lambda_context
    )

    assert response["statusCode"] == 404
    assert json_body(response)["error"]["code"] == "not_found"


def test_a_malformed_body_is_a_400(aws: Any, lambda_context: Any) -> None:
    event = api_event("POST", "/verify-id-token", body={"id_token": "short"})

    response = verify_id_token_app.lambda_handler(event, lambda_context)

    assert response["statusCode"] == 400
    assert json_body(response)["error"]["code"] == "validation_error"
