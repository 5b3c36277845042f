"""GET /get-qr-code: a short-lived link to the QR image of the caller's own ticket."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from gatepass.dal.tickets import DynamoTicketsDataAccess
from gatepass.http import caller_id, make_resolver
from gatepass.logic.ticket_images import qr_code_link
from gatepass.models.tickets import QrCodeLink
from gatepass.observability import correlation_paths, logger, metrics, tracer
from gatepass.resolver import Query
from gatepass.settings.get_qr_code import GetQrCodeSettings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

settings = GetQrCodeSettings.load()
tickets = DynamoTicketsDataAccess(settings.ticketing_table, bucket_name=settings.tickets_bucket)
app = make_resolver(settings.allowed_web_origin)


@app.get("/get-qr-code")
def get_qr_code(
    ticket_id: Annotated[str, Query(min_length=1, max_length=64)],
) -> QrCodeLink:
    return qr_code_link(
        caller_id(app),
        ticket_id,
        tickets=tickets,
        ttl_seconds=settings.presigned_url_ttl_seconds,
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
