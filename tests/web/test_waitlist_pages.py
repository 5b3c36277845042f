"""The waiting list on the site: joining a sold-out type's line and seeing one's place, leaving
it, and claiming (or declining) an offered seat from the emailed link."""

from __future__ import annotations

import html as html_module
import re
from datetime import timedelta

import pytest
from flask.testing import FlaskClient

from gatepass.ids import new_id
from tests.web.conftest import csrf_from, sign_in_as
from tests.web.fake_api import FakeApi, session_token

pytestmark = pytest.mark.web

ALICE, BOB, CAROL = "alice@example.com", "bob@example.com", "carol@example.com"
ORGANIZER = "organizer@example.com"
TYPES = [
    {"name": "Standing", "quota": 30, "max_per_order": 4},
    {"name": "Balcony", "quota": 2, "max_per_order": 2},
]


def _text(page: str) -> str:
    return html_module.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


@pytest.fixture
def sold_out(fake_api: FakeApi) -> dict[str, str]:
    """Balcony (2 seats) sold out to Alice; Standing has seats."""
    event = fake_api.publish(title="Harbour jazz night", capacity=32, ticket_types=TYPES)
    kinds = {k["name"]: k["ticket_type_id"] for k in event["ticket_types"]}
    placed = fake_api.create_ticket(
        session_token(ALICE),
        event["event_id"],
        new_id(),
        [{"ticket_type_id": kinds["Balcony"], "attendee_name": n} for n in ("Ann", "Ben")],
    )
    return {
        "event_id": event["event_id"],
        "balcony": kinds["Balcony"],
        "standing": kinds["Standing"],
        "alices": placed["order"]["tickets"][0]["ticket_id"],
    }


def _join(client: FlaskClient, ids: dict[str, str], type_key: str = "balcony") -> str:
    page = client.get(f"/events/{ids['event_id']}").get_data(as_text=True)
    answer = client.post(
        f"/events/{ids['event_id']}/waitlist",
        data={"csrf_token": csrf_from(page), "ticket_type_id": ids[type_key]},
        follow_redirects=True,
    )
    assert answer.request.path == f"/events/{ids['event_id']}"
    return answer.get_data(as_text=True)


def test_joining_a_sold_out_types_line_and_seeing_ones_place(
    client: FlaskClient, fake_api: FakeApi, sold_out: dict[str, str]
) -> None:
    # Given Bob on the event page of a sold-out Balcony
    sign_in_as(client, BOB)
    page = client.get(f"/events/{sold_out['event_id']}").get_data(as_text=True)
    assert "Join the waiting list for Balcony" in page
    assert "Join the waiting list for Standing" not in page

    # When he joins, and Carol joins after him
    joined = _join(client, sold_out)
    sign_in_as(client, CAROL)
    carol = _join(client, sold_out)

    # Then each is told their place, and the event page and My tickets show it
    assert "You are number 1 in line for Balcony." in _text(joined)
    assert "You are number 2 in line for Balcony." in _text(carol)
    assert "You are number 2 in line." in _text(carol)
    assert "Join the waiting list for Balcony" not in carol
    mine = _text(client.get("/me/tickets").get_data(as_text=True))
    assert "Waiting lists Harbour jazz night · Balcony: number 2 in line" in mine
    # And joining again only repeats the place
    again = _join(client, sold_out)
    assert "You are number 2 in line for Balcony." in _text(again)
    assert fake_api.calls.count("join_waitlist") == 3
    assert len(fake_api.entries) == 2


def test_a_type_that_is_not_sold_out_is_explained(
    client: FlaskClient, fake_api: FakeApi, sold_out: dict[str, str]
) -> None:
    # Given Bob's page showed the Balcony sold out, but Alice cancels before he joins
    sign_in_as(client, BOB)
    page = client.get(f"/events/{sold_out['event_id']}").get_data(as_text=True)
    fake_api.cancel_ticket(session_token(ALICE), ticket_id=sold_out["alices"])

    answer = client.post(
        f"/events/{sold_out['event_id']}/waitlist",
        data={"csrf_token": csrf_from(page), "ticket_type_id": sold_out["balcony"]},
        follow_redirects=True,
    )

    # Then the event page says it is not sold out, and he is on no list
    assert "Balcony tickets are not sold out: 1 left. Take one instead." in _text(
        answer.get_data(as_text=True)
    )
    assert fake_api.entries == []


