"""GET /events/{event_id}/revocations: the event's revoked tickets, for offline scanners."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from gatepass.dal.orders import DynamoOrderStore
from gatepass.http import make_resolver
from gatepass.logic.orders import revocation_list
from gatepass.models.tickets import RevocationList
from gatepass.observability import correlation_paths, logger, metrics, tracer
from gatepass.resolver import Query
from gatepass.settings.event_revocations import EventRevocationsSettings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

settings = EventRevocationsSettings.load()
orders = DynamoOrderStore(settings.ticketing_table)
app = make_resolver(settings.allowed_web_origin)


@app.get("/events/<event_id>/revocations")
def event_revocations(
    event_id: str, since: Annotated[str | None, Query(max_length=64)] = None
) -> RevocationList:
    return revocation_list(event_id, since, orders=orders)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
