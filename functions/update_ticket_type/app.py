"""POST /update-ticket-type: the organizer renames, re-times, re-sizes or pauses a ticket type.
POST /set-expected-rate: the organizer raises the event's expected peak rate before its sale
opens, which splits its stock over more shards (docs/decisions/0070)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gatepass.dal.events import DynamoEventStore, DynamoTicketTypeStore
from gatepass.dal.stock import DynamoStockChanges
from gatepass.http import caller_id, make_resolver
from gatepass.logic.ticket_types import set_expected_rate as raise_rate
from gatepass.logic.ticket_types import update_ticket_type as update_type
from gatepass.models.orders import (
    ExpectedRateResponse,
    SetExpectedRateRequest,
    TicketTypeResponse,
    UpdateTicketTypeRequest,
)
from gatepass.observability import correlation_paths, logger, metrics, tracer
from gatepass.settings.update_ticket_type import UpdateTicketTypeSettings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

settings = UpdateTicketTypeSettings.load()
events = DynamoEventStore(settings.ticketing_table)
types = DynamoTicketTypeStore(settings.ticketing_table)
stock = DynamoStockChanges(settings.ticketing_table)
app = make_resolver(settings.allowed_web_origin)


@app.post("/update-ticket-type")
def update_ticket_type(body: UpdateTicketTypeRequest) -> TicketTypeResponse:
    return update_type(body, caller_id(app), events=events, types=types)


@app.post("/set-expected-rate")
def set_expected_rate(body: SetExpectedRateRequest) -> ExpectedRateResponse:
    return raise_rate(body, caller_id(app), events=events, stock=stock)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
