"""POST /subscribe: start the subscription workflow once per address."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from gatepass.config import SubscribeSettings
from gatepass.dal.subscriptions import DynamoSubscriptionStore
from gatepass.dal.workflow import StepFunctionsWorkflow
from gatepass.http import make_resolver
from gatepass.logic.subscriptions import subscribe as subscribe_address
from gatepass.models.subscriptions import SubscribeRequest, SubscribeResponse
from gatepass.observability import MetricUnit, correlation_paths, logger, metrics, tracer

settings = SubscribeSettings.load()
store = DynamoSubscriptionStore(settings.identity_table)
workflow = StepFunctionsWorkflow(settings.subscription_state_machine_arn)
app = make_resolver(settings.allowed_web_origin)


@app.post("/subscribe")
def subscribe(body: SubscribeRequest) -> Response[SubscribeResponse]:
    result = subscribe_address(body.email, store=store, workflow=workflow)
    if result.started:
        metrics.add_metric(name="SubscriptionsStarted", unit=MetricUnit.Count, value=1)
    return Response(status_code=202, content_type="application/json", body=result)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
