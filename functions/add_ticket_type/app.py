"""POST /add-ticket-type: the organizer adds a ticket type to their event."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gatepass.dal.events import DynamoEventStore, DynamoTicketTypeStore
from gatepass.http import caller_id, make_resolver
from gatepass.logic.ticket_types import add_ticket_type as add_type
from gatepass.models.orders import AddTicketTypeRequest, TicketTypeResponse
from gatepass.observability import correlation_paths, logger, metrics, tracer
from gatepass.resolver import Response
from gatepass.settings.add_ticket_type import AddTicketTypeSettings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

settings = AddTicketTypeSettings.load()
events = DynamoEventStore(settings.ticketing_table)
types = DynamoTicketTypeStore(settings.ticketing_table)
app = make_resolver(settings.allowed_web_origin)


@app.post("/add-ticket-type")
def add_ticket_type(body: AddTicketTypeRequest) -> Response[TicketTypeResponse]:
    added = add_type(body, caller_id(app), events=events, types=types)
    return Response(status_code=201, content_type="application/json", body=added)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
