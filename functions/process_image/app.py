"""S3 ObjectCreated on the uploads bucket: render the cover image and settle its event."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gatepass.dal.events import DynamoEventStore
from gatepass.dal.media import S3MediaStore
from gatepass.logic.images import process_uploads, uploaded_objects
from gatepass.observability import MetricUnit, logger, metrics, tracer
from gatepass.settings.process_image import ProcessImageSettings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

settings = ProcessImageSettings.load()
events = DynamoEventStore(settings.ticketing_table)
media = S3MediaStore(settings.uploads_bucket, settings.media_bucket)
METRIC = {"ready": "ImagesReady", "rejected": "ImagesRejected"}


@logger.inject_lambda_context(correlation_id_path='Records[0].responseElements."x-amz-request-id"')
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    outcomes = process_uploads(
        uploaded_objects(event),
        uploads_bucket=settings.uploads_bucket,
        events=events,
        media=media,
        max_bytes=settings.upload_max_bytes,
    )
    for outcome in outcomes:
        if outcome.result in METRIC:
            metrics.add_metric(name=METRIC[outcome.result], unit=MetricUnit.Count, value=1)
    return {"results": [{"key": o.key, "result": o.result, "reason": o.reason} for o in outcomes]}
