"""The waiting room (docs/decisions/0072): POST /configure-queue (the organizer), POST /join-queue
and GET /queue-status (a signed-in person), GET /events/{event_id}/queue (public: the seed's
commitment, and after the draw the seed and the order, so anyone can check it)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from gatepass.dal.events import DynamoEventStore
from gatepass.dal.queue import DynamoQueueStore
from gatepass.http import caller_id, make_resolver
from gatepass.logic import queue as rules
from gatepass.models.queue import (
    ConfigureQueueRequest,
    ConfigureQueueResponse,
    JoinQueueRequest,
    JoinQueueResponse,
    PublicQueue,
    QueueStatus,
)
from gatepass.observability import correlation_paths, logger, metrics, tracer
from gatepass.queue_tokens import SecretQueueKeys
from gatepass.resolver import Query
from gatepass.settings.queue import QueueSettings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

settings = QueueSettings.load()
events = DynamoEventStore(settings.ticketing_table)
queue = DynamoQueueStore(settings.ticketing_table)
queue_keys = SecretQueueKeys(settings.queue_token_secret_arn)
app = make_resolver(settings.allowed_web_origin)


@app.post("/configure-queue")
def configure_queue(body: ConfigureQueueRequest) -> ConfigureQueueResponse:
    return rules.configure_queue(body, caller_id(app), events=events, queue=queue)


@app.post("/join-queue")
def join_queue(body: JoinQueueRequest) -> JoinQueueResponse:
    return rules.join_queue(body, caller_id(app), events=events, queue=queue, queue_keys=queue_keys)


@app.get("/queue-status")
def queue_status(event_id: Annotated[str, Query(min_length=1, max_length=64)]) -> QueueStatus:
    token = app.current_event.headers.get("X-Queue-Token")
    return rules.queue_status(
        event_id, caller_id(app), token, events=events, queue=queue, queue_keys=queue_keys
    )


@app.get("/events/<event_id>/queue")
def public_queue(
    event_id: str, cursor: Annotated[str | None, Query(max_length=64)] = None
) -> PublicQueue:
    return rules.public_queue(event_id, cursor, events=events, queue=queue)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
