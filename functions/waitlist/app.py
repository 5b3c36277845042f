"""The waiting list's stream consumer (TicketingTable stream, filtered): offers each seat set
aside for a line to the head of the line, emails the link and starts the offer's timer, and
gives the seat of an expired or declined offer on. Failed records are reported one by one
(ReportBatchItemFailures); what keeps failing goes to WaitlistDeadLetterQueue."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gatepass.dal.events import DynamoEventStore
from gatepass.dal.mail import mailer_for
from gatepass.dal.waitlist import DynamoWaitlistStore, waitlist_change
from gatepass.dal.workflow import StepFunctionsWorkflow
from gatepass.logic.waitlist import react
from gatepass.observability import logger, metrics, tracer
from gatepass.settings.waitlist import WaitlistSettings
from gatepass.streams import StreamRecord, report_failures

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

settings = WaitlistSettings.load()
events = DynamoEventStore(settings.ticketing_table)
waitlist = DynamoWaitlistStore(settings.ticketing_table)
workflow = StepFunctionsWorkflow(settings.offer_state_machine_arn)
mailer = mailer_for(
    settings.mail_channel,
    topic_arn=settings.mail_topic_arn,
    from_address=settings.mail_from_address,
)


def record_handler(record: StreamRecord) -> None:
    change = waitlist_change(record.event_name, record.new_image or {}, record.old_image or {})
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
    return report_failures(event, record_handler)
