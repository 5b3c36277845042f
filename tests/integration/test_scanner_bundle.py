"""GET /events/{event_id}/scanner-bundle and GET /scanner-bundle-key against moto: the signed
bundle an offline scanner judges codes with (docs/decisions/0061)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from functions.door import app as door_app
from functions.scanner_bundle import app as bundle_app
from gatepass import b64url, bundles, ticket_codes
from gatepass.models.scanner import SignedBundle
from tests.conftest import load_event
from tests.support import factories
from tests.support.api import api_event, json_body

pytestmark = pytest.mark.integration

ORGANIZER = "olivia@example.com"


def get_bundle(lambda_context: Any, event_id: str, user: str = ORGANIZER) -> dict[str, Any]:
    request = api_event(
        "GET",
        f"/events/{event_id}/scanner-bundle",
        user=user,
        path_parameters={"event_id": event_id},
        resource="/events/{event_id}/scanner-bundle",
    )
    response: dict[str, Any] = bundle_app.lambda_handler(request, lambda_context)
    return response


def pinned_key(lambda_context: Any) -> str:
    response = bundle_app.lambda_handler(api_event("GET", "/scanner-bundle-key"), lambda_context)
    assert response["statusCode"] == 200
    key: str = json_body(response)["public_key"]
    return key


def test_the_organizer_gets_a_signed_bundle_of_everything_the_door_needs(
    aws: Any, lambda_context: Any
) -> None:
    # Given an event with a live ticket, one inside, one cancelled and a gate
    event = factories.put_event(organizer=ORGANIZER)
    alice = factories.put_ticket(event, holder="alice@example.com", attendee_name="Alice")
    bob = factories.put_ticket(event, holder="bob@example.com", status="checked_in")
    carol = factories.put_ticket(event, holder="carol@example.com", status="cancelled")
    factories.put_gate(event["event_id"], "nbswy3dpo5xxe3de", name="North")

    # When the organizer downloads the bundle
    response = get_bundle(lambda_context, event["event_id"])

    # Then it verifies against the published bundle key
    assert response["statusCode"] == 200
    signed = SignedBundle.model_validate(json_body(response))
    content = bundles.open_bundle(signed, pinned_key(lambda_context))
    # and carries the event's verifying keys by key id (its own key, docs/decisions/0064), its
    # tickets with names, revocations and who is in
    assert content["verifying_keys"] == {event["signing_key_id"]: event["verifying_key"]}
    assert (
        ticket_codes.verify(alice["code"], content["verifying_keys"]).ticket_id
        == (alice["ticket_id"])
    )
    tickets = {t["ticket_id"]: t for t in content["tickets"]}
    assert tickets[alice["ticket_id"]]["name"] == "Alice"
    assert tickets[alice["ticket_id"]]["status"] == "issued"
    assert tickets[bob["ticket_id"]]["name"] == "b…@example.com"
    assert content["inside"] == [bob["ticket_id"]]
    assert [r["ticket_id"] for r in content["revoked"]] == [carol["ticket_id"]]
    assert [g["name"] for g in content["gates"]] == ["North"]
    assert content["ticket_types"][0]["name"] == "General admission"
    # and no holder's address in full
    assert "alice@example.com" not in b64url.decode(signed.payload).decode()


def test_a_tampered_bundle_does_not_verify(aws: Any, lambda_context: Any) -> None:
    # Given a genuine bundle
    event = factories.put_event(organizer=ORGANIZER)
    factories.put_ticket(event, holder="alice@example.com", status="cancelled")
    signed = SignedBundle.model_validate(json_body(get_bundle(lambda_context, event["event_id"])))
    content = json.loads(b64url.decode(signed.payload))

    # When someone takes the revoked ticket off its list and keeps the signature
    content["revoked"] = []
    forged = signed.model_copy(update={"payload": b64url.encode(json.dumps(content).encode())})

    # Then it no longer verifies against the pinned key
    with pytest.raises(bundles.TamperedBundle):
        bundles.open_bundle(forged, pinned_key(lambda_context))


def test_door_staff_get_a_bundle_and_nobody_else_does(aws: Any, lambda_context: Any) -> None:
    event = factories.put_event(organizer=ORGANIZER)
    invite = api_event(
        "POST",
        "/add-door-staff",
        body={"event_id": event["event_id"], "email": "sam@example.com"},
        user=ORGANIZER,
    )
    assert door_app.lambda_handler(invite, lambda_context)["statusCode"] == 200

    staff = get_bundle(lambda_context, event["event_id"], user="sam@example.com")
    assert staff["statusCode"] == 200
    assert json.loads(b64url.decode(json_body(staff)["payload"]))["role"] == "staff"

    stranger = get_bundle(lambda_context, event["event_id"], user="eve@example.com")
    assert stranger["statusCode"] == 403
    assert json_body(stranger)["error"]["code"] == "not_door_staff"
    missing = get_bundle(lambda_context, "mfrggzdfmztwq2lk")
    assert missing["statusCode"] == 404


def test_the_sample_events_run_through_the_bundle_function(aws: Any, lambda_context: Any) -> None:
    sample = load_event("scanner-bundle.json")
    organizer = sample["requestContext"]["authorizer"]["principalId"]
    factories.put_event(organizer=organizer, event_id=sample["pathParameters"]["event_id"])

    bundle = bundle_app.lambda_handler(sample, lambda_context)
    key = bundle_app.lambda_handler(load_event("scanner-bundle-key.json"), lambda_context)

    assert (bundle["statusCode"], key["statusCode"]) == (200, 200)
    content = bundles.open_bundle(
        SignedBundle.model_validate(json_body(bundle)), json_body(key)["public_key"]
    )
    assert content["event_id"] == sample["pathParameters"]["event_id"]
