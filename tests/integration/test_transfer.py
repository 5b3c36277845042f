"""Giving a ticket to someone else against moto: the old code is revoked, the recipient gets a
new ticket with its own code, is emailed, and finds it under their tickets."""

from __future__ import annotations

from typing import Any

import pytest

from functions.transfer_ticket import app as transfer_ticket_app
from tests.conftest import load_event
from tests.support import factories
from tests.support.api import LambdaContext, json_body
from tests.support.mail import sent_to
from tests.support.streams import deliver_tickets
from tests.support.ticketing import ORGANIZER, create_event, order, post, revocations

pytestmark = pytest.mark.integration

ALICE = "alice@example.com"
BOB = "bob@example.com"


def alices_ticket() -> tuple[dict[str, Any], dict[str, Any]]:
    event = create_event(capacity=5)
    kind = event["ticket_types"][0]["ticket_type_id"]
    placed = order(event["event_id"], [(kind, "Bob Dylan")], buyer=ALICE)
    return event, placed.body["ticket"]


def test_a_transferred_ticket_arrives_with_a_new_code_and_the_old_one_is_revoked(
    aws: Any,
) -> None:
    # Given Alice holds a ticket she bought for Bob
    event, ticket = alices_ticket()

    # When she gives it to Bob
    answer = post(
        "/transfer-ticket",
        {"ticket_id": ticket["ticket_id"], "to_email": "Bob@Example.com"},
        user=ALICE,
    )

    # Then Bob holds a new ticket of the same order, type and name, with its own genuine code
    assert answer.status == 200, answer
    new = answer.body["ticket"]
    assert answer.body["transferred"] == ticket["ticket_id"]
    assert (new["holder"], new["status"]) == (BOB, "issued")
    assert new["ticket_id"] != ticket["ticket_id"]
    assert (new["order_id"], new["ticket_type_id"], new["attendee_name"]) == (
        ticket["order_id"],
        ticket["ticket_type_id"],
        "Bob Dylan",
    )
    assert factories.verify_code(new["code"]).ticket_id == new["ticket_id"]
    assert factories.decode_qr_png(factories.stored_qr(new["ticket_id"])) == [new["code"]]
    # and he is emailed the new ticket (from the stream), and finds it under his tickets
    deliver_tickets(aws)
    [mail] = sent_to(BOB)
    assert new["code"] in mail["Message"]
    assert [t["ticket_id"] for t in factories.tickets_held_by(BOB)] == [new["ticket_id"]]
    # and the old code is revoked: listed, and refused at the door, while the new one works
    listed = revocations(event["event_id"]).body["revocations"]
    assert [(r["ticket_id"], r["reason"]) for r in listed] == [(ticket["ticket_id"], "transferred")]
    refused = post(
        "/check-in", {"event_id": event["event_id"], "code": ticket["code"]}, user=ORGANIZER
    )
    assert (refused.status, refused.code) == (409, "ticket_revoked")
    admitted = post(
        "/check-in", {"event_id": event["event_id"], "code": new["code"]}, user=ORGANIZER
    )
    assert admitted.status == 200, admitted
    # and seats and the buyer's count did not move
    counts = factories.stock_counts(event["event_id"])
    assert counts["seats"]["sold"] == 1
    assert counts["buyers"] == {ALICE: 1}


@pytest.mark.parametrize(
    ("situation", "status", "code"),
    [
        ("to-self", 400, "transfer_to_self"),
        ("malformed", 400, "validation_error"),
        ("someone-else", 403, "forbidden"),
        ("already-given", 409, "ticket_not_active"),
        ("event-started", 409, "event_started"),
    ],
)
def test_transfers_that_are_not_allowed_change_nothing(
    aws: Any, situation: str, status: int, code: str
) -> None:
    event, ticket = alices_ticket()
    body = {"ticket_id": ticket["ticket_id"], "to_email": BOB}
    caller = ALICE
    if situation == "to-self":
        body["to_email"] = "ALICE@example.com"
    elif situation == "malformed":
        body["to_email"] = "bob@"
    elif situation == "someone-else":
        caller = BOB
    elif situation == "already-given":
        assert post("/transfer-ticket", body, user=ALICE).status == 200
        body["to_email"] = "carol@example.com"
    elif situation == "event-started":
        factories.start_event(event["event_id"])
    before = factories.stock_counts(event["event_id"])
    answer = post("/transfer-ticket", body, user=caller)
    assert (answer.status, answer.code) == (status, code), answer
    assert factories.stock_counts(event["event_id"]) == before
    assert sent_to("carol@example.com") == []


def test_the_sample_transfer_runs(aws: Any) -> None:
    event = factories.put_event(event_id="gq4tmzbx7k2nw5hd", capacity=10)
    factories.put_ticket(event, holder=ALICE, ticket_id="oruwg23foqydambr")
    answer = transfer_ticket_app.lambda_handler(load_event("transfer-ticket.json"), LambdaContext())
    assert answer["statusCode"] == 200, answer["body"]
    assert json_body(answer)["ticket"]["holder"] == BOB
