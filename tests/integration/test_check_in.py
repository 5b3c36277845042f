"""POST /check-in against moto: signature first, with the event's key the code names (cached
public keys: a forged code costs no database read in a warm function, and no scan calls KMS),
only the organizer, exactly once."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.client import BaseClient

from functions.check_in import app as check_in_app
from gatepass import ids, keys, ticket_codes, ticket_keys
from tests.conftest import aws_client, load_event
from tests.support import factories
from tests.support.api import api_event, json_body

pytestmark = pytest.mark.integration

ORGANIZER = "olivia@example.com"


@pytest.fixture
def aws_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Every AWS call made, as (service, operation)."""
    calls: list[tuple[str, str]] = []
    original = BaseClient._make_api_call

    def recording(self: BaseClient, operation_name: str, api_params: dict[str, Any]) -> Any:
        calls.append((self.meta.service_model.service_name, operation_name))
        return original(self, operation_name, api_params)

    monkeypatch.setattr(BaseClient, "_make_api_call", recording)
    return calls


def scan(lambda_context: Any, event_id: str, code: str, user: str = ORGANIZER) -> dict[str, Any]:
    request = api_event("POST", "/check-in", body={"event_id": event_id, "code": code}, user=user)
    response: dict[str, Any] = check_in_app.lambda_handler(request, lambda_context)
    return response


def test_the_organizer_checks_a_ticket_in_once_and_a_second_scan_is_refused(
    aws: Any, lambda_context: Any
) -> None:
    # Given Alice holds a ticket for Olivia's event
    event = factories.put_event(organizer=ORGANIZER)
    ticket = factories.put_ticket(event, holder="alice@example.com")

    # When Olivia scans it at the door
    first = scan(lambda_context, event["event_id"], ticket["code"])

    # Then it is checked in, for Alice
    assert first["statusCode"] == 200
    result = json_body(first)
    assert result["ticket_id"] == ticket["ticket_id"]
    assert result["event_id"] == event["event_id"]
    assert result["holder"] == "alice@example.com"
    assert result["status"] == "checked_in"
    # and the stored ticket says when and by whom, one write later
    stored = factories.get_item(ticket["pk"])
    assert stored is not None
    assert stored["status"] == "checked_in"
    assert stored["checked_in_at"] == result["checked_in_at"]
    assert stored["checked_in_by"] == ORGANIZER
    assert stored["version"] == 2
    # and the event counts one arrival
    stored_event = factories.seats(event["event_id"])
    assert stored_event is not None
    assert stored_event["checked_in"] == 1

    # When the same ticket is scanned again
    second = scan(lambda_context, event["event_id"], ticket["code"])

    # Then it is refused with the time of the first check-in, and nothing is counted twice
    assert second["statusCode"] == 409
    error = json_body(second)["error"]
    assert error["code"] == "already_checked_in"
    assert error["first_checked_in_at"] == result["checked_in_at"]
    stored_event = factories.seats(event["event_id"])
    assert stored_event is not None
    assert stored_event["checked_in"] == 1


def test_a_code_typed_by_hand_checks_in_too(aws: Any, lambda_context: Any) -> None:
    event = factories.put_event(organizer=ORGANIZER)
    ticket = factories.put_ticket(event)
    typed = "-".join(ticket["code"][i : i + 4] for i in range(0, len(ticket["code"]), 4)).lower()
    response = scan(lambda_context, event["event_id"], typed)
    assert response["statusCode"] == 200
    assert json_body(response)["ticket_id"] == ticket["ticket_id"]


@pytest.mark.parametrize("forgery", ["altered", "foreign-key", "garbage"])
def test_a_forged_code_is_refused_without_reading_the_database(
    aws: Any, lambda_context: Any, aws_calls: list[tuple[str, str]], forgery: str
) -> None:
    # Given a real event and ticket, and a code that is not genuine
    event = factories.put_event(organizer=ORGANIZER)
    ticket = factories.put_ticket(event)
    genuine = ticket["code"]
    if forgery == "altered":
        code = genuine[:-1] + ("A" if genuine[-1] != "A" else "B")
    elif forgery == "foreign-key":
        # signed by a key of the forger's, claiming the event's current key id
        forger = ticket_codes.SigningKey(
            ticket_codes.parse(genuine).claims.key_id,
            ticket_codes.generate_signing_key().private,
        )
        code = forger.sign(event["event_id"], ticket["ticket_id"])
    else:
        code = "THIS-IS-NOT-A-TICKET"
    check_in_app.keys.verifying_keys(event["event_id"])  # cached, as in a warm function
    aws_calls.clear()

    # When it is scanned
    response = scan(lambda_context, event["event_id"], code)

    # Then it is refused as an invalid code, and DynamoDB was never called
    assert response["statusCode"] == 400
    assert json_body(response)["error"]["code"] == "invalid_ticket_code"
    assert [call for call in aws_calls if call[0] == "dynamodb"] == []
    stored = factories.get_item(ticket["pk"])
    assert stored is not None
    assert stored["status"] == "issued"


