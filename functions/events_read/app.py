"""GET /events and GET /events/{event_id}: public reads of upcoming events."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.utilities.typing import LambdaContext

from gatepass.config import Settings
from gatepass.dal.events import DynamoEventStore
from gatepass.dal.media import S3MediaStore
from gatepass.http import make_resolver
from gatepass.logic import events as logic
from gatepass.models.events import EventList, PublicEvent
from gatepass.observability import correlation_paths, logger, metrics, tracer

settings = Settings.from_env(required=("ticketing_table", "media_bucket"))
app = make_resolver(settings.allowed_web_origin)
events = DynamoEventStore(settings.need("ticketing_table"))
media = S3MediaStore(settings.uploads_bucket, settings.media_bucket)


@app.get("/events")
def list_events(
    limit: Annotated[int, Query(ge=1, le=logic.MAX_PAGE)] = logic.DEFAULT_PAGE,
    cursor: Annotated[str | None, Query(max_length=1024)] = None,
) -> EventList:
    return logic.list_events(
        limit=limit,
        cursor=cursor,
        events=events,
        media=media,
        url_ttl=settings.presigned_url_ttl_seconds,
    )


@app.get("/events/<event_id>")
def get_event(event_id: str) -> PublicEvent:
    return logic.get_event(
        event_id, events=events, media=media, url_ttl=settings.presigned_url_ttl_seconds
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    response: dict[str, Any] = app.resolve(event, context)
    return response
