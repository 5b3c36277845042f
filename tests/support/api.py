"""Builders for Lambda inputs: REST API proxy events in the shape
``sam local generate-event apigateway aws-proxy`` produces, and a Lambda context."""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from typing import Any


@dataclass
class LambdaContext:
    function_name: str = "gatepass-test"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:gatepass-test"
    aws_request_id: str = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"
    log_group_name: str = "/aws/lambda/gatepass-test"
    log_stream_name: str = "2026/11/22/[$LATEST]test"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


def api_event(
    method: str,
    path: str,
    *,
    body: Any = None,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    path_parameters: dict[str, str] | None = None,
    resource: str | None = None,
    user: str | None = None,
    binary: bytes | None = None,
) -> dict[str, Any]:
    """A REST API (v1) proxy event. ``user`` plays the session authorizer's principal."""
    all_headers = {
        "Accept": "application/json",
        "Content-Type": "application/json",
        "Host": "localhost:3000",
        "User-Agent": "pytest",
        "X-Forwarded-Proto": "https",
    }
    all_headers.update(headers or {})
    raw_body: str | None
    if binary is not None:
        raw_body, is_base64 = base64.b64encode(binary).decode("ascii"), True
    elif body is None or isinstance(body, str):
        raw_body, is_base64 = body, False
    else:
        raw_body, is_base64 = json.dumps(body), False
    authorizer: dict[str, Any] | None = None
    if user is not None:
        authorizer = {"principalId": user, "sub": user, "integrationLatency": 12}
    request_id = str(uuid.uuid4())
    return {
        "resource": resource or path,
        "path": path,
        "httpMethod": method.upper(),
        "headers": all_headers,
        "multiValueHeaders": {k: [v] for k, v in all_headers.items()},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": path_parameters,
        "stageVariables": None,
        "requestContext": {
            "resourceId": "123456",
            "resourcePath": resource or path,
            "httpMethod": method.upper(),
            "extendedRequestId": request_id,
            "requestTime": "22/Nov/2026:09:00:00 +0000",
            "path": f"/dev{path}",
            "accountId": "123456789012",
            "protocol": "HTTP/1.1",
            "stage": "dev",
            "domainPrefix": "localhost",
            "requestTimeEpoch": 1795338000000,
            "requestId": request_id,
            "identity": {"sourceIp": "127.0.0.1", "userAgent": "pytest"},
            "domainName": "localhost",
            "apiId": "1234567890",
            "authorizer": authorizer,
        },
        "body": raw_body,
        "isBase64Encoded": is_base64,
    }


def json_body(response: dict[str, Any]) -> Any:
    return json.loads(response["body"])
