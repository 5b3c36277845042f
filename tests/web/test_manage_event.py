"""Organizer pages that change an event: adding a ticket type, changing one (name,
description, sale window, quota), pausing and resuming it, and cancelling the event."""

from __future__ import annotations

import html as html_module
import re

import pytest
from flask.testing import FlaskClient

from gatepass.ids import new_id
from tests.web.conftest import csrf_from, sign_in_as
from tests.web.fake_api import FakeApi, session_token

pytestmark = pytest.mark.web

ORGANIZER = "organizer@example.com"
TYPES = [
    {"name": "Standing", "quota": 30, "max_per_order": 4},
    {"name": "Balcony", "quota": 10, "max_per_order": 4},
]


def _text(page: str) -> str:
    return html_module.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def _event(fake_api: FakeApi) -> tuple[str, dict[str, str]]:
    event = fake_api.publish(
        title="Harbour jazz night", organizer=ORGANIZER, capacity=35, ticket_types=TYPES
    )
    return event["event_id"], {k["name"]: k["ticket_type_id"] for k in event["ticket_types"]}


def _token(client: FlaskClient, path: str) -> str:
    page = client.get(path)
    assert page.status_code == 200, page.get_data(as_text=True)
    return csrf_from(page.get_data(as_text=True))


def _type_item(fake_api: FakeApi, ticket_type_id: str) -> dict[str, object]:
    (found,) = [
        i
        for i in fake_api.items.values()
        if i.get("entity") == "ticket_type" and i["ticket_type_id"] == ticket_type_id
    ]
    return found


def _sell(fake_api: FakeApi, event_id: str, ticket_type_id: str, count: int) -> None:
    fake_api.create_ticket(
        session_token("alice@example.com"),
        event_id,
        new_id(),
        [{"ticket_type_id": ticket_type_id, "attendee_name": f"Guest {n}"} for n in range(count)],
    )


def test_an_organizer_adds_a_ticket_type_with_a_sale_window(
    client: FlaskClient, fake_api: FakeApi
) -> None:
    # Given the organizer on the ticket types page
    event_id, _ = _event(fake_api)
    sign_in_as(client, ORGANIZER)
    path = f"/organizer/events/{event_id}/types"
    token = _token(client, path)

    # When they add "Early bird", on sale from 09:00 to 18:00 on a June day in UTC+02:00
    added = client.post(
        path,
        data={
            "csrf_token": token,
            "name": "Early bird",
            "description": "Until the end of June",
            "quota": "5",
            "max_per_order": "2",
            "opens_at": "2027-06-01T09:00",
            "opens_at_offset": "120",
            "closes_at": "2027-06-01T18:00",
            "closes_at_offset": "120",
        },
        follow_redirects=True,
    )

    # Then they are told, the type is listed with its window, and the API has it in UTC
    assert added.status_code == 200
    text = _text(added.get_data(as_text=True))
    assert "Added Early bird" in text
    assert (
        "Early bird Until the end of June from 2027-06-01 07:00 UTC until 2027-06-01 16:00 UTC 5 0"
        in text
    )
    (kind,) = [
        i
        for i in fake_api.items.values()
        if i.get("entity") == "ticket_type" and i["name"] == "Early bird"
    ]
    assert (kind["opens_at"], kind["closes_at"]) == ("2027-06-01T07:00:00Z", "2027-06-01T16:00:00Z")
    assert (kind["quota"], kind["max_per_order"]) == (5, 2)
    # And the event page lists it, not on sale before its window
    event_page = _text(client.get(f"/events/{event_id}").get_data(as_text=True))
    assert "Early bird Until the end of June On sale from 2027-06-01 07:00 UTC" in event_page


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"name": " "}, "Give the ticket type a name."),
        ({"quota": "0"}, "Quota is a whole number from 1 to 100000."),
        ({"max_per_order": "50"}, "At most per order is a whole number from 1 to 20."),
        ({"opens_at": "tomorrow"}, "Sale opens: choose a date and a time."),
        (
            {"opens_at": "2027-06-02T10:00", "closes_at": "2027-06-01T10:00"},
            "The sale must close after it opens.",
        ),
    ],
)
def test_a_type_form_with_a_problem_comes_back_saying_what(
    client: FlaskClient, fake_api: FakeApi, changes: dict[str, str], says: str
) -> None:
    event_id, _ = _event(fake_api)
    sign_in_as(client, ORGANIZER)
    path = f"/organizer/events/{event_id}/types"
    form = {"csrf_token": _token(client, path), "name": "VIP", "quota": "5", "max_per_order": "2"}

    answer = client.post(path, data={**form, **changes})

    assert answer.status_code == 400
    page = answer.get_data(as_text=True)
    assert says in html_module.unescape(page)
    typed = {**form, **changes}
    assert f'value="{typed["quota"]}"' in page  # what was typed is kept
    assert f'value="{typed["name"]}"' in page
    assert "add_ticket_type" not in fake_api.calls


