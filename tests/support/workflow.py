"""Reading the subscription workflow's effects back from moto."""

from __future__ import annotations

import time
from typing import Any

import boto3

from devstack.template import TemplateModel
from gatepass.dal.layout import subscription_key


def finished(execution_arn: str) -> dict[str, Any]:
    """The execution once it has stopped running (bounded wait)."""
    sfn = boto3.client("stepfunctions")
    for _ in range(400):
        described: dict[str, Any] = sfn.describe_execution(executionArn=execution_arn)
        if described["status"] != "RUNNING":
            return described
        time.sleep(0.05)
    raise AssertionError(f"{execution_arn} never ended")


def subscription(aws: TemplateModel, email: str) -> dict[str, Any]:
    """The subscription item for ``email`` as stored in the IdentityTable ({} if none)."""
    table = boto3.resource("dynamodb").Table(aws.physical_name("IdentityTable"))
    item: dict[str, Any] = table.get_item(Key=subscription_key(email)).get("Item", {})
    return item
