"""POST /create-ticket: the signed-in caller takes one ticket for an event."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response

from gatepass.config import Settings
from gatepass.dal.tickets import DynamoTicketsDataAccess
from gatepass.http import caller_id, make_resolver
from gatepass.logic import tickets
from gatepass.models.tickets import CreateTicketRequest, CreateTicketResponse
from gatepass.observability import correlation_paths, logger, metrics, tracer

settings = Settings.from_env(
    required=("ticketing_table", "idempotency_table", "tickets_bucket", "ticket_key_secret_arn")
)
app = make_resolver(settings.allowed_web_origin)
dal = DynamoTicketsDataAccess(
    settings.need("ticketing_table"),
    bucket_name=settings.tickets_bucket,
    idempotency_table_name=settings.idempotency_table,
)


@app.post("/create-ticket")
def create_ticket(body: CreateTicketRequest) -> Response[CreateTicketResponse]:
    created = tickets.create_ticket(
        dal,
        settings,
        holder=caller_id(app),
        event_id=body.event_id,
        idempotency_key=app.current_event.headers.get("Idempotency-Key"),
    )
    return Response(status_code=201, content_type="application/json", body=created)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    # Lets an interrupted request's idempotency record expire with the invocation.
    tickets.IDEMPOTENCY_CONFIG.register_lambda_context(context)
    result: dict[str, Any] = app.resolve(event, context)
    return result
