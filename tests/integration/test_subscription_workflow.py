"""The subscription state machine, run by moto's Step Functions interpreter: active, expired
and failed endings, the filter policy that addresses one subscriber, and the welcome."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto.sns.models import SNSBackend, sns_backends

from devstack.template import TemplateModel
from gatepass.dal.subscriptions import DynamoSubscriptionStore
from tests.conftest import load_event
from tests.support.workflow import finished, subscription

pytestmark = pytest.mark.integration

EMAIL = "ada@example.com"


@pytest.fixture
def machine(aws: TemplateModel) -> Iterator[str]:
    arn = aws.created["SubscriptionStateMachine"]["ref"]
    yield arn
    sfn = boto3.client("stepfunctions")
    for execution in sfn.list_executions(stateMachineArn=arn)["executions"]:
        finished(execution["executionArn"])


@pytest.fixture
def sns_backend(aws: TemplateModel) -> SNSBackend:
    backend: SNSBackend = sns_backends[aws.account_id][aws.region]
    return backend


def claimed(aws: TemplateModel, email: str) -> int:
    """The subscription item as POST /subscribe leaves it; returns the claimed attempt."""
    store = DynamoSubscriptionStore(aws.physical_name("IdentityTable"))
    claim = store.claim(email, now="2026-11-22T09:00:00Z", stale_before="2026-11-22T08:55:00Z")
    assert claim.won
    return claim.attempt


def run(machine: str, payload: dict[str, Any]) -> dict[str, Any]:
    sfn = boto3.client("stepfunctions")
    arn = sfn.start_execution(stateMachineArn=machine, input=json.dumps(payload))["executionArn"]
    return finished(arn)


def topic_subscriptions(aws: TemplateModel) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = boto3.client("sns").list_subscriptions_by_topic(
        TopicArn=aws.created["MailTopic"]["ref"]
    )["Subscriptions"]
    return found


def attributes(name_values: dict[str, str]) -> dict[str, Any]:
    """Message attributes in the shape moto's filter matcher receives them."""
    return {name: {"Type": "String", "Value": value} for name, value in name_values.items()}


def test_a_confirmed_address_becomes_active_with_its_own_filter_and_a_welcome(
    aws: TemplateModel, machine: str, sns_backend: SNSBackend
) -> None:
    attempt = claimed(aws, EMAIL)

    described = run(machine, {"email": EMAIL, "attempt": attempt})

    assert described["status"] == "SUCCEEDED"
    (sub,) = topic_subscriptions(aws)
    assert (sub["Protocol"], sub["Endpoint"]) == ("email", EMAIL)
    item = subscription(aws, EMAIL)
    assert item["status"] == "active"
    assert item["subscription_arn"] == sub["SubscriptionArn"]
    assert item["execution_arn"] == described["executionArn"]
    assert item["version"] >= 4

    sns = boto3.client("sns")
    sub_attributes = sns.get_subscription_attributes(SubscriptionArn=sub["SubscriptionArn"])
    policy = json.loads(sub_attributes["Attributes"]["FilterPolicy"])
    assert policy == {"$or": [{"audience": ["all"]}, {"recipient": [EMAIL]}]}

    matcher = sns_backend.subscriptions[sub["SubscriptionArn"]]._filter_policy_matcher
    assert matcher is not None
    assert matcher.matches(attributes({"audience": "all"}), "New event")
    assert matcher.matches(attributes({"recipient": EMAIL}), "Your code")
    assert not matcher.matches(attributes({"recipient": "grace@example.com"}), "Her code")
    assert not matcher.matches({}, "Unaddressed")

    topic = sns_backend.topics[aws.created["MailTopic"]["ref"]]
    welcomes = [n for n in topic.sent_notifications if n[2] == "Welcome to Gatepass"]
    assert len(welcomes) == 1
    _, message, _, message_attributes, _ = welcomes[0]
    assert EMAIL in message
    # And it leads to the site's sign-in page (AllowedWebOrigin's)
    origin = aws.resolve({"Ref": "AllowedWebOrigin"})
    assert f"Sign in at {origin}/signin " in message
    assert message_attributes is not None
    assert message_attributes["recipient"]["Value"] == EMAIL
    assert matcher.matches(message_attributes, message)


def test_an_address_that_never_confirms_expires_and_loses_its_sns_subscription(
    aws: TemplateModel, machine: str, sns_backend: SNSBackend
) -> None:
    # Given an address whose SNS subscription is still waiting for confirmation
    pending = sns_backend.subscribe(aws.created["MailTopic"]["ref"], EMAIL, "email")
    pending.attributes["PendingConfirmation"] = True
    attempt = claimed(aws, EMAIL)

    described = run(machine, {"email": EMAIL, "attempt": attempt})

    assert described["status"] == "SUCCEEDED"
    item = subscription(aws, EMAIL)
    assert item["status"] == "expired"
    assert item["subscription_arn"] == pending.arn
    assert topic_subscriptions(aws) == []
    topic = sns_backend.topics[aws.created["MailTopic"]["ref"]]
    assert topic.sent_notifications == []


def test_a_failing_step_is_recorded_as_failed_with_its_error(
    aws: TemplateModel, machine: str
) -> None:
    # Given a mail topic that does not exist
    boto3.client("sns").delete_topic(TopicArn=aws.created["MailTopic"]["ref"])
    attempt = claimed(aws, EMAIL)

    described = run(machine, {"email": EMAIL, "attempt": attempt})

    assert described["status"] == "FAILED"
    assert described["error"] == "Gatepass.SubscriptionFailed"
    item = subscription(aws, EMAIL)
    assert item["status"] == "failed"
    assert "NotFound" in item["failure"]["error"]
    assert "Topic does not exist" in item["failure"]["cause"]


def test_an_execution_for_a_superseded_attempt_changes_nothing(
    aws: TemplateModel, machine: str
) -> None:
    # Given the address has moved on to attempt 1 while an execution claims attempt 7
    attempt = claimed(aws, EMAIL)

    described = run(machine, {"email": EMAIL, "attempt": attempt + 6})

    assert described["status"] == "FAILED"
    item = subscription(aws, EMAIL)
    assert (item["status"], item["attempt"]) == ("starting", attempt)
    assert topic_subscriptions(aws) == []


def test_the_sample_workflow_input_runs_to_active(aws: TemplateModel, machine: str) -> None:
    payload = load_event("subscription-workflow.json")
    assert claimed(aws, payload["email"]) == payload["attempt"]

    described = run(machine, payload)

    assert described["status"] == "SUCCEEDED"
    assert subscription(aws, payload["email"])["status"] == "active"
