"""POST /subscribe against moto: one workflow per address and attempt, whatever the callers do."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from botocore.client import BaseClient
from moto.sns.models import sns_backends

from devstack.template import TemplateModel
from functions.subscribe import app as subscribe_app
from gatepass.logic.subscriptions import SUBSCRIBE_MESSAGE, execution_name
from tests.conftest import load_event
from tests.support.api import api_event, json_body
from tests.support.workflow import finished, subscription

pytestmark = pytest.mark.integration


@pytest.fixture
def machine(aws: TemplateModel) -> Iterator[str]:
    """The subscription state machine's ARN; every execution has ended when the test does."""
    arn = aws.created["SubscriptionStateMachine"]["ref"]
    yield arn
    for execution in executions(arn):
        finished(execution["executionArn"])


def executions(machine_arn: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = boto3.client("stepfunctions").list_executions(
        stateMachineArn=machine_arn
    )["executions"]
    return found


def accepted(email: str) -> dict[str, str]:
    """The one answer every well-formed address gets."""
    return {"email": email, "message": SUBSCRIBE_MESSAGE}


def post_subscribe(email: Any, lambda_context: Any) -> tuple[int, Any]:
    event = api_event("POST", "/subscribe", body={"email": email})
    response = subscribe_app.lambda_handler(event, lambda_context)
    return response["statusCode"], json_body(response)


@pytest.mark.parametrize("email", ["not-an-address", "ada@", "ada@example", 42])
def test_an_invalid_address_is_refused_and_starts_nothing(
    aws: TemplateModel, machine: str, lambda_context: Any, email: Any
) -> None:
    status, body = post_subscribe(email, lambda_context)

    assert status == 400
    assert body["error"]["code"] == "validation_error"
    assert body["error"]["problems"][0]["field"] == "email"
    assert executions(machine) == []


def test_a_missing_body_is_refused(aws: TemplateModel, machine: str, lambda_context: Any) -> None:
    response = subscribe_app.lambda_handler(api_event("POST", "/subscribe"), lambda_context)

    assert response["statusCode"] == 400
    assert json_body(response)["error"]["code"] == "validation_error"
    assert executions(machine) == []


def test_first_subscribe_starts_the_workflow(
    aws: TemplateModel, machine: str, lambda_context: Any
) -> None:
    status, body = post_subscribe("Ada@Example.com", lambda_context)

    assert status == 202
    assert body == accepted("ada@example.com")
    (execution,) = executions(machine)
    assert execution["name"] == execution_name("ada@example.com", 1)
    described = finished(execution["executionArn"])
    assert json.loads(described["input"]) == {"email": "ada@example.com", "attempt": 1}
    assert described["status"] == "SUCCEEDED"
    item = subscription(aws, "ada@example.com")
    assert (item["status"], item["attempt"], item["execution_arn"]) == (
        "active",
        1,
        execution["executionArn"],
    )


def test_a_repeated_subscribe_answers_like_the_first_and_starts_no_second_workflow(
    aws: TemplateModel, machine: str, lambda_context: Any
) -> None:
    post_subscribe("ada@example.com", lambda_context)
    finished(executions(machine)[0]["executionArn"])

    status, body = post_subscribe("ada@example.com", lambda_context)

    assert status == 202
    assert body == accepted("ada@example.com")
    assert len(executions(machine)) == 1
    assert subscription(aws, "ada@example.com")["attempt"] == 1


def test_concurrent_duplicates_start_exactly_one_workflow(
    aws: TemplateModel, machine: str, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # moto is not thread-safe: calls into it take turns, the handlers around them do not.
    moto_lock = threading.Lock()
    make_api_call = BaseClient._make_api_call

    def one_call_at_a_time(self: BaseClient, operation: str, params: Any) -> Any:
        with moto_lock:
            return make_api_call(self, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", one_call_at_a_time)
    barrier = threading.Barrier(8)

    def racer(_: int) -> tuple[int, Any]:
        barrier.wait()
        return post_subscribe("ada@example.com", lambda_context)

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(racer, range(8)))

    assert {status for status, _ in answers} == {202}
    assert all(body == accepted("ada@example.com") for _, body in answers)
    assert len(executions(machine)) == 1
    assert subscription(aws, "ada@example.com")["attempt"] == 1


def test_subscribing_again_after_expiry_starts_a_new_attempt(
    aws: TemplateModel, machine: str, lambda_context: Any
) -> None:
    # Given an address that never confirmed, so its first attempt expired
    sns_backend = sns_backends[aws.account_id][aws.region]
    topic_arn = aws.created["MailTopic"]["ref"]
    pending = sns_backend.subscribe(topic_arn, "ada@example.com", "email")
    pending.attributes["PendingConfirmation"] = True
    post_subscribe("ada@example.com", lambda_context)
    assert finished(executions(machine)[0]["executionArn"])["status"] == "SUCCEEDED"
    assert subscription(aws, "ada@example.com")["status"] == "expired"

    # When the address subscribes again
    status, body = post_subscribe("ada@example.com", lambda_context)

    # Then a second attempt runs, and this time (moto confirms at once) it becomes active
    assert status == 202
    assert body == accepted("ada@example.com")
    names = sorted(execution["name"] for execution in executions(machine))
    assert names == sorted(execution_name("ada@example.com", n) for n in (1, 2))
    second = next(e for e in executions(machine) if e["name"].endswith("-2"))
    assert finished(second["executionArn"])["status"] == "SUCCEEDED"
    item = subscription(aws, "ada@example.com")
    assert (item["status"], item["attempt"]) == ("active", 2)


def test_an_address_unsubscribed_by_a_mail_link_can_subscribe_again(
    aws: TemplateModel, machine: str, lambda_context: Any
) -> None:
    # Given Ada's subscription is active, then she uses the unsubscribe link of some email
    post_subscribe("ada@example.com", lambda_context)
    assert finished(executions(machine)[0]["executionArn"])["status"] == "SUCCEEDED"
    first = subscription(aws, "ada@example.com")
    assert first["status"] == "active"
    boto3.client("sns").unsubscribe(SubscriptionArn=first["subscription_arn"])

    # When she subscribes again
    status, body = post_subscribe("ada@example.com", lambda_context)

    # Then a new attempt starts (not "active" forever with mail going nowhere), and it confirms
    assert status == 202
    assert body == accepted("ada@example.com")
    second = next(e for e in executions(machine) if e["name"].endswith("-2"))
    assert finished(second["executionArn"])["status"] == "SUCCEEDED"
    item = subscription(aws, "ada@example.com")
    assert (item["status"], item["attempt"]) == ("active", 2)
    assert item["subscription_arn"] != first["subscription_arn"]


def test_an_active_subscription_still_delivered_is_not_restarted(
    aws: TemplateModel, machine: str, lambda_context: Any
) -> None:
    post_subscribe("ada@example.com", lambda_context)
    finished(executions(machine)[0]["executionArn"])

    status, body = post_subscribe("ada@example.com", lambda_context)

    assert (status, body) == (202, accepted("ada@example.com"))
    assert len(executions(machine)) == 1


def test_known_and_new_addresses_get_the_same_answer_and_the_same_work(
    aws: TemplateModel, machine: str, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given Ada is subscribed and Grace is not
    post_subscribe("ada@example.com", lambda_context)
    finished(executions(machine)[0]["executionArn"])
    operations: list[str] = []
    make_api_call = BaseClient._make_api_call

    def recording(self: BaseClient, operation: str, params: Any) -> Any:
        operations.append(operation)
        return make_api_call(self, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", recording)
    waits: list[str] = []
    monkeypatch.setattr(subscribe_app.start_time, "wait", lambda: waits.append("wait"))

    # When each subscribes
    ada = post_subscribe("ada@example.com", lambda_context)
    ada_work, operations[:] = list(operations), []
    grace = post_subscribe("grace@example.com", lambda_context)
    grace_work = list(operations)

    # Then the answers differ only by the address each gave
    assert (ada[0], grace[0]) == (202, 202)
    assert (ada[1], grace[1]) == (accepted("ada@example.com"), accepted("grace@example.com"))
    # And both did the same DynamoDB and SNS work; Grace's ends in StartExecution, where Ada's
    # request waits as long instead
    assert grace_work[-1] == "StartExecution"
    assert ada_work == grace_work[:-1]
    assert "GetSubscriptionAttributes" in grace_work
    assert waits == ["wait"]


def test_a_workflow_that_cannot_start_answers_503_and_frees_the_address(
    aws: TemplateModel, lambda_context: Any
) -> None:
    # Given a state machine that is gone
    sfn = boto3.client("stepfunctions")
    sfn.delete_state_machine(stateMachineArn=aws.created["SubscriptionStateMachine"]["ref"])

    status, body = post_subscribe("ada@example.com", lambda_context)

    assert status == 503
    assert body["error"]["code"] == "service_unavailable"
    assert "arn:" not in body["error"]["message"]
    item = subscription(aws, "ada@example.com")
    assert item["status"] == "failed"
    assert item["failure"]["error"] == "WorkflowStartError"


def test_the_sample_event_subscribes_its_address(
    aws: TemplateModel, machine: str, lambda_context: Any
) -> None:
    event = load_event("subscribe.json")
    email = json.loads(event["body"])["email"]

    response = subscribe_app.lambda_handler(event, lambda_context)

    assert response["statusCode"] == 202
    assert json_body(response) == accepted(email)
    (execution,) = executions(machine)
    assert execution["name"] == execution_name(email, 1)
