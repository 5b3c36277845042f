"""GET /events, GET /events/{event_id} and GET /events/{event_id}/keys: public reads of
upcoming events and of an event's published ticket-verifying keys."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from gatepass.dal.events import DynamoEventStore
from gatepass.dal.media import S3MediaStore
from gatepass.dal.ticket_keys import DynamoTicketKeyStore
from gatepass.http import make_resolver
from gatepass.logic.events import DEFAULT_PAGE, MAX_PAGE, list_events
from gatepass.logic.events import get_event as read_event
from gatepass.logic.ticket_keys import published_keys
from gatepass.models.events import EventList, PublicEvent
from gatepass.models.ticket_keys import EventKeys
from gatepass.observability import correlation_paths, logger, metrics, tracer
from gatepass.resolver import Query
from gatepass.settings.events_read import EventsReadSettings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

settings = EventsReadSettings.load()
events = DynamoEventStore(settings.ticketing_table)
media = S3MediaStore(None, settings.media_bucket)
key_store = DynamoTicketKeyStore(settings.ticketing_table)
app = make_resolver(settings.allowed_web_origin)


@app.get("/events")
def upcoming_events(
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
    cursor: Annotated[str | None, Query(max_length=1024)] = None,
) -> EventList:
    return list_events(
        limit, cursor, events=events, media=media, url_ttl=settings.presigned_url_ttl_seconds
    )


@app.get("/events/<event_id>")
def get_event(event_id: str) -> PublicEvent:
    return read_event(
        event_id, events=events, media=media, url_ttl=settings.presigned_url_ttl_seconds
    )


@app.get("/events/<event_id>/keys")
def get_event_keys(event_id: str) -> EventKeys:
    return published_keys(event_id, key_store=key_store)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
