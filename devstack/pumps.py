"""Deliver what AWS would push to functions: S3 notifications and DynamoDB stream batches.

Both are read from the template. A bucket's ``NotificationConfiguration.LambdaConfigurations``
becomes an SQS queue notification on moto (moto delivers S3 events to SQS), and a pump polls the
queue and invokes the function asynchronously, with the retries and on-failure destination of its
``AWS::Lambda::EventInvokeConfig``. A function's ``Type: DynamoDB`` event becomes a poller of
moto's DynamoDB stream that delivers batches in order, honouring ``BatchSize``,
``ReportBatchItemFailures``, ``MaximumRetryAttempts`` and the on-failure destination.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
import traceback
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote_plus, unquote_plus

from devstack.functions import FunctionHost
from devstack.template import TemplateModel

log = logging.getLogger("devstack.pumps")


def _logical_id(node: Any) -> str:
    """``!GetAtt Name.Arn`` / ``!Ref Name`` in their parsed forms, to the logical id."""
    if isinstance(node, dict):
        if "Fn::GetAtt" in node:
            value = node["Fn::GetAtt"]
            return str(value[0] if isinstance(value, list) else value.split(".")[0])
        if "Ref" in node:
            return str(node["Ref"])
    raise ValueError(f"cannot tell which resource {node!r} names")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Pump(threading.Thread):
    def __init__(self, name: str) -> None:
        super().__init__(name=name, daemon=True)
        self.stopping = threading.Event()

    def stop(self) -> None:
        self.stopping.set()


def _send_to_destination(
    clients: Any, model: TemplateModel, destination: Any, payload: Any
) -> None:
    arn = str(model.resolve(destination))
    body = json.dumps(payload, default=str)
    if ":sqs:" in arn:
        queue_name = arn.rsplit(":", 1)[-1]
        url = clients("sqs").get_queue_url(QueueName=queue_name)["QueueUrl"]
        clients("sqs").send_message(QueueUrl=url, MessageBody=body)
    elif ":sns:" in arn:
        clients("sns").publish(TopicArn=arn, Message=body)
    else:
        log.error("on-failure destination %s is not supported locally; dropped", arn)
        return
    log.warning("sent a failed invocation to %s", arn)


# ---------------------------------------------------------------------- S3 -> function


@dataclass(frozen=True)
class S3Notification:
    bucket_logical_id: str
    bucket: str
    function: str
    event: str
    filter_rules: tuple[tuple[str, str], ...]


def s3_notifications(model: TemplateModel) -> list[S3Notification]:
    found = []
    for logical_id, resource in model.of_type("AWS::S3::Bucket").items():
        config = resource.get("Properties", {}).get("NotificationConfiguration", {})
        for lambda_config in config.get("LambdaConfigurations", []):
            rules = lambda_config.get("Filter", {}).get("S3Key", {}).get("Rules", [])
            found.append(
                S3Notification(
                    bucket_logical_id=logical_id,
                    bucket=model.physical_name(logical_id),
                    function=_logical_id(lambda_config["Function"]),
                    event=str(model.resolve(lambda_config["Event"])),
                    filter_rules=tuple(
                        (str(r["Name"]).lower(), str(model.resolve(r["Value"]))) for r in rules
                    ),
                )
            )
    return found


def wire_s3_notifications(model: TemplateModel, clients: Any) -> dict[str, list[S3Notification]]:
    """Point every bucket's Lambda notifications at a local queue; queue URL -> notifications."""
    by_bucket: dict[str, list[S3Notification]] = {}
    for notification in s3_notifications(model):
        by_bucket.setdefault(notification.bucket, []).append(notification)
    queues: dict[str, list[S3Notification]] = {}
    for bucket, notifications in by_bucket.items():
        queue_configs = []
        for notification in notifications:
            queue = f"devstack-s3-{notification.bucket_logical_id}-{notification.function}"[:80]
            url = clients("sqs").create_queue(QueueName=queue)["QueueUrl"]
            arn = clients("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
                "Attributes"
            ]["QueueArn"]
            queues.setdefault(url, []).append(notification)
            config: dict[str, Any] = {"QueueArn": arn, "Events": [notification.event]}
            if notification.filter_rules:
                config["Filter"] = {
                    "Key": {
                        "FilterRules": [
                            {"Name": name, "Value": value}
                            for name, value in notification.filter_rules
                        ]
                    }
                }
            queue_configs.append(config)
        clients("s3").put_bucket_notification_configuration(
            Bucket=bucket, NotificationConfiguration={"QueueConfigurations": queue_configs}
        )
    return queues


