"""Sessions that end, against moto: the session store, the authorizer's refusals, idle expiry,
GET /session, POST /sign-out and POST /sign-out-everywhere (docs/decisions/0046)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from functions.authorizer import app as authorizer_app
from functions.sessions import app as sessions_app
from gatepass import clock, tokens
from tests.conftest import load_event
from tests.support.api import api_event, json_body
from tests.support.session_keys import (
    SAMPLE_ISSUED_AT,
    seed_sample_session,
    stack_signer,
    start_stack_session,
    use_sample_key,
)

pytestmark = pytest.mark.integration

ALICE = "alice@example.com"
BOB = "bob@example.com"
START = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
METHOD_ARN = "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod/POST/create-ticket"


class Clock:
    def __init__(self, start: datetime = START) -> None:
        self.moment = start

    def now(self) -> datetime:
        return self.moment

    def epoch(self) -> int:
        return int(self.moment.timestamp())

    def advance(self, seconds: int) -> None:
        self.moment += timedelta(seconds=seconds)


@pytest.fixture
def frozen(aws: Any, monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(clock, "now", fake.now)
    monkeypatch.setattr(clock, "epoch", fake.epoch)
    return fake


def allowed(token: str, lambda_context: Any) -> bool:
    """Whether the authorizer lets ``token`` through (True) or answers 401 (False)."""
    event = {"type": "TOKEN", "authorizationToken": f"Bearer {token}", "methodArn": METHOD_ARN}
    try:
        answer = authorizer_app.lambda_handler(event, lambda_context)
    except Exception as exc:
        if str(exc) != "Unauthorized":
            raise
        return False
    assert answer["policyDocument"]["Statement"][0]["Effect"] == "Allow"
    return True


def session_item(email: str, token: str) -> dict[str, Any]:
    sid = tokens.verify_session_token(
        tokens.kms_verifying_key(sessions_app.settings.session_signing_key_id), token
    ).session_id
    table = boto3.resource("dynamodb").Table(sessions_app.settings.identity_table)
    item: dict[str, Any] = table.get_item(Key={"pk": f"SESSIONS#{email}", "sk": f"SESSION#{sid}"})[
        "Item"
    ]
    return item


def context_of(token: str) -> dict[str, Any]:
    """What the authorizer puts in the request context for ``token``."""
    claims = tokens.verify_session_token(
        tokens.kms_verifying_key(sessions_app.settings.session_signing_key_id), token
    )
    return {"principalId": claims.subject, "sub": claims.subject, "sid": claims.session_id}


def sign_out(token: str | None, lambda_context: Any, body: Any = None) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    event = api_event("POST", "/sign-out", body={} if body is None else body, headers=headers)
    return sessions_app.lambda_handler(event, lambda_context)  # type: ignore[no-any-return]


def sign_out_everywhere(token: str, lambda_context: Any) -> dict[str, Any]:
    event = api_event("POST", "/sign-out-everywhere", body={})
    event["requestContext"]["authorizer"] = context_of(token)
    return sessions_app.lambda_handler(event, lambda_context)  # type: ignore[no-any-return]


def get_session(token: str, lambda_context: Any) -> dict[str, Any]:
    event = api_event("GET", "/session")
    event["requestContext"]["authorizer"] = context_of(token)
    return sessions_app.lambda_handler(event, lambda_context)  # type: ignore[no-any-return]


# ------------------------------------------------------------------ the store


def test_a_sign_in_records_its_session(frozen: Clock, lambda_context: Any) -> None:
    # When Alice signs in
    token = start_stack_session(ALICE).token

    # Then her session is stored with who, when, and both deadlines (the idle one as TTL)
    item = session_item(ALICE, token)
    now = frozen.epoch()
    assert item["person"] == ALICE
    assert (item["created_at"], item["last_seen_at"]) == (now, now)
    assert item["session_expires_at"] == now + 3600
    assert item["idle_expires_at"] == item["expires_at"] == now + 1800
    # And GET /session describes it
    answer = get_session(token, lambda_context)
    assert answer["statusCode"] == 200
    body = json_body(answer)
    assert body["email"] == ALICE
    assert body["expires_at"] == now + 3600
    assert body["idle_timeout_seconds"] == 1800


# ------------------------------------------------------------------ sign-out


def test_a_signed_out_sessions_token_is_refused_by_the_authorizer(
    frozen: Clock, lambda_context: Any
) -> None:
    # Given Alice's token works
    token = start_stack_session(ALICE).token
    assert allowed(token, lambda_context)

    # When she signs out
    answer = sign_out(token, lambda_context)

    # Then the API confirms it, and the same token is refused from then on
    assert answer["statusCode"] == 200
    assert json_body(answer)["signed_out"] == "session"
    assert not allowed(token, lambda_context)
    refused = get_session(token, lambda_context)
    assert refused["statusCode"] == 401
    assert json_body(refused)["error"]["code"] == "session_ended"
    # And signing out again is harmless: the same answer, nothing else changes
    assert sign_out(token, lambda_context)["body"] == answer["body"]
    assert not allowed(token, lambda_context)


def test_signing_out_one_session_leaves_the_others(frozen: Clock, lambda_context: Any) -> None:
    # Given Alice is signed in on her laptop and her phone
    laptop = start_stack_session(ALICE).token
    phone = start_stack_session(ALICE).token

    # When she signs out on the laptop
    sign_out(laptop, lambda_context)

    # Then only the laptop's session ended
    assert not allowed(laptop, lambda_context)
    assert allowed(phone, lambda_context)


@pytest.mark.parametrize("case", ["forged", "wrong-audience", "expired", "missing", "garbage"])
def test_sign_out_with_a_bad_token_is_a_401_and_ends_nothing(
    frozen: Clock, lambda_context: Any, case: str
) -> None:
    # Given Alice's live session
    token = start_stack_session(ALICE).token
    sid = tokens.verify_session_token(
        tokens.kms_verifying_key(sessions_app.settings.session_signing_key_id), token
    ).session_id
    bad = {
        "forged": tokens.issue_session_token(
            tokens.LocalSigner.generate(), ALICE, ttl_seconds=3600, session_id=sid
        ).token,
        "wrong-audience": tokens.issue_session_token(
            stack_signer(), ALICE, ttl_seconds=3600, session_id=sid, audience="gatepass:other"
        ).token,
        "expired": tokens.issue_session_token(
            stack_signer(), ALICE, ttl_seconds=300, session_id=sid, now=frozen.epoch() - 301
        ).token,
        "missing": None,
        "garbage": "not.a.jwt",
    }[case]

    # When someone posts it to /sign-out
    answer = sign_out(bad, lambda_context)

    # Then it is refused with a JSON 401, and Alice's session still works
    assert answer["statusCode"] == 401
    assert json_body(answer)["error"]["code"] == "unauthorized"
    assert allowed(token, lambda_context)


def test_sign_out_takes_an_empty_object_only(frozen: Clock, lambda_context: Any) -> None:
    token = start_stack_session(ALICE).token

    answer = sign_out(token, lambda_context, body={"everywhere": True})

    assert answer["statusCode"] == 400
    assert json_body(answer)["error"]["code"] == "validation_error"
    assert allowed(token, lambda_context)


# ------------------------------------------------------------------ sign-out-everywhere


def test_sign_out_everywhere_ends_all_of_that_persons_sessions_and_no_one_elses(
    frozen: Clock, lambda_context: Any
) -> None:
    # Given Alice has three sessions and Bob one
    alices = [start_stack_session(ALICE).token for _ in range(3)]
    bobs = start_stack_session(BOB).token
    frozen.advance(5)

    # When Alice signs out everywhere from one of them
    answer = sign_out_everywhere(alices[0], lambda_context)

    # Then every one of her sessions is refused, and Bob's still works
    assert answer["statusCode"] == 200
    assert json_body(answer)["signed_out"] == "everywhere"
    assert [allowed(t, lambda_context) for t in alices] == [False, False, False]
    assert allowed(bobs, lambda_context)
    # And a new sign-in afterwards works
    frozen.advance(1)
    assert allowed(start_stack_session(ALICE).token, lambda_context)


def test_a_repeated_sign_out_everywhere_spares_sessions_started_since(
    frozen: Clock, lambda_context: Any
) -> None:
    # Given Alice signed out everywhere from her laptop, then signed in on her phone
    laptop = start_stack_session(ALICE).token
    sign_out_everywhere(laptop, lambda_context)
    frozen.advance(10)
    phone = start_stack_session(ALICE).token

    # When the laptop's request is sent again (the gateway's cached "allow" lets it through)
    again = sign_out_everywhere(laptop, lambda_context)

    # Then it answers alike and changes nothing: the phone's session lives on
    assert again["statusCode"] == 200
    assert allowed(phone, lambda_context)


# ------------------------------------------------------------------ idle expiry


def test_an_idle_session_is_refused_and_an_active_one_is_extended(
    frozen: Clock, lambda_context: Any
) -> None:
    # Given two sessions of 30 minutes' idle period, begun together
    active = start_stack_session(ALICE).token
    idle = start_stack_session(BOB).token

    # When one is used after 20 minutes, and both are tried after 40
    frozen.advance(20 * 60)
    assert allowed(active, lambda_context)
    frozen.advance(20 * 60)

    # Then the one used 20 minutes ago still works (its idle deadline moved), the other is over
    assert allowed(active, lambda_context)
    assert not allowed(idle, lambda_context)
    refused = get_session(idle, lambda_context)
    assert json_body(refused)["error"] == {
        "code": "session_ended",
        "message": "This session ended after a period without activity; sign in again.",
        "reason": "idle",
    }
    # And activity never moves past the absolute lifetime: at one hour the active one ends too
    frozen.advance(20 * 60)
    assert not allowed(active, lambda_context)


def test_activity_is_written_at_most_once_a_minute(frozen: Clock, lambda_context: Any) -> None:
    # Given Alice's session, used after 5 minutes
    token = start_stack_session(ALICE).token
    frozen.advance(300)
    assert allowed(token, lambda_context)
    seen = session_item(ALICE, token)["last_seen_at"]
    assert seen == frozen.epoch()

    # When it is used again 30 s later, then after another 40 s
    frozen.advance(30)
    assert allowed(token, lambda_context)
    unchanged = session_item(ALICE, token)["last_seen_at"]
    frozen.advance(40)
    assert allowed(token, lambda_context)

    # Then the second use wrote nothing, the third did
    assert unchanged == seen
    assert session_item(ALICE, token)["last_seen_at"] == frozen.epoch()


# ------------------------------------------------------------------ tokens without a session


def test_a_genuine_token_of_an_unknown_session_is_refused(
    frozen: Clock, lambda_context: Any
) -> None:
    # Given a token correctly signed, but for a session the store never had (a replay of a
    # session whose item was cleaned up, or a token minted outside the one sign-in path)
    token = tokens.issue_session_token(stack_signer(), ALICE, ttl_seconds=3600).token

    # Then the authorizer refuses it
    assert not allowed(token, lambda_context)


# ------------------------------------------------------------------ events/ samples


@pytest.fixture
def sample(aws: Any, monkeypatch: pytest.MonkeyPatch) -> Clock:
    """The sample key and session the events/ files name, a minute after the sample sign-in."""
    use_sample_key(sessions_app.settings.session_signing_key_id)
    seed_sample_session()
    fake = Clock(SAMPLE_ISSUED_AT + timedelta(seconds=60))
    monkeypatch.setattr(clock, "now", fake.now)
    monkeypatch.setattr(clock, "epoch", fake.epoch)
    return fake


def test_session_get_event_file(sample: Clock, lambda_context: Any) -> None:
    answer = sessions_app.lambda_handler(load_event("sessions-get.json"), lambda_context)

    assert answer["statusCode"] == 200
    assert json_body(answer)["session_id"] == "sample-session"


def test_sign_out_event_file(sample: Clock, lambda_context: Any) -> None:
    # Given the sample token passes the authorizer
    assert authorizer_app.lambda_handler(load_event("authorizer.json"), lambda_context)

    # When it is signed out with events/sign-out.json
    answer = sessions_app.lambda_handler(load_event("sessions-sign-out.json"), lambda_context)

    # Then the sample token is refused
    assert answer["statusCode"] == 200
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorizer_app.lambda_handler(load_event("authorizer.json"), lambda_context)


def test_sign_out_everywhere_event_file(sample: Clock, lambda_context: Any) -> None:
    sample.advance(1)

    answer = sessions_app.lambda_handler(
        load_event("sessions-sign-out-everywhere.json"), lambda_context
    )

    assert answer["statusCode"] == 200
    assert json_body(answer)["signed_out"] == "everywhere"
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorizer_app.lambda_handler(load_event("authorizer.json"), lambda_context)
