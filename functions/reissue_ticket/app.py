"""POST /reissue-ticket: the organizer replaces a leaked ticket's code; the holder is emailed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gatepass.dal.mail import mailer_for
from gatepass.dal.orders import DynamoOrderStore
from gatepass.dal.ticket_keys import DynamoTicketKeyStore
from gatepass.dal.tickets import DynamoTicketsDataAccess
from gatepass.http import caller_id, make_resolver
from gatepass.logic.reissue import reissue_ticket as reissue
from gatepass.models.ticket_keys import ReissueTicketRequest, ReissueTicketResponse
from gatepass.observability import correlation_paths, logger, metrics, tracer
from gatepass.settings.reissue_ticket import ReissueTicketSettings
from gatepass.ticket_keys import EventTicketKeys

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

settings = ReissueTicketSettings.load()
orders = DynamoOrderStore(settings.ticketing_table)
tickets = DynamoTicketsDataAccess(settings.ticketing_table, bucket_name=settings.tickets_bucket)
key_store = DynamoTicketKeyStore(settings.ticketing_table)
keys = EventTicketKeys(
    key_store,
    kms_key_id=settings.ticket_keys_key_id,
    legacy_secret_id=settings.ticket_key_secret_arn,
)
mailer = mailer_for(
    settings.mail_channel,
    topic_arn=settings.mail_topic_arn,
    from_address=settings.mail_from_address,
)
app = make_resolver(settings.allowed_web_origin)


@app.post("/reissue-ticket")
def reissue_ticket(body: ReissueTicketRequest) -> ReissueTicketResponse:
    return reissue(
        body,
        caller_id(app),
        orders=orders,
        tickets=tickets,
        key_store=key_store,
        keys=keys,
        mailer=mailer,
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