def test_a_cold_scan_reads_only_the_events_public_keys_and_never_kms(
    aws: Any, lambda_context: Any, aws_calls: list[tuple[str, str]]
) -> None:
    # Given a cold function (no cached keys) and a code forged for a real event
    event = factories.put_event(organizer=ORGANIZER)
    forger = ticket_codes.SigningKey(
        event["signing_key_id"], ticket_codes.generate_signing_key().private
    )
    forged = forger.sign(event["event_id"], ids.new_id())
    ticket_keys.reset()
    keys.reset()
    aws_calls.clear()

    # When it is scanned, twice
    first = scan(lambda_context, event["event_id"], forged)
    second = scan(lambda_context, event["event_id"], forged)

    # Then both are refused; the event's public keys were read once, with no KMS or secret
    assert (first["statusCode"], second["statusCode"]) == (400, 400)
    assert aws_calls == [("dynamodb", "GetItem")]


def test_a_genuine_code_of_another_event_is_refused_as_wrong_event(
    aws: Any, lambda_context: Any, aws_calls: list[tuple[str, str]]
) -> None:
    # Given Alice's genuine ticket for one event, scanned at the door of another
    tonight = factories.put_event(organizer=ORGANIZER)
    other = factories.put_event(organizer=ORGANIZER)
    ticket = factories.put_ticket(other)
    check_in_app.keys.verifying_keys(other["event_id"])  # cached, as in a warm function
    aws_calls.clear()

    # When it is scanned for tonight's event
    response = scan(lambda_context, tonight["event_id"], ticket["code"])

    # Then it is refused as a ticket for another event, before any database read
    assert response["statusCode"] == 400
    error = json_body(response)["error"]
    assert error["code"] == "wrong_event"
    assert error["ticket_event_id"] == other["event_id"]
    assert [call for call in aws_calls if call[0] == "dynamodb"] == []


def test_only_the_organizer_or_door_staff_may_check_in(aws: Any, lambda_context: Any) -> None:
    # Given Olivia's event and Alice's ticket
    event = factories.put_event(organizer=ORGANIZER)
    ticket = factories.put_ticket(event, holder="alice@example.com")

    # When Alice tries to check herself in
    response = scan(lambda_context, event["event_id"], ticket["code"], user="alice@example.com")

    # Then she is refused (she is not door staff) and the ticket stays issued
    assert response["statusCode"] == 403
    assert json_body(response)["error"]["code"] == "not_door_staff"
    stored = factories.get_item(ticket["pk"])
    assert stored is not None
    assert stored["status"] == "issued"
    stored_event = factories.seats(event["event_id"])
    assert stored_event is not None
    assert stored_event["checked_in"] == 0


def test_a_code_for_an_unknown_event_answers_404(aws: Any, lambda_context: Any) -> None:
    # Given a code for an event that does not exist (deleted, or never made)
    missing_event = ids.new_id()
    code = ticket_codes.generate_signing_key().sign(missing_event, ids.new_id())

    # When it is scanned, then the event is not found
    response = scan(lambda_context, missing_event, code)
    assert response["statusCode"] == 404
    assert json_body(response)["error"]["code"] == "not_found"


def test_a_genuine_code_for_a_ticket_never_sold_answers_404(aws: Any, lambda_context: Any) -> None:
    # Given a correctly signed code for a ticket whose sale never happened
    event = factories.put_event(organizer=ORGANIZER)
    code = factories.sign_code(event["event_id"], ids.new_id())

    # When it is scanned, then the ticket is not found and nothing is counted
    response = scan(lambda_context, event["event_id"], code)
    assert response["statusCode"] == 404
    stored_event = factories.seats(event["event_id"])
    assert stored_event is not None
    assert stored_event["checked_in"] == 0


@pytest.mark.parametrize(
    "body",
    [{"event_id": "gq4tmzbx7k2nw5hd"}, {"code": "ABC"}, {"event_id": "bad", "code": "ABC"}],
    ids=["no-code", "no-event", "malformed-event"],
)
def test_a_malformed_body_answers_400(aws: Any, lambda_context: Any, body: Any) -> None:
    request = api_event("POST", "/check-in", body=body, user=ORGANIZER)
    response = check_in_app.lambda_handler(request, lambda_context)
    assert response["statusCode"] == 400
    assert json_body(response)["error"]["code"] == "validation_error"


SAMPLE_TICKET_SECRET = "gatepass-sample-ticket-key-for-the-events-folder-only"


def test_the_sample_event_file_checks_its_v1_ticket_in(aws: Any, lambda_context: Any) -> None:
    # Given the deployment's ticket seed is the one the sample's version 1 code was derived from
    secret = factories.settings().ticket_key_secret_arn
    aws_client("secretsmanager").put_secret_value(
        SecretId=secret, SecretString=SAMPLE_TICKET_SECRET
    )
    keys.reset()
    # and the sample's principal organizes the event the sample's ticket is for
    sample = load_event("check-in.json")
    body = json.loads(sample["body"])
    scanned = ticket_codes.verify_with_public_key(
        ticket_codes.event_verifying_key(factories.ticket_seed(), body["event_id"]), body["code"]
    )
    assert scanned.key_id == ticket_codes.LEGACY_KEY_ID
    organizer = sample["requestContext"]["authorizer"]["principalId"]
    # (an event created before per-event keys, as the sample's code is)
    event = factories.put_event(organizer=organizer, event_id=body["event_id"], legacy=True)
    ticket = factories.put_ticket(event, holder="alice@example.com", ticket_id=scanned.ticket_id)
    assert ticket["code"] == body["code"]

    # When the exact sample request runs through the handler
    response = check_in_app.lambda_handler(sample, lambda_context)

    # Then the ticket is checked in
    assert response["statusCode"] == 200
    assert json_body(response)["status"] == "checked_in"
    stored = factories.get_item(ticket["pk"])
    assert stored is not None
    assert stored["status"] == "checked_in"
