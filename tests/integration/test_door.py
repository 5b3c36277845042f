"""The door against moto: door staff an organizer invites and revokes, gates with the types they
admit, entries and exits, re-entry, and counts that always add up (docs/decisions/0060)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from functions.check_in import app as check_in_app
from functions.door import app as door_app
from gatepass import ids
from tests.conftest import load_event
from tests.support import factories
from tests.support.api import api_event, json_body

pytestmark = pytest.mark.integration

ORGANIZER = "olivia@example.com"
STAFF = "sam@example.com"


def call(
    lambda_context: Any,
    method: str,
    path: str,
    body: Any = None,
    user: str = ORGANIZER,
    path_parameters: dict[str, str] | None = None,
    resource: str | None = None,
) -> dict[str, Any]:
    request = api_event(
        method, path, body=body, user=user, path_parameters=path_parameters, resource=resource
    )
    handler = check_in_app if path in ("/check-in", "/sync-scans") else door_app
    response: dict[str, Any] = handler.lambda_handler(request, lambda_context)
    return response


def door(lambda_context: Any, event_id: str, user: str = ORGANIZER) -> dict[str, Any]:
    return call(
        lambda_context,
        "GET",
        f"/events/{event_id}/door",
        user=user,
        path_parameters={"event_id": event_id},
        resource="/events/{event_id}/door",
    )


def scan(
    lambda_context: Any,
    event_id: str,
    code: str,
    *,
    user: str = ORGANIZER,
    gate_id: str | None = None,
    direction: str | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"event_id": event_id, "code": code}
    if gate_id:
        body["gate_id"] = gate_id
    if direction:
        body["direction"] = direction
    return call(lambda_context, "POST", "/check-in", body, user=user)


def add_gate(lambda_context: Any, event_id: str, name: str, **fields: Any) -> dict[str, Any]:
    response = call(
        lambda_context, "POST", "/add-gate", {"event_id": event_id, "name": name, **fields}
    )
    assert response["statusCode"] == 201, response["body"]
    gate: dict[str, Any] = json_body(response)["gate"]
    return gate


def totals(lambda_context: Any, event_id: str) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    answer = json_body(door(lambda_context, event_id))
    return answer["totals"], {g["name"]: g for g in answer["gates"]}


# ---------------------------------------------------------------------------- door staff


def test_invited_staff_scan_for_that_event_only_and_each_check_in_names_them(
    aws: Any, lambda_context: Any
) -> None:
    # Given Olivia's event, another event of hers, and a ticket for each
    event = factories.put_event(organizer=ORGANIZER)
    other = factories.put_event(organizer=ORGANIZER, title="Another night")
    ticket = factories.put_ticket(event, attendee_name="Alice Liddell")
    other_ticket = factories.put_ticket(other, holder="bob@example.com")

    # When Olivia invites Sam to scan for the first event
    invited = call(
        lambda_context,
        "POST",
        "/add-door-staff",
        {"event_id": event["event_id"], "email": "Sam@Example.com"},
    )

    # Then Sam is active door staff of it
    assert invited["statusCode"] == 200
    assert json_body(invited)["member"]["email"] == STAFF
    assert json_body(invited)["member"]["status"] == "active"
    # and Sam finds exactly that event among the events he may scan
    mine = json_body(call(lambda_context, "GET", "/door-events", user=STAFF))
    assert [e["event_id"] for e in mine["events"]] == [event["event_id"]]
    assert mine["events"][0]["role"] == "staff"

    # When Sam scans the ticket
    scanned = scan(lambda_context, event["event_id"], ticket["code"], user=STAFF)

    # Then it is checked in, and the ticket records who scanned it
    assert scanned["statusCode"] == 200, scanned["body"]
    assert json_body(scanned)["scanned_by"] == STAFF
    assert json_body(scanned)["attendee_name"] == "Alice Liddell"
    stored = factories.get_item(ticket["pk"])
    assert stored is not None
    assert stored["checked_in_by"] == STAFF

    # But Sam may not scan for Olivia's other event, nor change the door
    refused = scan(lambda_context, other["event_id"], other_ticket["code"], user=STAFF)
    assert refused["statusCode"] == 403
    assert json_body(refused)["error"]["code"] == "not_door_staff"
    meddling = call(
        lambda_context,
        "POST",
        "/add-door-staff",
        {"event_id": event["event_id"], "email": "eve@example.com"},
        user=STAFF,
    )
    assert meddling["statusCode"] == 403
    # and Sam sees the door's counts but not its staff list
    seen = json_body(door(lambda_context, event["event_id"], user=STAFF))
    assert seen["role"] == "staff"
    assert seen["staff"] == []
    assert seen["totals"]["arrived"] == 1


def test_a_revoked_staff_members_next_scan_is_refused(aws: Any, lambda_context: Any) -> None:
    # Given Sam scans for Olivia's event
    event = factories.put_event(organizer=ORGANIZER)
    first = factories.put_ticket(event, holder="alice@example.com")
    second = factories.put_ticket(event, holder="bob@example.com")
    call(lambda_context, "POST", "/add-door-staff", {"event_id": event["event_id"], "email": STAFF})
    assert scan(lambda_context, event["event_id"], first["code"], user=STAFF)["statusCode"] == 200

    # When Olivia revokes him
    revoked = call(
        lambda_context,
        "POST",
        "/remove-door-staff",
        {"event_id": event["event_id"], "email": STAFF},
    )
    assert revoked["statusCode"] == 200
    assert json_body(revoked)["member"]["status"] == "revoked"

    # Then his next scan is refused and the ticket stays issued
    refused = scan(lambda_context, event["event_id"], second["code"], user=STAFF)
    assert refused["statusCode"] == 403
    assert json_body(refused)["error"]["code"] == "staff_revoked"
    stored = factories.get_item(second["pk"])
    assert stored is not None
    assert stored["status"] == "issued"
    # and the event no longer appears among his events
    assert json_body(call(lambda_context, "GET", "/door-events", user=STAFF))["events"] == []
    # and Olivia's list shows him revoked
    staff = json_body(door(lambda_context, event["event_id"]))["staff"]
    assert [(m["email"], m["status"]) for m in staff] == [(STAFF, "revoked")]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"email": "olivia@example.com"}, 400, "organizer_is_staff"),
        ({"email": "not-an-address"}, 400, "validation_error"),
        ({"email": STAFF, "event_id": "mfrggzdfmztwq2lk"}, 404, "not_found"),
    ],
    ids=["the-organizer", "bad-address", "no-such-event"],
)
def test_bad_staff_invitations_are_refused_and_change_nothing(
    aws: Any, lambda_context: Any, body: dict[str, Any], status: int, code: str
) -> None:
    event = factories.put_event(organizer=ORGANIZER)
    response = call(
        lambda_context, "POST", "/add-door-staff", {"event_id": event["event_id"], **body}
    )
    assert response["statusCode"] == status
    assert json_body(response)["error"]["code"] == code
    assert json_body(door(lambda_context, event["event_id"]))["staff"] == []


def test_removing_someone_who_is_not_staff_answers_404(aws: Any, lambda_context: Any) -> None:
    event = factories.put_event(organizer=ORGANIZER)
    response = call(
        lambda_context,
        "POST",
        "/remove-door-staff",
        {"event_id": event["event_id"], "email": STAFF},
    )
    assert response["statusCode"] == 404


# ---------------------------------------------------------------------------- gates


def test_a_gate_refuses_a_type_it_does_not_admit_with_the_reason(
    aws: Any, lambda_context: Any
) -> None:
    # Given an event with two types, a VIP gate that admits only the second
    general, vip = ids.new_id(), ids.new_id()
    event = factories.put_event(organizer=ORGANIZER, ticket_type_ids=[general, vip])
    gate = add_gate(
        lambda_context, event["event_id"], "VIP entrance", ticket_type_ids=[vip], mode="entry"
    )
    ticket = factories.put_ticket(event, attendee_name="Alice Liddell")

    # When a general-admission ticket is scanned there
    refused = scan(lambda_context, event["event_id"], ticket["code"], gate_id=gate["gate_id"])

    # Then it is refused, saying which gate and which type, and nothing moves
    assert refused["statusCode"] == 409
    error = json_body(refused)["error"]
    assert error["code"] == "wrong_gate"
    assert "VIP entrance" in error["message"]
    assert error["attendee_name"] == "Alice Liddell"
    assert error["ticket_type_name"] == "General admission"
    counted, gates = totals(lambda_context, event["event_id"])
    assert counted["arrived"] == 0
    assert gates["VIP entrance"]["entries"] == 0


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"name": ""}, 400, "validation_error"),
        ({"name": "X", "mode": "sideways"}, 400, "validation_error"),
        ({"name": "X", "ticket_type_ids": ["mfrggzdfmztwq2lk"]}, 400, "validation_error"),
    ],
    ids=["no-name", "bad-mode", "type-of-another-event"],
)
def test_bad_gates_are_refused(
    aws: Any, lambda_context: Any, body: dict[str, Any], status: int, code: str
) -> None:
    event = factories.put_event(organizer=ORGANIZER)
    response = call(lambda_context, "POST", "/add-gate", {"event_id": event["event_id"], **body})
    assert response["statusCode"] == status
    assert json_body(response)["error"]["code"] == code
    assert json_body(door(lambda_context, event["event_id"]))["gates"] == []


def test_a_closed_gate_and_a_wrong_direction_are_refused(aws: Any, lambda_context: Any) -> None:
    event = factories.put_event(organizer=ORGANIZER)
    ticket = factories.put_ticket(event)
    exit_only = add_gate(lambda_context, event["event_id"], "Car park exit", mode="exit")
    side = add_gate(lambda_context, event["event_id"], "Side door")

    wrong_way = scan(
        lambda_context,
        event["event_id"],
        ticket["code"],
        gate_id=exit_only["gate_id"],
        direction="in",
    )
    assert wrong_way["statusCode"] == 409
    assert json_body(wrong_way)["error"]["code"] == "wrong_direction"

    closed = call(
        lambda_context,
        "POST",
        "/update-gate",
        {"event_id": event["event_id"], "gate_id": side["gate_id"], "closed": True},
    )
    assert json_body(closed)["gate"]["closed"] is True
    refused = scan(lambda_context, event["event_id"], ticket["code"], gate_id=side["gate_id"])
    assert refused["statusCode"] == 409
    assert json_body(refused)["error"]["code"] == "gate_closed"

    unknown = scan(lambda_context, event["event_id"], ticket["code"], gate_id=ids.new_id())
    assert unknown["statusCode"] == 404
    assert json_body(unknown)["error"]["code"] == "unknown_gate"
    stored = factories.get_item(ticket["pk"])
    assert stored is not None
    assert stored["status"] == "issued"


# ---------------------------------------------------------------------------- re-entry and counts


def test_re_entry_needs_an_exit_scan_and_counts_always_add_up(
    aws: Any, lambda_context: Any
) -> None:
    # Given an event with a north entrance and an exit, and Alice's and Bob's tickets
    event = factories.put_event(organizer=ORGANIZER)
    north = add_gate(lambda_context, event["event_id"], "North", mode="entry")
    south = add_gate(lambda_context, event["event_id"], "South")
    alice = factories.put_ticket(event, holder="alice@example.com", attendee_name="Alice")
    bob = factories.put_ticket(event, holder="bob@example.com", attendee_name="Bob")
    event_id = event["event_id"]

    # When both come in through North
    assert (
        scan(lambda_context, event_id, alice["code"], gate_id=north["gate_id"])["statusCode"] == 200
    )
    assert (
        scan(lambda_context, event_id, bob["code"], gate_id=north["gate_id"])["statusCode"] == 200
    )

    # Then Alice cannot come in a second time through South
    again = scan(lambda_context, event_id, alice["code"], gate_id=south["gate_id"])
    assert again["statusCode"] == 409
    assert json_body(again)["error"]["code"] == "already_checked_in"
    assert json_body(again)["error"]["first_gate_id"] == north["gate_id"]
    counted, gates = totals(lambda_context, event_id)
    assert (counted["arrived"], counted["inside"], counted["left"]) == (2, 2, 0)
    assert gates["North"]["inside"] == 2

    # When Alice leaves through South
    out = scan(lambda_context, event_id, alice["code"], gate_id=south["gate_id"], direction="out")
    assert out["statusCode"] == 200, out["body"]
    assert json_body(out)["presence"] == "left"
    counted, gates = totals(lambda_context, event_id)
    assert (counted["arrived"], counted["inside"], counted["left"]) == (2, 1, 1)
    assert (gates["North"]["inside"], gates["South"]["exits"]) == (1, 1)

    # Then she cannot leave twice
    twice = scan(lambda_context, event_id, alice["code"], gate_id=south["gate_id"], direction="out")
    assert twice["statusCode"] == 409
    assert json_body(twice)["error"]["code"] == "not_inside"

    # When she comes back in through South
    back = scan(lambda_context, event_id, alice["code"], gate_id=south["gate_id"])
    assert back["statusCode"] == 200
    assert json_body(back)["re_entry"] is True

    # Then she counts once as arrived and is inside again, attributed to South
    counted, gates = totals(lambda_context, event_id)
    assert (counted["arrived"], counted["inside"], counted["left"]) == (2, 2, 0)
    assert (gates["North"]["entries"], gates["North"]["inside"]) == (2, 1)
    assert (gates["South"]["entries"], gates["South"]["exits"], gates["South"]["inside"]) == (
        1,
        1,
        1,
    )
    assert (
        counted["inside"]
        == sum(g["inside"] for g in gates.values()) + counted["inside_without_gate"]
    )
    # and her ticket still says when and where she first came in
    stored = factories.get_item(alice["pk"])
    assert stored is not None
    assert stored["checked_in_gate"] == north["gate_id"]
    assert stored["presence"] == "inside"


def test_a_multi_entry_type_passes_again_without_an_exit(aws: Any, lambda_context: Any) -> None:
    # Given an event with a day-pass type that allows several entries
    event = factories.put_event(organizer=ORGANIZER)
    response = call(
        lambda_context,
        "POST",
        "/add-gate",
        {"event_id": event["event_id"], "name": "Main"},
    )
    main = json_body(response)["gate"]
    from functions.add_ticket_type import app as add_type_app

    added = add_type_app.lambda_handler(
        api_event(
            "POST",
            "/add-ticket-type",
            body={
                "event_id": event["event_id"],
                "name": "Day pass",
                "quota": 5,
                "multi_entry": True,
            },
            user=ORGANIZER,
        ),
        lambda_context,
    )
    assert added["statusCode"] == 201, added["body"]
    day_pass = json_body(added)["ticket_type"]
    assert day_pass["multi_entry"] is True
    ticket = factories.put_ticket(event, ticket_type_id=day_pass["ticket_type_id"])

    # When it is scanned in twice with no exit between
    first = scan(lambda_context, event["event_id"], ticket["code"], gate_id=main["gate_id"])
    second = scan(lambda_context, event["event_id"], ticket["code"], gate_id=main["gate_id"])

    # Then both are admitted, and the holder counts once, inside
    assert (first["statusCode"], second["statusCode"]) == (200, 200)
    counted, gates = totals(lambda_context, event["event_id"])
    assert (counted["arrived"], counted["inside"], counted["left"]) == (1, 1, 0)
    assert (gates["Main"]["entries"], gates["Main"]["inside"]) == (2, 1)


def test_the_sample_event_files_run_through_the_door_function(
    aws: Any, lambda_context: Any
) -> None:
    # Given the samples' organizer and event, and a gate whose id the update sample names
    add = load_event("door-add-door-staff.json")
    organizer = add["requestContext"]["authorizer"]["principalId"]
    event_id = json.loads(add["body"])["event_id"]
    factories.put_event(organizer=organizer, event_id=event_id)
    gate_sample = load_event("door-update-gate.json")
    factories.put_gate(event_id, json.loads(gate_sample["body"])["gate_id"], name="Sample gate")

    # When each sample runs, in order
    answers = {
        name: door_app.lambda_handler(load_event(name), lambda_context)
        for name in (
            "door-add-door-staff.json",
            "door-add-gate.json",
            "door-update-gate.json",
            "door-event-door.json",
            "door-remove-door-staff.json",
            "door-door-events.json",
        )
    }

    # Then each succeeds and the door shows what they did
    assert {name: a["statusCode"] for name, a in answers.items()} == {
        **dict.fromkeys(answers, 200),
        "door-add-gate.json": 201,
    }
    shown = json_body(answers["door-event-door.json"])
    assert [m["email"] for m in shown["staff"]] == ["sam@example.com"]
    assert sorted(g["name"] for g in shown["gates"]) == ["North gate", "Sample gate"]
    assert json_body(answers["door-update-gate.json"])["gate"]["closed"] is True
