"""An event sold from stock shards (docs/decisions/0070) on the site: the projector, fed the
TicketingTable stream from moto, keeps one row per shard, and every count the site shows (the
catalog, the event page, the organizer's pages and the JSON the site serves) is the pool plus
the shards, exactly as the API's own public read answers it."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, text

from devstack.template import TemplateModel
from gatepass.dal import layout
from tests.support import factories
from tests.support.stream import StreamDelivery
from tests.support.ticketing import ORGANIZER, create_event, get_event, order, post
from tests.web.conftest import sign_in_as
from tests.web.fake_api import FakeApi

pytestmark = pytest.mark.web

CAPACITY = 40
FLOOR_QUOTA = 8
# 100 orders a second: ceil(100 / 20) = 5 shards; Floor's 8 are split 2, 2, 2, 1, 1.
RATE = 100
SHARDS = 5


@pytest.fixture
def stream(aws: TemplateModel, projector: Any) -> StreamDelivery:
    return StreamDelivery(aws, "ProjectorFunction")


def _sharded_event() -> tuple[str, str, str]:
    event = create_event(
        capacity=CAPACITY,
        ticket_types=[
            {"name": "Floor", "quota": FLOOR_QUOTA},
            {"name": "Seated", "quota": CAPACITY - FLOOR_QUOTA},
        ],
        max_tickets_per_buyer=4,
        expected_orders_per_second=RATE,
    )
    floor, seated = (kind["ticket_type_id"] for kind in event["ticket_types"])
    assert len(factories.stock_shards(event["event_id"])) == SHARDS
    return event["event_id"], floor, seated


def _counts(view: dict[str, Any]) -> dict[str, Any]:
    """What a person reads off an event: seats sold and left, and each type's sold and left."""
    return {
        "sold": view["sold"],
        "seats_left": view["seats_left"],
        "types": {k["ticket_type_id"]: (k["sold"], k["left"]) for k in view["ticket_types"]},
    }


def _api(event_id: str) -> dict[str, Any]:
    answer = get_event(event_id)
    assert answer.status == 200, answer
    return _counts(answer.body)


def _site(client: FlaskClient, event_id: str) -> dict[str, Any]:
    """The event's counts on the site's event JSON, checked equal to its catalog entry."""
    page = client.get(f"/api/events/{event_id}")
    assert page.status_code == 200
    catalog = client.get("/api/events").get_json()["events"]
    (listed,) = [e for e in catalog if e["event_id"] == event_id]
    shown = _counts(page.get_json())
    assert (listed["sold"], listed["seats_left"]) == (shown["sold"], shown["seats_left"])
    return shown


def _sell(event_id: str, lines: list[tuple[str, str]], buyer: str) -> list[dict[str, Any]]:
    answer = order(event_id, lines, buyer=buyer)
    assert answer.status == 201, answer
    tickets: list[dict[str, Any]] = answer.body["order"]["tickets"]
    return tickets


def test_a_sharded_event_shows_its_true_seats_on_the_catalog_and_event_page(
    stream: StreamDelivery, client: FlaskClient
) -> None:
    # Given an event just created with an expected 100 orders a second (5 shards; its own
    # seats and type counters hold an empty pool)
    event_id, floor, seated = _sharded_event()

    # When the stream reaches the read model
    stream.deliver()

    # Then the site shows every seat free, as the API does, not the empty pool
    assert stream.failures == []
    shown = _site(client, event_id)
    assert shown == _api(event_id)
    assert shown == {
        "sold": 0,
        "seats_left": CAPACITY,
        "types": {floor: (0, FLOOR_QUOTA), seated: (0, CAPACITY - FLOOR_QUOTA)},
    }
    catalog = client.get("/").get_data(as_text=True)
    assert f"{CAPACITY} of {CAPACITY} seats left" in catalog
    assert "Sold out" not in catalog
    page = client.get(f"/events/{event_id}").get_data(as_text=True)
    assert f"{CAPACITY} of {CAPACITY} seats left" in page
    assert f"{FLOOR_QUOTA} left" in page


def test_sales_over_several_shards_a_sold_out_type_and_a_cancellation_show_on_the_site(
    stream: StreamDelivery, client: FlaskClient
) -> None:
    # Given a sharded event projected on the site
    event_id, floor, seated = _sharded_event()
    stream.deliver()

    # When every Floor ticket is bought (four orders of two) and three Seated tickets
    floor_tickets: list[dict[str, Any]] = []
    for buyer in ("ann", "ben", "cleo", "dev"):
        floor_tickets += _sell(event_id, [(floor, "A"), (floor, "B")], f"{buyer}@example.com")
    for buyer in ("eve", "fin", "gus"):
        _sell(event_id, [(seated, "C")], f"{buyer}@example.com")
    stream.deliver()

    # Then they were sold from several shards (Floor's from all five, none has more than 2)
    stored = [factories.get_item(**layout.ticket_key(t["ticket_id"])) or {} for t in floor_tickets]
    assert {int(t["type_shard"]) for t in stored} == set(range(SHARDS))
    # and the site counts them all, as the API does: Floor is sold out on every shard
    shown = _site(client, event_id)
    assert shown == _api(event_id)
    assert shown == {
        "sold": 11,
        "seats_left": CAPACITY - 11,
        "types": {floor: (FLOOR_QUOTA, 0), seated: (3, CAPACITY - FLOOR_QUOTA - 3)},
    }
    page = client.get(f"/events/{event_id}").get_data(as_text=True)
    assert f"{CAPACITY - 11} of {CAPACITY} seats left" in page
    assert "Sold out" in page
    assert f"{CAPACITY - FLOOR_QUOTA - 3} left" in page

    # When Ann cancels one of her Floor tickets (its seat goes back to the shard it came from)
    cancelled = floor_tickets[0]
    answer = post("/cancel-ticket", {"ticket_id": cancelled["ticket_id"]}, user="ann@example.com")
    assert answer.status == 200, answer
    stream.deliver()

    # Then the site offers that one Floor seat again, as the API does
    assert stream.failures == []
    shown = _site(client, event_id)
    assert shown == _api(event_id)
    assert shown["sold"] == 10
    assert shown["seats_left"] == CAPACITY - 10
    assert shown["types"][floor] == (FLOOR_QUOTA - 1, 1)
    page = client.get(f"/events/{event_id}").get_data(as_text=True)
    assert "Sold out" not in page
    assert "1 left" in page