def test_an_organizer_renames_a_type_raises_its_quota_and_clears_its_window(
    client: FlaskClient, fake_api: FakeApi
) -> None:
    event_id, kinds = _event(fake_api)
    fake_api.update_type(event_id, kinds["Balcony"], opens_at="2027-01-01T10:00:00Z")
    sign_in_as(client, ORGANIZER)
    path = f"/organizer/events/{event_id}/types/{kinds['Balcony']}"
    page = client.get(path).get_data(as_text=True)
    assert 'value="Balcony"' in page
    assert 'data-utc="2027-01-01T10:00:00Z"' in page

    # When they rename it, raise its quota from 10 to 14 and empty the opening time
    saved = client.post(
        path,
        data={
            "csrf_token": csrf_from(page),
            "name": "Balcony (seated)",
            "description": "First floor",
            "quota": "14",
            "max_per_order": "4",
            "opens_at": "",
            "closes_at": "",
        },
        follow_redirects=True,
    )

    # Then it is saved; only what changed was sent, and the event page shows 14 left
    assert "Saved Balcony (seated)." in saved.get_data(as_text=True)
    kind = _type_item(fake_api, kinds["Balcony"])
    assert (kind["name"], kind["description"], kind["quota"], kind["available"]) == (
        "Balcony (seated)",
        "First floor",
        14,
        14,
    )
    assert "opens_at" not in kind
    assert "Balcony (seated) First floor 14 left" in _text(
        client.get(f"/events/{event_id}").get_data(as_text=True)
    )


def test_a_quota_below_what_is_sold_is_refused_in_words(
    client: FlaskClient, fake_api: FakeApi
) -> None:
    # Given 3 Balcony tickets sold
    event_id, kinds = _event(fake_api)
    _sell(fake_api, event_id, kinds["Balcony"], 3)
    sign_in_as(client, ORGANIZER)
    path = f"/organizer/events/{event_id}/types/{kinds['Balcony']}"
    token = _token(client, path)

    # When the organizer lowers the quota to 2
    answer = client.post(
        path,
        data={"csrf_token": token, "name": "Balcony", "quota": "2", "max_per_order": "4"},
    )

    # Then a page says it cannot go below the 3 sold, and the quota stays 10
    assert answer.status_code == 409
    text = _text(answer.get_data(as_text=True))
    assert "The quota cannot go that low" in text
    assert "Balcony has 3 tickets sold or held; its quota cannot go below that." in text
    assert _type_item(fake_api, kinds["Balcony"])["quota"] == 10


def test_pausing_and_resuming_a_type(client: FlaskClient, fake_api: FakeApi) -> None:
    event_id, kinds = _event(fake_api)
    sign_in_as(client, ORGANIZER)
    token = _token(client, f"/organizer/events/{event_id}/types")
    pause = f"/organizer/events/{event_id}/types/{kinds['Standing']}/pause"

    paused = client.post(pause, data={"csrf_token": token, "paused": "1"}, follow_redirects=True)
    assert "Standing is paused: nobody can buy it." in paused.get_data(as_text=True)
    assert "Resume Standing" in paused.get_data(as_text=True)
    assert "Standing Paused" in _text(client.get(f"/events/{event_id}").get_data(as_text=True))

    resumed = client.post(pause, data={"csrf_token": token, "paused": "0"}, follow_redirects=True)
    assert "Standing is on sale again." in resumed.get_data(as_text=True)
    assert "Standing 30 left" in _text(client.get(f"/events/{event_id}").get_data(as_text=True))


def test_only_the_organizer_manages_types_or_cancels(
    client: FlaskClient, fake_api: FakeApi
) -> None:
    event_id, kinds = _event(fake_api)
    sign_in_as(client, "mallory@example.com")
    token = _token(client, "/me/tickets")

    answers = [
        client.get(f"/organizer/events/{event_id}/types"),
        client.post(
            f"/organizer/events/{event_id}/types",
            data={"csrf_token": token, "name": "Free", "quota": "9", "max_per_order": "9"},
        ),
        client.post(
            f"/organizer/events/{event_id}/types/{kinds['Standing']}/pause",
            data={"csrf_token": token, "paused": "1"},
        ),
        client.get(f"/organizer/events/{event_id}/cancel"),
        client.post(
            f"/organizer/events/{event_id}/cancel", data={"csrf_token": token, "confirm": "yes"}
        ),
    ]

    for answer in answers:
        assert answer.status_code == 403
        assert "Only this event&#39;s organizer can see or change this." in answer.get_data(
            as_text=True
        )
    assert not {"add_ticket_type", "update_ticket_type", "cancel_event"} & set(fake_api.calls)


