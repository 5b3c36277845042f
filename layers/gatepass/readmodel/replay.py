"""Replay the projector's dead letters: the stream batches it gave up on.

Each dead letter is the event source mapping's description of a failed batch
(``DDBStreamBatchInfo``: stream, shard, first and last sequence numbers), not the records. While
the stream still holds them (24 hours), the batch's records are read again and handed to the
projector as the stream would; after that, the batch's table is projected again from its current
items, which the versioned projection makes safe (nothing moves backwards, nothing is counted
twice). A dead letter is deleted only once the projector has applied everything it named.

Run it with ``make replay-projector`` (``ops/replay_projector.py``); the procedure is in
docs/operations.md, "Replaying the projector's dead letters".
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

Invoke = Callable[[dict[str, Any]], Any]

BATCH = 100
# Empty pages tolerated while reading towards a batch's last record (an open shard can answer
# empty pages before the records it holds).
EMPTY_PAGES = 5


@dataclass
class ReplayReport:
    dead_letters: int = 0
    replayed_records: int = 0
    reprojected_tables: list[str] = field(default_factory=list)
    reprojected_items: int = 0
    kept: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "dead_letters": self.dead_letters,
            "replayed_records": self.replayed_records,
            "reprojected_tables": self.reprojected_tables,
            "reprojected_items": self.reprojected_items,
            "kept": self.kept,
        }


class ReplayFailed(RuntimeError):
    """The projector did not apply a replayed batch; its dead letter is kept."""


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, datetime):
        return int(value.timestamp())
    if isinstance(value, bytes | bytearray):
        import base64

        return base64.b64encode(value).decode("ascii")
    return value


def _lambda_record(record: dict[str, Any], stream_arn: str, region: str) -> dict[str, Any]:
    converted: dict[str, Any] = _plain(record)
    converted["eventSourceARN"] = stream_arn
    converted.setdefault("eventSource", "aws:dynamodb")
    converted.setdefault("awsRegion", region)
    return converted


def _region(stream_arn: str) -> str:
    return stream_arn.split(":")[3]


def table_name(stream_arn: str) -> str:
    """``arn:aws:dynamodb:region:account:table/NAME/stream/LABEL`` -> ``NAME``."""
    return stream_arn.split(":", 5)[5].split("/")[1]


def batch_records(streams: Any, info: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The records of a failed batch, as Lambda delivers them; None if the stream no longer
    holds them (trimmed after 24 hours, or the stream was replaced)."""
    stream_arn = str(info["streamArn"])
    last = int(info["endSequenceNumber"])
    try:
        iterator = streams.get_shard_iterator(
            StreamArn=stream_arn,
            ShardId=info["shardId"],
            ShardIteratorType="AT_SEQUENCE_NUMBER",
            SequenceNumber=str(info["startSequenceNumber"]),
        )["ShardIterator"]
    except Exception as exc:
        error = getattr(exc, "response", {}).get("Error", {})
        if error.get("Code") in ("TrimmedDataAccessException", "ResourceNotFoundException"):
            return None
        raise
    records: list[dict[str, Any]] = []
    empty = 0
    while iterator and empty < EMPTY_PAGES:
        page = streams.get_records(ShardIterator=iterator, Limit=1000)
        found = page.get("Records", [])
        empty = 0 if found else empty + 1
        for record in found:
            if int(record["dynamodb"]["SequenceNumber"]) > last:
                return records
            records.append(_lambda_record(record, stream_arn, _region(stream_arn)))
            if int(record["dynamodb"]["SequenceNumber"]) == last:
                return records
        iterator = page.get("NextShardIterator")
    return records if records else None


def table_as_records(dynamodb: Any, stream_arn: str) -> Iterator[list[dict[str, Any]]]:
    """Every item of the stream's table, as MODIFY records in batches (for a re-projection)."""
    name = table_name(stream_arn)
    number = 0
    batch: list[dict[str, Any]] = []
    for page in dynamodb.get_paginator("scan").paginate(TableName=name):
        for item in page.get("Items", []):
            number += 1
            batch.append(
                {
                    "eventID": f"replay-{number}",
                    "eventName": "MODIFY",
                    "eventSource": "aws:dynamodb",
                    "eventSourceARN": stream_arn,
                    "awsRegion": _region(stream_arn),
                    "dynamodb": {
                        "Keys": {k: item[k] for k in ("pk", "sk") if k in item},
                        "NewImage": item,
                        "SequenceNumber": str(number),
                        "StreamViewType": "NEW_AND_OLD_IMAGES",
                    },
                }
            )
            if len(batch) == BATCH:
                yield batch
                batch = []
    if batch:
        yield batch


def _apply(invoke: Invoke, records: list[dict[str, Any]]) -> None:
    answer = invoke({"Records": records})
    failures = answer.get("batchItemFailures") if isinstance(answer, dict) else None
    if failures:
        raise ReplayFailed(f"the projector failed {len(failures)} of {len(records)} records")


def replay_dead_letters(
    queue_url: str, *, sqs: Any, streams: Any, dynamodb: Any, invoke: Invoke
) -> ReplayReport:
    """Replay every dead letter in the queue through ``invoke`` (the projector's handler, or a
    Lambda invocation of it); returns what was done. Letters that fail stay in the queue."""
    report = ReplayReport()
    reprojected: set[str] = set()
    while True:
        received = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1, VisibilityTimeout=300
        ).get("Messages", [])
        if not received:
            return report
        for message in received:
            report.dead_letters += 1
            info = json.loads(message["Body"]).get("DDBStreamBatchInfo")
            if not info:
                report.kept += 1  # not a stream batch: leave it for a person
                continue
            try:
                records = batch_records(streams, info)
                if records is not None:
                    _apply(invoke, records)
                    report.replayed_records += len(records)
                elif info["streamArn"] not in reprojected:
                    for batch in table_as_records(dynamodb, info["streamArn"]):
                        _apply(invoke, batch)
                        report.reprojected_items += len(batch)
                    reprojected.add(info["streamArn"])
                    report.reprojected_tables.append(table_name(info["streamArn"]))
            except ReplayFailed:
                report.kept += 1
                continue
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        if report.kept >= report.dead_letters:
            # Only failures left in view: stop rather than receive them again after their
            # visibility timeout.
            return report
