"""The waiting list against moto: joining a sold-out type, freed seats offered to the head of
the line by email (the stream consumer, the offer timer in moto's Step Functions), claiming,
declining, expiring, leaving, raised quotas and cancelled events. Every refusal has its own code
and changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from devstack.template import TemplateModel
from functions.offers import app as offers_app
from functions.waitlist import app as waitlist_app
from functions.waitlist_places import app as places_app
from gatepass.logic import waitlist as waitlist_logic
from tests.conftest import load_event
from tests.support import factories
from tests.support.api import LambdaContext, json_body
from tests.support.mail import sent_to
from tests.support.stream import StreamDelivery
from tests.support.ticketing import ORGANIZER, create_event, my_waitlist, order, post
from tests.support.waitlist import offers_mailed_to
from tests.support.workflow import finished

pytestmark = pytest.mark.integration

ALICE = "alice@example.com"
BOB = "bob@example.com"
CAROL = "carol@example.com"
DAVE = "dave@example.com"


@pytest.fixture
def stream(aws: TemplateModel) -> Iterator[StreamDelivery]:
    """The TicketingTable stream, delivered to WaitlistFunction on demand; the offer timers
    still waiting at the end are stopped."""
    yield StreamDelivery(aws)
    sfn = boto3.client("stepfunctions")
    machine = aws.created["OfferStateMachine"]["ref"]
    for execution in sfn.list_executions(stateMachineArn=machine)["executions"]:
        if execution["status"] == "RUNNING":
            sfn.stop_execution(executionArn=execution["executionArn"])


def lifetime(monkeypatch: pytest.MonkeyPatch, seconds: int) -> None:
    """Offers made from now on last ``seconds`` (WaitlistOfferLifetimeSeconds)."""
    changed = waitlist_app.settings.model_copy(update={"waitlist_offer_lifetime_seconds": seconds})
    monkeypatch.setattr(waitlist_app, "settings", changed)


def floor_sold_out(capacity: int = 3) -> tuple[str, str, str, dict[str, Any]]:
    """An event with a Floor type of one seat, which Alice holds, and a Balcony type."""
    event = create_event(
        capacity=capacity,
        ticket_types=[{"name": "Floor", "quota": 1}, {"name": "Balcony", "quota": 1}],
    )
    kinds = {t["name"]: t["ticket_type_id"] for t in event["ticket_types"]}
    held = order(event["event_id"], [(kinds["Floor"], "Alice")], buyer=ALICE)
    assert held.status == 201, held
    return event["event_id"], kinds["Floor"], kinds["Balcony"], held.body["ticket"]


def join(event_id: str, type_id: str, user: str) -> Any:
    return post("/join-waitlist", {"event_id": event_id, "ticket_type_id": type_id}, user=user)


def offer_of(user: str) -> str:
    """The offer id of the link last emailed to ``user``."""
    links = offers_mailed_to(user)
    assert links, f"no offer emailed to {user}"
    return links[-1]


def line(event_id: str, type_id: str) -> dict[str, int]:
    kind = factories.ticket_type(event_id, type_id)
    return {name: int(kind.get(name, 0)) for name in ("available", "sold", "held", "queue")} | {
        "unassigned": int(kind.get("unassigned", 0))
    }


# ---------------------------------------------------------------------------- joining


def test_joining_a_sold_out_type_answers_each_persons_place_in_line(aws: Any) -> None:
    # Given Floor is sold out
    event_id, floor, _, _ = floor_sold_out()

    # When Bob and then Carol join its waiting list
    bob = join(event_id, floor, BOB)
    carol = join(event_id, floor, CAROL)

    # Then each is told their place, and each sees it under their waiting lists
    assert bob.status == 201, bob
    assert (bob.body["entry"]["status"], bob.body["entry"]["position"]) == ("waiting", 1)
    assert carol.body["entry"]["position"] == 2
    mine = my_waitlist(CAROL)
    assert mine.status == 200
    [entry] = mine.body["entries"]
    assert (entry["event_id"], entry["ticket_type_id"], entry["position"]) == (event_id, floor, 2)
    assert my_waitlist(DAVE).body == {"entries": []}
    assert line(event_id, floor)["queue"] == 2


@pytest.mark.parametrize(
    ("situation", "status", "code"),
    [
        ("not-sold-out", 409, "not_sold_out"),
        ("twice", 409, "already_waiting"),
        ("unknown-type", 400, "unknown_ticket_type"),
        ("type-of-another-event", 400, "unknown_ticket_type"),
        ("unknown-event", 404, "not_found"),
        ("cancelled-event", 409, "event_cancelled"),
        ("started-event", 409, "event_started"),
        ("malformed", 400, "validation_error"),
        ("signed-out", 401, "unauthorized"),
    ],
)
def test_joins_that_are_not_allowed_change_nothing(
    aws: Any, situation: str, status: int, code: str
) -> None:
    event_id, floor, balcony, _ = floor_sold_out()
    body: dict[str, Any] = {"event_id": event_id, "ticket_type_id": floor}
    caller: str | None = CAROL
    if situation == "not-sold-out":
        body["ticket_type_id"] = balcony
    elif situation == "twice":
        assert join(event_id, floor, CAROL).status == 201
    elif situation == "unknown-type":
        body["ticket_type_id"] = "aaaaaaaaaaaaaaaa"
    elif situation == "type-of-another-event":
        other = create_event(capacity=1)
        body["ticket_type_id"] = other["ticket_types"][0]["ticket_type_id"]
    elif situation == "unknown-event":
        body["event_id"] = "aaaaaaaaaaaaaaaa"
    elif situation == "cancelled-event":
        assert post("/cancel-event", {"event_id": event_id}, user=ORGANIZER).status == 200
    elif situation == "started-event":
        factories.start_event(event_id)
    elif situation == "malformed":
        body = {"event_id": event_id, "ticket_type_id": "not an id", "extra": 1}
    elif situation == "signed-out":
        caller = None
    before = (line(event_id, floor), line(event_id, balcony), my_waitlist(CAROL).body)

    answer = post("/join-waitlist", body, user=caller)

    assert (answer.status, answer.code) == (status, code), answer
    assert answer.body["error"]["message"]
    assert (line(event_id, floor), line(event_id, balcony), my_waitlist(CAROL).body) == before


# ---------------------------------------------------------------------------- offers


def test_a_freed_seat_is_offered_by_email_to_the_head_of_the_line_who_claims_it(
    aws: Any, stream: StreamDelivery
) -> None:
    # Given Bob and then Carol wait for Floor
    event_id, floor, _, alices = floor_sold_out()
    join(event_id, floor, BOB)
    join(event_id, floor, CAROL)

    # When Alice cancels her Floor ticket
    assert post("/cancel-ticket", {"ticket_id": alices["ticket_id"]}, user=ALICE).status == 200

    # Then the seat is the line's, not for sale, even before anyone is offered it
    assert line(event_id, floor) == {
        "available": 0,
        "sold": 0,
        "held": 1,
        "queue": 1,
        "unassigned": 1,
    }
    refused = order(event_id, [(floor, "Dave")], buyer=DAVE)
    assert (refused.status, refused.code) == (409, "ticket_type_sold_out")

    # And when the stream reaches the waiting list, Bob (first in line) is emailed a link
    stream.deliver()
    assert stream.failures == []
    offer_id = offer_of(BOB)
    assert [m["Subject"] for m in sent_to(BOB)] == ["A seat for you: Harbour Lights"]
    assert sent_to(CAROL) == []
    [entry] = my_waitlist(BOB).body["entries"]
    assert (entry["status"], entry["offer_id"]) == ("offered", offer_id)
    assert my_waitlist(CAROL).body["entries"][0]["position"] == 1
    # and the offer's timer runs, named after the offer
    sfn = boto3.client("stepfunctions")
    [timer] = sfn.list_executions(stateMachineArn=aws.created["OfferStateMachine"]["ref"])[
        "executions"
    ]
    assert timer["name"] == f"offer-{offer_id}"

    # When Carol tries to claim Bob's offer, and Bob claims it
    stolen = post("/claim-offer", {"offer_id": offer_id}, user=CAROL)
    claimed = post("/claim-offer", {"offer_id": offer_id, "attendee_name": "Bob"}, user=BOB)

    # Then Carol is refused, and Bob has an order of one signed ticket like any buyer
    assert (stolen.status, stolen.code) == (403, "forbidden")
    assert claimed.status == 201, claimed
    assert claimed.body["offer"]["status"] == "claimed"
    ticket = claimed.body["ticket"]
    assert (ticket["holder"], ticket["ticket_type_id"], ticket["status"]) == (BOB, floor, "issued")
    assert claimed.body["order"]["order_id"] == claimed.body["offer"]["order_id"]
    assert factories.stored_qr(ticket["ticket_id"])
    assert line(event_id, floor) == {
        "available": 0,
        "sold": 1,
        "held": 0,
        "queue": 1,
        "unassigned": 0,
    }
    seats = factories.seats(event_id)
    assert (int(seats["sold"]), int(seats["held"])) == (1, 0)
    assert my_waitlist(BOB).body["entries"] == []
    # and the ticket checks in at the door
    checked = post("/check-in", {"event_id": event_id, "code": ticket["code"]}, user=ORGANIZER)
    assert checked.status == 200, checked

    # And a second claim, by anyone, is refused and changes nothing
    again = post("/claim-offer", {"offer_id": offer_id}, user=BOB)
    assert (again.status, again.code) == (409, "offer_already_claimed")
    unknown = post("/claim-offer", {"offer_id": "aaaaaaaaaaaaaaaa"}, user=BOB)
    assert (unknown.status, unknown.code) == (404, "not_found")
    assert line(event_id, floor)["sold"] == 1


def test_a_declined_offer_passes_on_and_an_expired_one_cannot_be_claimed(
    aws: Any, stream: StreamDelivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given Bob was offered Floor's freed seat, with Carol next in line
    event_id, floor, _, alices = floor_sold_out()
    join(event_id, floor, BOB)
    join(event_id, floor, CAROL)
    post("/cancel-ticket", {"ticket_id": alices["ticket_id"]}, user=ALICE)
    stream.deliver()
    bobs = offer_of(BOB)

    # When Bob declines it (and Carol's offer will last one second)
    lifetime(monkeypatch, 1)
    declined = post("/decline-offer", {"offer_id": bobs}, user=BOB)
    stream.deliver()

    # Then it passes to Carol, and Bob can neither claim nor decline it again
    assert declined.status == 200, declined
    assert declined.body["offer"]["status"] == "declined"
    carols = offer_of(CAROL)
    assert post("/claim-offer", {"offer_id": bobs}, user=BOB).code == "offer_declined"
    assert post("/decline-offer", {"offer_id": bobs}, user=BOB).code == "offer_declined"
    assert my_waitlist(BOB).body["entries"] == []

    # When Carol lets hers expire (the offer timer runs in moto's Step Functions)
    sfn = boto3.client("stepfunctions")
    timer = f"{aws.created['OfferStateMachine']['ref'].replace(':stateMachine:', ':execution:')}"
    ended = finished(f"{timer}:offer-{carols}")
    late = post("/claim-offer", {"offer_id": carols}, user=CAROL)

    # Then the timer expired it, her claim is refused, and with nobody left in line the seat
    # is for sale again
    assert ended["status"] == "SUCCEEDED"
    assert (late.status, late.code) == (409, "offer_expired")
    stream.deliver()
    assert line(event_id, floor) == {
        "available": 1,
        "sold": 0,
        "held": 0,
        "queue": 0,
        "unassigned": 0,
    }
    assert int(factories.seats(event_id)["held"]) == 0
    assert order(event_id, [(floor, "Dave")], buyer=DAVE).status == 201
    assert sfn.describe_execution(executionArn=f"{timer}:offer-{carols}")["status"] == "SUCCEEDED"


def test_a_raised_quota_goes_to_the_line_first(aws: Any, stream: StreamDelivery) -> None:
    # Given Bob and Carol wait for Floor, and the event has room for more
    event_id, floor, balcony, _ = floor_sold_out(capacity=3)
    join(event_id, floor, BOB)
    join(event_id, floor, CAROL)

    # When the organizer raises Floor's quota by one
    raised = post(
        "/update-ticket-type",
        {"event_id": event_id, "ticket_type_id": floor, "quota": 2},
        user=ORGANIZER,
    )
    stream.deliver()

    # Then the new seat is offered to Bob, not sold to the public; Carol still waits
    assert raised.status == 200, raised
    assert raised.body["ticket_type"]["left"] == 0
    assert offer_of(BOB)
    assert sent_to(CAROL) == []
    assert line(event_id, floor) == {
        "available": 0,
        "sold": 1,
        "held": 1,
        "queue": 1,
        "unassigned": 0,
    }
    assert order(event_id, [(floor, "Dave")], buyer=DAVE).code == "ticket_type_sold_out"
    assert order(event_id, [(balcony, "Dave")], buyer=DAVE).status == 201


def test_leaving_the_line_moves_the_others_up_and_frees_a_seat_nobody_waits_for(
    aws: Any, stream: StreamDelivery
) -> None:
    # Given Bob and then Carol wait for Floor
    event_id, floor, _, alices = floor_sold_out()
    join(event_id, floor, BOB)
    join(event_id, floor, CAROL)

    # When Bob leaves
    left = post("/leave-waitlist", {"event_id": event_id, "ticket_type_id": floor}, user=BOB)

    # Then Carol is first, and Bob is on no list (leaving again is refused)
    assert left.status == 200, left
    assert left.body["entry"]["status"] == "left"
    assert my_waitlist(CAROL).body["entries"][0]["position"] == 1
    again = post("/leave-waitlist", {"event_id": event_id, "ticket_type_id": floor}, user=BOB)
    assert (again.status, again.code) == (409, "not_waiting")

    # When Alice's seat is set aside for the line and Carol leaves before it is offered
    post("/cancel-ticket", {"ticket_id": alices["ticket_id"]}, user=ALICE)
    assert line(event_id, floor)["unassigned"] == 1
    post("/leave-waitlist", {"event_id": event_id, "ticket_type_id": floor}, user=CAROL)

    # Then nobody is left for it, so it is for sale again and nobody is offered anything
    assert line(event_id, floor) == {
        "available": 1,
        "sold": 0,
        "held": 0,
        "queue": 0,
        "unassigned": 0,
    }
    stream.deliver()
    assert sent_to(BOB) == []
    assert sent_to(CAROL) == []
    # and Bob may join again, at the back, once it sells out
    assert order(event_id, [(floor, "Dave")], buyer=DAVE).status == 201
    assert join(event_id, floor, BOB).body["entry"]["position"] == 1


def test_a_cancelled_event_closes_its_lines_and_withdraws_its_offers(
    aws: Any, stream: StreamDelivery
) -> None:
    # Given Bob holds an offer for Floor and Carol waits behind him
    event_id, floor, _, alices = floor_sold_out()
    join(event_id, floor, BOB)
    join(event_id, floor, CAROL)
    post("/cancel-ticket", {"ticket_id": alices["ticket_id"]}, user=ALICE)
    stream.deliver()
    bobs = offer_of(BOB)

    # When the organizer cancels the event
    cancelled = post("/cancel-event", {"event_id": event_id}, user=ORGANIZER)
    stream.deliver()

    # Then both are off the line and told so, Bob's offer is withdrawn, nobody else is offered
    assert cancelled.status == 200, cancelled
    assert cancelled.body["waitlist_closed"] == 2
    assert my_waitlist(BOB).body["entries"] == []
    assert my_waitlist(CAROL).body["entries"] == []
    assert sent_to(CAROL)[-1]["Subject"] == "Cancelled: Harbour Lights"
    claim = post("/claim-offer", {"offer_id": bobs}, user=BOB)
    assert (claim.status, claim.code) == (409, "event_cancelled")
    assert [m for m in sent_to(CAROL) if "offers/" in m["Message"]] == []
    assert line(event_id, floor)["queue"] == 0


def test_leaving_while_holding_an_offer_declines_it(aws: Any, stream: StreamDelivery) -> None:
    event_id, floor, _, alices = floor_sold_out()
    join(event_id, floor, BOB)
    join(event_id, floor, CAROL)
    post("/cancel-ticket", {"ticket_id": alices["ticket_id"]}, user=ALICE)
    stream.deliver()

    left = post("/leave-waitlist", {"event_id": event_id, "ticket_type_id": floor}, user=BOB)
    stream.deliver()

    assert (left.status, left.body["entry"]["status"]) == (200, "declined")
    assert offer_of(CAROL)


# ---------------------------------------------------------------------------- samples


def test_the_samples_run(aws: Any, stream: StreamDelivery, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the sold-out event and type the samples name
    event = factories.put_event(
        event_id="m5qxizlqmfzxgmbr", capacity=1, ticket_type_ids=["nbswy3dpeb3w64tm"]
    )
    alices = order(event["event_id"], None, buyer=ALICE).body["ticket"]

    def run(app: Any, name: str) -> tuple[int, Any]:
        answer = app.lambda_handler(load_event(name), LambdaContext())
        return answer["statusCode"], json_body(answer)

    # When Bob (the samples' caller) joins, looks, leaves and joins again
    joined = run(places_app, "waitlist-places-join.json")
    mine = run(places_app, "waitlist-places-mine.json")
    left = run(places_app, "waitlist-places-leave.json")
    assert join(event["event_id"], "nbswy3dpeb3w64tm", BOB).status == 201

    # And Alice's seat is set aside and the stream sample reaches WaitlistFunction, which
    # makes the offer the claim sample names
    post("/cancel-ticket", {"ticket_id": alices["ticket_id"]}, user=ALICE)
    monkeypatch.setattr(waitlist_logic.ids, "new_id", lambda: "mfzgs3tfmvzgk3tb")
    answer = waitlist_app.lambda_handler(
        load_event("waitlist-seat-set-aside.json"), LambdaContext()
    )
    monkeypatch.undo()
    claimed = run(offers_app, "offers-claim.json")
    declined = run(offers_app, "offers-decline.json")

    # Then each sample did what it says
    assert load_event("waitlist-places-mine.json")["path"] == "/my-waitlist"
    assert joined[0] == 201
    assert joined[1]["entry"]["position"] == 1
    assert mine[0] == 200
    assert len(mine[1]["entries"]) == 1
    assert left[0] == 200
    assert left[1]["entry"]["status"] == "left"
    assert answer == {"batchItemFailures": []}
    assert claimed[0] == 201, claimed
    assert claimed[1]["ticket"]["attendee_name"] == "Bob Ribeiro"
    assert declined[0] == 409
    assert declined[1]["error"]["code"] == "offer_already_claimed"
