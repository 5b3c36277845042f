"""The second reference for the cold-start suite: the stack of ``bench.stack_handler`` plus what
every Gatepass function must also do, mirroring the floor: create one boto3 client (DynamoDB,
low-level, with boto3's defaults) and make one call with it (a GetItem on
the identity table, traced by X-Ray like every call a function makes). No Gatepass code. Its
cold start against the floor is the lowest the mandated stack can reach for a function that
touches AWS at all."""

from __future__ import annotations

import os
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from pydantic import BaseModel

logger = Logger()
metrics = Metrics()
tracer = Tracer()
app = APIGatewayRestResolver(enable_validation=True)
TABLE = os.environ["IDENTITY_TABLE"]


class Body(BaseModel):
    email: str


class Answer(BaseModel):
    email: str
    status: str


@app.post("/subscribe")
def subscribe(body: Body) -> Response[Answer]:
    dynamodb = boto3.client("dynamodb")
    dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": f"SUB#{body.email}"}, "sk": {"S": "META"}})
    return Response(
        status_code=202,
        content_type="application/json",
        body=Answer(email=body.email, status="pending"),
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    result: dict[str, Any] = app.resolve(event, context)
    return result
