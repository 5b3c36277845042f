"""What ``make dev`` delivers besides HTTP: S3 notifications and DynamoDB streams to their
functions (as the template wires them), and SNS email to the local mailbox."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from werkzeug.test import Client

from devstack.functions import FunctionHost
from devstack.mailbox import Mailbox
from devstack.pumps import (
    S3NotificationPump,
    StreamPump,
    stream_mappings,
    wire_s3_notifications,
)
from devstack.template import TemplateModel

pytestmark = pytest.mark.integration


def _clients(model: TemplateModel) -> Callable[[str], Any]:
    return lambda service: boto3.client(service, region_name=model.region)


def _eventually(check: Callable[[], bool], what: str, limit: float = 30) -> None:
    deadline = time.monotonic() + limit
    while not check():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.1)


# ---------------------------------------------------------------------- DynamoDB stream


def test_the_stream_reaches_its_function_in_order_and_reported_failures_are_retried(
    aws: TemplateModel,
) -> None:
    # Given the template's projector mapping on TicketingTable, with a projector that fails
    # the second record the first time it sees it
    mapping = next(m for m in stream_mappings(aws) if m.table == "TicketingTable")
    seen: list[str] = []
    projected: list[str] = []
    failed_once: set[str] = set()

    def projector(event: dict[str, Any], context: Any) -> dict[str, Any]:
        failures = []
        for record in event["Records"]:
            pk = record["dynamodb"]["Keys"]["pk"]["S"]
            seen.append(pk)
            if pk == "EVENT#2" and pk not in failed_once and not failures:
                failed_once.add(pk)
                failures.append({"itemIdentifier": record["dynamodb"]["SequenceNumber"]})
            if failures:
                continue  # after a failure, Lambda retries from it: the rest waits
            projected.append(pk)
        return {"batchItemFailures": failures}

    host = FunctionHost(aws, overrides={mapping.function: projector})
    pump = StreamPump(aws, host, _clients(aws), mapping, retry_delay=0.01)
    pump.start()
    try:
        # When three events are written
        table = boto3.resource("dynamodb", region_name=aws.region).Table(
            aws.physical_name("TicketingTable")
        )
        for n in (1, 2, 3):
            table.put_item(Item={"pk": f"EVENT#{n}", "sk": "META", "entity": "event"})

        # Then the projector applies all of them, in order, the failed one again on retry
        _eventually(lambda: len(projected) == 3, "three records projected")
    finally:
        pump.stop()
        pump.join(10)
    assert projected == ["EVENT#1", "EVENT#2", "EVENT#3"]
    assert seen.count("EVENT#2") == 2
    assert seen.count("EVENT#1") == 1


def test_stream_records_have_the_shape_lambda_gives_them(aws: TemplateModel) -> None:
    mapping = next(m for m in stream_mappings(aws) if m.table == "TicketingTable")
    batches: list[dict[str, Any]] = []

    def projector(event: dict[str, Any], context: Any) -> dict[str, Any]:
        batches.append(event)
        return {"batchItemFailures": []}

    host = FunctionHost(aws, overrides={mapping.function: projector})
    pump = StreamPump(aws, host, _clients(aws), mapping)
    pump.start()
    try:
        table = boto3.resource("dynamodb", region_name=aws.region).Table(
            aws.physical_name("TicketingTable")
        )
        table.put_item(Item={"pk": "EVENT#1", "sk": "META", "title": "Jazz"})
        _eventually(lambda: bool(batches), "a batch")
    finally:
        pump.stop()
        pump.join(10)

    record = batches[0]["Records"][0]
    json.dumps(batches[0])  # what Lambda hands over is plain JSON
    assert record["eventName"] == "INSERT"
    assert record["eventSource"] == "aws:dynamodb"
    assert record["eventSourceARN"] == aws.created["TicketingTable"]["stream_arn"]
    assert record["dynamodb"]["NewImage"]["title"] == {"S": "Jazz"}
    assert isinstance(record["dynamodb"]["ApproximateCreationDateTime"], int)


# ---------------------------------------------------------------------- S3 notifications


def test_an_upload_under_the_templates_prefix_reaches_the_image_function(
    aws: TemplateModel,
) -> None:
    # Given the uploads bucket's notifications, wired as the template says
    events: list[dict[str, Any]] = []
    clients = _clients(aws)
    queues = wire_s3_notifications(aws, clients)
    host = FunctionHost(aws, overrides={"ProcessImageFunction": lambda e, c: events.append(e)})
    pump = S3NotificationPump(aws, host, clients, queues)
    pump.start()
    bucket = aws.physical_name("UploadsBucket")
    try:
        # When one object lands under events/ and another elsewhere
        s3 = clients("s3")
        s3.put_object(Bucket=bucket, Key="elsewhere/skip.jpg", Body=b"x")
        s3.put_object(Bucket=bucket, Key="events/e1/cover photo.jpg", Body=b"jpeg")
        _eventually(lambda: bool(events), "an S3 event")
        time.sleep(0.5)  # give a wrongly delivered second event the chance to show up
    finally:
        pump.stop()
        pump.join(10)

    # Then only the events/ object is delivered, with its key encoded as S3 encodes it
    assert len(events) == 1
    record = events[0]["Records"][0]
    assert record["eventSource"] == "aws:s3"
    assert record["eventName"].startswith("ObjectCreated:")
    assert record["s3"]["bucket"]["name"] == bucket
    assert record["s3"]["object"]["key"] == "events/e1/cover+photo.jpg"


def test_an_image_function_that_keeps_failing_sends_the_event_to_its_dead_letter_queue(
    aws: TemplateModel,
) -> None:
    def failing(event: dict[str, Any], context: Any) -> None:
        raise RuntimeError("cannot decode")

    clients = _clients(aws)
    queues = wire_s3_notifications(aws, clients)
    host = FunctionHost(aws, overrides={"ProcessImageFunction": failing})
    pump = S3NotificationPump(aws, host, clients, queues, retry_delay=0.01)
    pump.start()
    dlq = aws.physical_name("ProcessImageDeadLetterQueue")
    received: list[dict[str, Any]] = []
    try:
        clients("s3").put_object(
            Bucket=aws.physical_name("UploadsBucket"), Key="events/e1/u1", Body=b"x"
        )

        def dead_lettered() -> bool:
            messages = clients("sqs").receive_message(QueueUrl=dlq).get("Messages", [])
            received.extend(json.loads(m["Body"]) for m in messages)
            return bool(received)

        _eventually(dead_lettered, "a dead-lettered event")
    finally:
        pump.stop()
        pump.join(10)

    failure = received[0]
    assert failure["requestContext"]["condition"] == "RetriesExhausted"
    assert failure["requestContext"]["approximateInvokeCount"] == 3  # 1 + MaximumRetryAttempts
    assert failure["responsePayload"]["errorMessage"] == "cannot decode"
    assert failure["requestPayload"]["Records"][0]["s3"]["object"]["key"] == "events/e1/u1"


# ---------------------------------------------------------------------- mailbox


@pytest.fixture
def mailbox_factory() -> Iterator[Callable[[str], Mailbox]]:
    installed: list[Mailbox] = []

    def make(confirm: str) -> Mailbox:
        mailbox = Mailbox(confirm=confirm, base_url="http://127.0.0.1:3000")
        mailbox.install()
        installed.append(mailbox)
        return mailbox

    yield make
    for mailbox in installed:
        mailbox.uninstall()


def _subscribe(sns: Any, topic: str, email: str) -> str:
    policy = {"$or": [{"audience": ["all"]}, {"recipient": [email]}]}
    arn: str = sns.subscribe(
        TopicArn=topic,
        Protocol="email",
        Endpoint=email,
        Attributes={"FilterPolicy": json.dumps(policy)},
        ReturnSubscriptionArn=True,
    )["SubscriptionArn"]
    return arn


def _publish(sns: Any, topic: str, text: str, **attributes: str) -> None:
    sns.publish(
        TopicArn=topic,
        Subject=text[:40],
        Message=text,
        MessageAttributes={
            k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()
        },
    )


def test_the_mailbox_shows_each_address_exactly_what_its_filter_policy_lets_through(
    aws: TemplateModel, mailbox_factory: Callable[[str], Mailbox]
) -> None:
    # Given two subscribers whose filter policies take announcements and their own mail
    mailbox = mailbox_factory("auto")
    sns = boto3.client("sns", region_name=aws.region)
    topic = aws.physical_name("MailTopic")
    _subscribe(sns, topic, "ada@example.com")
    _subscribe(sns, topic, "bob@example.com")

    # When a code goes to Ada, then an announcement to everyone
    _publish(sns, topic, "Your code is 123456", recipient="ada@example.com")
    _publish(sns, topic, "New event: Jazz night", audience="all")

    # Then Ada's mailbox has both, newest first, and Bob's only the announcement
    ada = [m.body for m in mailbox.messages("ada@example.com") if m.kind == "notification"]
    bob = [m.body for m in mailbox.messages("bob@example.com") if m.kind == "notification"]
    assert ada == ["New event: Jazz night", "Your code is 123456"]
    assert bob == ["New event: Jazz night"]

    # And the page says the stand-in confirmed the subscriptions by itself
    page = Client(mailbox).get("/_mailbox").get_data(as_text=True)
    assert "confirms email subscriptions by" in page
    assert '<strong class="code">123456</strong>' in page
    listing = json.loads(Client(mailbox).get("/_mailbox.json?to=bob@example.com").data)
    assert [m["body"] for m in listing["messages"] if m["kind"] == "notification"] == [
        "New event: Jazz night"
    ]


def test_in_manual_mode_the_confirmation_link_in_the_mailbox_confirms_the_subscription(
    aws: TemplateModel, mailbox_factory: Callable[[str], Mailbox]
) -> None:
    # Given a mailbox that leaves email subscriptions pending, as AWS does
    mailbox = mailbox_factory("manual")
    sns = boto3.client("sns", region_name=aws.region)
    topic = aws.physical_name("MailTopic")
    arn = _subscribe(sns, topic, "ada@example.com")
    attributes = sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
    assert attributes["PendingConfirmation"] == "true"

    # Then nothing is delivered before she confirms
    _publish(sns, topic, "Too early", recipient="ada@example.com")
    (request,) = mailbox.messages("ada@example.com")
    assert request.kind == "confirmation-request"
    assert request.confirm_url is not None

    # When she opens the link from the confirmation mail
    path = request.confirm_url.removeprefix("http://127.0.0.1:3000")
    answer = Client(mailbox).get(path)

    # Then the subscription is confirmed and later mail arrives
    assert answer.status_code == 200
    assert "Subscription confirmed" in answer.get_data(as_text=True)
    attributes = sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
    assert attributes["PendingConfirmation"] == "false"
    _publish(sns, topic, "Welcome", recipient="ada@example.com")
    assert mailbox.messages("ada@example.com")[0].body == "Welcome"
    assert Client(mailbox).get(path).status_code == 404  # a link works once
