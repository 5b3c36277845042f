"""POST /log-activity against moto: who events are attributed to, what is stored, what is
refused, and the per-user / per-event queries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from functions.log_activity import app as log_activity_app
from gatepass import clock, ids, tokens
from gatepass.dal.activity import DynamoActivityStore
from tests.conftest import load_event
from tests.support.api import api_event, json_body
from tests.support.session_keys import stack_signer, use_sample_key

pytestmark = pytest.mark.integration

ALICE = "alice@example.com"
NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
EVENT_ID = "mfrggzdfmztwq2lk"


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> datetime:
    monkeypatch.setattr(clock, "now", lambda: NOW)
    monkeypatch.setattr(clock, "epoch", lambda: int(NOW.timestamp()))
    return NOW


def store() -> DynamoActivityStore:
    return DynamoActivityStore(log_activity_app.settings.activity_table)


def stored_items() -> list[dict[str, Any]]:
    table = boto3.resource("dynamodb").Table(log_activity_app.settings.activity_table)
    items: list[dict[str, Any]] = table.scan()["Items"]
    return items


def log(lambda_context: Any, events: Any, headers: dict[str, str] | None = None) -> Any:
    event = api_event("POST", "/log-activity", body={"events": events}, headers=headers)
    return log_activity_app.lambda_handler(event, lambda_context)


def alice_token(ttl: int = 3600, now: int | None = None) -> str:
    return tokens.issue_session_token(stack_signer(), ALICE, ttl_seconds=ttl, now=now).token


def test_signed_in_events_are_attributed_to_the_user(
    aws: Any, frozen: datetime, lambda_context: Any
) -> None:
    # Given Alice is signed in
    headers = {"Authorization": f"Bearer {alice_token()}"}

    # When her browser logs a page view and a ticket view
    response = log(
        lambda_context,
        [
            {"type": "page_view", "properties": {"path": "/events", "ms": 12.5}},
            {"type": "ticket_view", "event_id": EVENT_ID, "at": "2026-11-22T08:58:00Z"},
        ],
        headers,
    )

    # Then both are accepted and stored under her, kept for the retention period
    assert response["statusCode"] == 202
    assert json_body(response) == {"accepted": 2, "client_id": None}
    page = store().for_user(ALICE)
    assert [(r.type, r.event_id, r.at) for r in page.items] == [
        ("page_view", None, "2026-11-22T09:00:00Z"),
        ("ticket_view", EVENT_ID, "2026-11-22T08:58:00Z"),
    ]
    assert page.items[0].properties == {"path": "/events", "ms": 12.5}
    assert all(r.user == ALICE and r.client_id is None for r in page.items)
    retention = timedelta(days=log_activity_app.settings.activity_retention_days)
    assert page.items[1].expires_at == int((NOW - timedelta(minutes=2) + retention).timestamp())
    # And the ticket view is found by its event
    assert [r.type for r in store().for_event(EVENT_ID).items] == ["ticket_view"]


def test_anonymous_events_use_the_client_id_header(
    aws: Any, frozen: datetime, lambda_context: Any
) -> None:
    response = log(lambda_context, [{"type": "search"}], {"X-Client-Id": "browser-12345678"})

    assert response["statusCode"] == 202
    assert json_body(response) == {"accepted": 1, "client_id": "browser-12345678"}
    [record] = store().for_client("browser-12345678").items
    assert record.user is None
    assert record.type == "search"


def test_anonymous_events_without_a_client_id_get_a_generated_one(
    aws: Any, frozen: datetime, lambda_context: Any
) -> None:
    response = log(lambda_context, [{"type": "share", "event_id": EVENT_ID}])

    assert response["statusCode"] == 202
    client_id = json_body(response)["client_id"]
    assert isinstance(client_id, str)
    assert len(client_id) >= 16
    assert [r.type for r in store().for_client(client_id).items] == ["share"]


@pytest.mark.parametrize(
    "authorization",
    ["Bearer not.a.token", "Basic YWxpY2U6cHc=", "Bearer"],
)
def test_a_bad_token_is_refused_not_treated_as_anonymous(
    aws: Any, frozen: datetime, lambda_context: Any, authorization: str
) -> None:
    response = log(lambda_context, [{"type": "page_view"}], {"Authorization": authorization})

    assert response["statusCode"] == 401
    assert json_body(response)["error"]["code"] == "unauthorized"
    assert stored_items() == []


def test_an_expired_token_is_refused(aws: Any, frozen: datetime, lambda_context: Any) -> None:
    token = alice_token(ttl=300, now=int(NOW.timestamp()) - 600)

    response = log(lambda_context, [{"type": "page_view"}], {"Authorization": f"Bearer {token}"})

    assert response["statusCode"] == 401
    assert stored_items() == []


def test_twenty_six_events_are_refused(aws: Any, frozen: datetime, lambda_context: Any) -> None:
    response = log(lambda_context, [{"type": "page_view"}] * 26)

    assert response["statusCode"] == 400
    assert json_body(response)["error"]["code"] == "validation_error"
    assert stored_items() == []


def test_twenty_five_events_are_stored(aws: Any, frozen: datetime, lambda_context: Any) -> None:
    response = log(lambda_context, [{"type": "page_view"}] * 25, {"X-Client-Id": "abcdefgh"})

    assert response["statusCode"] == 202
    assert len(stored_items()) == 25


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"type": "purchase"}, "events.1.type"),
        ({"type": "page_view", "event_id": "nope"}, "events.1.event_id"),
        ({"type": "page_view", "at": "2026-11-22T09:10:00Z"}, "events.1.at"),
        ({"type": "page_view", "at": "2026-11-22T09:00:00"}, "events.1.at"),
        ({"type": "page_view", "properties": {"nested": {"a": 1}}}, "events.1.properties"),
        ({"type": "page_view", "properties": {"Bad-Name": 1}}, "events.1.properties"),
        ({"type": "page_view", "properties": {"q": "x" * 300}}, "events.1.properties"),
        ({"type": "page_view", "surprise": True}, "events.1.surprise"),
    ],
)
def test_one_bad_event_refuses_the_batch_and_writes_nothing(
    aws: Any, frozen: datetime, lambda_context: Any, bad: dict[str, Any], field: str
) -> None:
    # Given a batch whose second event is wrong in one way
    events = [{"type": "page_view"}, bad, {"type": "search"}]

    # When it is logged
    response = log(lambda_context, events)

    # Then it is refused, naming the field, and nothing at all is stored
    assert response["statusCode"] == 400
    problems = json_body(response)["error"]["problems"]
    assert any(p["field"].startswith(field) for p in problems), problems
    assert stored_items() == []


def test_a_little_clock_skew_is_tolerated(aws: Any, frozen: datetime, lambda_context: Any) -> None:
    response = log(lambda_context, [{"type": "page_view", "at": "2026-11-22T09:04:00Z"}])

    assert response["statusCode"] == 202


def test_a_malformed_client_id_is_refused(aws: Any, frozen: datetime, lambda_context: Any) -> None:
    response = log(lambda_context, [{"type": "page_view"}], {"X-Client-Id": "x y"})

    assert response["statusCode"] == 400
    assert stored_items() == []


def test_queries_page_newest_first(aws: Any, frozen: datetime, lambda_context: Any) -> None:
    # Given thirty views of one event by one client, a minute apart
    events = [
        {"type": "event_view", "event_id": EVENT_ID, "at": clock.iso(NOW - timedelta(minutes=i))}
        for i in range(30)
    ]
    for batch in (events[:25], events[25:]):
        assert log(lambda_context, batch, {"X-Client-Id": "abcdefgh"})["statusCode"] == 202

    # When the event's activity is read in pages of 20
    first = store().for_event(EVENT_ID, limit=20)
    second = store().for_event(EVENT_ID, limit=20, cursor=first.next_cursor)

    # Then all thirty come back once, newest first
    seen = [r.at for r in first.items + second.items]
    assert seen == [e["at"] for e in events]
    assert len({r.activity_id for r in first.items + second.items}) == 30
    assert all(ids.is_id(r.activity_id) for r in first.items)


def test_log_activity_event_file(aws: Any, frozen: datetime, lambda_context: Any) -> None:
    response = log_activity_app.lambda_handler(load_event("log-activity.json"), lambda_context)

    assert response["statusCode"] == 202
    assert json_body(response) == {"accepted": 2, "client_id": "web-3f9c2a7d1b4e"}
    records = store().for_client("web-3f9c2a7d1b4e").items
    assert [(r.type, r.at) for r in records] == [
        ("event_view", "2026-11-22T08:59:30Z"),
        ("search", "2026-11-22T07:59:10Z"),
    ]


def test_signed_in_log_activity_event_file(aws: Any, frozen: datetime, lambda_context: Any) -> None:
    # Given the stack's signing key is the one the sample token was made with
    use_sample_key(log_activity_app.settings.session_signing_key_id)

    response = log_activity_app.lambda_handler(
        load_event("log-activity-signed-in.json"), lambda_context
    )

    assert response["statusCode"] == 202
    assert [r.type for r in store().for_user(ALICE).items] == ["ticket_view"]
