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
from gatepass.config import ConfigurationError
from gatepass.dal.mail import SesMailer
from gatepass.logic import sign_in
from gatepass.settings.send_otp import SendOtpSettings
from tests.conftest import load_event
from tests.support.api import api_event, json_body
from tests.support.session_keys import stack_verifying_key

pytestmark = pytest.mark.integration

ALICE = "alice@example.com"
BOB = "bob@example.com"
START = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
CODE_IN_MAIL = re.compile(r"enter this code: ([0-9]{6})")
LINK_IN_MAIL = re.compile(r"/signin/link\?token=([A-Za-z0-9_-]+)")
BROWSER = "alices-browser-" + "a" * 28
ATTACKER = "attacker-browser-" + "x" * 26
LIFETIME = 600


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

    def links(self) -> list[str]:
        return [LINK_IN_MAIL.search(m["Message"]).group(1) for m in self.messages()]  # type: ignore[union-attr]


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


def send(lambda_context: Any, email: str, browser: str | None = None) -> dict[str, Any]:
    body = {"email": email, **({"browser": browser} if browser else {})}
    event = api_event("POST", "/send-otp", body=body)
    return send_otp_app.lambda_handler(event, lambda_context)  # type: ignore[no-any-return]


def open_link(lambda_context: Any, token: str, browser: str) -> dict[str, Any]:
    event = api_event("POST", "/verify-link", body={"token": token, "browser": browser})
    return verify_otp_app.lambda_handler(event, lambda_context)  # type: ignore[no-any-return]


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
    assert mail["Subject"] == "Your Gatepass sign-in link"
    code = CODE_IN_MAIL.search(mail["Message"]).group(1)  # type: ignore[union-attr]
    assert mailboxes[BOB].messages() == []
    # And the stored item holds a keyed hash, an expiry ten minutes on, and no plain code
    item = _table().get_item(Key={"pk": f"OTP#{ALICE}", "sk": "CODE"})["Item"]
    assert code not in json.dumps(item, default=str)
    assert item["code_hash"] == sign_in.hash_code(send_otp_app.keys.sign_in_code(), ALICE, code)
    assert int(item["expires_at"]) == int(START.timestamp()) + LIFETIME
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
    # And only Alice got mail (the others' codes are stored like hers, so the work is the
    # same, but nobody was told them)
    assert len(mailboxes[ALICE].messages()) == 1
    assert mailboxes[BOB].messages() == []


