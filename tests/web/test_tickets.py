"""Taking a ticket from the event page, and "My tickets" with QR codes."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient

from tests.web.conftest import page_token, sign_in_as
from tests.web.fake_api import TICKETS_ORIGIN, FakeApi

pytestmark = pytest.mark.web


def _ticket_form(client: FlaskClient, event_id: str) -> dict[str, str]:
    html = client.get(f"/events/{event_id}").get_data(as_text=True)
    fields = dict(re.findall(r'name="(csrf_token|idempotency_key)" value="([^"]+)"', html))
    assert set(fields) == {"csrf_token", "idempotency_key"}
    return fields


def test_get_ticket_then_see_it_with_its_qr_code(client: FlaskClient, fake_api: FakeApi) -> None:
    # Given a signed-in attendee on an event page
    event = fake_api.publish(title="Harbour jazz night", capacity=50)
    sign_in_as(client, "alice@example.com")
    form = _ticket_form(client, event["event_id"])

    # When she presses "Get ticket"
    taken = client.post(f"/events/{event['event_id']}/tickets", data=form)

    # Then she lands on her tickets, which show the event and the ticket's QR image
    assert taken.status_code == 302
    assert taken.headers["Location"] == "/me/tickets"
    mine = client.get("/me/tickets").get_data(as_text=True)
    assert "Your ticket is ready" in mine
    assert "Harbour jazz night" in mine
    (ticket,) = [i for i in fake_api.items.values() if i.get("entity") == "ticket"]
    assert f'src="{TICKETS_ORIGIN}/tickets/{ticket["ticket_id"]}.png' in mine
    assert ticket["code"] in mine
    # And the event page, re-read after the projector's update, counts the seat and the ticket
    again = client.get(f"/events/{event['event_id']}").get_data(as_text=True)
    assert "49 of 50 seats left" in again
    assert "You have a ticket" in again


def test_pressing_get_ticket_twice_takes_one_ticket(client: FlaskClient, fake_api: FakeApi) -> None:
    # Given a signed-in attendee with the form open
    event = fake_api.publish(title="Book swap")
    sign_in_as(client, "alice@example.com")
    form = _ticket_form(client, event["event_id"])

    # When the same form is posted twice (double click, retried request)
    first = client.post(f"/events/{event['event_id']}/tickets", data=form)
    second = client.post(f"/events/{event['event_id']}/tickets", data=form)

    # Then both succeed and she holds exactly one ticket
    assert first.status_code == second.status_code == 302
    assert client.get("/api/me/tickets").get_json()["tickets"].__len__() == 1


def test_sold_out_is_explained_on_the_event_page(client: FlaskClient, fake_api: FakeApi) -> None:
    # Given the last seat is taken while an attendee has the page open
    event = fake_api.publish(title="Tiny gig", capacity=1)
    sign_in_as(client, "alice@example.com")
    form = _ticket_form(client, event["event_id"])
    fake_api.update_seats(event["event_id"], sold=1, available=0)

    # When she presses "Get ticket"
    answer = client.post(f"/events/{event['event_id']}/tickets", data=form, follow_redirects=True)

    # Then she is back on the event page with the reason, and holds no ticket
    html = answer.get_data(as_text=True)
    assert answer.request.path == f"/events/{event['event_id']}"
    assert "This event is sold out." in html
    assert client.get("/api/me/tickets").get_json() == {"tickets": []}


def test_my_tickets_asks_to_sign_in_first(client: FlaskClient, fake_api: FakeApi) -> None:
    # When a visitor who is not signed in opens "My tickets"
    page = client.get("/me/tickets")
    api = client.get("/api/me/tickets")

    # Then the page sends them to sign in (and back), and the API says 401 in JSON
    assert page.status_code == 302
    assert page.headers["Location"] == "/signin?next=/me/tickets"
    assert api.status_code == 401
    assert api.get_json()["error"]["code"] == "unauthorized"


def test_taking_a_ticket_needs_a_signed_in_visitor(client: FlaskClient, fake_api: FakeApi) -> None:
    # Given a visitor who is not signed in but has a valid form token
    event = fake_api.publish(title="Book swap")
    token = page_token(client)

    # When they post the ticket form
    answer = client.post(f"/events/{event['event_id']}/tickets", data={"csrf_token": token})

    # Then they are sent to sign in and no ticket is taken
    assert answer.status_code == 302
    assert answer.headers["Location"].startswith("/signin")
    assert "create_ticket" not in fake_api.calls


def test_my_tickets_lists_only_my_own(client: FlaskClient, fake_api: FakeApi) -> None:
    # Given tickets held by two attendees
    first = fake_api.publish(title="Morning run")
    second = fake_api.publish(title="Evening choir")
    sign_in_as(client, "bob@example.com")
    client.post(
        f"/events/{first['event_id']}/tickets", data=_ticket_form(client, first["event_id"])
    )
    sign_in_as(client, "alice@example.com")
    client.post(
        f"/events/{second['event_id']}/tickets", data=_ticket_form(client, second["event_id"])
    )

    # When Alice reads her tickets
    tickets = client.get("/api/me/tickets").get_json()["tickets"]

    # Then she sees hers only
    assert [t["title"] for t in tickets] == ["Evening choir"]
    assert tickets[0]["status"] == "issued"