def as_s3_delivers(event: dict[str, Any]) -> dict[str, Any]:
    """moto's S3 event, made like S3's: the key URL-encoded with "/" left alone, and the fields
    moto leaves out."""
    for record in event.get("Records", []):
        s3 = record.get("s3", {})
        obj = s3.get("object", {})
        if "key" in obj:
            obj["key"] = quote_plus(unquote_plus(obj["key"]), safe="/")
        obj.setdefault("sequencer", f"{time.time_ns():016X}")
        s3.get("bucket", {}).setdefault("ownerIdentity", {"principalId": "DEVSTACK"})
        record.setdefault("userIdentity", {"principalId": "AWS:DEVSTACK"})
        record.setdefault("requestParameters", {"sourceIPAddress": "127.0.0.1"})
        record.setdefault("responseElements", {"x-amz-request-id": uuid.uuid4().hex[:16]})
    return event


class AsyncInvokeConfig:
    def __init__(self, model: TemplateModel, function: str) -> None:
        self.max_retries = 2
        self.on_failure: Any = None
        for resource in model.of_type("AWS::Lambda::EventInvokeConfig").values():
            props = resource["Properties"]
            if _logical_id(props["FunctionName"]) != function:
                continue
            self.max_retries = int(props.get("MaximumRetryAttempts", 2))
            destination = props.get("DestinationConfig", {}).get("OnFailure", {})
            self.on_failure = destination.get("Destination")


class S3NotificationPump(Pump):
    def __init__(
        self,
        model: TemplateModel,
        host: FunctionHost,
        clients: Any,
        queues: dict[str, list[S3Notification]],
        retry_delay: float = 1.0,
    ) -> None:
        super().__init__("devstack-s3-notifications")
        self.model, self.host, self.clients, self.queues = model, host, clients, queues
        self.retry_delay = retry_delay

    def run(self) -> None:
        sqs = self.clients("sqs")
        while not self.stopping.is_set():
            idle = True
            for url, notifications in self.queues.items():
                try:
                    messages = sqs.receive_message(
                        QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0
                    ).get("Messages", [])
                except Exception:
                    if self.stopping.is_set():
                        return
                    log.exception("could not read S3 notifications")
                    time.sleep(1)
                    continue
                for message in messages:
                    idle = False
                    event = as_s3_delivers(json.loads(message["Body"]))
                    if event.get("Records"):
                        for notification in notifications:
                            self.deliver(notification.function, event)
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            if idle:
                self.stopping.wait(0.25)

    def deliver(self, function: str, event: dict[str, Any]) -> None:
        config = AsyncInvokeConfig(self.model, function)
        request_id = str(uuid.uuid4())
        error: BaseException | None = None
        for attempt in range(config.max_retries + 1):
            try:
                self.host.invoke(function, event)
                return
            except Exception as exc:
                error = exc
                log.error(
                    "%s failed on attempt %d:\n%s", function, attempt + 1, traceback.format_exc()
                )
                if self.stopping.wait(self.retry_delay * (attempt + 1)):
                    return
        if config.on_failure is not None and error is not None:
            _send_to_destination(
                self.clients,
                self.model,
                config.on_failure,
                {
                    "version": "1.0",
                    "timestamp": _now(),
                    "requestContext": {
                        "requestId": request_id,
                        "functionArn": self.model.attribute(function, "Arn") + ":$LATEST",
                        "condition": "RetriesExhausted",
                        "approximateInvokeCount": config.max_retries + 1,
                    },
                    "requestPayload": event,
                    "responseContext": {
                        "statusCode": 200,
                        "executedVersion": "$LATEST",
                        "functionError": "Unhandled",
                    },
                    "responsePayload": {
                        "errorMessage": str(error),
                        "errorType": type(error).__name__,
                    },
                },
            )


# ---------------------------------------------------------------------- streams -> function


@dataclass(frozen=True)
class StreamMapping:
    function: str
    table: str
    batch_size: int
    starting_position: str
    report_item_failures: bool
    max_retries: int
    on_failure: Any
    enabled: bool
    filters: tuple[dict[str, Any], ...] = ()


