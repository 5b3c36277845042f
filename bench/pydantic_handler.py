"""A rung of the cold-start suite's ladder between the floor and the conventions' reference:
``bench/observability_handler.py`` plus the pydantic body and answer of
``bench/conventions_handler.py``, validated and serialised by pydantic itself instead of
Powertools' validating REST resolver. What is left between this rung and the conventions'
reference is the resolver: the ``event_handler`` package and its OpenAPI validation."""

from __future__ import annotations

import os
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import correlation_paths
from pydantic import BaseModel

logger = Logger()
metrics = Metrics()
dynamodb = boto3.client("dynamodb")
TABLE = os.environ["IDENTITY_TABLE"]


class Body(BaseModel):
    email: str


class Answer(BaseModel):
    email: str
    status: str


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    body = Body.model_validate_json(event["body"])
    dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": f"SUB#{body.email}"}, "sk": {"S": "META"}})
    answer = Answer(email=body.email, status="pending")
    return {"statusCode": 202, "body": answer.model_dump_json()}
