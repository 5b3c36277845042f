"""POST /cancel-event: the organizer cancels an event; every ticket is revoked and every holder
emailed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gatepass.dal.events import DynamoEventStore
from gatepass.dal.mail import mailer_for
from gatepass.dal.orders import DynamoOrderStore
from gatepass.dal.waitlist import DynamoWaitlistStore
from gatepass.http import caller_id, make_resolver
from gatepass.logic.orders import cancel_event as cancel
from gatepass.models.orders import CancelEventRequest
from gatepass.models.tickets import CancelEventResponse
from gatepass.observability import correlation_paths, logger, metrics, tracer
from gatepass.settings.cancel_event import CancelEventSettings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

settings = CancelEventSettings.load()
events = DynamoEventStore(settings.ticketing_table)
orders = DynamoOrderStore(settings.ticketing_table)
waitlist = DynamoWaitlistStore(settings.ticketing_table)
mailer = mailer_for(
    settings.mail_channel,
    topic_arn=settings.mail_topic_arn,
    from_address=settings.mail_from_address,
)
app = make_resolver(settings.allowed_web_origin)


@app.post("/cancel-event")
def cancel_event(body: CancelEventRequest) -> CancelEventResponse:
    return cancel(
        body, caller_id(app), events=events, orders=orders, mailer=mailer, waitlist=waitlist
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
