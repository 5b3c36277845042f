"""The TicketingTable stream as Lambda would deliver it, read from moto (in-process), for tests
of the functions an event source mapping feeds."""

from __future__ import annotations

import base64
from datetime import datetime
from email import message_from_bytes
from email.message import Message
from typing import Any

import boto3
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from devstack.template import TemplateModel
from tests.support.api import LambdaContext


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, datetime):
        return int(value.timestamp())
    return value


def ticketing_records(model: TemplateModel) -> list[dict[str, Any]]:
    """Every record the TicketingTable's stream holds, oldest first, in Lambda's shape."""
    streams = boto3.client("dynamodbstreams")
    stream_arn = model.created["TicketingTable"]["stream_arn"]
    shard = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]
    iterator = streams.get_shard_iterator(
        StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records = streams.get_records(ShardIterator=iterator, Limit=1000)["Records"]
    return [
        {**_jsonable(r), "eventSourceARN": stream_arn, "eventSource": "aws:dynamodb"}
        for r in records
    ]


def deliver_tickets(model: TemplateModel) -> dict[str, Any]:
    """Hands the whole stream so far to DeliverTicketsFunction, as one batch."""
    from functions.deliver_tickets import app

    result: dict[str, Any] = app.lambda_handler(
        {"Records": ticketing_records(model)}, LambdaContext()
    )
    return result


def ses_raw_messages_to(email: str, region: str = "us-east-1") -> list[Message]:
    """The raw MIME messages SES was asked to send to ``email``, parsed."""
    found = []
    for message in ses_backends[DEFAULT_ACCOUNT_ID][region].sent_messages:
        raw = getattr(message, "raw_data", None)
        if raw is not None and email in getattr(message, "destinations", []):
            found.append(message_from_bytes(raw.encode() if isinstance(raw, str) else raw))
    return found
