"""Emails each holder their ticket, from the TicketingTable stream (docs/decisions/0067).

Only newly issued tickets reach it (the event source mapping's filter; the handler checks again,
since a local stream has no filters). Each record is its own unit: a failed mail is reported by
itself (ReportBatchItemFailures), retried, and sent to DeliverTicketsDeadLetterQueue when it keeps
failing; the sale never waits for any of it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gatepass.dal.deliveries import DynamoDeliveryStore
from gatepass.dal.events import DynamoEventStore
from gatepass.dal.mail import mailer_for
from gatepass.dal.orders import DynamoOrderStore
from gatepass.logic.delivery import deliver_ticket, issued_ticket_of
from gatepass.observability import logger, metrics, tracer
from gatepass.settings.deliver_tickets import DeliverTicketsSettings
from gatepass.streams import StreamRecord, report_failures

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

settings = DeliverTicketsSettings.load()
orders = DynamoOrderStore(settings.ticketing_table)
events = DynamoEventStore(settings.ticketing_table)
deliveries = DynamoDeliveryStore(settings.ticketing_table)
mailer = mailer_for(
    settings.mail_channel,
    topic_arn=settings.mail_topic_arn,
    from_address=settings.mail_from_address,
)


def record_handler(record: StreamRecord) -> None:
    ticket_id = issued_ticket_of(
        record.event_name or "",
        record.new_image,
    )
    if ticket_id is None:
        return
    deliver_ticket(
        ticket_id,
        orders=orders,
        events=events,
        deliveries=deliveries,
        mailer=mailer,
        channel=settings.mail_channel,
        site_url=settings.site_url,
    )


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return report_failures(event, record_handler)
