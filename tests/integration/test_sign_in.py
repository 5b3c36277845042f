"""POST /send-otp and POST /verify-otp against moto: what is mailed, what is stored, and when a
code is refused."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from functions.send_otp import app as send_otp_app
from functions.verify_otp import app as verify_otp_app
from gatepass import clock, tokens
from gatepass.config import ConfigurationError, SendOtpSettings
from gatepass.dal.mail import SesMailer
from gatepass.logic import sign_in
from tests.conftest import load_event
from tests.support.api import api_event, json_body
from tests.support.session_keys import stack_verifying_key

pytestmark = pytest.mark.integration

ALICE = "alice@example.com"
BOB = "bob@example.com"
START = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
CODE_IN_MAIL = re.compile(r"sign-in code is ([0-9]{6})")


class Clock:
    def __init__(self) -> None:
        self.moment = START

    def now(self) -> datetime:
        return self.moment

    def advance(self, seconds: int) -> None:
        self.moment += timedelta(seconds=seconds)


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(clock, "now", fake.now)
    monkeypatch.setattr(clock, "epoch", lambda: int(fake.now().timestamp()))
    return fake


class Mailbox:
    """An SQS queue subscribed to the mail topic with the filter policy the subscription
    workflow gives one address: it receives what that address would be emailed."""

    def __init__(self, topic_arn: str, email: str) -> None:
        self.sqs = boto3.client("sqs")
        name = "mailbox-" + re.sub(r"[^A-Za-z0-9]", "-", email)
        self.url = self.sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        policy = {"$or": [{"audience": ["all"]}, {"recipient": [email]}]}
        boto3.client("sns").subscribe(
            TopicArn=topic_arn,
            Protocol="sqs",
            Endpoint=arn,
            Attributes={"FilterPolicy": json.dumps(policy)},
        )

    def messages(self) -> list[dict[str, Any]]:
        received = self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10)
        return [json.loads(m["Body"]) for m in received.get("Messages", [])]

    def codes(self) -> list[str]:
        return [CODE_IN_MAIL.search(m["Message"]).group(1) for m in self.messages()]  # type: ignore[union-attr]


def _table() -> Any:
    return boto3.resource("dynamodb").Table(send_otp_app.settings.identity_table)


def subscribe(email: str, status: str = "active") -> None:
    """What the subscription workflow leaves behind once the address confirmed."""
    _table().put_item(
        Item={"pk": f"SUB#{email}", "sk": "META", "email": email, "status": status, "version": 1}
    )


@pytest.fixture
def mailboxes(aws: Any) -> dict[str, Mailbox]:
    topic = send_otp_app.settings.mail_topic_arn
    return {email: Mailbox(topic, email) for email in (ALICE, BOB)}


def send(lambda_context: Any, email: str) -> dict[str, Any]:
    event = api_event("POST", "/send-otp", body={"email": email})
    return send_otp_app.lambda_handler(event, lambda_context)  # type: ignore[no-any-return]


def verify(lambda_context: Any, email: str, code: str) -> dict[str, Any]:
    event = api_event("POST", "/verify-otp", body={"email": email, "code": code})
    return verify_otp_app.lambda_handler(event, lambda_context)  # type: ignore[no-any-return]


def header(response: dict[str, Any], name: str) -> str:
    [value] = response["multiValueHeaders"][name]
    return str(value)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


# ------------------------------------------------------------------ send


def test_subscriber_gets_a_code_by_mail_and_only_its_hash_is_stored(
    mailboxes: dict[str, Mailbox], frozen: Clock, lambda_context: Any
) -> None:
    # Given Alice is an active subscriber
    subscribe(ALICE)

    # When she asks for a code
    response = send(lambda_context, "Alice@Example.com")

    # Then the answer is 202, and the code reaches her mailbox only
    assert response["statusCode"] == 202
    assert json_body(response) == {"message": sign_in.SENT_MESSAGE}
    [mail] = mailboxes[ALICE].messages()
    assert mail["MessageAttributes"]["recipient"]["Value"] == ALICE
    assert mail["Subject"] == "Your Gatepass sign-in code"
    code = CODE_IN_MAIL.search(mail["Message"]).group(1)  # type: ignore[union-attr]
    assert mailboxes[BOB].messages() == []
    # And the stored item holds a keyed hash, an expiry five minutes on, and no plain code
    item = _table().get_item(Key={"pk": f"OTP#{ALICE}", "sk": "CODE"})["Item"]
    assert code not in json.dumps(item, default=str)
    assert item["code_hash"] == sign_in.hash_code(send_otp_app.keys.sign_in_code(), ALICE, code)
    assert int(item["expires_at"]) == int(START.timestamp()) + 300
    assert int(item["attempts"]) == 0


def test_unknown_and_inactive_addresses_get_the_same_answer_and_no_mail(
    mailboxes: dict[str, Mailbox], frozen: Clock, lambda_context: Any
) -> None:
    # Given Alice is known (active) and Bob only started subscribing
    subscribe(ALICE)
    subscribe(BOB, status="pending")

    # When Alice, Bob and a stranger each ask for a code
    answers = [send(lambda_context, e) for e in (ALICE, BOB, "stranger@example.com")]

    # Then all three answers are identical
    assert len({(a["statusCode"], a["body"]) for a in answers}) == 1
    # And only Alice got mail, and no code is stored for the others
    assert len(mailboxes[ALICE].messages()) == 1
    assert mailboxes[BOB].messages() == []
    for email in (BOB, "stranger@example.com"):
        assert "Item" not in _table().get_item(Key={"pk": f"OTP#{email}", "sk": "CODE"})


def test_sixth_send_within_an_hour_is_refused_with_retry_after(
    mailboxes: dict[str, Mailbox], frozen: Clock, lambda_context: Any
) -> None:
    # Given Alice asked for five codes over ten minutes
    subscribe(ALICE)
    for _ in range(5):
        assert send(lambda_context, ALICE)["statusCode"] == 202
        frozen.advance(120)
    assert len(mailboxes[ALICE].codes()) == 5

    # When she asks a sixth time
    response = send(lambda_context, ALICE)

    # Then it is refused until the first send leaves the rolling hour (50 minutes from now)
    assert response["statusCode"] == 429
    assert header(response, "Retry-After") == str(3600 - 600)
    assert json_body(response)["error"]["code"] == "rate_limited"
    assert json_body(response)["error"]["retry_after_seconds"] == 3000
    assert mailboxes[ALICE].messages() == []

    # And once that first send is an hour old, one more is allowed
    frozen.advance(3000)
    assert send(lambda_context, ALICE)["statusCode"] == 202
    assert len(mailboxes[ALICE].codes()) == 1


def test_rate_limit_applies_to_unknown_addresses_too(
    aws: Any, frozen: Clock, lambda_context: Any
) -> None:
    # Given a stranger's address was asked for five times
    for _ in range(5):
        assert send(lambda_context, "stranger@example.com")["statusCode"] == 202

    # When it is asked for once more
    response = send(lambda_context, "stranger@example.com")

    # Then the answer is the same 429 a subscriber would get, so it reveals nothing
    assert response["statusCode"] == 429
    assert header(response, "Retry-After") == "3600"


def test_a_new_code_replaces_the_previous_one(
    mailboxes: dict[str, Mailbox],
    frozen: Clock,
    lambda_context: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given Alice asked for a code twice (two different draws)
    subscribe(ALICE)
    draws = iter(["111111", "222222"])
    monkeypatch.setattr(sign_in, "new_code", lambda: next(draws))
    send(lambda_context, ALICE)
    send(lambda_context, ALICE)
    assert mailboxes[ALICE].codes() == ["111111", "222222"]

    # Then the first no longer works and the second does
    assert verify(lambda_context, ALICE, "111111")["statusCode"] == 401
    assert verify(lambda_context, ALICE, "222222")["statusCode"] == 200


def test_invalid_email_is_a_validation_error(aws: Any, lambda_context: Any) -> None:
    response = send(lambda_context, "not-an-address")

    assert response["statusCode"] == 400
    assert json_body(response)["error"]["code"] == "validation_error"


def test_a_mail_failure_still_gives_the_same_answer(
    mailboxes: dict[str, Mailbox],
    frozen: Clock,
    lambda_context: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given mail delivery is failing
    class BrokenMailer:
        def send(self, recipient: str, subject: str, text: str) -> None:
            raise RuntimeError("SNS is down")

    subscribe(ALICE)
    monkeypatch.setattr(send_otp_app, "mailer", BrokenMailer())

    # When Alice asks for a code
    response = send(lambda_context, ALICE)

    # Then the answer does not reveal that her address is subscribed
    assert response["statusCode"] == 202
    assert json_body(response) == {"message": sign_in.SENT_MESSAGE}


def test_ses_channel_sends_the_code_from_the_configured_sender(
    aws: Any, frozen: Clock, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the stack mails personal messages through SES from a verified sender
    from moto.ses.models import ses_backends

    boto3.client("ses").verify_email_identity(EmailAddress="noreply@gatepass.example")
    monkeypatch.setattr(send_otp_app, "mailer", SesMailer("noreply@gatepass.example"))
    subscribe(ALICE)

    # When Alice asks for a code
    assert send(lambda_context, ALICE)["statusCode"] == 202

    # Then SES sent her one mail from that sender, and its code signs her in
    [sent] = ses_backends["123456789012"]["us-east-1"].sent_messages
    assert sent.source == "noreply@gatepass.example"
    assert sent.destinations["ToAddresses"] == [ALICE]
    code = CODE_IN_MAIL.search(sent.body).group(1)  # type: ignore[union-attr]
    assert verify(lambda_context, ALICE, code)["statusCode"] == 200


def test_ses_channel_needs_a_sender_address() -> None:
    with pytest.raises(ConfigurationError):
        SendOtpSettings.load(
            environ={"IDENTITY_TABLE": "t", "SESSION_KEY_SECRET_ARN": "s", "MAIL_CHANNEL": "SES"}
        )


# ------------------------------------------------------------------ verify


def test_correct_code_gives_a_session_token_once(
    mailboxes: dict[str, Mailbox], frozen: Clock, lambda_context: Any
) -> None:
    # Given Alice received a code
    subscribe(ALICE)
    send(lambda_context, ALICE)
    [code] = mailboxes[ALICE].codes()

    # When she enters it
    response = verify(lambda_context, ALICE, code)

    # Then she gets a Bearer token for her address, valid for an hour
    assert response["statusCode"] == 200
    body = json_body(response)
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["expires_at"] == int(START.timestamp()) + 3600
    claims = tokens.verify_session_token(stack_verifying_key(), body["token"])
    assert claims.subject == ALICE
    assert claims.methods == ("otp-email",)
    # And the code is gone: using it again is refused
    again = verify(lambda_context, ALICE, code)
    assert again["statusCode"] == 401
    assert json_body(again)["error"]["code"] == "invalid_code"
    assert "Item" not in _table().get_item(Key={"pk": f"OTP#{ALICE}", "sk": "CODE"})


def test_five_wrong_tries_kill_the_code(
    mailboxes: dict[str, Mailbox], frozen: Clock, lambda_context: Any
) -> None:
    # Given Alice received a code and someone tried five wrong ones
    subscribe(ALICE)
    send(lambda_context, ALICE)
    [code] = mailboxes[ALICE].codes()
    for _ in range(5):
        refused = verify(lambda_context, ALICE, wrong(code))
        assert refused["statusCode"] == 401

    # When the right code follows
    response = verify(lambda_context, ALICE, code)

    # Then it is refused with the same generic answer
    assert response["statusCode"] == 401
    assert json_body(response) == json_body(refused)


def test_four_wrong_tries_then_the_right_code_still_works(
    mailboxes: dict[str, Mailbox], frozen: Clock, lambda_context: Any
) -> None:
    subscribe(ALICE)
    send(lambda_context, ALICE)
    [code] = mailboxes[ALICE].codes()
    for attempt in range(4):
        assert (
            verify(lambda_context, ALICE, wrong(code) if attempt % 2 else "12ab")["statusCode"]
            == 401
        )

    assert verify(lambda_context, ALICE, code)["statusCode"] == 200


def test_expired_code_is_refused(
    mailboxes: dict[str, Mailbox], frozen: Clock, lambda_context: Any
) -> None:
    # Given Alice received a code five minutes ago (DynamoDB has not deleted it yet)
    subscribe(ALICE)
    send(lambda_context, ALICE)
    [code] = mailboxes[ALICE].codes()
    frozen.advance(300)
    assert "Item" in _table().get_item(Key={"pk": f"OTP#{ALICE}", "sk": "CODE"})

    # When she enters it
    response = verify(lambda_context, ALICE, code)

    # Then it is refused
    assert response["statusCode"] == 401
    assert json_body(response)["error"]["code"] == "invalid_code"


def test_code_just_before_expiry_works(
    mailboxes: dict[str, Mailbox], frozen: Clock, lambda_context: Any
) -> None:
    subscribe(ALICE)
    send(lambda_context, ALICE)
    [code] = mailboxes[ALICE].codes()
    frozen.advance(299)

    assert verify(lambda_context, ALICE, code)["statusCode"] == 200


def test_unknown_address_and_other_addresses_code_are_refused_alike(
    mailboxes: dict[str, Mailbox], frozen: Clock, lambda_context: Any
) -> None:
    # Given Alice received a code, Bob did not
    subscribe(ALICE)
    subscribe(BOB)
    send(lambda_context, ALICE)
    [code] = mailboxes[ALICE].codes()

    # When Bob and a stranger try Alice's code for their own addresses
    answers = [verify(lambda_context, e, code) for e in (BOB, "stranger@example.com")]

    # Then both get the same 401, and Alice's code still works for Alice
    assert {a["statusCode"] for a in answers} == {401}
    assert json_body(answers[0]) == json_body(answers[1])
    assert verify(lambda_context, ALICE, code)["statusCode"] == 200


def test_two_racing_verifications_cannot_both_win(
    mailboxes: dict[str, Mailbox], frozen: Clock, lambda_context: Any
) -> None:
    # Given two requests with Alice's code both checked it before either consumed it
    subscribe(ALICE)
    send(lambda_context, ALICE)
    [code] = mailboxes[ALICE].codes()
    store = verify_otp_app.store
    first = store.reserve_attempt(ALICE, now=clock.epoch(), max_attempts=5)
    second = store.reserve_attempt(ALICE, now=clock.epoch(), max_attempts=5)
    assert first is not None
    assert second is not None

    # When both try to consume it
    results = [store.consume_code(ALICE, code_hash=s.code_hash) for s in (first, second)]

    # Then exactly one wins, and the code is spent
    assert sorted(results) == [False, True]
    assert verify(lambda_context, ALICE, code)["statusCode"] == 401


def test_missing_code_is_a_validation_error(aws: Any, lambda_context: Any) -> None:
    event = api_event("POST", "/verify-otp", body={"email": ALICE})

    response = verify_otp_app.lambda_handler(event, lambda_context)

    assert response["statusCode"] == 400
    assert json_body(response)["error"]["code"] == "validation_error"


# ------------------------------------------------------------------ events/ files


def test_send_otp_event_file(
    mailboxes: dict[str, Mailbox], frozen: Clock, lambda_context: Any
) -> None:
    subscribe(ALICE)

    response = send_otp_app.lambda_handler(load_event("send-otp.json"), lambda_context)

    assert response["statusCode"] == 202
    assert len(mailboxes[ALICE].codes()) == 1


def test_verify_otp_event_file(
    mailboxes: dict[str, Mailbox],
    frozen: Clock,
    lambda_context: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given Alice was sent the code the sample event carries
    subscribe(ALICE)
    monkeypatch.setattr(sign_in, "new_code", lambda: "123456")
    send(lambda_context, ALICE)

    response = verify_otp_app.lambda_handler(load_event("verify-otp.json"), lambda_context)

    assert response["statusCode"] == 200
    assert json_body(response)["token_type"] == "Bearer"
