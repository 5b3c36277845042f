"""POST /rotate-event-key: the organizer gives an event a new ticket-signing key."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gatepass.dal.ticket_keys import DynamoTicketKeyStore
from gatepass.http import caller_id, make_resolver
from gatepass.logic.ticket_keys import rotate_event_key as rotate
from gatepass.models.ticket_keys import EventKeys, RotateEventKeyRequest
from gatepass.observability import correlation_paths, logger, metrics, tracer
from gatepass.settings.rotate_event_key import RotateEventKeySettings
from gatepass.ticket_keys import EventTicketKeys

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

settings = RotateEventKeySettings.load()
key_store = DynamoTicketKeyStore(settings.ticketing_table)
keys = EventTicketKeys(key_store, kms_key_id=settings.ticket_keys_key_id)
app = make_resolver(settings.allowed_web_origin)


@app.post("/rotate-event-key")
def rotate_event_key(body: RotateEventKeyRequest) -> EventKeys:
    return rotate(body, caller_id(app), key_store=key_store, keys=keys)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
