"""POST /log-activity: record a batch of activity events (session token optional)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gatepass.dal.activity import DynamoActivityStore
from gatepass.http import make_resolver
from gatepass.logic.activity import record_activity
from gatepass.models.activity import LogActivityRequest, LogActivityResponse
from gatepass.observability import correlation_paths, logger, metrics, tracer
from gatepass.resolver import Response
from gatepass.sessions import KmsSessionVerifier
from gatepass.settings.log_activity import LogActivitySettings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

settings = LogActivitySettings.load()
store = DynamoActivityStore(settings.activity_table)
keys = KmsSessionVerifier(settings.session_signing_key_id)
app = make_resolver(settings.allowed_web_origin)


@app.post("/log-activity")
def log_activity(body: LogActivityRequest) -> Response[LogActivityResponse]:
    headers = app.current_event.headers
    answer = record_activity(
        body,
        headers.get("Authorization"),
        headers.get("X-Client-Id"),
        store=store,
        keys=keys,
        retention_days=settings.activity_retention_days,
    )
    return Response(status_code=202, content_type="application/json", body=answer)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