def test_a_visitor_is_asked_to_sign_in_to_join(
    client: FlaskClient, fake_api: FakeApi, sold_out: dict[str, str]
) -> None:
    page = client.get(f"/events/{sold_out['event_id']}").get_data(as_text=True)
    assert "Sign in to join the waiting list" in page
    assert "my_waitlist" not in fake_api.calls


def test_leaving_the_line(client: FlaskClient, fake_api: FakeApi, sold_out: dict[str, str]) -> None:
    sign_in_as(client, BOB)
    page = _join(client, sold_out)

    left = client.post(
        f"/events/{sold_out['event_id']}/waitlist/leave",
        data={"csrf_token": csrf_from(page), "ticket_type_id": sold_out["balcony"]},
        follow_redirects=True,
    )

    text = _text(left.get_data(as_text=True))
    assert "You left the waiting list for Balcony." in text
    assert "Join the waiting list for Balcony" in text
    assert [e["status"] for e in fake_api.entries] == ["left"]


def test_an_offered_seat_is_claimed_from_the_emailed_link(
    client: FlaskClient, fake_api: FakeApi, sold_out: dict[str, str]
) -> None:
    # Given Bob first in line, and Alice's cancelled seat offered to him by email
    sign_in_as(client, BOB)
    _join(client, sold_out)
    fake_api.cancel_ticket(session_token(ALICE), ticket_id=sold_out["alices"])
    offer = fake_api.offer_next(sold_out["event_id"], sold_out["balcony"])
    to, _, body = fake_api.mail[-1]
    assert to == BOB
    link = re.search(r"https://gatepass\.example(/offers/\w+)", body)
    assert link
    # and the event page and My tickets say a seat is his to claim
    assert "A seat is yours to claim" in client.get(f"/events/{sold_out['event_id']}").get_data(
        as_text=True
    )
    assert f'href="/offers/{offer["offer_id"]}"' in client.get("/me/tickets").get_data(as_text=True)

    # When he opens the link, names the ticket and claims it
    page = client.get(link.group(1))
    assert page.status_code == 200
    assert "A seat for you: Balcony" in _text(page.get_data(as_text=True))
    claimed = client.post(
        f"/offers/{offer['offer_id']}/claim",
        data={"csrf_token": csrf_from(page.get_data(as_text=True)), "attendee_name": "Bo"},
    )

    # Then the order is confirmed with his ticket, which is under his tickets
    assert claimed.status_code == 200
    text = _text(claimed.get_data(as_text=True))
    assert "Order confirmed" in text
    assert "Balcony Bo" in text
    mine = _text(client.get("/me/tickets").get_data(as_text=True))
    assert "Balcony · Bo" in mine
    assert "Waiting lists" not in mine
    assert offer["status"] == "claimed"


def test_a_second_claim_an_expired_offer_and_someone_elses_are_refused_in_words(
    client: FlaskClient, fake_api: FakeApi, sold_out: dict[str, str]
) -> None:
    # Given Bob and Carol in line, and two seats offered: Bob's expired, Carol's open
    for person in (BOB, CAROL):
        sign_in_as(client, person)
        _join(client, sold_out)
    for ticket in fake_api.items.values():
        if ticket.get("entity") == "ticket" and ticket["holder"] == ALICE:
            fake_api.cancel_ticket(session_token(ALICE), ticket_id=ticket["ticket_id"])
    bobs = fake_api.offer_next(sold_out["event_id"], sold_out["balcony"], timedelta(seconds=-1))
    carols = fake_api.offer_next(sold_out["event_id"], sold_out["balcony"])
    token = csrf_from(client.get("/me/tickets").get_data(as_text=True))  # as Carol

    # When Carol opens and claims Bob's offer, then claims her own twice
    bobs_page = client.get(f"/offers/{bobs['offer_id']}")
    bobs_claim = client.post(f"/offers/{bobs['offer_id']}/claim", data={"csrf_token": token})
    first = client.post(f"/offers/{carols['offer_id']}/claim", data={"csrf_token": token})
    second = client.post(f"/offers/{carols['offer_id']}/claim", data={"csrf_token": token})
    # and Bob claims his expired one
    sign_in_as(client, BOB)
    token = csrf_from(client.get("/me/tickets").get_data(as_text=True))
    expired = client.post(f"/offers/{bobs['offer_id']}/claim", data={"csrf_token": token})

    # Then each refusal is a page that names it
    assert bobs_page.status_code == 404
    assert "There is no open offer here" in _text(bobs_page.get_data(as_text=True))
    assert bobs_claim.status_code == 403
    assert "This offer is not yours" in _text(bobs_claim.get_data(as_text=True))
    assert first.status_code == 200
    assert second.status_code == 409
    assert "This offer has already been claimed" in _text(second.get_data(as_text=True))
    assert expired.status_code == 409
    assert "This offer has expired" in _text(expired.get_data(as_text=True))
    sold_to = [
        t["holder"]
        for t in fake_api.items.values()
        if t.get("entity") == "ticket" and t["status"] == "issued"
    ]
    assert sold_to == [CAROL]


