"""Tickets in phone wallets: an Apple Wallet pass (a signed .pkpass) and a Google Wallet save
link (a signed JWT) for the holder's own ticket, void once the ticket is cancelled or given away.

Signatures are checked with real implementations: OpenSSL verifies the pass's detached PKCS#7
signature over its manifest against the issuing certificate, and PyJWT verifies the save link's
RS256 signature with the issuer key's public half."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import boto3
import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from functions.apple_wallet_pass import app as apple_app
from functions.google_wallet_link import app as google_app
from gatepass import clients
from gatepass.dal.passes import pass_object_key
from tests.conftest import aws_client, load_event
from tests.support import factories
from tests.support.api import LambdaContext, api_event, json_body
from tests.support.ticketing import Answer, create_event, order, post

pytestmark = pytest.mark.integration

ALICE = "alice@example.com"
BOB = "bob@example.com"


def _secret(logical_id: str) -> dict[str, Any]:
    arn = (
        apple_app.settings.apple_pass_secret_arn
        if logical_id == "ApplePassSecret"
        else google_app.settings.google_wallet_secret_arn
    )
    value: dict[str, Any] = json.loads(
        boto3.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"]
    )
    return value


def _ask(route: str, ticket_id: str, user: str) -> Answer:
    app = apple_app if route == "/apple-wallet-pass" else google_app
    request = api_event("GET", route, query={"ticket_id": ticket_id}, user=user)
    return Answer(app.lambda_handler(request, LambdaContext()))


def _alices_ticket(name: str = "Ada Lovelace") -> tuple[dict[str, Any], dict[str, Any]]:
    event = create_event(capacity=5)
    kind = event["ticket_types"][0]["ticket_type_id"]
    placed = order(event["event_id"], [(kind, name)], buyer=ALICE)
    assert placed.status == 201, placed
    return event, placed.body["ticket"]


def _download_pass(ticket_id: str) -> dict[str, bytes]:
    body = (
        clients.client("s3")
        .get_object(Bucket=factories.settings().tickets_bucket, Key=pass_object_key(ticket_id))[
            "Body"
        ]
        .read()
    )
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _openssl_verifies(files: dict[str, bytes], authority_pem: str, tmp_path: Path) -> bool:
    (tmp_path / "manifest.json").write_bytes(files["manifest.json"])
    (tmp_path / "signature").write_bytes(files["signature"])
    (tmp_path / "authority.pem").write_text(authority_pem)
    verified = subprocess.run(
        [
            "openssl",
            "smime",
            "-verify",
            "-binary",
            "-inform",
            "DER",
            "-in",
            str(tmp_path / "signature"),
            "-content",
            str(tmp_path / "manifest.json"),
            "-CAfile",
            str(tmp_path / "authority.pem"),
            "-purpose",
            "any",
            "-out",
            str(tmp_path / "verified"),
        ],
        capture_output=True,
        check=False,
    )
    return verified.returncode == 0


# ------------------------------------------------------------------------------ Apple


def test_the_holder_gets_a_signed_apple_pass_of_their_ticket(aws: Any, tmp_path: Path) -> None:
    # Given Alice holds a ticket
    event, ticket = _alices_ticket()

    # When she asks for its Apple Wallet pass
    answer = _ask("/apple-wallet-pass", ticket["ticket_id"], ALICE)

    # Then she gets a short-lived link to a pass that is not void
    assert answer.status == 200, answer
    assert answer.body["voided"] is False
    assert pass_object_key(ticket["ticket_id"]) in answer.body["url"]
    assert 30 <= answer.body["expires_in"] <= 300
    files = _download_pass(ticket["ticket_id"])
    assert {"pass.json", "manifest.json", "signature", "icon.png", "icon@2x.png"} <= set(files)

    # and its barcode is the ticket's code, with the event, type, name and start
    document = json.loads(files["pass.json"])
    secret = _secret("ApplePassSecret")
    assert document["passTypeIdentifier"] == secret["pass_type_identifier"]
    assert document["teamIdentifier"] == secret["team_identifier"]
    assert document["serialNumber"] == ticket["ticket_id"]
    assert document["voided"] is False
    [barcode] = document["barcodes"]
    assert (barcode["format"], barcode["message"]) == ("PKBarcodeFormatQR", ticket["code"])
    fields = {
        f["key"]: f["value"]
        for group in ("primaryFields", "secondaryFields", "auxiliaryFields")
        for f in document["eventTicket"][group]
    }
    assert fields["event"] == event["title"]
    assert fields["name"] == "Ada Lovelace"
    assert fields["type"] == "General admission"
    assert document["relevantDate"] == event["starts_at"]

    # and the manifest names every other file by its SHA-1
    manifest = json.loads(files["manifest.json"])
    assert set(manifest) == set(files) - {"manifest.json", "signature"}
    for name, digest in manifest.items():
        assert hashlib.sha1(files[name]).hexdigest() == digest  # noqa: S324

    # and OpenSSL verifies the detached signature over the manifest, by the pass certificate
    assert _openssl_verifies(files, secret["wwdr_certificate_pem"], tmp_path)
    certificates = serialization.pkcs7.load_der_pkcs7_certificates(files["signature"])
    subjects = {c.subject.rfc4514_string() for c in certificates}
    assert any(secret["pass_type_identifier"] in s for s in subjects)
    # and a manifest changed after signing does not verify
    tampered = dict(files, **{"manifest.json": files["manifest.json"].replace(b"{", b"{ ", 1)})
    assert not _openssl_verifies(tampered, secret["wwdr_certificate_pem"], tmp_path)


def test_a_cancelled_ticket_downloads_as_a_void_pass(aws: Any) -> None:
    # Given Alice cancelled her ticket
    _, ticket = _alices_ticket()
    assert post("/cancel-ticket", {"ticket_id": ticket["ticket_id"]}, user=ALICE).status == 200

    # When she downloads its pass again
    answer = _ask("/apple-wallet-pass", ticket["ticket_id"], ALICE)

    # Then the pass says it is void
    assert answer.status == 200, answer
    assert answer.body["voided"] is True
    assert json.loads(_download_pass(ticket["ticket_id"])["pass.json"])["voided"] is True


def test_a_transferred_ticket_is_void_for_the_giver_and_live_for_the_recipient(aws: Any) -> None:
    # Given Alice gave her ticket to Bob
    _, ticket = _alices_ticket()
    moved = post(
        "/transfer-ticket", {"ticket_id": ticket["ticket_id"], "to_email": BOB}, user=ALICE
    )
    new = moved.body["ticket"]

    # When each asks for the pass of the ticket they held or hold
    old_pass = _ask("/apple-wallet-pass", ticket["ticket_id"], ALICE)
    new_pass = _ask("/apple-wallet-pass", new["ticket_id"], BOB)

    # Then Alice's old pass is void, and Bob's carries the new code
    assert old_pass.body["voided"] is True
    assert json.loads(_download_pass(ticket["ticket_id"])["pass.json"])["voided"] is True
    assert new_pass.body["voided"] is False
    document = json.loads(_download_pass(new["ticket_id"])["pass.json"])
    assert document["barcodes"][0]["message"] == new["code"]


@pytest.mark.parametrize("route", ["/apple-wallet-pass", "/google-wallet-link"])
def test_only_the_holder_gets_a_wallet_pass(aws: Any, route: str) -> None:
    # Given Alice holds a ticket
    _, ticket = _alices_ticket()

    # When Bob, an unknown ticket id and a malformed one are asked for
    someone_else = _ask(route, ticket["ticket_id"], BOB)
    unknown = _ask(route, "aaaaaaaaaaaaaaaa", ALICE)
    malformed = _ask(route, "not-a-ticket", ALICE)

    # Then Bob is refused, the unknown ticket is not found, the malformed id is a bad request
    assert (someone_else.status, someone_else.code) == (403, "forbidden")
    assert (unknown.status, unknown.code) == (404, "not_found")
    assert (malformed.status, malformed.code) == (400, "validation_error")
    # and nothing was written for Bob
    listed = aws_client("s3").list_objects_v2(
        Bucket=factories.settings().tickets_bucket, Prefix="passes/"
    )
    assert listed.get("KeyCount", 0) == 0


@pytest.mark.parametrize(
    ("route", "secret"),
    [("/apple-wallet-pass", "ApplePassSecret"), ("/google-wallet-link", "GoogleWalletSecret")],
)
def test_a_wallet_still_on_the_deploys_placeholder_answers_503(
    aws: Any, route: str, secret: str
) -> None:
    # Given the secret still holds what the deploy generated (no real credentials yet)
    _, ticket = _alices_ticket()
    arn = (
        apple_app.settings.apple_pass_secret_arn
        if secret == "ApplePassSecret"
        else google_app.settings.google_wallet_secret_arn
    )
    boto3.client("secretsmanager").put_secret_value(
        SecretId=arn, SecretString=json.dumps({"status": "placeholder", "placeholder": "x" * 32})
    )

    # When the holder asks for a pass
    answer = _ask(route, ticket["ticket_id"], ALICE)

    # Then the answer says the wallet is not set up, not a broken pass
    assert (answer.status, answer.code) == (503, "wallet_not_configured")
    assert "docs/operations.md" in answer.body["error"]["message"]


def test_the_sample_apple_wallet_request_runs(aws: Any) -> None:
    sample = load_event("apple-wallet-pass.json")
    owner = sample["requestContext"]["authorizer"]["principalId"]
    event = factories.put_event()
    factories.put_ticket(
        event, holder=owner, ticket_id=sample["queryStringParameters"]["ticket_id"]
    )

    response = apple_app.lambda_handler(sample, LambdaContext())

    assert response["statusCode"] == 200, response
    assert json_body(response)["voided"] is False


# ------------------------------------------------------------------------------ Google


def _verified_claims(save_url: str) -> dict[str, Any]:
    secret = _secret("GoogleWalletSecret")
    public = serialization.load_pem_private_key(secret["private_key"].encode(), None).public_key()
    token = save_url.removeprefix("https://pay.google.com/gp/v/save/")
    assert jwt.get_unverified_header(token)["kid"] == secret["private_key_id"]
    claims: dict[str, Any] = jwt.decode(
        token, public, algorithms=["RS256"], audience="google", issuer=secret["client_email"]
    )
    return claims


def test_the_holder_gets_a_google_wallet_save_link_signed_by_the_issuer(aws: Any) -> None:
    # Given Alice holds a ticket
    event, ticket = _alices_ticket()

    # When she asks for a Google Wallet link
    answer = _ask("/google-wallet-link", ticket["ticket_id"], ALICE)

    # Then it is a save link whose JWT verifies against the issuer's key
    assert answer.status == 200, answer
    assert answer.body["state"] == "ACTIVE"
    assert answer.body["save_url"].startswith("https://pay.google.com/gp/v/save/")
    claims = _verified_claims(answer.body["save_url"])
    assert claims["typ"] == "savetowallet"
    issuer = _secret("GoogleWalletSecret")["issuer_id"]

    # and it carries the event as a ticket class and the ticket as its object
    [ticket_class] = claims["payload"]["eventTicketClasses"]
    [ticket_object] = claims["payload"]["eventTicketObjects"]
    assert ticket_class["id"] == f"{issuer}.gatepass-event-{event['event_id']}"
    assert ticket_class["eventName"]["defaultValue"]["value"] == event["title"]
    assert ticket_class["dateTime"]["start"] == event["starts_at"]
    assert ticket_object["id"] == f"{issuer}.gatepass-ticket-{ticket['ticket_id']}"
    assert ticket_object["classId"] == ticket_class["id"]
    assert ticket_object["state"] == "ACTIVE"
    assert ticket_object["barcode"] == {
        "type": "QR_CODE",
        "value": ticket["code"],
        "alternateText": ticket["ticket_id"],
    }
    assert ticket_object["ticketHolderName"] == "Ada Lovelace"
    assert ticket_object["ticketType"]["defaultValue"]["value"] == "General admission"


def test_a_cancelled_or_transferred_ticket_links_as_inactive(aws: Any) -> None:
    # Given one of Alice's tickets is cancelled and another given to Bob
    _, cancelled = _alices_ticket()
    post("/cancel-ticket", {"ticket_id": cancelled["ticket_id"]}, user=ALICE)
    _, given = _alices_ticket("Bob Dylan")
    moved = post("/transfer-ticket", {"ticket_id": given["ticket_id"], "to_email": BOB}, user=ALICE)

    # When links are asked for each
    links = {
        "cancelled": _ask("/google-wallet-link", cancelled["ticket_id"], ALICE),
        "given": _ask("/google-wallet-link", given["ticket_id"], ALICE),
        "received": _ask("/google-wallet-link", moved.body["ticket"]["ticket_id"], BOB),
    }

    # Then the objects of the cancelled and the given ticket are INACTIVE, Bob's is ACTIVE
    states = {
        name: _verified_claims(a.body["save_url"])["payload"]["eventTicketObjects"][0]["state"]
        for name, a in links.items()
    }
    assert states == {"cancelled": "INACTIVE", "given": "INACTIVE", "received": "ACTIVE"}


def test_the_sample_google_wallet_request_runs(aws: Any) -> None:
    sample = load_event("google-wallet-link.json")
    owner = sample["requestContext"]["authorizer"]["principalId"]
    event = factories.put_event()
    ticket = factories.put_ticket(
        event, holder=owner, ticket_id=sample["queryStringParameters"]["ticket_id"]
    )

    response = google_app.lambda_handler(sample, LambdaContext())

    assert response["statusCode"] == 200, response
    claims = _verified_claims(json_body(response)["save_url"])
    assert claims["payload"]["eventTicketObjects"][0]["barcode"]["value"] == ticket["code"]