def test_an_organizer_cancels_the_event_after_confirming(
    client: FlaskClient, fake_api: FakeApi
) -> None:
    # Given an event with 3 tickets sold
    event_id, kinds = _event(fake_api)
    _sell(fake_api, event_id, kinds["Standing"], 3)
    sign_in_as(client, ORGANIZER)
    path = f"/organizer/events/{event_id}/cancel"
    page = client.get(path).get_data(as_text=True)
    assert "revokes every one of its 3 tickets" in page

    # When the form is sent without ticking the box, then with it
    unticked = client.post(path, data={"csrf_token": csrf_from(page)})
    done = client.post(
        path, data={"csrf_token": csrf_from(page), "confirm": "yes"}, follow_redirects=True
    )

    # Then the first asks to confirm and cancels nothing; the second cancels and says so
    assert unticked.status_code == 400
    assert "Tick the box to confirm" in unticked.get_data(as_text=True)
    assert fake_api.calls.count("cancel_event") == 1
    text = _text(done.get_data(as_text=True))
    assert "Harbour jazz night is cancelled: 3 tickets revoked, 1 holder emailed." in text
    assert "Cancelled" in text
    # And the event page says it is cancelled and sells nothing
    event_page = client.get(f"/events/{event_id}").get_data(as_text=True)
    assert "This event has been cancelled." in event_page
    assert "Get ticket" not in event_page
    # And its types can no longer change, nor can it be cancelled twice
    types_page = _text(client.get(f"/organizer/events/{event_id}/types").get_data(as_text=True))
    assert "its ticket types stay as they are" in types_page
    assert "Add a ticket type" not in types_page
    again = client.get(path)
    assert again.status_code == 409
    assert "This event is already cancelled." in again.get_data(as_text=True)


def test_a_type_change_after_the_event_was_cancelled_elsewhere_is_refused(
    client: FlaskClient, fake_api: FakeApi
) -> None:
    # Given the organizer's form is open when the event gets cancelled (in another tab)
    event_id, _ = _event(fake_api)
    sign_in_as(client, ORGANIZER)
    path = f"/organizer/events/{event_id}/types"
    token = _token(client, path)
    fake_api.cancel_event(session_token(ORGANIZER), event_id)

    answer = client.post(
        path, data={"csrf_token": token, "name": "VIP", "quota": "5", "max_per_order": "2"}
    )

    assert answer.status_code == 409
    text = _text(answer.get_data(as_text=True))
    assert "The event has been cancelled" in text
    assert "Nothing was changed." in text


def test_type_changes_and_cancelling_answer_json_to_scripts(
    client: FlaskClient, fake_api: FakeApi
) -> None:
    event_id, kinds = _event(fake_api)
    _sell(fake_api, event_id, kinds["Balcony"], 3)
    sign_in_as(client, ORGANIZER)
    headers = {"Accept": "application/json", "X-CSRF-Token": _token(client, "/organizer/")}
    base = f"/organizer/events/{event_id}"

    added = client.post(
        f"{base}/types", data={"name": "VIP", "quota": "4", "max_per_order": "2"}, headers=headers
    )
    paused = client.post(
        f"{base}/types/{kinds['Standing']}/pause", data={"paused": "1"}, headers=headers
    )
    too_low = client.post(
        f"{base}/types/{kinds['Balcony']}",
        data={"name": "Balcony", "quota": "1", "max_per_order": "4"},
        headers=headers,
    )
    unnamed = client.post(f"{base}/types", data={"quota": "4"}, headers=headers)
    cancelled = client.post(f"{base}/cancel", headers=headers)

    assert added.status_code == 201
    assert added.get_json()["ticket_type"]["name"] == "VIP"
    assert paused.get_json()["ticket_type"]["paused"] is True
    assert too_low.status_code == 409
    assert too_low.get_json()["error"]["code"] == "quota_below_sold"
    assert too_low.get_json()["error"]["minimum"] == 3
    assert unnamed.status_code == 400
    assert unnamed.get_json()["error"] == {
        "code": "validation_error",
        "message": "Give the ticket type a name.",
    }
    assert cancelled.get_json() == {
        "event_id": event_id,
        "status": "cancelled",
        "revoked": 3,
        "notified": 1,
    }
