"""Emails each holder their ticket, from the TicketingTable stream (docs/decisions/0067).

Only newly issued tickets reach it (the event source mapping's filter; the handler checks again,
since a local stream has no filters). Each record is its own unit: a failed mail is reported by
itself (ReportBatchItemFailures), retried, and sent to DeliverTicketsDeadLetterQueue when it keeps
failing; the sale never waits for any of it.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from gatepass.dal.deliveries import DynamoDeliveryStore
from gatepass.dal.events import DynamoEventStore
from gatepass.dal.mail import mailer_for
from gatepass.dal.orders import DynamoOrderStore
from gatepass.logic.delivery import deliver_ticket, issued_ticket_of
from gatepass.observability import logger, metrics, tracer
from gatepass.settings.deliver_tickets import DeliverTicketsSettings

settings = DeliverTicketsSettings.load()
orders = DynamoOrderStore(settings.ticketing_table)
events = DynamoEventStore(settings.ticketing_table)
deliveries = DynamoDeliveryStore(settings.ticketing_table)
mailer = mailer_for(
    settings.mail_channel,
    topic_arn=settings.mail_topic_arn,
    from_address=settings.mail_from_address,
)
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


def record_handler(record: DynamoDBRecord) -> None:
    ticket_id = issued_ticket_of(
        str(record.event_name.name if record.event_name else ""),
        record.dynamodb.new_image if record.dynamodb else None,
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
    return dict(
        process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
    )
