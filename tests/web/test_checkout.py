"""Ticket types on the event page, and the checkout: quantities per type, a name per ticket, one
order, and its confirmation."""

from __future__ import annotations

import html as html_module
import re

import pytest
from flask.testing import FlaskClient

from tests.web.conftest import sign_in_as
from tests.web.fake_api import FakeApi

pytestmark = pytest.mark.web

TYPES = [
    {"name": "Standing", "quota": 30, "max_per_order": 4},
    {"name": "Balcony", "description": "Seated, first floor", "quota": 10, "max_per_order": 2},
]


def _types(event: dict[str, object]) -> dict[str, str]:
    kinds = event["ticket_types"]
    assert isinstance(kinds, list)
    return {k["name"]: k["ticket_type_id"] for k in kinds}


def test_the_event_page_shows_each_type_with_what_is_left(
    client: FlaskClient, fake_api: FakeApi
) -> None:
    # Given an event of 35 places sold as Standing (30) and Balcony (10), 3 Standing sold
    event = fake_api.publish(title="Harbour jazz night", capacity=35, ticket_types=TYPES, sold=3)

    # When anyone opens its page
    page = client.get(f"/events/{event['event_id']}").get_data(as_text=True)

    # Then both types are listed, each with what is left, and the balcony's description
    text = html_module.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))
    assert "Standing 27 left" in text
    assert "Balcony Seated, first floor 10 left" in text
    assert "32 of 35 seats left" in text


def test_checkout_names_each_ticket_and_confirms_one_order(
    client: FlaskClient, fake_api: FakeApi
) -> None:
    # Given a signed-in attendee choosing 1 Standing and 2 Balcony
    event = fake_api.publish(title="Harbour jazz night", capacity=35, ticket_types=TYPES)
    kinds = _types(event)
    sign_in_as(client, "alice@example.com")
    step_one = client.get(f"/events/{event['event_id']}/checkout").get_data(as_text=True)
    assert f'name="qty-{kinds["Standing"]}"' in step_one
    step_two = client.get(
        f"/events/{event['event_id']}/checkout",
        query_string={f"qty-{kinds['Standing']}": "1", f"qty-{kinds['Balcony']}": "2"},
    ).get_data(as_text=True)

    # When she names the three tickets and confirms
    fields = dict(re.findall(r'name="(csrf_token|idempotency_key)" value="([^"]+)"', step_two))
    type_ids = re.findall(r'name="ticket_type_id" value="([^"]+)"', step_two)
    assert type_ids == [kinds["Standing"], kinds["Balcony"], kinds["Balcony"]]
    form = {**fields, "ticket_type_id": type_ids, "attendee_name": ["Ann", "Ben", "Cy"]}
    confirmed = client.post(f"/events/{event['event_id']}/tickets", data=form)

    # Then the confirmation lists the order's tickets by type and name
    assert confirmed.status_code == 200
    page = html_module.unescape(re.sub(r"<[^>]+>", " ", confirmed.get_data(as_text=True)))
    assert "Order confirmed" in page
    assert re.search(r"Standing\s+Ann", page)
    assert re.search(r"Balcony\s+Ben", page)
    assert re.search(r"Balcony\s+Cy", page)
    # and the API took one order of three named tickets
    tickets = [i for i in fake_api.items.values() if i.get("entity") == "ticket"]
    assert sorted(t["attendee_name"] for t in tickets) == ["Ann", "Ben", "Cy"]
    assert len({t["order_id"] for t in tickets}) == 1


def test_checkout_refuses_more_than_a_type_allows(client: FlaskClient, fake_api: FakeApi) -> None:
    event = fake_api.publish(title="Harbour jazz night", capacity=35, ticket_types=TYPES)
    kinds = _types(event)
    sign_in_as(client, "alice@example.com")
    page = client.get(
        f"/events/{event['event_id']}/checkout", query_string={f"qty-{kinds['Balcony']}": "3"}
    ).get_data(as_text=True)
    assert "At most 2 Balcony." in page
    assert 'name="attendee_name"' not in page


def test_a_refused_order_goes_back_to_the_event_with_the_reason(
    client: FlaskClient, fake_api: FakeApi
) -> None:
    # Given the balcony sells out while the attendee names her tickets
    event = fake_api.publish(title="Harbour jazz night", capacity=35, ticket_types=TYPES)
    kinds = _types(event)
    sign_in_as(client, "alice@example.com")
    step_two = client.get(
        f"/events/{event['event_id']}/checkout",
        query_string={f"qty-{kinds['Balcony']}": "1"},
    ).get_data(as_text=True)
    fields = dict(re.findall(r'name="(csrf_token|idempotency_key)" value="([^"]+)"', step_two))
    fake_api.update_type(event["event_id"], kinds["Balcony"], available=0)

    # When she confirms
    answer = client.post(
        f"/events/{event['event_id']}/tickets",
        data={**fields, "ticket_type_id": [kinds["Balcony"]], "attendee_name": ["Ann"]},
        follow_redirects=True,
    )

    # Then she is back on the event page with the reason, and nothing was sold
    assert answer.request.path == f"/events/{event['event_id']}"
    assert "Those tickets are sold out." in answer.get_data(as_text=True)
    assert not [i for i in fake_api.items.values() if i.get("entity") == "ticket"]
