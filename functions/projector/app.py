"""Keeps the web's PostgreSQL read model current from the TicketingTable and ActivityTable
streams. Failed records are reported one by one (ReportBatchItemFailures), so the event source
mapping bisects and retries only what failed and sends what keeps failing to its dead-letter
destination."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from gatepass.observability import MetricUnit, logger, metrics, tracer
from gatepass.readmodel.cache import Invalidator
from gatepass.readmodel.database import Database, projector_connections
from gatepass.readmodel.projection import project_record
from gatepass.settings.projector import ProjectorSettings
from gatepass.streams import StreamRecord, report_failures

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

settings = ProjectorSettings.load()


@cache
def read_model() -> tuple[Database, Invalidator]:
    return projector_connections(settings)


def record_handler(record: StreamRecord) -> None:
    database, invalidator = read_model()
    project_record(record, database, invalidator)


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # Resolved before the batch so a misconfiguration fails the invocation, not every record.
    read_model()
    response = report_failures(event, record_handler)
    failed = len(response["batchItemFailures"])
    received = len(event.get("Records", []))
    metrics.add_metric(
        name="StreamRecordsProjected", unit=MetricUnit.Count, value=received - failed
    )
    metrics.add_metric(name="StreamRecordsFailed", unit=MetricUnit.Count, value=failed)
    return response
