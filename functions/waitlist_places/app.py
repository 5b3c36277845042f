"""POST /join-waitlist, POST /leave-waitlist and GET /my-waitlist: a signed-in person's places
on the waiting lists of sold-out ticket types."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gatepass.dal.events import DynamoEventStore
from gatepass.dal.waitlist import DynamoWaitlistStore
from gatepass.http import caller_id, make_resolver
from gatepass.logic import waitlist as rules
from gatepass.models.waitlist import (
    JoinWaitlistRequest,
    LeaveWaitlistRequest,
    MyWaitlistResponse,
    WaitlistEntryResponse,
)
from gatepass.observability import correlation_paths, logger, metrics, tracer
from gatepass.resolver import Response
from gatepass.settings.waitlist_places import WaitlistPlacesSettings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

settings = WaitlistPlacesSettings.load()
events = DynamoEventStore(settings.ticketing_table)
waitlist = DynamoWaitlistStore(settings.ticketing_table)
app = make_resolver(settings.allowed_web_origin)


@app.post("/join-waitlist")
def join_waitlist(body: JoinWaitlistRequest) -> Response[WaitlistEntryResponse]:
    joined = rules.join_waitlist(body, caller_id(app), events=events, waitlist=waitlist)
    return Response(status_code=201, content_type="application/json", body=joined)


@app.post("/leave-waitlist")
def leave_waitlist(body: LeaveWaitlistRequest) -> WaitlistEntryResponse:
    return rules.leave_waitlist(body, caller_id(app), waitlist=waitlist)


@app.get("/my-waitlist")
def my_waitlist() -> MyWaitlistResponse:
    return rules.my_waitlist(caller_id(app), waitlist=waitlist)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