def stream_mappings(model: TemplateModel) -> list[StreamMapping]:
    found = []
    for function, resource in model.functions.items():
        for event in resource["Properties"].get("Events", {}).values():
            if event.get("Type") != "DynamoDB":
                continue
            props = event["Properties"]
            found.append(
                StreamMapping(
                    function=function,
                    table=_logical_id(props["Stream"]),
                    batch_size=int(model.resolve(props.get("BatchSize", 100))),
                    starting_position=str(model.resolve(props.get("StartingPosition", "LATEST"))),
                    report_item_failures="ReportBatchItemFailures"
                    in props.get("FunctionResponseTypes", []),
                    max_retries=int(model.resolve(props.get("MaximumRetryAttempts", -1))),
                    on_failure=props.get("DestinationConfig", {})
                    .get("OnFailure", {})
                    .get("Destination"),
                    enabled=str(model.resolve(props.get("Enabled", True))).lower() != "false",
                    filters=tuple(
                        json.loads(str(model.resolve(f["Pattern"])))
                        for f in props.get("FilterCriteria", {}).get("Filters", [])
                    ),
                )
            )
    return found


def _matches(pattern: Any, value: Any, present: bool = True) -> bool:
    """Lambda's event filtering, for what the template uses: nested objects, lists of exact
    values, ``{"anything-but": [...]}``, ``{"exists": bool}`` and ``{"prefix": ...}``."""
    if isinstance(pattern, dict):
        if not isinstance(value, dict):
            return False
        return all(_matches(p, value.get(k), k in value) for k, p in pattern.items())
    if isinstance(pattern, list):
        return any(_matches_one(rule, value, present) for rule in pattern)
    return False


def _matches_one(rule: Any, value: Any, present: bool) -> bool:
    if isinstance(rule, dict):
        if "exists" in rule:
            return bool(rule["exists"]) == present
        if not present:
            return False
        if "anything-but" in rule:
            excluded = rule["anything-but"]
            return value not in (excluded if isinstance(excluded, list) else [excluded])
        if "prefix" in rule:
            return isinstance(value, str) and value.startswith(rule["prefix"])
        raise ValueError(f"filter rule {rule!r} is not supported locally")
    return present and value == rule


def passes_filters(filters: tuple[dict[str, Any], ...], record: dict[str, Any]) -> bool:
    """Whether the event source mapping's filters (ORed) let ``record`` through."""
    return not filters or any(_matches(pattern, record) for pattern in filters)


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


