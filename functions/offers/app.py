"""POST /claim-offer and POST /decline-offer: the person offered a freed seat takes it (an
order of one ticket) or gives it up to the next person in line."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gatepass.dal.events import DynamoEventStore
from gatepass.dal.ticket_keys import DynamoTicketKeyStore
from gatepass.dal.tickets import DynamoTicketsDataAccess
from gatepass.dal.waitlist import DynamoWaitlistStore
from gatepass.http import caller_id, make_resolver
from gatepass.logic import offers as claims
from gatepass.logic import waitlist as rules
from gatepass.models.waitlist import (
    ClaimOfferRequest,
    ClaimOfferResponse,
    DeclineOfferRequest,
    OfferResponse,
)
from gatepass.observability import correlation_paths, logger, metrics, tracer
from gatepass.resolver import Response
from gatepass.settings.offers import OffersSettings
from gatepass.ticket_keys import EventTicketKeys

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

settings = OffersSettings.load()
events = DynamoEventStore(settings.ticketing_table)
waitlist = DynamoWaitlistStore(settings.ticketing_table)
tickets = DynamoTicketsDataAccess(settings.ticketing_table, bucket_name=settings.tickets_bucket)
keys = EventTicketKeys(
    DynamoTicketKeyStore(settings.ticketing_table),
    kms_key_id=settings.ticket_keys_key_id,
    legacy_secret_id=settings.ticket_key_secret_arn,
)
app = make_resolver(settings.allowed_web_origin)


@app.post("/claim-offer")
def claim_offer(body: ClaimOfferRequest) -> Response[ClaimOfferResponse]:
    claimed = claims.claim_offer(
        body, caller_id(app), events=events, waitlist=waitlist, tickets=tickets, keys=keys
    )
    return Response(status_code=201, content_type="application/json", body=claimed)


@app.post("/decline-offer")
def decline_offer(body: DeclineOfferRequest) -> OfferResponse:
    return rules.decline_offer(body, caller_id(app), waitlist=waitlist)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
