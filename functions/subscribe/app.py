"""POST /subscribe: start the subscription workflow once per address."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gatepass.dal.subscriptions import DynamoSubscriptionStore
from gatepass.dal.workflow import StepFunctionsWorkflow
from gatepass.equalise import StandIn
from gatepass.http import make_resolver
from gatepass.logic.subscriptions import subscribe as subscribe_address
from gatepass.models.subscriptions import SubscribeRequest, SubscribeResponse
from gatepass.observability import correlation_paths, logger, metrics, tracer
from gatepass.resolver import Response
from gatepass.settings.subscribe import SubscribeSettings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

settings = SubscribeSettings.load()
store = DynamoSubscriptionStore(settings.identity_table, settings.mail_topic_arn)
workflow = StepFunctionsWorkflow(settings.subscription_state_machine_arn)
# How long StartExecution takes here: an address that starts nothing waits as long.
start_time = StandIn(0.05)
app = make_resolver(settings.allowed_web_origin)


@app.post("/subscribe")
def subscribe(body: SubscribeRequest) -> Response[SubscribeResponse]:
    answer = subscribe_address(body.email, store=store, workflow=workflow, start_time=start_time)
    return Response(status_code=202, content_type="application/json", body=answer)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
