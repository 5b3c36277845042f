"""POST /check-in: the event's organizer checks a scanned ticket in, exactly once."""

from __future__ import annotations

from typing import Any

from gatepass.config import Settings
from gatepass.dal.tickets import DynamoTicketsDataAccess
from gatepass.http import caller_id, make_resolver
from gatepass.logic import check_in as check_in_logic
from gatepass.models.tickets import CheckInRequest, CheckInResult
from gatepass.observability import correlation_paths, logger, metrics, tracer

settings = Settings.from_env(required=("ticketing_table", "ticket_key_secret_arn"))
app = make_resolver(settings.allowed_web_origin)
dal = DynamoTicketsDataAccess(settings.need("ticketing_table"))


@app.post("/check-in")
def check_in(body: CheckInRequest) -> CheckInResult:
    return check_in_logic.check_in(
        dal, settings, organizer=caller_id(app), event_id=body.event_id, code=body.code
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    result: dict[str, Any] = app.resolve(event, context)
    return result
