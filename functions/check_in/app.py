"""POST /check-in: the event's organizer checks a scanned ticket in, exactly once."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from gatepass.config import CheckInSettings
from gatepass.dal.tickets import DynamoTicketsDataAccess
from gatepass.http import caller_id, make_resolver
from gatepass.logic.check_in import check_in as check_in_ticket
from gatepass.models.tickets import CheckInRequest, CheckInResult
from gatepass.observability import correlation_paths, logger, metrics, tracer
from gatepass.ticket_codes import SecretTicketKeys

settings = CheckInSettings.load()
tickets = DynamoTicketsDataAccess(settings.ticketing_table)
keys = SecretTicketKeys(settings.ticket_key_secret_arn)
app = make_resolver(settings.allowed_web_origin)


@app.post("/check-in")
def check_in(body: CheckInRequest) -> CheckInResult:
    return check_in_ticket(caller_id(app), body.event_id, body.code, tickets=tickets, keys=keys)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
