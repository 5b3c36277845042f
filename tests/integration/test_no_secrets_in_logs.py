"""Nothing secret in the logs: a whole sign-in, ticket and check-in journey runs through the
handlers with the logger at DEBUG, and no line holds a session token, a sign-in code, a ticket
code, a pre-signed URL's signature or a full address. (What traces may carry is held by
tests/unit/test_tracing.py: a span names only the route, the method and the trigger.)"""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest

from functions.authorizer import app as authorizer_app
from functions.check_in import app as check_in_app
from functions.create_ticket import app as create_ticket_app
from functions.get_qr_code import app as get_qr_code_app
from functions.log_activity import app as log_activity_app
from functions.send_otp import app as send_otp_app
from functions.sessions import app as sessions_app
from functions.subscribe import app as subscribe_app
from functions.verify_otp import app as verify_otp_app
from gatepass.logic import sign_in
from gatepass.observability import logger
from tests.support import factories
from tests.support.api import api_event, json_body

pytestmark = pytest.mark.integration

ALICE = "alice.secret-person@example.com"
ORGANIZER = "olivia.organizer@example.com"
NEWCOMER = "carol.newcomer@example.com"
CODE = "804279"
LINK_TOKEN = "sign-in-link-token-" + "k" * 30
BROWSER = "alices-browser-nonce-" + "b" * 30
METHOD_ARN = "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/dev/POST/create-ticket"


@dataclass
class Telemetry:
    logs: io.StringIO
    handlers: list[str] = field(default_factory=list)

    def call(self, name: str, handler: Any, event: dict[str, Any], context: Any) -> Any:
        self.handlers.append(name)
        return handler(event, context)

    def text(self) -> str:
        return self.logs.getvalue()


