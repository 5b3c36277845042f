"""Replaying the projector's dead letters (``gatepass.readmodel.replay``) against moto's streams
and queues. The projector itself is stood in for by a recorder here; tests/e2e/test_store_outages.py
replays into the real projector and PostgreSQL after an outage."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from devstack.template import TemplateModel
from gatepass.readmodel.replay import replay_dead_letters, table_name

pytestmark = pytest.mark.integration


class Projector:
    """Records what it is handed; fails the records whose keys are in ``failing``."""

    def __init__(self, failing: set[str] | None = None) -> None:
        self.batches: list[list[dict[str, Any]]] = []
        self.failing = failing or set()

    def __call__(self, event: dict[str, Any]) -> dict[str, Any]:
        records = event["Records"]
        self.batches.append(records)
        failed = [
            {"itemIdentifier": r["dynamodb"]["SequenceNumber"]}
            for r in records
            if r["dynamodb"]["Keys"]["pk"]["S"] in self.failing
        ]
        return {"batchItemFailures": failed}

    @property
    def keys(self) -> list[str]:
        return [r["dynamodb"]["Keys"]["pk"]["S"] for batch in self.batches for r in batch]


def _put_events(model: TemplateModel, *ids: str) -> None:
    table = boto3.resource("dynamodb").Table(model.physical_name("TicketingTable"))
    for event_id in ids:
        table.put_item(
            Item={"pk": f"EVENT#{event_id}", "sk": "META", "entity": "event", "title": event_id}
        )


def _dead_letter(model: TemplateModel) -> str:
    """What the event source mapping sends when it gives up on the whole stream so far."""
    streams = boto3.client("dynamodbstreams")
    stream_arn = model.created["TicketingTable"]["stream_arn"]
    shard = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]
    iterator = streams.get_shard_iterator(
        StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records = streams.get_records(ShardIterator=iterator)["Records"]
    body = {
        "requestContext": {"condition": "RetryAttemptsExhausted", "approximateInvokeCount": 6},
        "DDBStreamBatchInfo": {
            "shardId": shard["ShardId"],
            "startSequenceNumber": records[0]["dynamodb"]["SequenceNumber"],
            "endSequenceNumber": records[-1]["dynamodb"]["SequenceNumber"],
            "batchSize": len(records),
            "streamArn": stream_arn,
        },
    }
    queue_url = model.physical_name("ProjectorDeadLetterQueue")
    boto3.client("sqs").send_message(QueueUrl=queue_url, MessageBody=json.dumps(body))
    return queue_url


class TrimmedStream:
    """The stream as it is a day later: the batch's records are no longer there."""

    def __init__(self) -> None:
        self.client = boto3.client("dynamodbstreams")

    def get_shard_iterator(self, **_: Any) -> Any:
        raise self.client.exceptions.TrimmedDataAccessException(
            {"Error": {"Code": "TrimmedDataAccessException", "Message": "trimmed"}},
            "GetShardIterator",
        )


def _replay(queue_url: str, projector: Projector, streams: Any = None) -> Any:
    return replay_dead_letters(
        queue_url,
        sqs=boto3.client("sqs"),
        streams=streams or boto3.client("dynamodbstreams"),
        dynamodb=boto3.client("dynamodb"),
        invoke=projector,
    )


def _waiting(queue_url: str) -> int:
    attributes = boto3.client("sqs").get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def test_a_dead_letter_replays_its_batch_from_the_stream_and_is_deleted(aws: TemplateModel) -> None:
    # Given three changes the projector gave up on
    _put_events(aws, "a", "b", "c")
    queue_url = _dead_letter(aws)
    projector = Projector()

    # When the dead letters are replayed
    report = _replay(queue_url, projector)

    # Then the projector gets exactly those records, as the stream delivers them, and the letter
    # is gone
    assert projector.keys == ["EVENT#a", "EVENT#b", "EVENT#c"]
    record = projector.batches[0][0]
    assert record["eventName"] == "INSERT"
    assert record["eventSourceARN"] == aws.created["TicketingTable"]["stream_arn"]
    assert record["dynamodb"]["NewImage"]["title"] == {"S": "a"}
    assert report.as_dict() == {
        "dead_letters": 1,
        "replayed_records": 3,
        "reprojected_tables": [],
        "reprojected_items": 0,
        "kept": 0,
    }
    assert _waiting(queue_url) == 0


def test_a_letter_whose_records_left_the_stream_reprojects_the_table(aws: TemplateModel) -> None:
    # Given a dead letter whose records the stream no longer holds (older than a day)
    _put_events(aws, "a", "b")
    queue_url = _dead_letter(aws)
    projector = Projector()

    # When it is replayed
    report = _replay(queue_url, projector, TrimmedStream())

    # Then the table's current items are projected instead, and the letter is deleted
    assert sorted(projector.keys) == ["EVENT#a", "EVENT#b"]
    assert {r["eventName"] for r in projector.batches[0]} == {"MODIFY"}
    assert report.reprojected_tables == [aws.physical_name("TicketingTable")]
    assert _waiting(queue_url) == 0


def test_a_batch_the_projector_still_fails_stays_in_the_queue(aws: TemplateModel) -> None:
    # Given a dead letter whose second record the projector still cannot apply
    _put_events(aws, "a", "b")
    queue_url = _dead_letter(aws)

    # When it is replayed
    report = _replay(queue_url, Projector(failing={"EVENT#b"}))

    # Then the letter is kept for another try, and the report says so
    assert report.kept == 1
    assert _waiting(queue_url) == 1


def test_table_name_comes_from_the_stream_arn() -> None:
    arn = (
        "arn:aws:dynamodb:eu-west-1:123456789012:table/gatepass-TicketingTable-1AB"
        "/stream/2026-12-02T09:00:00.000"
    )
    assert table_name(arn) == "gatepass-TicketingTable-1AB"
