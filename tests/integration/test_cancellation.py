"""Cancelling tickets, orders and events against moto: seats come back at once, codes are
revoked (check-in refuses them with the reason, the revocation list names them), and every
refusal has its own code and changes nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from functions.cancel_event import app as cancel_event_app
from functions.cancel_ticket import app as cancel_ticket_app
from functions.event_revocations import app as event_revocations_app
from gatepass import ticket_codes
from tests.conftest import load_event
from tests.support import factories
from tests.support.api import LambdaContext, json_body
from tests.support.mail import sent_to
from tests.support.ticketing import ORGANIZER, create_event, get_event, order, post, revocations

pytestmark = pytest.mark.integration

ALICE = "alice@example.com"
BOB = "bob@example.com"


def two_types() -> tuple[dict[str, Any], str, str]:
    event = create_event(
        capacity=6,
        ticket_types=[{"name": "Floor", "quota": 4}, {"name": "Balcony", "quota": 4}],
    )
    kinds = {t["name"]: t["ticket_type_id"] for t in event["ticket_types"]}
    return event, kinds["Floor"], kinds["Balcony"]


def check_in(event_id: str, code: str) -> Any:
    return post("/check-in", {"event_id": event_id, "code": code}, user=ORGANIZER)


def test_a_cancelled_ticket_gives_its_seat_back_and_its_code_is_revoked(aws: Any) -> None:
    # Given Alice ordered a Floor and a Balcony ticket
    event, floor, balcony = two_types()
    placed = order(event["event_id"], [(floor, "Alice"), (balcony, "Ann")], buyer=ALICE)
    first, second = placed.body["order"]["tickets"]

    # When she cancels the Floor ticket
    answer = post("/cancel-ticket", {"ticket_id": first["ticket_id"]}, user=ALICE)

    # Then it is cancelled, its seat is for sale again on the event and the type, and her
    # count went down
    assert answer.status == 200, answer
    (cancelled,) = answer.body["cancelled"]
    assert (cancelled["ticket_id"], cancelled["status"]) == (first["ticket_id"], "cancelled")
    assert cancelled["revoked_reason"] == "cancelled_by_holder"
    counts = factories.stock_counts(event["event_id"])
    assert counts["seats"] == {"sold": 1, "available": 5}
    assert counts["types"][floor] == {"sold": 0, "available": 4}
    assert counts["buyers"] == {ALICE: 1}
    # and the order is still confirmed with one live ticket
    stored = factories.get_item(f"ORDER#{placed.body['order']['order_id']}")
    assert stored is not None
    assert (stored["status"], stored["live_count"]) == ("confirmed", 1)
    # and check-in refuses the code with the reason, while the other ticket checks in
    refused = check_in(event["event_id"], first["code"])
    assert (refused.status, refused.code) == (409, "ticket_revoked")
    assert refused.body["error"]["reason"] == "cancelled_by_holder"
    assert check_in(event["event_id"], second["code"]).status == 200
    # and the event's revocation list names it, and offline its signature is still genuine
    listed = revocations(event["event_id"]).body["revocations"]
    assert [(r["ticket_id"], r["reason"]) for r in listed] == [
        (first["ticket_id"], "cancelled_by_holder")
    ]
    verifying_key = get_event(event["event_id"]).body["verifying_key"]
    scanned = ticket_codes.verify_with_public_key(verifying_key, first["code"])
    assert scanned.ticket_id in {r["ticket_id"] for r in listed}


def test_cancelling_an_order_cancels_every_ticket_the_caller_holds(aws: Any) -> None:
    event, floor, balcony = two_types()
    placed = order(event["event_id"], [(floor, "a"), (floor, "b"), (balcony, "c")], buyer=ALICE)
    answer = post("/cancel-ticket", {"order_id": placed.body["order"]["order_id"]}, user=ALICE)
    assert answer.status == 200, answer
    assert len(answer.body["cancelled"]) == 3
    counts = factories.stock_counts(event["event_id"])
    assert counts["seats"] == {"sold": 0, "available": 6}
    assert counts["buyers"] == {}
    stored = factories.get_item(f"ORDER#{placed.body['order']['order_id']}")
    assert stored is not None
    assert (stored["status"], stored["live_count"]) == ("cancelled", 0)
    # and a new order fits again, up to the freed seats
    assert order(event["event_id"], [(floor, "x")] * 4, buyer=BOB).status == 201


@pytest.mark.parametrize(
    ("situation", "status", "code"),
    [
        ("someone-else", 403, "forbidden"),
        ("twice", 409, "ticket_not_active"),
        ("checked-in", 409, "ticket_not_active"),
        ("unknown", 404, "not_found"),
        ("both-ids", 400, "validation_error"),
    ],
)
def test_cancellations_that_are_not_allowed_change_nothing(
    aws: Any, situation: str, status: int, code: str
) -> None:
    event, floor, _ = two_types()
    ticket = order(event["event_id"], [(floor, "a")], buyer=ALICE).body["ticket"]
    body: dict[str, Any] = {"ticket_id": ticket["ticket_id"]}
    caller = ALICE
    if situation == "someone-else":
        caller = BOB
    elif situation == "twice":
        assert post("/cancel-ticket", body, user=ALICE).status == 200
    elif situation == "checked-in":
        assert check_in(event["event_id"], ticket["code"]).status == 200
    elif situation == "unknown":
        body = {"ticket_id": "aaaaaaaaaaaaaaaa"}
    elif situation == "both-ids":
        body = {"ticket_id": ticket["ticket_id"], "order_id": ticket["order_id"]}
    before = factories.stock_counts(event["event_id"])
    answer = post("/cancel-ticket", body, user=caller)
    assert (answer.status, answer.code) == (status, code), answer
    assert factories.stock_counts(event["event_id"]) == before


def test_nothing_is_cancelled_once_the_event_started(aws: Any) -> None:
    event = factories.put_event(capacity=5)
    ticket = factories.put_ticket(event, holder=ALICE)
    factories.start_event(event["event_id"])
    before = factories.stock_counts(event["event_id"])
    answer = post("/cancel-ticket", {"ticket_id": ticket["ticket_id"]}, user=ALICE)
    assert (answer.status, answer.code) == (409, "event_started")
    assert factories.stock_counts(event["event_id"]) == before


def test_cancelling_an_event_revokes_every_ticket_emails_holders_and_stops_sales(
    aws: Any,
) -> None:
    # Given an event with tickets held by Alice (2) and Bob (1)
    event, floor, balcony = two_types()
    alice = order(event["event_id"], [(floor, "a"), (balcony, "b")], buyer=ALICE)
    bob = order(event["event_id"], [(floor, "c")], buyer=BOB)
    assert alice.status == bob.status == 201

    # When a stranger tries, and then the organizer cancels it
    stranger = post("/cancel-event", {"event_id": event["event_id"]}, user=BOB)
    answer = post("/cancel-event", {"event_id": event["event_id"]}, user=ORGANIZER)

    # Then only the organizer may; every ticket is revoked and each holder emailed once
    assert (stranger.status, stranger.code) == (403, "forbidden")
    assert answer.status == 200, answer
    assert (answer.body["status"], answer.body["revoked"], answer.body["notified"]) == (
        "cancelled",
        3,
        2,
    )
    assert {s for _, s in factories.stock_counts(event["event_id"])["tickets"]} == {"cancelled"}
    assert len(sent_to(ALICE)) == len(sent_to(BOB)) == 1
    assert "cancelled" in sent_to(ALICE)[0]["Message"]
    # and it shows as cancelled, sells nothing more, and checks nobody in
    public = get_event(event["event_id"]).body
    assert public["status"] == "cancelled"
    assert not any(t["on_sale"] for t in public["ticket_types"])
    refused = order(event["event_id"], [(floor, "d")], buyer="carol@example.com")
    assert (refused.status, refused.code) == (409, "event_cancelled")
    code = bob.body["ticket"]["code"]
    assert check_in(event["event_id"], code).code == "ticket_revoked"
    assert len(revocations(event["event_id"]).body["revocations"]) == 3
    # and cancelling again changes nothing and mails nobody again
    again = post("/cancel-event", {"event_id": event["event_id"]}, user=ORGANIZER)
    assert (again.status, again.body["revoked"], again.body["notified"]) == (200, 0, 0)
    assert len(sent_to(ALICE)) == 1


def test_the_revocation_list_continues_from_a_position(aws: Any) -> None:
    event, floor, _ = two_types()
    tickets = order(event["event_id"], [(floor, "a"), (floor, "b")], buyer=ALICE).body["order"][
        "tickets"
    ]
    assert post("/cancel-ticket", {"ticket_id": tickets[0]["ticket_id"]}, user=ALICE).status == 200
    first = revocations(event["event_id"]).body
    assert post("/cancel-ticket", {"ticket_id": tickets[1]["ticket_id"]}, user=ALICE).status == 200
    later = revocations(event["event_id"], since=first["next_since"]).body
    assert [r["ticket_id"] for r in first["revocations"]] == [tickets[0]["ticket_id"]]
    assert [r["ticket_id"] for r in later["revocations"]] == [tickets[1]["ticket_id"]]
    empty = revocations(event["event_id"], since=later["next_since"]).body
    assert (empty["revocations"], empty["next_since"]) == ([], later["next_since"])


def test_the_samples_run(aws: Any) -> None:
    # Given the event and the ticket the samples name
    event = factories.put_event(
        event_id="gq4tmzbx7k2nw5hd", organizer="organizer@example.com", capacity=10
    )
    factories.put_ticket(event, holder=ALICE, ticket_id="oruwg23foqydambr")
    factories.put_event(event_id="mfrggzdfmztwq2lk")

    # When the samples run through their handlers
    cancelled = cancel_ticket_app.lambda_handler(load_event("cancel-ticket.json"), LambdaContext())
    closed = cancel_event_app.lambda_handler(load_event("cancel-event.json"), LambdaContext())
    listed = event_revocations_app.lambda_handler(
        load_event("event-revocations.json"), LambdaContext()
    )

    # Then the ticket is cancelled, the event with it, and the other event lists nothing
    assert load_event("event-revocations.json")["resource"] == "/events/{event_id}/revocations"
    assert cancelled["statusCode"] == 200, cancelled["body"]
    assert json_body(cancelled)["cancelled"][0]["status"] == "cancelled"
    assert closed["statusCode"] == 200, closed["body"]
    assert json_body(closed)["status"] == "cancelled"
    assert listed["statusCode"] == 200
    assert json_body(listed)["revocations"] == []


def test_starting_soon_is_still_cancellable(aws: Any) -> None:
    event = factories.put_event(capacity=5, starts_in=timedelta(minutes=5))
    ticket = factories.put_ticket(event, holder=ALICE)
    assert post("/cancel-ticket", {"ticket_id": ticket["ticket_id"]}, user=ALICE).status == 200
