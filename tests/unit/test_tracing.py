"""Tracing without the X-Ray SDK: spans only when OpenTelemetry's layer is attached, and never
anything a caller sent in them."""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest

from gatepass.observability import OTEL_WRAPPER, Tracer, span_attributes
from tests.conftest import load_event

pytestmark = pytest.mark.unit

SECRETS = ("Bearer", "123456", "alice@example.com", "ada@example.com")


@pytest.mark.parametrize(
    "name",
    ["verify-otp.json", "send-otp.json", "check-in.json", "get-qr-code.json", "authorizer.json"],
)
def test_a_span_names_the_route_and_nothing_the_caller_sent(name: str) -> None:
    # Given a request that carries a session token, an address or a code
    event: dict[str, Any] = load_event(name)

    # When its span's attributes are chosen
    attributes = span_attributes(event)

    # Then they say which route it was, and hold no header, body, query or path value
    shown = json.dumps(attributes)
    assert attributes["faas.trigger"] == "http"
    body = json.loads(event["body"]) if event.get("body") else {}
    sent = [
        *(event.get("headers") or {}).values(),
        *body.values(),
        *(event.get("queryStringParameters") or {}).values(),
        *(event.get("pathParameters") or {}).values(),
        event.get("authorizationToken", ""),
    ]
    for value in (str(v) for v in sent if v and len(str(v)) > 4):
        assert value not in shown
    for secret in SECRETS:
        assert secret not in shown
    if "httpMethod" in event:
        assert attributes["http.route"] == event["resource"]


def test_stream_batches_are_described_by_count_and_source() -> None:
    attributes = span_attributes(load_event("projector-ticketing.json"))
    assert attributes["faas.trigger"] == "pubsub"
    assert attributes["gatepass.event_source"] == "aws:dynamodb"
    assert "@" not in json.dumps(attributes)


def test_without_the_layer_no_tracing_library_is_loaded() -> None:
    # Given a function without the OpenTelemetry wrapper (the default)
    tracer = Tracer(environ={})
    calls: list[Any] = []
    handler = tracer.capture_lambda_handler(lambda event, context: calls.append(event) or "done")

    # When it handles an event
    answer = handler({"httpMethod": "GET", "resource": "/events"}, None)

    # Then it ran untouched, and neither OpenTelemetry nor the X-Ray SDK was imported
    assert answer == "done"
    assert calls == [{"httpMethod": "GET", "resource": "/events"}]
    assert tracer._otel is None
    assert "aws_xray_sdk" not in sys.modules


def test_with_the_wrapper_but_without_the_library_the_handler_still_runs() -> None:
    tracer = Tracer(environ={"AWS_LAMBDA_EXEC_WRAPPER": OTEL_WRAPPER})
    handler = tracer.capture_lambda_handler(lambda event, context: {"statusCode": 200})
    assert handler({"httpMethod": "GET", "resource": "/events"}, None) == {"statusCode": 200}
