"""Ticket types and orders against moto: an order is all or nothing in one transaction, every
refusal has its own code and changes nothing, organizers change types without ever going below
what is sold, and public reads show what is left per type."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from functions.add_ticket_type import app as add_ticket_type_app
from functions.create_ticket import app as create_ticket_app
from functions.update_ticket_type import app as update_ticket_type_app
from tests.conftest import load_event
from tests.support import factories
from tests.support.api import LambdaContext, json_body
from tests.support.ticketing import ORGANIZER, create_event, get_event, moment, order, post

pytestmark = pytest.mark.integration

ALICE = "alice@example.com"
BOB = "bob@example.com"
CAROL = "carol@example.com"


def shown_types(event_id: str) -> dict[str, dict[str, Any]]:
    answer = get_event(event_id)
    assert answer.status == 200, answer
    return {t["name"]: t for t in answer.body["ticket_types"]}


def two_type_event(**overrides: Any) -> tuple[dict[str, Any], str, str]:
    """5 seats sold as Standing (quota 4, 3 per order) and Seated (quota 3, 2 per order)."""
    event = create_event(
        capacity=overrides.pop("capacity", 5),
        ticket_types=overrides.pop(
            "ticket_types",
            [
                {"name": "Standing", "quota": 4, "max_per_order": 3},
                {"name": "Seated", "description": "Balcony", "quota": 3, "max_per_order": 2},
            ],
        ),
        **overrides,
    )
    by_name = {t["name"]: t["ticket_type_id"] for t in event["ticket_types"]}
    return event, by_name["Standing"], by_name["Seated"]


# ---------------------------------------------------------------------------- types


def test_an_event_without_types_gets_general_admission_with_its_capacity(aws: Any) -> None:
    # Given an organizer creates an event with a capacity and no ticket types
    event = create_event(capacity=120)

    # Then it has one type, "General admission", whose quota is the capacity, a buyer limit of
    # 4, and it is on sale
    assert [(t["name"], t["quota"], t["left"], t["on_sale"]) for t in event["ticket_types"]] == [
        ("General admission", 120, 120, True)
    ]
    assert (event["max_tickets_per_buyer"], event["status"]) == (4, "on_sale")
    # and the public read shows the same
    assert shown_types(event["event_id"])["General admission"]["left"] == 120


def test_public_reads_show_each_type_with_what_is_left(aws: Any) -> None:
    # Given an event of 5 seats sold as Standing (4) and Seated (3)
    event, standing, seated = two_type_event()

    # When Alice takes 2 Standing and Bob 1 Seated
    assert order(event["event_id"], [(standing, "A"), (standing, "B")], buyer=ALICE).status == 201
    assert order(event["event_id"], [(seated, "C")], buyer=BOB).status == 201

    # Then each type shows its own sold and what is left, never more than the event has left
    shown = shown_types(event["event_id"])
    assert (shown["Standing"]["sold"], shown["Standing"]["left"]) == (2, 2)
    assert (shown["Seated"]["sold"], shown["Seated"]["left"]) == (1, 2)
    public = get_event(event["event_id"]).body
    assert (public["sold"], public["seats_left"]) == (3, 2)


@pytest.mark.parametrize(
    ("ticket_types", "max_per_buyer", "field"),
    [
        ([], None, "ticket_types"),
        ([{"name": f"T{i}", "quota": 1} for i in range(21)], None, "ticket_types"),
        ([{"name": "", "quota": 1}], None, "ticket_types.0.name"),
        ([{"name": "A", "quota": 0}], None, "ticket_types.0.quota"),
        ([{"name": "A", "quota": 1, "max_per_order": 21}], None, "ticket_types.0.max_per_order"),
        (
            [
                {
                    "name": "A",
                    "quota": 1,
                    "opens_at": "2099-01-02T00:00:00Z",
                    "closes_at": "2099-01-01T00:00:00Z",
                }
            ],
            None,
            "ticket_types.0",
        ),
        ([{"name": "A", "quota": 1, "opens_at": "tomorrow"}], None, "ticket_types.0"),
        (None, 0, "max_tickets_per_buyer"),
        (None, 21, "max_tickets_per_buyer"),
    ],
    ids=[
        "no-types",
        "21-types",
        "unnamed",
        "zero-quota",
        "per-order-21",
        "window-backwards",
        "window-not-a-time",
        "limit-0",
        "limit-21",
    ],
)
def test_bad_ticket_types_are_refused_and_nothing_is_created(
    aws: Any, ticket_types: Any, max_per_buyer: Any, field: str
) -> None:
    body: dict[str, Any] = {"title": "T", "starts_at": "2099-01-01T19:00:00Z", "capacity": 10}
    if ticket_types is not None:
        body["ticket_types"] = ticket_types
    if max_per_buyer is not None:
        body["max_tickets_per_buyer"] = max_per_buyer
    answer = post("/create-event", body, user=ORGANIZER)
    assert (answer.status, answer.code) == (400, "validation_error"), answer
    assert any(p["field"].startswith(field) for p in answer.body["error"]["problems"]), answer
    assert factories.all_items() == []


# ---------------------------------------------------------------------------- orders


def test_an_order_of_two_types_is_one_transaction_with_a_code_per_ticket(aws: Any) -> None:
    # Given an event with two types
    event, standing, seated = two_type_event()

    # When Alice orders one of each, for herself and a friend
    answer = order(
        event["event_id"], [(standing, "Alice Liddell"), (seated, "Bob Dylan")], buyer=ALICE
    )

    # Then she gets one confirmed order of two tickets, each naming its type and attendee
    assert answer.status == 201, answer
    placed = answer.body["order"]
    assert (placed["status"], placed["buyer"]) == ("confirmed", ALICE)
    tickets = placed["tickets"]
    assert [(t["ticket_type_id"], t["attendee_name"]) for t in tickets] == [
        (standing, "Alice Liddell"),
        (seated, "Bob Dylan"),
    ]
    assert answer.body["ticket"] == tickets[0]
    # and each has its own genuine code and QR image, which scans as that code
    for ticket in tickets:
        assert ticket["order_id"] == placed["order_id"]
        assert factories.verify_code(ticket["code"]).ticket_id == ticket["ticket_id"]
        png = factories.stored_qr(ticket["ticket_id"])
        assert factories.decode_qr_png(png) == [ticket["code"]]
    # and the table counts them on the event, each type and the buyer
    counts = factories.stock_counts(event["event_id"])
    assert counts["seats"] == {"sold": 2, "available": 3}
    assert counts["types"] == {
        standing: {"sold": 1, "available": 3},
        seated: {"sold": 1, "available": 2},
    }
    assert counts["buyers"] == {ALICE: 2}
    # and the order is stored with its tickets
    stored = factories.get_item(f"ORDER#{placed['order_id']}")
    assert stored is not None
    assert stored["ticket_ids"] == [t["ticket_id"] for t in tickets]


def test_version_one_body_takes_one_ticket_of_the_first_type(aws: Any) -> None:
    event, standing, _ = two_type_event()
    answer = order(event["event_id"], None, buyer=ALICE)
    assert answer.status == 201, answer
    assert answer.body["ticket"]["ticket_type_id"] == standing
    assert len(answer.body["order"]["tickets"]) == 1


def test_a_retry_with_the_same_idempotency_key_answers_the_same_order(aws: Any) -> None:
    event, standing, seated = two_type_event()
    lines = [(standing, "A"), (seated, "B")]
    first = order(event["event_id"], lines, buyer=ALICE, key="retry-1")
    again = order(event["event_id"], lines, buyer=ALICE, key="retry-1")
    assert (first.status, again.status) == (201, 201)
    assert again.body == first.body
    assert factories.stock_counts(event["event_id"])["seats"]["sold"] == 2


@pytest.mark.parametrize(
    ("setup", "lines", "status", "code"),
    [
        ("none", [("standing", 4)], 400, "too_many_tickets"),
        ("none", [("seated", 3)], 400, "too_many_tickets"),
        ("none", [("standing", 3), ("seated", 2)], 400, "too_many_tickets"),
        ("other-event", [("other", 1)], 400, "unknown_ticket_type"),
        ("seated-sold-out", [("seated", 1)], 409, "ticket_type_sold_out"),
        ("event-full", [("standing", 1)], 409, "sold_out"),
        ("alice-holds-3", [("seated", 2)], 409, "buyer_limit_reached"),
        ("paused", [("standing", 1)], 409, "ticket_type_paused"),
    ],
    ids=[
        "per-order-standing",
        "per-order-seated",
        "past-buyer-limit",
        "type-of-another-event",
        "type-sold-out",
        "event-full",
        "buyer-limit-across-orders",
        "paused",
    ],
)
def test_orders_that_do_not_fit_are_refused_with_their_code_and_change_nothing(
    aws: Any, setup: str, lines: list[tuple[str, int]], status: int, code: str
) -> None:
    # Given an event of 5 seats, Standing (quota 4, 3 per order) and Seated (quota 3, 2 per
    # order), 4 per buyer, in a chosen state
    event, standing, seated = two_type_event(max_tickets_per_buyer=4)
    event_id = event["event_id"]
    chosen = {"standing": standing, "seated": seated}
    if setup == "other-event":
        chosen["other"] = create_event()["ticket_types"][0]["ticket_type_id"]
    elif setup == "seated-sold-out":
        assert order(event_id, [(seated, "x"), (seated, "y")], buyer=BOB).status == 201
        assert order(event_id, [(seated, "z")], buyer=CAROL).status == 201
    elif setup == "event-full":
        assert order(event_id, [(standing, "x")] * 3, buyer=BOB).status == 201
        assert order(event_id, [(seated, "y")] * 2, buyer=CAROL).status == 201
    elif setup == "alice-holds-3":
        assert order(event_id, [(standing, "x")] * 3, buyer=ALICE).status == 201
    elif setup == "paused":
        paused = post(
            "/update-ticket-type",
            {"event_id": event_id, "ticket_type_id": standing, "paused": True},
            user=ORGANIZER,
        )
        assert paused.status == 200, paused
    before = factories.stock_counts(event_id)

    # When Alice orders
    wanted = [(chosen[name], f"guest {i}") for name, k in lines for i in range(k)]
    answer = order(event_id, wanted, buyer=ALICE)

    # Then she is refused with the reason's own code, and nothing in the table changed
    assert (answer.status, answer.code) == (status, code), answer
    assert factories.stock_counts(event_id) == before


def test_zero_tickets_or_more_than_twenty_are_refused_as_invalid(aws: Any) -> None:
    event, standing, _ = two_type_event()
    empty = post("/create-ticket", {"event_id": event["event_id"], "tickets": []}, user=ALICE)
    many = order(event["event_id"], [(standing, "x")] * 21, buyer=ALICE)
    assert (empty.status, empty.code) == (400, "validation_error")
    assert (many.status, many.code) == (400, "validation_error")
    assert factories.stock_counts(event["event_id"])["seats"]["sold"] == 0


def test_a_sale_window_not_yet_open_or_closed_refuses(aws: Any) -> None:
    # Given types whose sale opens tomorrow, and one that closed a moment ago
    event = create_event(
        ticket_types=[
            {"name": "Late", "quota": 2, "opens_at": moment(timedelta(days=1))},
            {"name": "Early", "quota": 2, "closes_at": moment(timedelta(days=1))},
        ]
    )
    by_name = {t["name"]: t["ticket_type_id"] for t in event["ticket_types"]}
    closed = post(
        "/update-ticket-type",
        {
            "event_id": event["event_id"],
            "ticket_type_id": by_name["Early"],
            "closes_at": moment(timedelta(seconds=-1)),
        },
        user=ORGANIZER,
    )
    assert closed.status == 200, closed

    # When Alice orders either
    late = order(event["event_id"], [(by_name["Late"], "a")], buyer=ALICE)
    early = order(event["event_id"], [(by_name["Early"], "a")], buyer=ALICE)

    # Then each is refused with what the window says, and nothing is sold
    assert (late.status, late.code) == (409, "sale_not_open")
    assert late.body["error"]["opens_at"] == shown_types(event["event_id"])["Late"]["opens_at"]
    assert (early.status, early.code) == (409, "sale_closed")
    assert factories.stock_counts(event["event_id"])["seats"]["sold"] == 0


def test_an_event_that_started_sells_nothing(aws: Any) -> None:
    event = factories.put_event(starts_in=timedelta(seconds=-5))
    answer = order(event["event_id"], [(event["ticket_type_id"], "a")], buyer=ALICE)
    assert (answer.status, answer.code) == (409, "event_started")


def test_the_sample_order_takes_two_named_tickets(aws: Any) -> None:
    # Given the event and types the sample order names
    sample = load_event("create-ticket-order.json")
    factories.put_event(
        event_id="gq4tmzbx7k2nw5hd", ticket_type_ids=["mfzwizltoruwk3tf", "nfxgg4tfmrqxe2lt"]
    )

    # When it runs through the handler
    response = create_ticket_app.lambda_handler(sample, LambdaContext())

    # Then the sample's principal has one order of the two named tickets
    assert response["statusCode"] == 201, response["body"]
    tickets = json_body(response)["order"]["tickets"]
    assert [(t["ticket_type_id"], t["attendee_name"]) for t in tickets] == [
        ("mfzwizltoruwk3tf", "Ada Lovelace"),
        ("nfxgg4tfmrqxe2lt", "Charles Babbage"),
    ]


# ---------------------------------------------------------------------------- organizers


def test_an_organizer_adds_a_type_and_changes_another(aws: Any) -> None:
    # Given an event with two types, 2 Standing sold
    event, standing, _ = two_type_event(capacity=10)
    assert order(event["event_id"], [(standing, "a"), (standing, "b")], buyer=ALICE).status == 201

    # When the organizer adds a Balcony type and renames, re-sizes and re-describes Standing
    added = post(
        "/add-ticket-type",
        {"event_id": event["event_id"], "name": "Balcony", "quota": 2, "max_per_order": 2},
        user=ORGANIZER,
    )
    changed = post(
        "/update-ticket-type",
        {
            "event_id": event["event_id"],
            "ticket_type_id": standing,
            "name": "Floor",
            "description": "Near the stage",
            "quota": 6,
        },
        user=ORGANIZER,
    )

    # Then both answer with the type as it now is
    assert added.status == 201, added
    assert (added.body["ticket_type"]["name"], added.body["ticket_type"]["left"]) == ("Balcony", 2)
    assert changed.status == 200, changed
    floor = changed.body["ticket_type"]
    assert (floor["name"], floor["description"], floor["quota"]) == ("Floor", "Near the stage", 6)
    assert (floor["sold"], floor["left"]) == (2, 4)
    # and the public read shows three types in order
    assert list(shown_types(event["event_id"])) == ["Floor", "Seated", "Balcony"]


def test_a_quota_never_goes_below_what_is_sold(aws: Any) -> None:
    # Given 3 Standing tickets sold (quota 4)
    event, standing, _ = two_type_event()
    assert order(event["event_id"], [(standing, "x")] * 3, buyer=ALICE).status == 201

    # When the organizer lowers the quota to 2, then to 3
    below = post(
        "/update-ticket-type",
        {"event_id": event["event_id"], "ticket_type_id": standing, "quota": 2},
        user=ORGANIZER,
    )
    exact = post(
        "/update-ticket-type",
        {"event_id": event["event_id"], "ticket_type_id": standing, "quota": 3},
        user=ORGANIZER,
    )

    # Then below is refused with what is sold, and exactly what is sold is fine: none left
    assert (below.status, below.code) == (409, "quota_below_sold")
    assert below.body["error"]["minimum"] == 3
    assert exact.status == 200, exact
    assert exact.body["ticket_type"]["left"] == 0
    assert factories.stock_counts(event["event_id"])["types"][standing] == {
        "sold": 3,
        "available": 0,
    }


def test_only_the_organizer_changes_types_and_at_most_twenty(aws: Any) -> None:
    event, standing, _ = two_type_event()
    stranger = post(
        "/update-ticket-type",
        {"event_id": event["event_id"], "ticket_type_id": standing, "paused": True},
        user=BOB,
    )
    assert (stranger.status, stranger.code) == (403, "forbidden")
    for number in range(18):
        added = post(
            "/add-ticket-type",
            {"event_id": event["event_id"], "name": f"T{number}", "quota": 1},
            user=ORGANIZER,
        )
        assert added.status == 201, added
    one_more = post(
        "/add-ticket-type",
        {"event_id": event["event_id"], "name": "T21", "quota": 1},
        user=ORGANIZER,
    )
    assert (one_more.status, one_more.code) == (409, "too_many_ticket_types")
    assert len(shown_types(event["event_id"])) == 20


def test_an_unknown_type_or_event_answers_404(aws: Any) -> None:
    event, _, _ = two_type_event()
    other_type = create_event()["ticket_types"][0]["ticket_type_id"]
    unknown_type = post(
        "/update-ticket-type",
        {"event_id": event["event_id"], "ticket_type_id": other_type, "paused": True},
        user=ORGANIZER,
    )
    unknown_event = post(
        "/add-ticket-type", {"event_id": "aaaaaaaaaaaaaaaa", "name": "X", "quota": 1}, user=BOB
    )
    assert (unknown_type.status, unknown_type.code) == (404, "not_found")
    assert (unknown_event.status, unknown_event.code) == (404, "not_found")


def test_the_sample_type_changes_run(aws: Any) -> None:
    # Given the event the samples name, organized by their principal
    factories.put_event(
        event_id="gq4tmzbx7k2nw5hd",
        organizer="organizer@example.com",
        capacity=200,
        ticket_type_ids=["mfzwizltoruwk3tf"],
    )

    # When the samples run through their handlers
    added = add_ticket_type_app.lambda_handler(load_event("add-ticket-type.json"), LambdaContext())
    updated = update_ticket_type_app.lambda_handler(
        load_event("update-ticket-type.json"), LambdaContext()
    )

    # Then a Balcony type exists and the first type is paused with a quota of 150
    assert added["statusCode"] == 201, added["body"]
    assert json_body(added)["ticket_type"]["name"] == "Balcony"
    assert updated["statusCode"] == 200, updated["body"]
    first = json_body(updated)["ticket_type"]
    assert (first["quota"], first["paused"], first["on_sale"]) == (150, True, False)
