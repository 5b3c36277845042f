"""The TicketingTable stream delivered to a function the way its event source mapping would:
records read from moto's stream in order, shaped as Lambda gives them, through the mapping's
filter criteria, in batches of its size (devstack.pumps does the same for ``make dev``)."""

from __future__ import annotations

from importlib import import_module
from typing import Any

import boto3

from devstack.pumps import StreamMapping, _jsonable, passes_filters, stream_mappings
from devstack.template import TemplateModel
from tests.support.api import LambdaContext


class StreamDelivery:
    """Reads the TicketingTable stream from its start and hands new records to one function."""

    def __init__(self, aws: TemplateModel, function: str = "WaitlistFunction") -> None:
        self.mapping: StreamMapping = next(
            m
            for m in stream_mappings(aws)
            if m.function == function and m.table == "TicketingTable"
        )
        self.module = import_module("functions." + aws.function_dir(function).name + ".app")
        self.arn = aws.created["TicketingTable"]["stream_arn"]
        self.streams = boto3.client("dynamodbstreams")
        shard = self.streams.describe_stream(StreamArn=self.arn)["StreamDescription"]["Shards"][0]
        self.shard_id = shard["ShardId"]
        self.last: str | None = None
        self.region = aws.region
        self.failures: list[dict[str, Any]] = []

    def _new_records(self) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = []
        while True:
            # A fresh iterator each time: moto replaces the stream shard when it rolls back a
            # cancelled transaction, and an older iterator keeps reading the replaced one.
            position: dict[str, str] = (
                {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": self.last}
                if self.last
                else {"ShardIteratorType": "TRIM_HORIZON"}
            )
            iterator = self.streams.get_shard_iterator(
                StreamArn=self.arn, ShardId=self.shard_id, **position
            )["ShardIterator"]
            got = self.streams.get_records(ShardIterator=iterator, Limit=1000).get("Records", [])
            for raw in got:
                self.last = str(raw["dynamodb"]["SequenceNumber"])
                record: dict[str, Any] = _jsonable(raw)
                record["eventSourceARN"] = self.arn
                record.setdefault("awsRegion", self.region)
                record.setdefault("eventSource", "aws:dynamodb")
                if passes_filters(self.mapping.filters, record):
                    records.append(record)
            if not got:
                return records

    def deliver_once(self) -> int:
        """Deliver what is new now, once; returns how many records the function received."""
        records = self._new_records()
        for start in range(0, len(records), self.mapping.batch_size):
            batch = records[start : start + self.mapping.batch_size]
            answer = self.module.lambda_handler({"Records": batch}, LambdaContext())
            self.failures += list(answer.get("batchItemFailures", []))
        return len(records)

    def replay(self) -> int:
        """Deliver the whole stream again from its start (what a replay or a retry does)."""
        self.last = None
        return self.deliver()

    def deliver(self, rounds: int = 50) -> int:
        """Deliver until the stream has nothing new (what the function writes comes back);
        returns how many records the function received. Reported failures are kept."""
        delivered = 0
        for _ in range(rounds):
            received = self.deliver_once()
            if not received:
                return delivered
            delivered += received
        raise AssertionError("the stream never went quiet")
