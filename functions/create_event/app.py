"""POST /create-event: the caller becomes the organizer of a new event with its cover image."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gatepass.dal.events import DynamoEventStore
from gatepass.dal.media import S3MediaStore
from gatepass.dal.ticket_keys import DynamoTicketKeyStore
from gatepass.http import caller_id, make_resolver
from gatepass.logic.events import create_event as create
from gatepass.models.events import CreateEventRequest, CreateEventResponse
from gatepass.observability import MetricUnit, correlation_paths, logger, metrics, tracer
from gatepass.resolver import Response
from gatepass.settings.create_event import CreateEventSettings
from gatepass.ticket_keys import EventTicketKeys

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

settings = CreateEventSettings.load()
events = DynamoEventStore(settings.ticketing_table)
media = S3MediaStore(settings.uploads_bucket, None)
keys = EventTicketKeys(
    DynamoTicketKeyStore(settings.ticketing_table), kms_key_id=settings.ticket_keys_key_id
)
app = make_resolver(settings.allowed_web_origin)


@app.post("/create-event")
def create_event(body: CreateEventRequest) -> Response[CreateEventResponse]:
    created = create(
        body,
        caller_id(app),
        events=events,
        media=media,
        ticket_keys=keys,
        max_upload_bytes=settings.upload_max_bytes,
        url_ttl=settings.presigned_url_ttl_seconds,
    )
    metrics.add_metric(name="EventsCreated", unit=MetricUnit.Count, value=1)
    return Response(status_code=201, content_type="application/json", body=created)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