@pytest.fixture
def telemetry(aws: Any) -> Iterator[Telemetry]:
    """Everything the functions' logger emits, formatted as in Lambda, at DEBUG."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logger.registered_formatter)
    logger.addHandler(handler)
    level = logger.log_level
    logger.setLevel("DEBUG")
    try:
        yield Telemetry(stream)
    finally:
        logger.setLevel(level)
        logger.removeHandler(handler)


def _activate(email: str) -> None:
    """What the subscription workflow leaves behind once the address confirmed."""
    table = boto3.resource("dynamodb").Table(send_otp_app.settings.identity_table)
    table.put_item(
        Item={"pk": f"SUB#{email}", "sk": "META", "email": email, "status": "active", "version": 1}
    )


def test_a_journey_leaves_no_secret_in_the_logs(
    telemetry: Telemetry, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sign_in, "new_code", lambda: CODE)
    monkeypatch.setattr(sign_in, "new_link_token", lambda: LINK_TOKEN)
    call = telemetry.call

    # Given Carol subscribes, and Alice is a confirmed subscriber
    subscribed = call(
        "subscribe",
        subscribe_app.lambda_handler,
        api_event("POST", "/subscribe", body={"email": NEWCOMER}),
        lambda_context,
    )
    assert subscribed["statusCode"] == 202
    _activate(ALICE)

    # When she asks for a code, mistypes it, then signs in
    sent = call(
        "send-otp",
        send_otp_app.lambda_handler,
        api_event("POST", "/send-otp", body={"email": ALICE, "browser": BROWSER}),
        lambda_context,
    )
    assert sent["statusCode"] == 202
    elsewhere = call(
        "verify-link-other-browser",
        verify_otp_app.lambda_handler,
        api_event("POST", "/verify-link", body={"token": LINK_TOKEN, "browser": "o" * 43}),
        lambda_context,
    )
    assert elsewhere["statusCode"] == 403
    wrong = call(
        "verify-otp-wrong",
        verify_otp_app.lambda_handler,
        api_event("POST", "/verify-otp", body={"email": ALICE, "code": "000000"}),
        lambda_context,
    )
    assert wrong["statusCode"] == 401
    signed = call(
        "verify-otp",
        verify_otp_app.lambda_handler,
        api_event("POST", "/verify-otp", body={"email": ALICE, "code": CODE}),
        lambda_context,
    )
    assert signed["statusCode"] == 200
    token = json_body(signed)["token"]
    # (the same mail's link is spent with its code: opening it now is a logged refusal)
    used = call(
        "verify-link",
        verify_otp_app.lambda_handler,
        api_event("POST", "/verify-link", body={"token": LINK_TOKEN, "browser": BROWSER}),
        lambda_context,
    )
    assert used["statusCode"] == 410

    # And her token passes the authorizer, and a forged one does not
    allowed = call(
        "authorizer",
        authorizer_app.lambda_handler,
        {"type": "TOKEN", "authorizationToken": f"Bearer {token}", "methodArn": METHOD_ARN},
        lambda_context,
    )
    assert allowed["principalId"] == ALICE
    with pytest.raises(Exception, match="Unauthorized"):
        call(
            "authorizer-forged",
            authorizer_app.lambda_handler,
            {
                "type": "TOKEN",
                "authorizationToken": f"Bearer {token[:-6]}AAAAAA",
                "methodArn": METHOD_ARN,
            },
            lambda_context,
        )

    # And she takes a ticket, opens its QR code, and is checked in at the door
    event = factories.put_event(organizer=ORGANIZER)
    taken = call(
        "create-ticket",
        create_ticket_app.lambda_handler,
        api_event(
            "POST",
            "/create-ticket",
            body={"event_id": event["event_id"]},
            headers={"Idempotency-Key": "telemetry-1"},
            user=ALICE,
        ),
        lambda_context,
    )
    assert taken["statusCode"] in (200, 201), taken["body"]
    ticket = json_body(taken)["ticket"]
    qr = call(
        "get-qr-code",
        get_qr_code_app.lambda_handler,
        api_event("GET", "/get-qr-code", query={"ticket_id": ticket["ticket_id"]}, user=ALICE),
        lambda_context,
    )
    assert qr["statusCode"] == 200, qr["body"]
    url = json_body(qr)["url"]
    checked = call(
        "check-in",
        check_in_app.lambda_handler,
        api_event(
            "POST",
            "/check-in",
            body={"event_id": event["event_id"], "code": ticket["code"]},
            user=ORGANIZER,
        ),
        lambda_context,
    )
    assert checked["statusCode"] == 200
    logged = call(
        "log-activity",
        log_activity_app.lambda_handler,
        api_event(
            "POST",
            "/log-activity",
            body={"events": [{"type": "ticket_view", "event_id": event["event_id"]}]},
            headers={"Authorization": f"Bearer {token}"},
        ),
        lambda_context,
    )
    assert logged["statusCode"] == 202

    # And she signs out, after which her token is refused
    signed_out = call(
        "sign-out",
        sessions_app.lambda_handler,
        api_event("POST", "/sign-out", body={}, headers={"Authorization": f"Bearer {token}"}),
        lambda_context,
    )
    assert signed_out["statusCode"] == 200
    with pytest.raises(Exception, match="Unauthorized"):
        call(
            "authorizer-signed-out",
            authorizer_app.lambda_handler,
            {"type": "TOKEN", "authorizationToken": f"Bearer {token}", "methodArn": METHOD_ARN},
            lambda_context,
        )

    # Then the logs recorded the journey (each invocation's context, the refusals)...
    lines = [json.loads(line) for line in telemetry.text().splitlines() if line.strip()]
    assert len(lines) >= 2
    assert any(line.get("message") == "request refused" for line in lines)
    # ...and hold no secret and no full address
    text = telemetry.text()
    signature = re.search(r"[?&]X-Amz-Signature=([0-9a-f]+)", url)
    assert signature
    secrets = {
        "session token": token,
        "session token's signature": token.rsplit(".", 1)[1],
        "ticket code": ticket["code"],
        "pre-signed URL signature": signature.group(1),
        "Alice's address": ALICE,
        "the organizer's address": ORGANIZER,
        "Carol's address": NEWCOMER,
        "the sign-in link's token": LINK_TOKEN,
        "the browser's nonce": BROWSER,
    }
    for what, value in secrets.items():
        assert value.lower() not in text.lower(), f"{what} is in the logs"
    assert not re.search(rf"(?<![0-9A-Za-z]){CODE}(?![0-9A-Za-z])", text), "the sign-in code"
