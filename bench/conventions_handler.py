"""The third reference for the cold-start suite: the stack the conventions prescribe today and
nothing else, mirroring the floor's work. Powertools Logger and Metrics (no tracing library:
Lambda's active tracing, decision 0033), the validating REST resolver with a pydantic body and
answer, and what the floor does: one boto3 DynamoDB client and one GetItem. No Gatepass code.
Its cold start against the floor is the lowest a Gatepass API function can reach while it
follows the conventions."""

from __future__ import annotations

import os
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from pydantic import BaseModel

logger = Logger()
metrics = Metrics()
app = APIGatewayRestResolver(enable_validation=True)
dynamodb = boto3.client("dynamodb")
TABLE = os.environ["IDENTITY_TABLE"]


class Body(BaseModel):
    email: str


class Answer(BaseModel):
    email: str
    status: str


@app.post("/subscribe")
def subscribe(body: Body) -> Response[Answer]:
    dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": f"SUB#{body.email}"}, "sk": {"S": "META"}})
    return Response(
        status_code=202,
        content_type="application/json",
        body=Answer(email=body.email, status="pending"),
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    result: dict[str, Any] = app.resolve(event, context)
    return result
