"""POST /update-ticket-type: the organizer renames, re-times, re-sizes or pauses a ticket type."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from gatepass.config import UpdateTicketTypeSettings
from gatepass.dal.events import DynamoEventStore, DynamoTicketTypeStore
from gatepass.http import caller_id, make_resolver
from gatepass.logic.ticket_types import update_ticket_type as update_type
from gatepass.models.orders import TicketTypeResponse, UpdateTicketTypeRequest
from gatepass.observability import correlation_paths, logger, metrics, tracer

settings = UpdateTicketTypeSettings.load()
events = DynamoEventStore(settings.ticketing_table)
types = DynamoTicketTypeStore(settings.ticketing_table)
app = make_resolver(settings.allowed_web_origin)


@app.post("/update-ticket-type")
def update_ticket_type(body: UpdateTicketTypeRequest) -> TicketTypeResponse:
    return update_type(body, caller_id(app), events=events, types=types)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
