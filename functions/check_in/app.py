"""POST /check-in: the organizer or door staff scan a ticket in or out at a gate.
POST /sync-scans: a scanner's queued scans, each recorded exactly once (docs/decisions/0062)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gatepass.dal.door import DynamoDoorStore
from gatepass.dal.ticket_keys import DynamoTicketKeyStore
from gatepass.http import caller_id, make_resolver
from gatepass.logic.check_in import check_in as check_in_ticket
from gatepass.logic.check_in import sync_scans as sync_queued_scans
from gatepass.models.scanner import (
    CheckInRequest,
    CheckInResult,
    SyncScansRequest,
    SyncScansResponse,
)
from gatepass.observability import correlation_paths, logger, metrics, tracer
from gatepass.settings.check_in import CheckInSettings
from gatepass.ticket_keys import EventTicketKeys

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

settings = CheckInSettings.load()
door = DynamoDoorStore(settings.ticketing_table)
# Verifying needs only the events' public keys: no KMS, no secret.
keys = EventTicketKeys(DynamoTicketKeyStore(settings.ticketing_table))
app = make_resolver(settings.allowed_web_origin)


@app.post("/check-in")
def check_in(body: CheckInRequest) -> CheckInResult:
    return check_in_ticket(caller_id(app), body, door=door, keys=keys)


@app.post("/sync-scans")
def sync_scans(body: SyncScansRequest) -> SyncScansResponse:
    return sync_queued_scans(caller_id(app), body, door=door, keys=keys)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
