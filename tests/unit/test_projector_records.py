"""Reading DynamoDB stream records into read-model rows (no database)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from gatepass.dal.stock import shard_item
from gatepass.readmodel.projection import (
    Change,
    UnprojectableRecord,
    activity_row,
    event_row,
    order_row,
    project,
    seats_row,
    stock_shard_row,
    ticket_row,
    ticket_type_row,
)
from gatepass.streams import StreamRecord
from tests.conftest import load_event

pytestmark = pytest.mark.unit


def _change(name: str, index: int) -> Change:
    return Change.from_record(StreamRecord(load_event(name)["Records"][index]))


def test_an_event_record_becomes_an_events_row() -> None:
    # Given the recorded MODIFY that made the event's image ready
    change = _change("projector-ticketing.json", 1)

    # When it is read
    row = event_row(change.image)

    # Then numbers are integers, times are aware, and image keys are kept
    assert change.name == "MODIFY"
    assert change.old_image["version"] == 1
    assert row["version"] == 2
    assert isinstance(row["capacity"], int)
    assert row["capacity"] == 120
    assert row["starts_at"] == datetime(2027, 3, 14, 18, 0, tzinfo=UTC)
    assert row["image_status"] == "ready"
    assert row["image_display_key"] == "events/m5qxizlqmfzxgmbr/display.jpg"
    assert row["organizer"] == "organizer@example.com"


def test_a_ticket_record_becomes_a_tickets_row() -> None:
    row = ticket_row(_change("projector-ticketing.json", 8).image)
    assert (row["status"], row["version"]) == ("checked_in", 2)
    assert row["checked_in_at"] == datetime(2027, 3, 14, 17, 45, 12, tzinfo=UTC)
    assert (row["order_id"], row["ticket_type_id"], row["attendee_name"]) == (
        "n5zgizlsnfxgcmbr",
        "ovzgk4tfmzrxizlt",
        "Alice Liddell",
    )


def test_seats_type_and_order_records_become_rows() -> None:
    seats = seats_row(_change("projector-ticketing.json", 9).image)
    kind = ticket_type_row(_change("projector-ticketing.json", 10).image)
    placed = order_row(_change("projector-ticketing.json", 5).image)
    assert (seats["sold"], seats["available"], seats["checked_in"], seats["version"]) == (
        1,
        119,
        1,
        3,
    )
    assert (kind["name"], kind["quota"], kind["sold"], kind["paused"]) == (
        "General admission",
        120,
        1,
        False,
    )
    assert (placed["buyer"], placed["status"], placed["ticket_count"]) == (
        "alice@example.com",
        "confirmed",
        1,
    )


def test_an_activity_record_keeps_json_properties_and_its_actor() -> None:
    signed_in = activity_row(_change("projector-activity.json", 0).image)
    anonymous = activity_row(_change("projector-activity.json", 1).image)
    assert signed_in["properties"] == {"referrer": "catalog", "position": 1}
    assert isinstance(signed_in["properties"]["position"], int)
    assert signed_in["actor"] == "alice@example.com"
    assert anonymous["actor"] == "c1f0e2d3b4a59687"


def test_a_ttl_removal_is_read_from_the_old_image() -> None:
    change = _change("projector-activity.json", 2)
    assert change.name == "REMOVE"
    assert change.new_image == {}
    assert activity_row(change.image)["activity_id"] == "01hz9a1b2c3d4e5f"


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("starts_at", "next tuesday", "ISO-8601"),
        ("starts_at", "2027-03-14T18:00:00", "time zone"),
        ("capacity", "many", "whole number"),
        ("version", None, "version is missing"),
        ("title", 42, "not a string"),
    ],
)
def test_malformed_items_are_refused_with_the_reason(field: str, value: Any, problem: str) -> None:
    image = dict(_change("projector-ticketing.json", 0).image)
    image[field] = value
    with pytest.raises(UnprojectableRecord, match=problem):
        event_row(image)


def test_items_outside_the_read_model_are_skipped() -> None:
    # Given the buyer's count written with an order
    change = _change("projector-ticketing.json", 11)

    # When it is projected (no database is touched for it)
    outcome = project(None, change)  # type: ignore[arg-type]

    # Then it is skipped, not failed
    assert (outcome.entity, outcome.applied, outcome.invalidates) == ("buyer", False, ())


def test_a_sale_moves_only_counts_and_a_cancelled_event_moves_more() -> None:
    # Given the recorded MODIFY of an event's seats when a ticket was sold
    sale = _change("projector-ticketing.json", 9)

    # Then it changed counts only: the site reads those apart and invalidates no page for them
    assert sale.counts_only()
    # and the same item turning cancelled, an insert, or a removal is more than counts
    cancelled = Change(
        "MODIFY",
        new_image={**sale.new_image, "status": "cancelled"},
        old_image=sale.old_image,
    )
    assert not cancelled.counts_only()
    assert not Change("INSERT", new_image=sale.new_image, old_image={}).counts_only()
    assert not Change("REMOVE", new_image={}, old_image=sale.old_image).counts_only()


def _shard_image(**changes: Any) -> dict[str, Any]:
    item = shard_item(
        "m5qxizlqmfzxgmbr",
        3,
        available=7,
        types={"floor": 2, "seated": 5},
        starts_at="2027-03-14T19:00:00+00:00",
        status="on_sale",
    )
    return {**item, **changes}


def test_a_stock_shard_becomes_a_row_of_its_counts() -> None:
    # Given a stock shard item as the table holds it after a sale of one Floor ticket from it
    image = _shard_image(
        available=Decimal(6),
        sold=Decimal(1),
        types={"floor": Decimal(1), "seated": Decimal(5)},
        types_sold={"floor": Decimal(1), "seated": Decimal(0)},
        version=Decimal(2),
    )

    # When it is read as a row
    row = stock_shard_row(image)

    # Then the row is keyed by event and shard and keeps each type's counts
    assert row == {
        "event_id": "m5qxizlqmfzxgmbr",
        "shard": 3,
        "available": 6,
        "sold": 1,
        "types": {"floor": 1, "seated": 5},
        "types_sold": {"floor": 1, "seated": 0},
        "status": "on_sale",
        "version": 2,
        "deleted": False,
    }


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("types", "floor", "types is not a map"),
        ("types_sold", {"floor": "two"}, "floor is not a whole number"),
        ("shard", Decimal(-1), "shard is negative"),
        ("event_id", None, "event_id is missing"),
    ],
)
def test_a_malformed_stock_shard_is_refused_with_the_reason(
    field: str, value: Any, problem: str
) -> None:
    with pytest.raises(UnprojectableRecord, match=problem):
        stock_shard_row(_shard_image(**{field: value}))


def test_a_sale_from_a_shard_moves_only_counts_but_its_creation_and_a_cancellation_more() -> None:
    # Given a shard as created and as a sale leaves it
    created = _shard_image()
    sold = {
        **created,
        "available": 6,
        "sold": 1,
        "types": {"floor": 1, "seated": 5},
        "types_sold": {"floor": 1, "seated": 0},
        "version": 2,
    }

    # Then the sale changed counts only (the site reads them apart from its cached pages)
    assert Change("MODIFY", new_image=sold, old_image=created).counts_only()
    # and the shard's creation, or the event's cancellation closing it, is more than counts
    assert not Change("INSERT", new_image=created, old_image={}).counts_only()
    closed = {**sold, "status": "cancelled", "version": 3}
    assert not Change("MODIFY", new_image=closed, old_image=sold).counts_only()
