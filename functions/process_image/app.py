"""S3 ObjectCreated on the uploads bucket: render the cover image and settle its event."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.typing import LambdaContext

from gatepass.dal.events import DynamoEventStore
from gatepass.dal.media import S3MediaStore
from gatepass.logic.images import process_uploads
from gatepass.observability import MetricUnit, logger, metrics, tracer
from gatepass.settings.process_image import ProcessImageSettings

settings = ProcessImageSettings.load()
events = DynamoEventStore(settings.ticketing_table)
media = S3MediaStore(settings.uploads_bucket, settings.media_bucket)
METRIC = {"ready": "ImagesReady", "rejected": "ImagesRejected"}


def uploaded_objects(event: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """The bucket and key of each object an S3 notification announces. Read as plain JSON:
    Powertools' S3Event would load every event class it has (decision 0082)."""
    for record in event.get("Records") or []:
        s3 = record["s3"]
        # S3 sends keys URL-encoded (a space arrives as "+").
        yield str(s3["bucket"]["name"]), unquote_plus(str(s3["object"]["key"]))


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
