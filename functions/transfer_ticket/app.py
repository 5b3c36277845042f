"""POST /transfer-ticket: the holder gives a ticket to another address."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gatepass.dal.orders import DynamoOrderStore
from gatepass.dal.ticket_keys import DynamoTicketKeyStore
from gatepass.dal.tickets import DynamoTicketsDataAccess
from gatepass.http import caller_id, make_resolver
from gatepass.logic.transfers import transfer_ticket as transfer
from gatepass.models.orders import TransferTicketRequest
from gatepass.models.tickets import TransferTicketResponse
from gatepass.observability import correlation_paths, logger, metrics, tracer
from gatepass.settings.transfer_ticket import TransferTicketSettings
from gatepass.ticket_keys import EventTicketKeys

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

settings = TransferTicketSettings.load()
orders = DynamoOrderStore(settings.ticketing_table)
tickets = DynamoTicketsDataAccess(settings.ticketing_table, bucket_name=settings.tickets_bucket)
keys = EventTicketKeys(
    DynamoTicketKeyStore(settings.ticketing_table),
    kms_key_id=settings.ticket_keys_key_id,
    legacy_secret_id=settings.ticket_key_secret_arn,
)
app = make_resolver(settings.allowed_web_origin)


@app.post("/transfer-ticket")
def transfer_ticket(body: TransferTicketRequest) -> TransferTicketResponse:
    return transfer(body, caller_id(app), orders=orders, tickets=tickets, keys=keys)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
