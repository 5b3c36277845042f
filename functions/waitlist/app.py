"""The waiting list's stream consumer (TicketingTable stream, filtered): offers each seat set
aside for a line to the head of the line, emails the link and starts the offer's timer, and
gives the seat of an expired or declined offer on. Failed records are reported one by one
(ReportBatchItemFailures); what keeps failing goes to WaitlistDeadLetterQueue."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from gatepass.dal.events import DynamoEventStore
from gatepass.dal.mail import mailer_for
from gatepass.dal.waitlist import DynamoWaitlistStore, waitlist_change
from gatepass.dal.workflow import StepFunctionsWorkflow
from gatepass.logic.waitlist import react
from gatepass.observability import logger, metrics, tracer
from gatepass.settings.waitlist import WaitlistSettings

settings = WaitlistSettings.load()
events = DynamoEventStore(settings.ticketing_table)
waitlist = DynamoWaitlistStore(settings.ticketing_table)
workflow = StepFunctionsWorkflow(settings.offer_state_machine_arn)
mailer = mailer_for(
    settings.mail_channel,
    topic_arn=settings.mail_topic_arn,
    from_address=settings.mail_from_address,
)
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


def record_handler(record: DynamoDBRecord) -> None:
    change = waitlist_change(record.raw_event)
    if change is not None:
        react(
            change,
            events=events,
            waitlist=waitlist,
            mailer=mailer,
            workflow=workflow,
            site_url=settings.offer_site,
            lifetime_seconds=settings.waitlist_offer_lifetime_seconds,
        )


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    response = process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    return dict(response)
