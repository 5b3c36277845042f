"""The floor of the cold-start suite: what every Gatepass function must do and nothing more.

Import boto3, create one client (DynamoDB, low-level, boto3's defaults) and make one call with
it (a GetItem on the identity table). The Lambda runtime alone: no layer, no Powertools, no
tracing library. Every function's cold start is judged against this one."""

from __future__ import annotations

import os
from typing import Any

import boto3

dynamodb = boto3.client("dynamodb")
TABLE = os.environ["IDENTITY_TABLE"]


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": "floor"}, "sk": {"S": "floor"}})
    return {"statusCode": 200, "body": "{}"}
