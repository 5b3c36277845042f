"""GET /events and GET /events/{event_id} against moto: the public shape, upcoming order,
pagination with an opaque cursor, and 404s."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from functions.events_read import app as events_read_app
from gatepass import clients, clock
from tests.conftest import load_event
from tests.support.api import api_event, json_body
from tests.support.factories import put_event, settings
from tests.support.throttling import throttled_reads

pytestmark = pytest.mark.integration

PUBLIC_FIELDS = {
    "event_id",
    "title",
    "description",
    "venue",
    "starts_at",
    "starts_at_local",
    "capacity",
    "sold",
    "seats_left",
    "checked_in",
    "image_status",
    "image_reason",
    "image",
    "verifying_key",
    "created_at",
    "status",
    "max_tickets_per_buyer",
    "ticket_types",
}


def get_event(event_id: str, lambda_context: Any) -> dict[str, Any]:
    event = api_event(
        "GET",
        f"/events/{event_id}",
        resource="/events/{event_id}",
        path_parameters={"event_id": event_id},
    )
    response: dict[str, Any] = events_read_app.lambda_handler(event, lambda_context)
    return response


def list_events(lambda_context: Any, **query: str) -> dict[str, Any]:
    event = api_event("GET", "/events", query=query or None)
    response: dict[str, Any] = events_read_app.lambda_handler(event, lambda_context)
    return response


def test_the_sample_get_returns_the_public_event(aws, lambda_context) -> None:
    # Given the event the events/ sample asks for, with 3 of its 10 seats sold
    put_event(event_id="mfrggzdfmztwq2lk", capacity=10, sold=3, organizer="olivia@example.com")

    # When the sample request is sent
    response = events_read_app.lambda_handler(load_event("events-read-get.json"), lambda_context)

    # Then anyone sees the public shape, seats left, and never the organizer's address
    assert response["statusCode"] == 200
    body = json_body(response)
    assert set(body) == PUBLIC_FIELDS
    assert body["event_id"] == "mfrggzdfmztwq2lk"
    assert (body["capacity"], body["sold"], body["seats_left"]) == (10, 3, 7)
    assert body["image_status"] == "none"
    assert body["image"] is None
    assert "olivia@example.com" not in response["body"]


def test_an_unknown_or_malformed_id_answers_404(aws, lambda_context) -> None:
    put_event()
    for event_id in ("aaaaaaaaaaaaaaaa", "not-an-event-id", "MFRGGZDFMZTWQ2LK0"):
        response = get_event(event_id, lambda_context)
        assert response["statusCode"] == 404
        assert json_body(response)["error"]["code"] == "not_found"


def test_an_id_typed_in_capitals_still_finds_the_event(aws, lambda_context) -> None:
    item = put_event()
    response = get_event(item["event_id"].upper(), lambda_context)
    assert response["statusCode"] == 200
    assert json_body(response)["event_id"] == item["event_id"]


def test_a_sold_out_event_has_no_seats_left(aws, lambda_context) -> None:
    item = put_event(capacity=5, sold=5, checked_in=2)
    body = json_body(get_event(item["event_id"], lambda_context))
    assert (body["seats_left"], body["checked_in"]) == (0, 2)


def test_the_sample_list_shows_upcoming_events_soonest_first(
    aws, lambda_context, monkeypatch
) -> None:
    # Given an event that started an hour ago and three upcoming ones, created out of order
    past_now = datetime.now(UTC) - timedelta(hours=3)
    monkeypatch.setattr(clock, "now", lambda: past_now)
    put_event(title="Yesterday's matinee", starts_in=timedelta(hours=2))
    monkeypatch.undo()
    put_event(title="In three days", starts_in=timedelta(days=3))
    put_event(title="Tomorrow", starts_in=timedelta(days=1))
    put_event(title="Next month", starts_in=timedelta(days=30))

    # When the sample list request is sent
    response = events_read_app.lambda_handler(load_event("events-read-list.json"), lambda_context)

    # Then only upcoming events are listed, soonest first, on one page
    assert response["statusCode"] == 200
    body = json_body(response)
    assert [e["title"] for e in body["events"]] == ["Tomorrow", "In three days", "Next month"]
    assert body["next_cursor"] is None
    assert all(set(e) == PUBLIC_FIELDS for e in body["events"])
    assert "olivia@example.com" not in response["body"]


def test_pages_follow_each_other_through_the_cursor(aws, lambda_context) -> None:
    # Given seven upcoming events
    titles = [f"Concert {day}" for day in range(1, 8)]
    for day, title in enumerate(titles, start=1):
        put_event(title=title, starts_in=timedelta(days=day))

    # When they are read three at a time
    seen: list[str] = []
    cursors: list[str | None] = []
    query: dict[str, str] = {"limit": "3"}
    while True:
        response = list_events(lambda_context, **query)
        assert response["statusCode"] == 200
        body = json_body(response)
        seen.extend(e["title"] for e in body["events"])
        cursors.append(body["next_cursor"])
        if body["next_cursor"] is None:
            break
        query = {"limit": "3", "cursor": body["next_cursor"]}

    # Then every event appears once, in order, over pages of 3, 3 and 1
    assert seen == titles
    assert len(cursors) == 3
    assert cursors[-1] is None


def test_limit_defaults_to_20(aws, lambda_context) -> None:
    for day in range(1, 23):
        put_event(starts_in=timedelta(days=day))
    body = json_body(list_events(lambda_context))
    assert len(body["events"]) == 20
    assert body["next_cursor"] is not None


def test_a_cursor_overtaken_by_time_starts_again_from_now(aws, lambda_context) -> None:
    # Given a cursor from a page read long ago, whose position is now in the past
    old = put_event(starts_in=timedelta(days=1))
    upcoming = put_event(title="Still to come", starts_in=timedelta(days=2))
    key = {
        "pk": old["pk"],
        "sk": "META",
        "gsi1pk": "EVENTS",
        "gsi1sk": f"2020-01-01T00:00:00Z#{old['event_id']}",
    }
    cursor = base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")

    # When the next page is asked for
    body = json_body(list_events(lambda_context, cursor=cursor))

    # Then the page starts at the first upcoming event
    assert [e["event_id"] for e in body["events"]] == [old["event_id"], upcoming["event_id"]]


def _cursor(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage!!",
        "bm90IGpzb24",  # "not json"
        _cursor(["a", "list"]),
        _cursor({"pk": "EVENT#x", "sk": "META"}),
        _cursor(
            {
                "pk": "TICKET#aaaaaaaaaaaaaaaa",
                "sk": "META",
                "gsi1pk": "EVENTS",
                "gsi1sk": "2031-01-01T00:00:00Z#aaaaaaaaaaaaaaaa",
            }
        ),
        _cursor(
            {
                "pk": "EVENT#aaaaaaaaaaaaaaaa",
                "sk": "META",
                "gsi1pk": "EVENT#aaaaaaaaaaaaaaaa#TICKETS",
                "gsi1sk": "2031-01-01T00:00:00Z#aaaaaaaaaaaaaaaa",
            }
        ),
    ],
)
def test_a_cursor_not_made_by_this_api_answers_400(aws, lambda_context, cursor: str) -> None:
    put_event()
    response = list_events(lambda_context, cursor=cursor)
    assert response["statusCode"] == 400
    assert json_body(response)["error"]["code"] == "validation_error"


@pytest.mark.parametrize("limit", ["0", "51", "-1", "ten"])
def test_a_limit_outside_1_to_50_answers_400(aws, lambda_context, limit: str) -> None:
    response = list_events(lambda_context, limit=limit)
    assert response["statusCode"] == 400
    error = json_body(response)["error"]
    assert error["code"] == "validation_error"
    assert error["problems"][0]["field"].endswith("limit")


def test_a_ready_image_is_listed_with_its_urls(aws, lambda_context) -> None:
    # Given an event whose image has been processed
    item = put_event()
    display, thumbnail = (f"events/{item['event_id']}/{n}.jpg" for n in ("display", "thumbnail"))
    clients.dynamodb_table(settings().ticketing_table).update_item(
        Key={"pk": item["pk"], "sk": "META"},
        UpdateExpression="SET image_status = :r, image_display_key = :d, "
        "image_thumbnail_key = :t, image_width = :w, image_height = :h",
        ExpressionAttributeValues={
            ":r": "ready",
            ":d": display,
            ":t": thumbnail,
            ":w": 1600,
            ":h": 900,
        },
    )

    # When the list is read
    listed = json_body(list_events(lambda_context))["events"][0]

    # Then it carries pre-signed GET URLs for both renditions
    assert listed["image_status"] == "ready"
    image = listed["image"]
    assert (image["width"], image["height"]) == (1600, 900)
    assert display in image["display_url"]
    assert thumbnail in image["thumbnail_url"]
    assert f"X-Amz-Expires={settings().presigned_url_ttl_seconds}" in image["display_url"]


def test_a_public_read_throttled_past_the_sdks_retries_answers_503(aws, lambda_context) -> None:
    # Given a published event whose partition DynamoDB throttles for a moment
    event = put_event()

    # When anyone reads it (or the list) while every read is throttled
    with throttled_reads("ThrottlingException") as refused:
        one = get_event(event["event_id"], lambda_context)
        listed = list_events(lambda_context)

    # Then both are asked to try again, not told something broke
    assert refused
    for response in (one, listed):
        assert response["statusCode"] == 503
        assert json_body(response)["error"]["code"] == "service_unavailable"

    # And once the table has capacity again the event reads as before
    assert get_event(event["event_id"], lambda_context)["statusCode"] == 200
