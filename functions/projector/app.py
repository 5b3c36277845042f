"""Keeps the web's PostgreSQL read model current from the TicketingTable and ActivityTable
streams. Failed records are reported one by one (ReportBatchItemFailures), so the event source
mapping bisects and retries only what failed and sends what keeps failing to its dead-letter
destination."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from gatepass.observability import MetricUnit, logger, metrics, tracer
from gatepass.readmodel.cache import Invalidator
from gatepass.readmodel.database import Engine, projector_connections
from gatepass.readmodel.projection import project_record
from gatepass.settings.projector import ProjectorSettings

settings = ProjectorSettings.load()
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


@cache
def read_model() -> tuple[Engine, Invalidator]:
    return projector_connections(settings)


def record_handler(record: DynamoDBRecord) -> None:
    engine, invalidator = read_model()
    project_record(record, engine, invalidator)


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # Resolved before the batch so a misconfiguration fails the invocation, not every record.
    read_model()
    response = process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    failed = len(response.get("batchItemFailures", []))
    received = len(event.get("Records", []))
    metrics.add_metric(
        name="StreamRecordsProjected", unit=MetricUnit.Count, value=received - failed
    )
    metrics.add_metric(name="StreamRecordsFailed", unit=MetricUnit.Count, value=failed)
    return dict(response)
