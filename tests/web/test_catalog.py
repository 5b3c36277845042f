"""Catalog, search and the event page, read from the PostgreSQL read model."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask.testing import FlaskClient

from gatepass import clock
from tests.web.conftest import MEDIA_BUCKET, sign_in_as
from tests.web.fake_api import FakeApi

pytestmark = pytest.mark.web


def _in(days: float) -> str:
    return clock.iso(clock.now() + timedelta(days=days))


def test_catalog_lists_upcoming_events_soonest_first_then_past_ones(
    client: FlaskClient, fake_api: FakeApi
) -> None:
    # Given events in the past and the future
    fake_api.publish(title="Last month's gala", starts_at=_in(-30))
    fake_api.publish(title="Next month's fair", starts_at=_in(30))
    fake_api.publish(title="Tomorrow's talk", starts_at=_in(1))
    fake_api.publish(title="Yesterday's market", starts_at=_in(-1))

    # When the catalog is read
    answer = client.get("/api/events").get_json()

    # Then upcoming events come first, soonest first, and past events follow, latest first
    assert [e["title"] for e in answer["events"]] == [
        "Tomorrow's talk",
        "Next month's fair",
        "Yesterday's market",
        "Last month's gala",
    ]
    assert answer["total"] == 4


def test_catalog_pages_through_events(client: FlaskClient, fake_api: FakeApi) -> None:
    # Given five upcoming events
    for day in range(1, 6):
        fake_api.publish(title=f"Day {day} meetup", starts_at=_in(day))

    # When a visitor reads the second page of two
    page = client.get("/?page=2&per_page=2")
    answer = client.get("/api/events?page=3&per_page=2").get_json()

    # Then the page shows the next events and says where it is
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Day 3 meetup" in html
    assert "Day 4 meetup" in html
    assert "Day 1 meetup" not in html
    assert "Page 2 of 3" in html
    assert 'rel="prev"' in html
    assert 'rel="next"' in html
    assert [e["title"] for e in answer["events"]] == ["Day 5 meetup"]
    assert answer["pages"] == 3


def test_search_finds_events_by_words_in_title_and_description(
    client: FlaskClient, fake_api: FakeApi
) -> None:
    # Given events about different things
    fake_api.publish(title="Harbour jazz night", description="Live music by the sea.")
    fake_api.publish(title="Pottery workshop", description="Throw bowls with local jazz fans.")
    fake_api.publish(title="Chess club", description="Weekly games for beginners.")

    # When visitors search by words from titles and descriptions
    by_title = client.get("/api/events?q=pottery").get_json()
    by_description = client.get("/api/events?q=beginner").get_json()
    by_both = client.get("/api/events?q=jazz").get_json()
    page = client.get("/?q=nothing+like+this")

    # Then matching events are found (stemmed, title matches ranked first), others are not
    assert [e["title"] for e in by_title["events"]] == ["Pottery workshop"]
    assert [e["title"] for e in by_description["events"]] == ["Chess club"]
    assert [e["title"] for e in by_both["events"]] == ["Harbour jazz night", "Pottery workshop"]
    assert "No events match" in page.get_data(as_text=True)


def test_search_accepts_any_text_a_visitor_types(client: FlaskClient, fake_api: FakeApi) -> None:
    # Given an event
    fake_api.publish(title="Open mic")

    # When the query is full of operators and quotes
    answer = client.get("/api/events", query_string={"q": "\"open' & | ! mic -( "})

    # Then the search still answers normally
    assert answer.status_code == 200
    assert [e["title"] for e in answer.get_json()["events"]] == ["Open mic"]


def test_event_page_shows_what_an_attendee_needs(client: FlaskClient, fake_api: FakeApi) -> None:
    # Given an event with a processed image and some seats taken
    event = fake_api.publish(
        title="Harbour jazz night",
        venue="Pier 4, Lisbon",
        starts_at="2027-03-14T18:00:00Z",
        starts_at_local="2027-03-14T18:00:00+00:00",
        capacity=120,
        sold=20,
    )
    fake_api.finish_image(event["event_id"])

    # When a visitor opens it
    page = client.get(f"/events/{event['event_id']}")

    # Then it shows image, venue, time (for the viewer's zone), seats left and how to get a ticket
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Harbour jazz night" in html
    assert "Pier 4, Lisbon" in html
    assert '<time datetime="2027-03-14T18:00:00Z" data-local>' in html
    assert "100 of 120 seats left" in html
    assert f"https://{MEDIA_BUCKET}.s3" in html
    assert f"events/{event['event_id']}/display.jpg" in html
    assert "X-Amz-Signature=" in html
    assert "Sign in to get a ticket" in html


def test_signed_in_visitor_sees_the_get_ticket_action(
    client: FlaskClient, fake_api: FakeApi
) -> None:
    # Given an event and a signed-in visitor
    event = fake_api.publish(title="Book swap")
    sign_in_as(client, "alice@example.com")

    # When she opens the event
    html = client.get(f"/events/{event['event_id']}").get_data(as_text=True)

    # Then she can take a ticket from the page
    assert ">Get ticket</button>" in html
    assert f'action="/events/{event["event_id"]}/tickets"' in html


def test_sold_out_event_offers_no_ticket(client: FlaskClient, fake_api: FakeApi) -> None:
    # Given a full event
    event = fake_api.publish(title="Tiny gig", capacity=2, sold=2)
    sign_in_as(client, "alice@example.com")

    # When it is opened
    html = client.get(f"/events/{event['event_id']}").get_data(as_text=True)

    # Then it says so and offers nothing to take
    assert "Sold out" in html
    assert "Get ticket" not in html


def test_unknown_event_is_not_found(client: FlaskClient, fake_api: FakeApi) -> None:
    # When a visitor opens an event that does not exist, or a malformed id
    missing = client.get("/events/aaaaaaaaaaaaaaaa")
    malformed = client.get("/events/not-an-id")

    # Then both answer a friendly 404 page
    assert missing.status_code == 404
    assert malformed.status_code == 404
    assert "There is nothing here." in missing.get_data(as_text=True)