def test_one_mail_per_address_per_half_lifetime_whoever_asks(
    mailboxes: dict[str, Mailbox], frozen: Clock, lambda_context: Any
) -> None:
    # Given Alice was sent sign-in mail
    subscribe(ALICE)
    send(lambda_context, ALICE)
    assert len(mailboxes[ALICE].codes()) == 1

    # When she (or anyone) asks again and again during the next five minutes
    answers = []
    for _ in range(10):
        frozen.advance(29)
        answers.append(send(lambda_context, ALICE))

    # Then every answer is the usual 202, and no further mail is sent
    assert {(a["statusCode"], a["body"]) for a in answers} == {(202, answers[0]["body"])}
    assert json_body(answers[0]) == {"message": sign_in.SENT_MESSAGE}
    assert mailboxes[ALICE].messages() == []

    # And once five minutes have passed since that mail, the next ask sends one
    frozen.advance(300 - 290)
    send(lambda_context, ALICE)
    assert len(mailboxes[ALICE].codes()) == 1


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
    frozen.advance(LIFETIME // 2)
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
    # And her session is recorded, live for the authorizer
    session = _table().get_item(
        Key={"pk": f"SESSIONS#{ALICE}", "sk": f"SESSION#{claims.session_id}"}
    )["Item"]
    assert session["session_expires_at"] == body["expires_at"]
    assert session["methods"] == ["otp-email"]
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
    # Given Alice received a code ten minutes ago (DynamoDB has not deleted it yet)
    subscribe(ALICE)
    send(lambda_context, ALICE)
    [code] = mailboxes[ALICE].codes()
    frozen.advance(LIFETIME)
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
    frozen.advance(LIFETIME - 1)

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


# ------------------------------------------------------------------ no enumeration


class ApiCalls:
    """Every AWS operation the handlers make, in order (moto answers them)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from botocore.client import BaseClient

        self.names: list[str] = []
        original = BaseClient._make_api_call
        calls = self

        def recording(client: Any, operation: str, params: Any) -> Any:
            calls.names.append(operation)
            return original(client, operation, params)

        monkeypatch.setattr(BaseClient, "_make_api_call", recording)

    def during(self, action: Any) -> list[str]:
        self.names.clear()
        action()
        return list(self.names)


def dropped_subscription(email: str) -> None:
    """Alice confirmed, then used the unsubscribe link of some mail: SNS forgot her."""
    sns = boto3.client("sns")
    arn = sns.subscribe(
        TopicArn=send_otp_app.settings.mail_topic_arn,
        Protocol="email",
        Endpoint=email,
        ReturnSubscriptionArn=True,
    )["SubscriptionArn"]
    _table().put_item(
        Item={
            "pk": f"SUB#{email}",
            "sk": "META",
            "email": email,
            "status": "active",
            "subscription_arn": arn,
            "version": 3,
        }
    )
    sns.unsubscribe(SubscriptionArn=arn)


def test_every_address_costs_the_same_work_and_answer_and_only_a_reachable_one_gets_mail(
    mailboxes: dict[str, Mailbox],
    frozen: Clock,
    lambda_context: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a subscriber, a pending one, one SNS dropped, and an address never seen
    carol, stranger = "carol@example.com", "stranger@example.com"
    subscribe(ALICE)
    subscribe(BOB, status="pending")
    dropped_subscription(carol)
    send(lambda_context, "warm@example.com")  # the container's first call fetches the key
    calls = ApiCalls(monkeypatch)
    waits: list[str] = []
    monkeypatch.setattr(send_otp_app.mail_time, "wait", lambda: waits.append("wait"))

    # When each asks for sign-in mail
    answers: list[dict[str, Any]] = []
    work = [
        calls.during(lambda e=email: answers.append(send(lambda_context, e)))
        for email in (ALICE, BOB, carol, stranger)
    ]

    # Then the answers are identical
    assert len({(a["statusCode"], a["body"]) for a in answers}) == 1
    # And the storage and SNS work is the same for all four; only Alice's ends in a Publish,
    # where each of the others waits as long instead
    alice, *others = work
    assert alice[-1] == "Publish"
    assert all(other == alice[:-1] for other in others)
    assert alice[:-1].count("GetSubscriptionAttributes") == 1
    assert waits == ["wait"] * 3
    # And nothing was mailed into the void
    assert len(mailboxes[ALICE].messages()) == 1
    assert mailboxes[BOB].messages() == []


def test_an_address_dropped_by_sns_is_sent_nothing(
    aws: Any, frozen: Clock, lambda_context: Any
) -> None:
    dropped_subscription(ALICE)
    box = Mailbox(send_otp_app.settings.mail_topic_arn, ALICE)

    assert send(lambda_context, ALICE)["statusCode"] == 202

    assert box.messages() == []


# ------------------------------------------------------------------ sign-in links


def test_the_link_signs_in_the_browser_that_asked_exactly_once(
    mailboxes: dict[str, Mailbox], frozen: Clock, lambda_context: Any
) -> None:
    # Given Alice asked for sign-in mail from her browser
    subscribe(ALICE)
    send(lambda_context, ALICE, BROWSER)
    [token] = mailboxes[ALICE].links()

    # When her browser opens the link
    response = open_link(lambda_context, token, BROWSER)

    # Then she is signed in, and the token records a link sign-in
    assert response["statusCode"] == 200
    claims = tokens.verify_session_token(stack_verifying_key(), json_body(response)["token"])
    assert (claims.subject, claims.methods) == (ALICE, ("link-email",))
    # And neither the link nor that mail's code works again
    again = open_link(lambda_context, token, BROWSER)
    assert (again["statusCode"], json_body(again)["error"]["code"]) == (410, "sign_in_link_used")
    # And only hashes are stored
    assert token not in json.dumps(_table().scan()["Items"], default=str)
    assert BROWSER not in json.dumps(_table().scan()["Items"], default=str)


def test_signing_in_with_the_code_spends_the_same_mails_link(
    mailboxes: dict[str, Mailbox], frozen: Clock, lambda_context: Any
) -> None:
    subscribe(ALICE)
    send(lambda_context, ALICE, BROWSER)
    [mail] = mailboxes[ALICE].messages()
    code = CODE_IN_MAIL.search(mail["Message"]).group(1)  # type: ignore[union-attr]
    token = LINK_IN_MAIL.search(mail["Message"]).group(1)  # type: ignore[union-attr]

    assert verify(lambda_context, ALICE, code)["statusCode"] == 200
    later = open_link(lambda_context, token, BROWSER)

    assert (later["statusCode"], json_body(later)["error"]["code"]) == (410, "sign_in_link_used")


def test_a_link_opened_in_another_browser_is_refused_and_changes_nothing(
    mailboxes: dict[str, Mailbox], frozen: Clock, lambda_context: Any
) -> None:
    subscribe(ALICE)
    send(lambda_context, ALICE, BROWSER)
    [token] = mailboxes[ALICE].links()

    elsewhere = open_link(lambda_context, token, ATTACKER)

    assert elsewhere["statusCode"] == 403
    assert json_body(elsewhere)["error"]["code"] == "sign_in_link_other_browser"
    assert open_link(lambda_context, token, BROWSER)["statusCode"] == 200


def test_an_expired_link_is_refused(
    mailboxes: dict[str, Mailbox], frozen: Clock, lambda_context: Any
) -> None:
    subscribe(ALICE)
    send(lambda_context, ALICE, BROWSER)
    [token] = mailboxes[ALICE].links()
    frozen.advance(LIFETIME)

    response = open_link(lambda_context, token, BROWSER)

    assert (response["statusCode"], json_body(response)["error"]["code"]) == (
        410,
        "sign_in_link_expired",
    )


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"token": "f" * 43, "browser": BROWSER}, 401, "invalid_sign_in_link"),
        ({"token": "short", "browser": BROWSER}, 400, "validation_error"),
        ({"token": "f" * 43, "browser": "not a nonce!"}, 400, "validation_error"),
        ({"token": "f" * 43}, 400, "validation_error"),
    ],
)
def test_forged_or_malformed_links_are_refused(
    aws: Any, lambda_context: Any, body: dict[str, str], status: int, code: str
) -> None:
    event = api_event("POST", "/verify-link", body=body)

    response = verify_otp_app.lambda_handler(event, lambda_context)

    assert (response["statusCode"], json_body(response)["error"]["code"]) == (status, code)


def test_an_attacker_flooding_from_many_sources_cannot_keep_the_owner_out(
    mailboxes: dict[str, Mailbox], frozen: Clock, lambda_context: Any
) -> None:
    # Given an attacker asks for Alice's sign-in mail from 200 browsers, every few seconds, and
    # burns codes with wrong guesses
    subscribe(ALICE)
    for n in range(200):
        send(lambda_context, ALICE, f"attacker-{n:04d}-" + "x" * 30)
        verify(lambda_context, ALICE, "000000")
        frozen.advance(3)

    # When Alice asks from her browser in the middle of it and opens what is in her inbox
    send(lambda_context, ALICE, BROWSER)
    tokens_in_inbox = mailboxes[ALICE].links()
    frozen.advance(20)
    response = open_link(lambda_context, tokens_in_inbox[-1], BROWSER)

    # Then she is signed in, and her inbox got at most one mail per five minutes
    assert response["statusCode"] == 200
    assert len(tokens_in_inbox) <= 600 // 300 + 1
    # And the attacker, without her inbox, has no link to open
    assert open_link(lambda_context, "g" * 43, ATTACKER)["statusCode"] == 401


def test_wrong_codes_are_bounded_across_re_sent_codes_and_links_still_work(
    mailboxes: dict[str, Mailbox], frozen: Clock, lambda_context: Any
) -> None:
    # Given an attacker has fresh codes sent every five minutes and tries five each time
    subscribe(ALICE)
    tries = 0
    refused_at = None
    while refused_at is None and tries < 200:
        send(lambda_context, ALICE, ATTACKER)
        for _ in range(5):
            answer = verify(lambda_context, ALICE, "000000")
            tries += 1
            if answer["statusCode"] == 429:
                refused_at = tries
                break
        frozen.advance(LIFETIME // 2)

    # Then the 91st try in 30 days is refused, whatever code it carries
    assert refused_at == 91
    assert json_body(answer)["error"]["code"] == "code_tries_exhausted"
    assert header(answer, "Retry-After")
    while mailboxes[ALICE].messages():
        pass  # read the attacker's mails out of the way
    send(lambda_context, ALICE, BROWSER)
    [latest] = mailboxes[ALICE].messages()
    right = CODE_IN_MAIL.search(latest["Message"]).group(1)  # type: ignore[union-attr]
    assert verify(lambda_context, ALICE, right)["statusCode"] == 429
    # And the link in that same mail still signs Alice in
    token = LINK_IN_MAIL.search(latest["Message"]).group(1)  # type: ignore[union-attr]
    assert open_link(lambda_context, token, BROWSER)["statusCode"] == 200


def test_code_tries_count_for_unknown_addresses_too(
    aws: Any, frozen: Clock, lambda_context: Any
) -> None:
    answers = [verify(lambda_context, "stranger@example.com", "000000") for _ in range(91)]

    assert {a["statusCode"] for a in answers[:90]} == {401}
    assert answers[90]["statusCode"] == 429


def test_verify_link_event_file(
    mailboxes: dict[str, Mailbox],
    frozen: Clock,
    lambda_context: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given Alice was sent the link the sample event carries, from the browser it names
    sample = json.loads(load_event("verify-link.json")["body"])
    subscribe(ALICE)
    monkeypatch.setattr(sign_in, "new_link_token", lambda: sample["token"])
    send(lambda_context, ALICE, sample["browser"])

    response = verify_otp_app.lambda_handler(load_event("verify-link.json"), lambda_context)

    assert response["statusCode"] == 200
    assert json_body(response)["token_type"] == "Bearer"
