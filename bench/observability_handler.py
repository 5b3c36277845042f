"""A rung of the cold-start suite's ladder between the floor and the conventions' reference:
Powertools Logger and Metrics around the floor's work (one boto3 DynamoDB client, one GetItem),
answering the subscribe sample with the standard library's ``json``. No pydantic, no event
handler, no Gatepass code. With ``bench/pydantic_handler.py`` and ``bench/conventions_handler.py``
it splits what the conventions cost above the floor into its parts."""

from __future__ import annotations

import json
import os
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import correlation_paths

logger = Logger()
metrics = Metrics()
dynamodb = boto3.client("dynamodb")
TABLE = os.environ["IDENTITY_TABLE"]


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    email = str(json.loads(event["body"])["email"])
    dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": f"SUB#{email}"}, "sk": {"S": "META"}})
    return {"statusCode": 202, "body": json.dumps({"email": email, "status": "pending"})}
