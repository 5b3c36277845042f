"""GET /get-qr-code against moto: the owner gets a short-lived SigV4 link to a scannable PNG."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import requests

from functions.create_ticket import app as create_ticket_app
from functions.get_qr_code import app as get_qr_code_app
from gatepass import clients, clock
from tests.conftest import load_event
from tests.support import factories
from tests.support.api import api_event, json_body

pytestmark = pytest.mark.integration


def buy(lambda_context: Any, user: str = "alice@example.com") -> dict[str, Any]:
    event = factories.put_event()
    request = api_event("POST", "/create-ticket", body={"event_id": event["event_id"]}, user=user)
    response = create_ticket_app.lambda_handler(request, lambda_context)
    assert response["statusCode"] == 201
    ticket: dict[str, Any] = json_body(response)["ticket"]
    return ticket


def show(lambda_context: Any, query: dict[str, str] | None, user: str) -> dict[str, Any]:
    request = api_event("GET", "/get-qr-code", query=query, user=user)
    response: dict[str, Any] = get_qr_code_app.lambda_handler(request, lambda_context)
    return response


def test_the_owner_gets_a_short_lived_sigv4_link_to_the_qr_image(
    aws: Any, lambda_context: Any
) -> None:
    # Given Alice holds a ticket
    ticket = buy(lambda_context)

    # When she asks for its QR code
    before = clock.epoch()
    response = show(lambda_context, {"ticket_id": ticket["ticket_id"]}, "alice@example.com")

    # Then she gets a link that expires in five minutes
    assert response["statusCode"] == 200
    link = json_body(response)
    assert link["ticket_id"] == ticket["ticket_id"]
    assert link["expires_in"] == 300
    expires_at = datetime.fromisoformat(link["expires_at"].replace("Z", "+00:00"))
    assert before + 300 <= expires_at.timestamp() <= clock.epoch() + 300
    # and the link is a pre-signed SigV4 GET of her ticket's image in the tickets bucket
    url = urlparse(link["url"])
    query = parse_qs(url.query)
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert query["X-Amz-Expires"] == ["300"]
    assert "X-Amz-Signature" in query
    assert url.path.endswith(f"tickets/{ticket['ticket_id']}.png")
    assert factories.settings().tickets_bucket in url.netloc + url.path
    # and fetching it returns the PNG, which scans as her genuine code
    fetched = requests.get(link["url"], timeout=5)
    assert fetched.status_code == 200
    assert fetched.content.startswith(b"\x89PNG")
    decoded = factories.decode_qr_png(fetched.content)
    assert decoded == [ticket["code"]]
    assert factories.verify_code(decoded[0]).ticket_id == ticket["ticket_id"]


def test_a_ticket_id_in_upper_case_is_the_same_ticket(aws: Any, lambda_context: Any) -> None:
    ticket = buy(lambda_context)
    response = show(lambda_context, {"ticket_id": ticket["ticket_id"].upper()}, ticket["holder"])
    assert response["statusCode"] == 200
    assert json_body(response)["ticket_id"] == ticket["ticket_id"]


def test_someone_elses_ticket_is_forbidden(aws: Any, lambda_context: Any) -> None:
    # Given Alice holds a ticket
    ticket = buy(lambda_context)

    # When Mallory asks for its QR code
    response = show(lambda_context, {"ticket_id": ticket["ticket_id"]}, "mallory@example.com")

    # Then she is refused and gets no link
    assert response["statusCode"] == 403
    body = json_body(response)
    assert body["error"]["code"] == "forbidden"
    assert "url" not in body
    assert "X-Amz-Signature" not in json.dumps(body)


def test_an_unknown_ticket_answers_404(aws: Any, lambda_context: Any) -> None:
    response = show(lambda_context, {"ticket_id": "bbbbbbbbbbbbbbbb"}, "alice@example.com")
    assert response["statusCode"] == 404
    assert json_body(response)["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    "query",
    [None, {"ticket_id": ""}, {"ticket_id": "not-a-ticket"}, {"ticket_id": "x" * 65}],
    ids=["missing", "empty", "malformed", "too-long"],
)
def test_a_missing_or_malformed_ticket_id_answers_400(
    aws: Any, lambda_context: Any, query: dict[str, str] | None
) -> None:
    response = show(lambda_context, query, "alice@example.com")
    assert response["statusCode"] == 400
    assert json_body(response)["error"]["code"] == "validation_error"


def test_the_sample_event_file_links_the_owner_to_their_qr_image(
    aws: Any, lambda_context: Any
) -> None:
    # Given the ticket the sample request names belongs to the sample's principal
    sample = load_event("get-qr-code.json")
    owner = sample["requestContext"]["authorizer"]["principalId"]
    event = factories.put_event()
    ticket = factories.put_ticket(
        event, holder=owner, ticket_id=sample["queryStringParameters"]["ticket_id"]
    )

    # When the exact sample request runs through the handler
    response = get_qr_code_app.lambda_handler(sample, lambda_context)

    # Then the owner gets a link, and the image behind it (rendered on first view) scans
    assert response["statusCode"] == 200
    link = json_body(response)
    assert link["ticket_id"] == ticket["ticket_id"]
    png = (
        clients.client("s3")
        .get_object(Bucket=factories.settings().tickets_bucket, Key=ticket["qr_key"])["Body"]
        .read()
    )
    assert factories.decode_qr_png(png) == [ticket["code"]]
