"""POST /cancel-ticket: the holder cancels a ticket, or what they hold of an order."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gatepass.dal.orders import DynamoOrderStore
from gatepass.http import caller_id, make_resolver
from gatepass.logic.orders import cancel_ticket as cancel
from gatepass.models.orders import CancelTicketRequest
from gatepass.models.tickets import CancelTicketResponse
from gatepass.observability import correlation_paths, logger, metrics, tracer
from gatepass.settings.cancel_ticket import CancelTicketSettings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

settings = CancelTicketSettings.load()
orders = DynamoOrderStore(settings.ticketing_table)
app = make_resolver(settings.allowed_web_origin)


@app.post("/cancel-ticket")
def cancel_ticket(body: CancelTicketRequest) -> CancelTicketResponse:
    return cancel(body, caller_id(app), orders=orders)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