def test_declining_an_offer(
    client: FlaskClient, fake_api: FakeApi, sold_out: dict[str, str]
) -> None:
    sign_in_as(client, BOB)
    _join(client, sold_out)
    fake_api.cancel_ticket(session_token(ALICE), ticket_id=sold_out["alices"])
    offer = fake_api.offer_next(sold_out["event_id"], sold_out["balcony"])
    page = client.get(f"/offers/{offer['offer_id']}").get_data(as_text=True)

    declined = client.post(
        f"/offers/{offer['offer_id']}/decline",
        data={"csrf_token": csrf_from(page)},
        follow_redirects=True,
    )

    assert "You declined the seat; it goes to the next person in line." in declined.get_data(
        as_text=True
    )
    assert offer["status"] == "declined"


def test_the_offer_link_asks_to_sign_in_first(
    client: FlaskClient, fake_api: FakeApi, sold_out: dict[str, str]
) -> None:
    answer = client.get("/offers/aaaaaaaaaaaaaaaa")
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/signin?next=/offers/aaaaaaaaaaaaaaaa"


def test_the_organizer_sees_each_line_in_order_and_the_waiting_counts(
    client: FlaskClient, fake_api: FakeApi, sold_out: dict[str, str]
) -> None:
    # Given Bob then Carol in Balcony's line, and Bob offered the seat Alice freed
    sign_in_as(client, BOB)
    _join(client, sold_out)
    sign_in_as(client, CAROL)
    _join(client, sold_out)
    fake_api.offer_next(sold_out["event_id"], sold_out["balcony"])

    # When the organizer opens the attendee page and reads the counts and the lines as JSON
    sign_in_as(client, ORGANIZER)
    page = _text(
        client.get(f"/organizer/events/{sold_out['event_id']}/attendees").get_data(as_text=True)
    )
    sales = client.get(f"/api/events/{sold_out['event_id']}/sales").get_json()
    lines = client.get(f"/api/events/{sold_out['event_id']}/waitlist").get_json()["lines"]

    # Then Balcony counts one person still waiting (Bob holds an offer), Standing none
    waiting = {k["name"]: k["waiting"] for k in sales["ticket_types"]}
    assert waiting == {"Standing": 0, "Balcony": 1}
    # and the line shows both in the line's order (join time, then the entry's random id, so
    # two joins within a second keep an order fixed at joining), Bob with his offer
    order = [
        e["person"] for e in sorted(fake_api.entries, key=lambda e: (e["joined_at"], e["entry_id"]))
    ]
    assert [p["person"] for p in lines[sold_out["balcony"]]] == order
    assert {p["person"]: p["status"] for p in lines[sold_out["balcony"]]} == {
        BOB: "offered",
        CAROL: "waiting",
    }
    assert "Waiting list (2 in line)" in page
    assert page.index(order[0]) < page.index(order[1])
    assert "offered a seat until" in page


def test_only_the_organizer_reads_the_lines(
    client: FlaskClient, fake_api: FakeApi, sold_out: dict[str, str]
) -> None:
    sign_in_as(client, BOB)
    answer = client.get(f"/api/events/{sold_out['event_id']}/waitlist")
    assert answer.status_code == 403
    assert answer.get_json()["error"]["code"]
