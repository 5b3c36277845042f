"""POST /create-ticket: the signed-in caller orders one or more tickets of an event."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gatepass.dal.events import DynamoEventStore
from gatepass.dal.orders import DynamoOrderStore
from gatepass.dal.queue import DynamoQueueStore
from gatepass.dal.ticket_keys import DynamoTicketKeyStore
from gatepass.dal.tickets import DynamoTicketsDataAccess
from gatepass.http import caller_id, make_resolver
from gatepass.logic.tickets import IDEMPOTENCY_CONFIG
from gatepass.logic.tickets import create_ticket as take_ticket
from gatepass.models.tickets import CreateTicketRequest, CreateTicketResponse
from gatepass.observability import correlation_paths, logger, metrics, tracer
from gatepass.queue_tokens import SecretQueueKeys
from gatepass.resolver import Response
from gatepass.settings.create_ticket import CreateTicketSettings
from gatepass.ticket_keys import EventTicketKeys

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

settings = CreateTicketSettings.load()
tickets = DynamoTicketsDataAccess(
    settings.ticketing_table,
    bucket_name=settings.tickets_bucket,
    idempotency_table_name=settings.idempotency_table,
)
events = DynamoEventStore(settings.ticketing_table)
orders = DynamoOrderStore(settings.ticketing_table)
keys = EventTicketKeys(
    DynamoTicketKeyStore(settings.ticketing_table),
    kms_key_id=settings.ticket_keys_key_id,
    legacy_secret_id=settings.ticket_key_secret_arn,
)
queue = DynamoQueueStore(settings.ticketing_table)
queue_keys = SecretQueueKeys(settings.queue_token_secret_arn)
app = make_resolver(settings.allowed_web_origin)


@app.post("/create-ticket")
def create_ticket(body: CreateTicketRequest) -> Response[CreateTicketResponse]:
    headers = app.current_event.headers
    created = take_ticket(
        body,
        caller_id(app),
        headers.get("Idempotency-Key"),
        events=events,
        orders=orders,
        tickets=tickets,
        keys=keys,
        queue=queue,
        queue_keys=queue_keys,
        admission_token=headers.get("X-Admission-Token"),
    )
    return Response(status_code=201, content_type="application/json", body=created)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # Lets an interrupted request's idempotency record expire with the invocation.
    IDEMPOTENCY_CONFIG.register_lambda_context(context)
    return app.resolve(event, context)
