"""POST /log-activity: record a batch of activity events (session token optional)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response

from gatepass import tokens
from gatepass.config import Settings
from gatepass.dal.activity import DynamoActivityStore
from gatepass.http import make_resolver
from gatepass.logic.activity import record_activity
from gatepass.models.activity import LogActivityRequest, LogActivityResponse
from gatepass.observability import correlation_paths, logger, metrics, tracer

settings = Settings.from_env(required=("activity_table", "session_key_secret_arn"))
store = DynamoActivityStore(settings.need("activity_table"))
app = make_resolver(settings.allowed_web_origin)


@app.post("/log-activity")
def log_activity(body: LogActivityRequest) -> Response[LogActivityResponse]:
    headers = app.current_event.headers
    answer = record_activity(
        body,
        authorization=headers.get("Authorization"),
        client_id=headers.get("X-Client-Id"),
        store=store,
        session_key=lambda: tokens.session_key(settings),
        retention_days=settings.activity_retention_days,
    )
    return Response(status_code=202, content_type="application/json", body=answer)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