def test_the_organizers_pages_count_the_shards(stream: StreamDelivery, client: FlaskClient) -> None:
    # Given a sharded event with five tickets sold from its shards
    event_id, floor, seated = _sharded_event()
    _sell(event_id, [(floor, "A"), (seated, "B")], "ann@example.com")
    _sell(event_id, [(seated, "C"), (seated, "D"), (floor, "E")], "ben@example.com")
    stream.deliver()

    # When its organizer opens their events, its sales and its attendees
    sign_in_as(client, ORGANIZER)
    home = client.get("/organizer/").get_data(as_text=True)
    sales = client.get(f"/api/events/{event_id}/sales").get_json()
    attendees = client.get(f"/api/events/{event_id}/attendees").get_json()
    page = client.get(f"/organizer/events/{event_id}/attendees")

    # Then every count is the shards' and the pool's together
    assert f"5 / {CAPACITY}" in home
    for answer in (sales, attendees):
        assert (answer["sold"], answer["left"]) == (5, CAPACITY - 5)
        assert {k["ticket_type_id"]: (k["sold"], k["left"]) for k in answer["ticket_types"]} == {
            floor: (2, FLOOR_QUOTA - 2),
            seated: (3, CAPACITY - FLOOR_QUOTA - 3),
        }
    assert len(attendees["attendees"]) == 5
    assert page.status_code == 200


def test_the_read_model_fed_the_stream_twice_equals_the_shards_in_the_table(
    stream: StreamDelivery, db_engine: Engine
) -> None:
    # Given sales over the shards and a cancellation back to one
    event_id, floor, seated = _sharded_event()
    sold = _sell(event_id, [(floor, "A"), (seated, "B")], "ann@example.com")
    _sell(event_id, [(floor, "C"), (floor, "D")], "ben@example.com")
    cancelled = post("/cancel-ticket", {"ticket_id": sold[0]["ticket_id"]}, user="ann@example.com")
    assert cancelled.status == 200, cancelled

    # When the projector gets the whole stream, and then all of it again
    stream.deliver()
    stream.replay()

    # Then the read model holds one row per shard, equal to the table's shard items
    assert stream.failures == []
    with db_engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT shard, available, sold, types, types_sold, status, version, deleted"
                " FROM stock_shards WHERE event_id = :e ORDER BY shard"
            ),
            {"e": event_id},
        ).all()
    assert [tuple(row) for row in rows] == [
        (
            int(item["shard"]),
            int(item["available"]),
            int(item["sold"]),
            {k: int(v) for k, v in item["types"].items()},
            {k: int(v) for k, v in item["types_sold"].items()},
            item["status"],
            int(item["version"]),
            False,
        )
        for item in factories.stock_shards(event_id)
    ]


def test_the_sites_stand_in_projects_shards_and_the_organizers_pages_count_them(
    fake_api: FakeApi, client: FlaskClient
) -> None:
    # Given the web tests' stand-in API publishes an event sold from 4 shards (its pool empty)
    # and sales elsewhere take Floor tickets from three of them (2 + 2 + 1)
    event = fake_api.publish(
        title="Sharded night",
        organizer=ORGANIZER,
        capacity=CAPACITY,
        ticket_types=[
            {"name": "Floor", "quota": FLOOR_QUOTA},
            {"name": "Seated", "quota": CAPACITY - FLOOR_QUOTA},
        ],
        shards=4,
    )
    event_id = event["event_id"]
    floor = event["ticket_types"][0]["ticket_type_id"]
    fake_api.sell_from_shard(event_id, 0, floor, 2)
    fake_api.sell_from_shard(event_id, 3, floor, 2)
    fake_api.sell_from_shard(event_id, 2, floor, 1)

    # When its organizer opens their events, its types and its dashboard, and anyone its page
    sign_in_as(client, ORGANIZER)
    home = client.get("/organizer/").get_data(as_text=True)
    types = client.get(f"/organizer/events/{event_id}/types").get_data(as_text=True)
    dashboard = client.get(f"/organizer/events/{event_id}/dashboard").get_data(as_text=True)
    page = client.get(f"/events/{event_id}").get_data(as_text=True)

    # Then each shows the shards' sales and seats, not the empty pool's
    assert f"5 / {CAPACITY}" in home
    assert f"5 of {CAPACITY} seats taken" in types
    assert f"5 of {CAPACITY} tickets taken" in dashboard
    assert f"{CAPACITY - 5} of {CAPACITY} seats left" in page
    assert f"{FLOOR_QUOTA - 5} left" in page
