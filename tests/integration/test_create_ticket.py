"""POST /create-ticket against moto: one transaction, never past capacity, one ticket per
attendee, a QR image a scanner reads, and Idempotency-Key retries answering the same ticket."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from functions.create_ticket import app as create_ticket_app
from functions.get_qr_code import app as get_qr_code_app
from gatepass import clients, ticket_codes
from gatepass.dal.orders import DynamoOrderStore
from tests.conftest import aws_client, load_event
from tests.support import factories
from tests.support.api import api_event, json_body
from tests.support.throttling import throttled_reads

pytestmark = pytest.mark.integration


def take_ticket(
    lambda_context: Any,
    event_id: str,
    user: str | None = "alice@example.com",
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    headers = {"Idempotency-Key": idempotency_key} if idempotency_key is not None else None
    request = api_event(
        "POST", "/create-ticket", body={"event_id": event_id}, headers=headers, user=user
    )
    response: dict[str, Any] = create_ticket_app.lambda_handler(request, lambda_context)
    return response


def tickets_bucket() -> str:
    return factories.settings().tickets_bucket


def stored_png(key: str) -> bytes:
    body: bytes = clients.client("s3").get_object(Bucket=tickets_bucket(), Key=key)["Body"].read()
    return body


def holdings(event_id: str) -> list[dict[str, Any]]:
    """The event's tickets as stored (the event's attendees index)."""
    table = clients.dynamodb_table(factories.settings().ticketing_table)
    items: list[dict[str, Any]] = table.query(
        IndexName="gsi1", KeyConditionExpression=Key("gsi1pk").eq(f"EVENT#{event_id}#TICKETS")
    )["Items"]
    return items


def test_a_signed_in_attendee_takes_a_ticket_with_a_scannable_qr_code(
    aws: Any, lambda_context: Any
) -> None:
    # Given an upcoming event with free seats
    event = factories.put_event(capacity=3)

    # When Alice takes a ticket
    response = take_ticket(lambda_context, event["event_id"])

    # Then she gets 201 with an issued ticket for that event, held by her
    assert response["statusCode"] == 201
    ticket = json_body(response)["ticket"]
    assert ticket["event_id"] == event["event_id"]
    assert ticket["holder"] == "alice@example.com"
    assert ticket["status"] == "issued"
    assert ticket["checked_in_at"] is None
    # and its code is genuine, for this event and ticket
    assert factories.verify_code(ticket["code"]) == ticket_codes.TicketCode(
        event_id=event["event_id"], ticket_id=ticket["ticket_id"], key_id=event["signing_key_id"]
    )
    # and the event counts one seat sold, one write later
    stored_event = factories.seats(event["event_id"])
    assert stored_event is not None
    assert (stored_event["sold"], stored_event["version"]) == (1, 2)
    # and the ticket is stored as the data model says, in an order of one
    stored_ticket = factories.get_item(f"TICKET#{ticket['ticket_id']}")
    assert stored_ticket is not None
    assert stored_ticket["code"] == ticket["code"]
    assert stored_ticket["gsi1pk"] == f"EVENT#{event['event_id']}#TICKETS"
    assert stored_ticket["gsi2pk"] == "HOLDER#alice@example.com"
    assert stored_ticket["qr_key"] == f"tickets/{ticket['ticket_id']}.png"
    assert [h["ticket_id"] for h in holdings(event["event_id"])] == [ticket["ticket_id"]]
    # and the QR image in the tickets bucket scans as the ticket's code
    assert factories.decode_qr_png(stored_png(stored_ticket["qr_key"])) == [ticket["code"]]


def test_an_attendee_takes_tickets_up_to_the_buyer_limit_and_no_more(
    aws: Any, lambda_context: Any
) -> None:
    # Given an event allowing 4 tickets per person (the default), and Alice holding 4
    event = factories.put_event(capacity=10)
    for _ in range(4):
        assert take_ticket(lambda_context, event["event_id"])["statusCode"] == 201

    # When she asks for another one
    response = take_ticket(lambda_context, event["event_id"])

    # Then she is told she reached the limit, and how many she has
    assert response["statusCode"] == 409
    error = json_body(response)["error"]
    assert error["code"] == "buyer_limit_reached"
    assert (error["max_tickets_per_buyer"], error["held"]) == (4, 4)
    # and nothing more was sold or stored
    stored_event = factories.seats(event["event_id"])
    assert stored_event["sold"] == 4
    assert len(holdings(event["event_id"])) == 4


def test_a_sold_out_event_refuses_more_tickets(aws: Any, lambda_context: Any) -> None:
    # Given an event whose only seat Alice took
    event = factories.put_event(capacity=1)
    assert take_ticket(lambda_context, event["event_id"])["statusCode"] == 201

    # When Bob asks for a ticket
    response = take_ticket(lambda_context, event["event_id"], user="bob@example.com")

    # Then it is sold out and Bob holds nothing
    assert response["statusCode"] == 409
    assert json_body(response)["error"]["code"] == "sold_out"
    stored_event = factories.seats(event["event_id"])
    assert stored_event is not None
    assert stored_event["sold"] == 1
    assert [h["holder"] for h in holdings(event["event_id"])] == ["alice@example.com"]


def test_an_unknown_event_answers_404(aws: Any, lambda_context: Any) -> None:
    # Given no event with this id
    missing = "aaaaaaaaaaaaaaaa"

    # When someone asks for a ticket to it
    response = take_ticket(lambda_context, missing)

    # Then it is not found, and no holding or ticket appears
    assert response["statusCode"] == 404
    assert json_body(response)["error"]["code"] == "not_found"
    assert factories.query_items(f"EVENT#{missing}") == []


def test_an_event_that_already_started_issues_no_tickets(aws: Any, lambda_context: Any) -> None:
    # Given an event that started an hour ago, with seats left
    event = factories.put_event(capacity=10, starts_in=-timedelta(hours=1))

    # When Alice asks for a ticket
    response = take_ticket(lambda_context, event["event_id"])

    # Then she is told it has started, and nothing is sold
    assert response["statusCode"] == 409
    assert json_body(response)["error"]["code"] == "event_started"
    stored_event = factories.seats(event["event_id"])
    assert stored_event is not None
    assert stored_event["sold"] == 0


def test_a_retry_with_the_same_idempotency_key_answers_the_same_ticket(
    aws: Any, lambda_context: Any
) -> None:
    # Given Alice took a ticket with an Idempotency-Key
    event = factories.put_event(capacity=5)
    first = take_ticket(lambda_context, event["event_id"], idempotency_key="order-42")
    assert first["statusCode"] == 201

    # When her client retries the very same request
    retry = take_ticket(lambda_context, event["event_id"], idempotency_key="order-42")

    # Then it answers 201 with the identical ticket
    assert retry["statusCode"] == 201
    assert json_body(retry) == json_body(first)
    # and still only one seat is sold and one ticket exists for her
    stored_event = factories.seats(event["event_id"])
    assert stored_event is not None
    assert stored_event["sold"] == 1
    assert len(holdings(event["event_id"])) == 1


def test_another_caller_with_the_same_idempotency_key_gets_their_own_ticket(
    aws: Any, lambda_context: Any
) -> None:
    # Given Alice took a ticket with a key
    event = factories.put_event(capacity=5)
    alice = take_ticket(lambda_context, event["event_id"], idempotency_key="same-key")

    # When Bob happens to send the same key
    bob = take_ticket(
        lambda_context, event["event_id"], user="bob@example.com", idempotency_key="same-key"
    )

    # Then Bob gets a ticket of his own, not Alice's
    assert bob["statusCode"] == 201
    bob_ticket = json_body(bob)["ticket"]
    assert bob_ticket["holder"] == "bob@example.com"
    assert bob_ticket["ticket_id"] != json_body(alice)["ticket"]["ticket_id"]
    stored_event = factories.seats(event["event_id"])
    assert stored_event is not None
    assert stored_event["sold"] == 2


def test_the_same_key_for_another_event_takes_a_ticket_for_that_event(
    aws: Any, lambda_context: Any
) -> None:
    # Given Alice used a key for one event
    first_event, second_event = factories.put_event(), factories.put_event()
    take_ticket(lambda_context, first_event["event_id"], idempotency_key="k1")

    # When she reuses it for another event
    response = take_ticket(lambda_context, second_event["event_id"], idempotency_key="k1")

    # Then that is a new request: a ticket for the second event
    assert response["statusCode"] == 201
    assert json_body(response)["ticket"]["event_id"] == second_event["event_id"]


def test_a_refused_request_is_not_remembered_under_its_key(aws: Any, lambda_context: Any) -> None:
    # Given a request with a key was refused because the event was sold out
    event = factories.put_event(capacity=1, sold=1)
    refused = take_ticket(lambda_context, event["event_id"], idempotency_key="try-again")
    assert json_body(refused)["error"]["code"] == "sold_out"

    # When a seat frees up (capacity raised) and the client retries with the same key
    factories.add_seats(event, 1)
    retry = take_ticket(lambda_context, event["event_id"], idempotency_key="try-again")

    # Then the retry is evaluated afresh and succeeds
    assert retry["statusCode"] == 201


@pytest.mark.parametrize("key", ["", "x" * 65, "two words"], ids=["empty", "too-long", "space"])
def test_a_malformed_idempotency_key_is_refused_before_anything_is_sold(
    aws: Any, lambda_context: Any, key: str
) -> None:
    event = factories.put_event()
    response = take_ticket(lambda_context, event["event_id"], idempotency_key=key)
    assert response["statusCode"] == 400
    assert json_body(response)["error"]["code"] == "validation_error"
    stored_event = factories.seats(event["event_id"])
    assert stored_event is not None
    assert stored_event["sold"] == 0


@pytest.mark.parametrize(
    "body",
    [{}, {"event_id": "not-an-id"}, {"event_id": "gq4tmzbx7k2nw5hd", "seats": 3}, "not json"],
    ids=["missing", "malformed-id", "unknown-field", "not-json"],
)
def test_a_malformed_body_answers_400(aws: Any, lambda_context: Any, body: Any) -> None:
    request = api_event("POST", "/create-ticket", body=body, user="alice@example.com")
    response = create_ticket_app.lambda_handler(request, lambda_context)
    assert response["statusCode"] == 400
    assert json_body(response)["error"]["code"] == "validation_error"


def test_without_a_signed_in_caller_the_answer_is_401(aws: Any, lambda_context: Any) -> None:
    event = factories.put_event()
    response = take_ticket(lambda_context, event["event_id"], user=None)
    assert response["statusCode"] == 401
    assert json_body(response)["error"]["code"] == "unauthorized"


def test_a_failed_qr_upload_keeps_the_sale_and_the_image_is_rendered_on_first_view(
    aws: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given S3 refuses uploads while Alice takes a ticket
    event = factories.put_event(capacity=2)
    s3 = clients.client("s3")

    def refuse(**_kwargs: Any) -> None:
        raise ClientError({"Error": {"Code": "ServiceUnavailable", "Message": "down"}}, "PutObject")

    with monkeypatch.context() as patched:
        patched.setattr(s3, "put_object", refuse)
        response = take_ticket(lambda_context, event["event_id"])

    # Then the sale stands: 201, the ticket is stored and counted, only the image is missing
    assert response["statusCode"] == 201
    ticket = json_body(response)["ticket"]
    stored_event = factories.seats(event["event_id"])
    assert stored_event is not None
    assert stored_event["sold"] == 1
    assert factories.get_item(f"TICKET#{ticket['ticket_id']}") is not None
    listed = aws_client("s3").list_objects_v2(Bucket=tickets_bucket(), Prefix="tickets/")
    assert listed.get("KeyCount", 0) == 0

    # When S3 is back and Alice opens her ticket's QR code
    shown = get_qr_code_app.lambda_handler(
        api_event(
            "GET", "/get-qr-code", query={"ticket_id": ticket["ticket_id"]}, user=ticket["holder"]
        ),
        lambda_context,
    )

    # Then the image is rendered, stored, and scans as her code
    assert shown["statusCode"] == 200
    png = stored_png(f"tickets/{ticket['ticket_id']}.png")
    assert factories.decode_qr_png(png) == [ticket["code"]]


def test_the_sample_event_file_takes_a_ticket(aws: Any, lambda_context: Any) -> None:
    # Given the event the sample request names exists
    sample = load_event("create-ticket.json")
    wanted = json.loads(sample["body"])["event_id"]
    factories.put_event(event_id=wanted, capacity=100)

    # When the exact sample request runs through the handler (twice, as a retry would)
    first = create_ticket_app.lambda_handler(sample, lambda_context)
    again = create_ticket_app.lambda_handler(load_event("create-ticket.json"), lambda_context)

    # Then the sample's principal holds one ticket for it, answered identically both times
    assert first["statusCode"] == 201
    ticket = json_body(first)["ticket"]
    assert ticket["event_id"] == wanted
    assert ticket["holder"] == sample["requestContext"]["authorizer"]["principalId"]
    assert json_body(again) == json_body(first)
    table = clients.dynamodb_table(factories.settings().ticketing_table)
    attendees = table.query(
        IndexName="gsi1", KeyConditionExpression=Key("gsi1pk").eq(f"EVENT#{wanted}#TICKETS")
    )["Items"]
    assert [a["ticket_id"] for a in attendees] == [ticket["ticket_id"]]


def _conflict() -> ClientError:
    # The seats update conflicted; the type, buyer, order and ticket writes were fine.
    reasons = [
        {"Code": "TransactionConflict", "Message": "conflict"},
        {"Code": "None"},
        {"Code": "None"},
        {"Code": "None"},
        {"Code": "None"},
    ]
    return ClientError(
        {
            "Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
            "CancellationReasons": reasons,
        },
        "TransactWriteItems",
    )


def test_a_sale_cancelled_only_by_a_conflicting_transaction_is_retried(
    aws: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given DynamoDB cancels the first two attempts because of concurrent transactions
    event = factories.put_event(capacity=5)
    client = clients.dynamodb_table(factories.settings().ticketing_table).meta.client
    real = client.transact_write_items
    attempts: list[int] = []

    def busy_then_real(**kwargs: Any) -> Any:
        attempts.append(1)
        if len(attempts) <= 2:
            raise _conflict()
        return real(**kwargs)

    monkeypatch.setattr(client, "transact_write_items", busy_then_real)

    # When Alice takes a ticket
    response = take_ticket(lambda_context, event["event_id"])

    # Then the third attempt sells it, once
    assert response["statusCode"] == 201
    assert len(attempts) == 3
    stored_event = factories.seats(event["event_id"])
    assert stored_event is not None
    assert stored_event["sold"] == 1


def test_a_sale_that_keeps_conflicting_answers_503_and_sells_nothing(
    aws: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given DynamoDB cancels every attempt because of concurrent transactions
    event = factories.put_event(capacity=5)
    client = clients.dynamodb_table(factories.settings().ticketing_table).meta.client

    def always_busy(**_kwargs: Any) -> Any:
        raise _conflict()

    monkeypatch.setattr(client, "transact_write_items", always_busy)

    # When Alice takes a ticket, then she is asked to try again and nothing is sold
    response = take_ticket(lambda_context, event["event_id"])
    assert response["statusCode"] == 503
    assert json_body(response)["error"]["code"] == "service_unavailable"
    stored_event = factories.seats(event["event_id"])
    assert stored_event is not None
    assert stored_event["sold"] == 0


def test_a_duplicate_arriving_while_the_first_request_runs_answers_409_in_progress(
    aws: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a request with a key is in the middle of its sale when its duplicate arrives
    event = factories.put_event(capacity=5)
    real_sell = DynamoOrderStore.sell
    duplicates: list[dict[str, Any]] = []

    def sell_with_a_duplicate(self: DynamoOrderStore, *args: Any, **kwargs: Any) -> None:
        if not duplicates:
            duplicates.append(take_ticket(lambda_context, event["event_id"], idempotency_key="k"))
        real_sell(self, *args, **kwargs)

    monkeypatch.setattr(DynamoOrderStore, "sell", sell_with_a_duplicate)

    # When the first request completes
    first = take_ticket(lambda_context, event["event_id"], idempotency_key="k")

    # Then the duplicate was told to retry later, and only the first sold a seat
    assert first["statusCode"] == 201
    assert duplicates[0]["statusCode"] == 409
    assert json_body(duplicates[0])["error"]["code"] == "request_in_progress"
    stored_event = factories.seats(event["event_id"])
    assert stored_event is not None
    assert stored_event["sold"] == 1


@pytest.mark.parametrize(
    "code",
    ["ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"],
)
def test_a_sale_whose_event_read_is_throttled_answers_503_and_sells_nothing(
    aws: Any, lambda_context: Any, code: str
) -> None:
    # Given an event with free seats whose partition's reads (the sale's Query of the event)
    # DynamoDB throttles past the SDK's retries
    event = factories.put_event(capacity=5)

    # When Alice takes a ticket
    with throttled_reads(code, operations=("Query",)) as refused:
        response = take_ticket(lambda_context, event["event_id"])

    # Then she is asked to try again (not told something broke) and nothing is sold
    assert refused == ["Query"]
    assert response["statusCode"] == 503
    assert json_body(response)["error"]["code"] == "service_unavailable"
    stored_event = factories.seats(event["event_id"])
    assert stored_event is not None
    assert stored_event["sold"] == 0
    assert holdings(event["event_id"]) == []


def test_a_sale_with_a_key_whose_reads_are_throttled_answers_503_and_can_be_retried(
    aws: Any, lambda_context: Any
) -> None:
    # Given an event with free seats and a throttled table
    event = factories.put_event(capacity=5)

    # When Alice takes a ticket with an Idempotency-Key while reads are throttled
    with throttled_reads(operations=("Query",)):
        response = take_ticket(lambda_context, event["event_id"], idempotency_key="k-throttled")

    # Then she gets 503 and nothing is sold
    assert response["statusCode"] == 503
    assert json_body(response)["error"]["code"] == "service_unavailable"
    assert holdings(event["event_id"]) == []

    # And her retry with the same key, once the table has capacity again, sells one ticket
    retried = take_ticket(lambda_context, event["event_id"], idempotency_key="k-throttled")
    assert retried["statusCode"] == 201
    assert len(holdings(event["event_id"])) == 1