class StreamPump(Pump):
    """Delivers one table's stream to one function, batch by batch, in order."""

    def __init__(
        self,
        model: TemplateModel,
        host: FunctionHost,
        clients: Any,
        mapping: StreamMapping,
        retry_delay: float = 0.5,
    ) -> None:
        super().__init__(f"devstack-stream-{mapping.table}-{mapping.function}")
        self.model, self.host, self.clients, self.mapping = model, host, clients, mapping
        self.retry_delay = retry_delay
        self.stream_arn = model.created[mapping.table]["stream_arn"]
        self.delivered = 0
        self.idle = threading.Event()

    def run(self) -> None:
        streams = self.clients("dynamodbstreams")
        shard_id = streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"][
            "Shards"
        ][0]["ShardId"]
        start = self.mapping.starting_position
        last: str | None = None
        if start == "LATEST":
            # Where the stream ends now; from there on, every record is new.
            last = self._end_of_stream(streams, shard_id)
            start = "TRIM_HORIZON"
        while not self.stopping.is_set():
            try:
                # A fresh iterator from the last record seen, every time: moto restores a table
                # (its stream shard included) from a copy when a transaction is cancelled, and an
                # older iterator would keep reading the shard it replaced.
                if last is None:
                    position: dict[str, str] = {"ShardIteratorType": start}
                else:
                    position = {
                        "ShardIteratorType": "AFTER_SEQUENCE_NUMBER",
                        "SequenceNumber": last,
                    }
                iterator = streams.get_shard_iterator(
                    StreamArn=self.stream_arn, ShardId=shard_id, **position
                )["ShardIterator"]
                page = streams.get_records(ShardIterator=iterator, Limit=self.mapping.batch_size)
            except Exception:
                if self.stopping.is_set():
                    return
                log.exception("could not read the %s stream", self.mapping.table)
                self.stopping.wait(1)
                continue
            raw = page.get("Records", [])
            if raw:
                last = str(raw[-1]["dynamodb"]["SequenceNumber"])
            records = [
                record
                for record in (self._lambda_record(r) for r in raw)
                if passes_filters(self.mapping.filters, record)
            ]
            if not records and raw:
                continue  # filtered out, as Lambda drops them
            if not records:
                self.idle.set()
                self.stopping.wait(0.25)
                continue
            self.idle.clear()
            self._deliver(records, shard_id)

    def _end_of_stream(self, streams: Any, shard_id: str) -> str | None:
        """The sequence number of the stream's last record so far (None when empty)."""
        iterator = streams.get_shard_iterator(
            StreamArn=self.stream_arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        last: str | None = None
        while True:
            page = streams.get_records(ShardIterator=iterator, Limit=1000)
            records = page.get("Records", [])
            if not records:
                return last
            last = str(records[-1]["dynamodb"]["SequenceNumber"])
            iterator = page["NextShardIterator"]

    def _lambda_record(self, record: dict[str, Any]) -> dict[str, Any]:
        converted: dict[str, Any] = _jsonable(record)
        converted["eventSourceARN"] = self.stream_arn
        converted.setdefault("awsRegion", self.model.region)
        converted.setdefault("eventSource", "aws:dynamodb")
        return converted

    def _deliver(self, records: list[dict[str, Any]], shard_id: str) -> None:
        attempts = 0
        remaining = records
        while remaining and not self.stopping.is_set():
            failed_from = self._invoke(remaining)
            if failed_from is None:
                self.delivered += len(remaining)
                return
            self.delivered += failed_from
            remaining = remaining[failed_from:]
            attempts += 1
            if 0 <= self.mapping.max_retries < attempts:
                self._give_up(remaining, shard_id)
                return
            self.stopping.wait(min(self.retry_delay * 2 ** (attempts - 1), 10))

    def _invoke(self, records: list[dict[str, Any]]) -> int | None:
        """None when the batch succeeded, else the index of the first record to retry."""
        try:
            response = self.host.invoke(self.mapping.function, {"Records": records})
        except Exception:
            log.error(
                "%s failed a stream batch:\n%s", self.mapping.function, traceback.format_exc()
            )
            return 0
        if not self.mapping.report_item_failures or not isinstance(response, dict):
            return None
        failures = response.get("batchItemFailures") or []
        if not failures:
            return None
        sequence_numbers = [r["dynamodb"]["SequenceNumber"] for r in records]
        indexes = []
        for failure in failures:
            identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
            if identifier in sequence_numbers:
                indexes.append(sequence_numbers.index(identifier))
            else:
                return 0  # an unknown or empty identifier fails the whole batch, as on AWS
        log.warning("%s reported %d failed records", self.mapping.function, len(failures))
        return min(indexes)

    def _give_up(self, records: list[dict[str, Any]], shard_id: str) -> None:
        log.error(
            "%s: retries exhausted for %d records of %s",
            self.mapping.function,
            len(records),
            self.mapping.table,
        )
        if self.mapping.on_failure is None:
            return
        first, last = records[0]["dynamodb"], records[-1]["dynamodb"]
        _send_to_destination(
            self.clients,
            self.model,
            self.mapping.on_failure,
            {
                "requestContext": {
                    "requestId": str(uuid.uuid4()),
                    "functionArn": self.model.attribute(self.mapping.function, "Arn"),
                    "condition": "RetryAttemptsExhausted",
                    "approximateInvokeCount": self.mapping.max_retries + 1,
                },
                "responseContext": {
                    "statusCode": 200,
                    "executedVersion": "$LATEST",
                    "functionError": "Unhandled",
                },
                "version": "1.0",
                "timestamp": _now(),
                "DDBStreamBatchInfo": {
                    "shardId": shard_id,
                    "startSequenceNumber": first["SequenceNumber"],
                    "endSequenceNumber": last["SequenceNumber"],
                    "approximateArrivalOfFirstRecord": first.get("ApproximateCreationDateTime"),
                    "approximateArrivalOfLastRecord": last.get("ApproximateCreationDateTime"),
                    "batchSize": len(records),
                    "streamArn": self.stream_arn,
                },
            },
        )
