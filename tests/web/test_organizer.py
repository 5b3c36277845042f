"""Organizer pages: a new event with its image, attendees with live counts, the scanner and the
activity dashboard."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient

from gatepass import ticket_codes
from tests.web.conftest import MEDIA_BUCKET, page_token, sign_in_as
from tests.web.fake_api import TICKET_SEED, UPLOADS_URL, FakeApi, session_token

pytestmark = pytest.mark.web

ORGANIZER = "organizer@example.com"


def _attendee_takes_ticket(fake_api: FakeApi, event_id: str, email: str) -> dict[str, str]:
    ticket = fake_api.create_ticket(session_token(email), event_id, f"key-{email}")["ticket"]
    return fake_api.ticket(ticket["ticket_id"])


def test_new_event_form_without_javascript(client: FlaskClient, fake_api: FakeApi) -> None:
    # Given a signed-in organizer on the new-event form
    sign_in_as(client, ORGANIZER)
    token = page_token(client, "/organizer/events/new")

    # When the form is filled in with a local time two hours ahead of UTC and posted
    created = client.post(
        "/organizer/events",
        data={
            "csrf_token": token,
            "title": "Rooftop cinema",
            "description": "Classic films under the stars.",
            "venue": "Level 9, Market Hall",
            "starts_at": "2027-06-01T21:30",
            "tz_offset": "120",
            "capacity": "80",
        },
    )

    # Then the API receives the start with its zone, and the event is listed for its organizer
    assert created.status_code == 302
    assert created.headers["Location"] == "/organizer/"
    (event,) = [i for i in fake_api.items.values() if i.get("entity") == "event"]
    assert event["starts_at_local"] == "2027-06-01T21:30:00+02:00"
    assert event["starts_at"] == "2027-06-01T19:30:00Z"
    assert event["organizer"] == ORGANIZER
    listing = client.get("/organizer/").get_data(as_text=True)
    assert "Rooftop cinema" in listing
    assert "0 / 80" in listing


def test_new_event_with_an_image_uploads_straight_to_s3(
    client: FlaskClient, fake_api: FakeApi
) -> None:
    # Given a signed-in organizer whose browser chose a 2 MB JPEG
    sign_in_as(client, ORGANIZER)
    token = page_token(client, "/organizer/events/new")

    # When the page's script posts the form
    answer = client.post(
        "/organizer/events",
        data={
            "title": "Street food festival",
            "venue": "Old docks",
            "starts_at": "2027-05-01T12:00",
            "tz_offset": "0",
            "capacity": "500",
            "image_content_type": "image/jpeg",
            "image_size": str(2 * 1024 * 1024),
        },
        headers={"Accept": "application/json", "X-CSRF-Token": token},
    )

    # Then it gets the pre-signed POST for the browser and where to poll for the processed image
    assert answer.status_code == 201
    body = answer.get_json()
    assert body["upload"]["url"] == UPLOADS_URL
    assert body["upload"]["fields"]["key"].startswith(f"events/{body['event_id']}/")
    status = client.get(body["status_url"]).get_json()
    assert status["image_status"] == "awaiting_upload"
    assert status["image"] is None

    # And once the image function has processed the upload, the poll shows the display image
    fake_api.finish_image(body["event_id"])
    ready = client.get(body["status_url"]).get_json()
    assert ready["image_status"] == "ready"
    assert ready["image"]["display_url"].startswith(f"https://{MEDIA_BUCKET}.s3")
    assert ready["image"]["width"] == 1600


def test_new_event_form_explains_what_is_missing(client: FlaskClient, fake_api: FakeApi) -> None:
    # Given a signed-in organizer
    sign_in_as(client, ORGANIZER)
    token = page_token(client, "/organizer/events/new")

    # When the form is posted without a start time, and with a start in the past
    missing = client.post(
        "/organizer/events",
        data={"csrf_token": token, "title": "Quiz", "capacity": "10", "starts_at": ""},
    )
    past = client.post(
        "/organizer/events",
        data={"title": "Quiz", "capacity": "10", "starts_at": "2020-01-01T10:00"},
        headers={"Accept": "application/json", "X-CSRF-Token": token},
    )

    # Then the form keeps what was typed and says why; the API's own refusal comes back as JSON
    assert missing.status_code == 400
    html = missing.get_data(as_text=True)
    assert "Choose a start date and time." in html
    assert 'value="Quiz"' in html
    assert past.status_code == 400
    assert past.get_json()["error"]["problems"][0]["field"] == "starts_at"
    assert not [i for i in fake_api.items.values() if i.get("entity") == "event"]


def test_attendee_list_shows_holders_and_live_check_in_counts(
    client: FlaskClient, fake_api: FakeApi
) -> None:
    # Given an event with two attendees, one of them already checked in
    event = fake_api.publish(title="Choir concert", organizer=ORGANIZER, capacity=30)
    first = _attendee_takes_ticket(fake_api, event["event_id"], "alice@example.com")
    _attendee_takes_ticket(fake_api, event["event_id"], "bob@example.com")
    fake_api.check_in(session_token(ORGANIZER), event["event_id"], first["code"])
    sign_in_as(client, ORGANIZER)

    # When the organizer opens the attendee list, and its script polls the counts
    page = client.get(f"/organizer/events/{event['event_id']}/attendees")
    live = client.get(f"/api/events/{event['event_id']}/attendees").get_json()

    # Then both show who holds a ticket and how many are in
    html = page.get_data(as_text=True)
    assert "alice@example.com" in html
    assert "bob@example.com" in html
    assert re.search(r'id="count-checked-in">1<.*id="count-sold">2<', html, re.S)
    assert (live["checked_in"], live["sold"], live["capacity"]) == (1, 2, 30)
    assert {a["holder"]: a["status"] for a in live["attendees"]} == {
        "alice@example.com": "checked_in",
        "bob@example.com": "issued",
    }


def test_only_the_organizer_sees_attendees(client: FlaskClient, fake_api: FakeApi) -> None:
    # Given someone else's event
    event = fake_api.publish(title="Choir concert", organizer=ORGANIZER)
    sign_in_as(client, "mallory@example.com")

    # When another user asks for its attendees
    page = client.get(f"/organizer/events/{event['event_id']}/attendees")
    api = client.get(f"/api/events/{event['event_id']}/attendees")

    # Then both refuse
    assert page.status_code == 403
    assert api.status_code == 403
    assert api.get_json()["error"]["code"] == "forbidden"


def test_scanner_checks_a_typed_code_in_once(client: FlaskClient, fake_api: FakeApi) -> None:
    # Given an attendee's ticket and the organizer on the scanner page
    event = fake_api.publish(title="Choir concert", organizer=ORGANIZER)
    ticket = _attendee_takes_ticket(fake_api, event["event_id"], "alice@example.com")
    sign_in_as(client, ORGANIZER)
    token = page_token(client, f"/organizer/events/{event['event_id']}/scan")
    typed = "-".join(ticket["code"][i : i + 8].lower() for i in range(0, 136, 8))

    # When the code is typed (lower case, with hyphens) and sent, and then sent again
    first = client.post(
        f"/organizer/events/{event['event_id']}/check-in",
        data={"csrf_token": token, "code": typed},
    )
    second = client.post(
        f"/organizer/events/{event['event_id']}/check-in",
        data={"csrf_token": token, "code": ticket["code"]},
    )

    # Then the first checks Alice in, the second says she is already in and since when
    assert first.status_code == 200
    assert "Checked in alice@example.com." in first.get_data(as_text=True)
    assert second.status_code == 409
    assert "already checked in" in second.get_data(as_text=True)
    assert "first checked in at" in second.get_data(as_text=True)
    counts = client.get(f"/api/events/{event['event_id']}/attendees").get_json()
    assert counts["checked_in"] == 1


def test_scanner_script_gets_json_answers(client: FlaskClient, fake_api: FakeApi) -> None:
    # Given the scanner page's script with a scanned code, and a forged one
    event = fake_api.publish(title="Choir concert", organizer=ORGANIZER)
    ticket = _attendee_takes_ticket(fake_api, event["event_id"], "alice@example.com")
    forged = ticket_codes.legacy_signing_key(b"f" * 32, event["event_id"]).sign(
        event["event_id"], ticket["ticket_id"]
    )
    genuine = ticket_codes.legacy_signing_key(TICKET_SEED, event["event_id"])
    assert genuine.sign(event["event_id"], ticket["ticket_id"]) != forged
    sign_in_as(client, ORGANIZER)
    headers = {"Accept": "application/json", "X-CSRF-Token": page_token(client)}
    url = f"/organizer/events/{event['event_id']}/check-in"

    # When it posts them
    good = client.post(url, data={"code": ticket["code"]}, headers=headers)
    bad = client.post(url, data={"code": forged}, headers=headers)

    # Then it reads who came in, and why the forged code is refused
    assert good.status_code == 200
    assert good.get_json()["holder"] == "alice@example.com"
    assert bad.status_code == 400
    assert bad.get_json()["error"]["code"] == "invalid_ticket_code"


def test_dashboard_charts_activity_from_the_read_model(
    client: FlaskClient, fake_api: FakeApi
) -> None:
    # Given views and searches recorded for an event
    event = fake_api.publish(title="Choir concert", organizer=ORGANIZER)
    alice = session_token("alice@example.com")
    fake_api.log_activity(alice, [{"type": "event_view", "event_id": event["event_id"]}] * 3)
    fake_api.log_activity(None, [{"type": "event_view", "event_id": event["event_id"]}])
    fake_api.log_activity(alice, [{"type": "share", "event_id": event["event_id"]}])
    sign_in_as(client, ORGANIZER)

    # When the organizer opens the dashboard, and its script reads the data for the charts
    page = client.get(f"/organizer/events/{event['event_id']}/dashboard")
    data = client.get(f"/api/events/{event['event_id']}/activity?days=7").get_json()

    # Then the totals and the daily series count every recorded activity once
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "<td>event view</td><td>4</td>" in html
    assert "<td>share</td><td>1</td>" in html
    assert data["totals"] == {"event_view": 4, "share": 1}
    assert len(data["days"]) == 7
    assert data["series"]["event_view"][-1] == 4
    assert data["distinct_visitors"] == 1


def test_visits_to_the_site_feed_the_dashboard(client: FlaskClient, fake_api: FakeApi) -> None:
    # Given an event
    event = fake_api.publish(title="Choir concert", organizer=ORGANIZER)

    # When an anonymous visitor searches and opens it, and a signed-in one opens it too (a WSGI
    # server closes each response once it is sent, as close() does here)
    client.get("/?q=choir").close()
    client.get(f"/events/{event['event_id']}").close()
    sign_in_as(client, "alice@example.com")
    client.get(f"/events/{event['event_id']}").close()
    client.get("/events/aaaaaaaaaaaaaaaa").close()

    # Then the visits were sent to the API after each page, and the organizer sees them counted
    kinds = [(a["type"], a["user"]) for a in fake_api.activity]
    assert kinds == [("search", None), ("event_view", None), ("event_view", "alice@example.com")]
    assert fake_api.activity[0]["properties"] == {"query": "choir", "results": 1}
    sign_in_as(client, ORGANIZER)
    data = client.get(f"/api/events/{event['event_id']}/activity?days=1").get_json()
    assert data["totals"] == {"event_view": 2}
