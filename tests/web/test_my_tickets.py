"""My tickets grouped by order; cancelling a ticket or a whole order; giving a ticket to someone
else. Every refusal is a page that says why, and changes nothing."""

from __future__ import annotations

import html as html_module
import re
from datetime import timedelta

import pytest
from flask.testing import FlaskClient

from gatepass import clock
from gatepass.ids import new_id
from tests.web.conftest import csrf_from, sign_in_as
from tests.web.fake_api import FakeApi, session_token

pytestmark = pytest.mark.web

ALICE = "alice@example.com"
TYPES = [
    {"name": "Standing", "quota": 30, "max_per_order": 4},
    {"name": "Balcony", "quota": 10, "max_per_order": 4},
]


def _text(page: str) -> str:
    return html_module.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def _event(fake_api: FakeApi, **values: object) -> tuple[str, dict[str, str]]:
    event = fake_api.publish(title="Harbour jazz night", capacity=35, ticket_types=TYPES, **values)
    return event["event_id"], {k["name"]: k["ticket_type_id"] for k in event["ticket_types"]}


def _order(fake_api: FakeApi, event_id: str, buyer: str, *lines: tuple[str, str]) -> list[str]:
    placed = fake_api.create_ticket(
        session_token(buyer),
        event_id,
        new_id(),
        [{"ticket_type_id": kind, "attendee_name": name} for kind, name in lines],
    )
    return [t["ticket_id"] for t in placed["order"]["tickets"]]


def _confirm(client: FlaskClient, path: str) -> str:
    """Open a confirmation page and return its form's token."""
    page = client.get(path)
    assert page.status_code == 200, page.get_data(as_text=True)
    return csrf_from(page.get_data(as_text=True))


def _start_event(fake_api: FakeApi, event_id: str) -> None:
    past = clock.iso(clock.now() - timedelta(minutes=5))
    fake_api.update_event(event_id, starts_at=past)
    fake_api.update_seats(event_id, starts_at=past)


def test_my_tickets_are_grouped_by_order_with_types_and_names(
    client: FlaskClient, fake_api: FakeApi
) -> None:
    # Given two orders of Alice's for one event, the first of two types
    event_id, kinds = _event(fake_api)
    first = _order(fake_api, event_id, ALICE, (kinds["Standing"], "Ann"), (kinds["Balcony"], "Ben"))
    second = _order(fake_api, event_id, ALICE, (kinds["Standing"], "Cy"))
    sign_in_as(client, ALICE)

    # When she opens My tickets
    page = client.get("/me/tickets").get_data(as_text=True)

    # Then each order is its own group, its tickets named with their type and attendee
    groups = dict(
        re.findall(r'<section class="order" id="order-([^"]+)">(.*?)</section>', page, re.S)
    )
    order_ids = {fake_api.ticket(first[0])["order_id"], fake_api.ticket(second[0])["order_id"]}
    assert set(groups) == order_ids
    one = _text(groups[fake_api.ticket(first[0])["order_id"]])
    assert "Standing · Ann" in one
    assert "Balcony · Ben" in one
    assert "2 tickets" in one
    assert "Cancel the whole order" in one
    two = _text(groups[fake_api.ticket(second[0])["order_id"]])
    assert "Standing · Cy" in two
    assert "1 ticket" in two
    assert "Cancel the whole order" not in two
    # and every live ticket has its QR code and its two actions
    assert page.count('class="qr"') == 3
    assert page.count("Cancel this ticket") == 3
    assert page.count("Give it to someone") == 3


def test_cancelling_one_ticket_frees_its_seat_and_shows_it_cancelled(
    client: FlaskClient, fake_api: FakeApi
) -> None:
    # Given Alice's order of a Standing and a Balcony ticket
    event_id, kinds = _event(fake_api)
    standing, balcony = _order(
        fake_api, event_id, ALICE, (kinds["Standing"], "Ann"), (kinds["Balcony"], "Ben")
    )
    sign_in_as(client, ALICE)

    # When she asks to cancel the Balcony ticket, reads the confirmation and confirms
    path = f"/me/tickets/{balcony}/cancel"
    confirmation = client.get(path).get_data(as_text=True)
    assert "Cancel 1 ticket?" in confirmation
    assert "Balcony · Ben" in _text(confirmation)
    done = client.post(path, data={"csrf_token": csrf_from(confirmation)})

    # Then she is back on her tickets, told it is done; the ticket shows as cancelled, without
    # its QR code or actions, and the other stays as it was
    assert done.status_code == 302
    assert done.headers["Location"] == "/me/tickets"
    page = client.get("/me/tickets").get_data(as_text=True)
    assert "Cancelled 1 ticket." in page
    cancelled = re.search(rf'data-ticket="{balcony}">(.*?)</li>', page, re.S)
    assert cancelled
    assert "Cancelled" in cancelled.group(1)
    assert 'class="qr"' not in cancelled.group(1)
    assert "Cancel this ticket" not in cancelled.group(1)
    kept = re.search(rf'data-ticket="{standing}">(.*?)</li>', page, re.S)
    assert kept
    assert 'class="qr"' in kept.group(1)
    # And the seat is for sale again on the event page
    assert "Balcony 10 left" in _text(client.get(f"/events/{event_id}").get_data(as_text=True))
    assert fake_api.ticket(balcony)["status"] == "cancelled"


def test_cancelling_a_whole_order(client: FlaskClient, fake_api: FakeApi) -> None:
    event_id, kinds = _event(fake_api)
    tickets = _order(
        fake_api, event_id, ALICE, (kinds["Standing"], "Ann"), (kinds["Standing"], "Ben")
    )
    order_id = fake_api.ticket(tickets[0])["order_id"]
    sign_in_as(client, ALICE)

    # When she cancels the whole order from its confirmation page
    path = f"/me/orders/{order_id}/cancel"
    confirmation = client.get(path).get_data(as_text=True)
    assert "Cancel 2 tickets?" in confirmation
    done = client.post(path, data={"csrf_token": csrf_from(confirmation)}, follow_redirects=True)

    # Then both are cancelled and the event has its 35 seats again
    assert "Cancelled 2 tickets." in done.get_data(as_text=True)
    assert [fake_api.ticket(t)["status"] for t in tickets] == ["cancelled", "cancelled"]
    assert "35 of 35 seats left" in client.get(f"/events/{event_id}").get_data(as_text=True)


def test_giving_a_ticket_away_and_it_arriving_at_its_recipient(
    client: FlaskClient, fake_api: FakeApi
) -> None:
    # Given Alice's ticket
    event_id, kinds = _event(fake_api)
    (ticket,) = _order(fake_api, event_id, ALICE, (kinds["Balcony"], "Ben"))
    sign_in_as(client, ALICE)

    # When she gives it to Dora with the form
    path = f"/me/tickets/{ticket}/transfer"
    token = _confirm(client, path)
    done = client.post(path, data={"csrf_token": token, "to_email": " Dora@Example.com "})

    # Then she is told it is Dora's now, and sees it as given away, without its QR code
    assert done.status_code == 302
    mine = client.get("/me/tickets").get_data(as_text=True)
    assert "The ticket is now dora@example.com&#39;s" in mine
    given = re.search(rf'data-ticket="{ticket}">(.*?)</li>', mine, re.S)
    assert given
    assert "Given to dora@example.com" in given.group(1)
    assert 'class="qr"' not in given.group(1)
    # And Dora was emailed, and finds it under her tickets with its QR code, from Alice
    assert fake_api.mail[-1][:2] == ("dora@example.com", "A ticket for you")
    sign_in_as(client, "dora@example.com")
    hers = _text(client.get("/me/tickets").get_data(as_text=True))
    assert "Given to you by alice@example.com" in hers
    assert "Balcony · Ben" in hers
    assert "Cancel this ticket" in hers


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("not-an-address", "Type the email address of the person who gets the ticket"),
        ("alice@example", "Type the email address of the person who gets the ticket"),
        ("ALICE@example.com", "That is your own address: this ticket is already yours."),
    ],
)
def test_a_transfer_to_a_malformed_address_or_to_oneself_is_explained_on_the_form(
    client: FlaskClient, fake_api: FakeApi, typed: str, says: str
) -> None:
    event_id, kinds = _event(fake_api)
    (ticket,) = _order(fake_api, event_id, ALICE, (kinds["Balcony"], "Ben"))
    sign_in_as(client, ALICE)
    path = f"/me/tickets/{ticket}/transfer"

    answer = client.post(path, data={"csrf_token": _confirm(client, path), "to_email": typed})

    # Then the form comes back with what she typed and why, and the ticket is still hers
    assert answer.status_code == 400
    page = answer.get_data(as_text=True)
    assert says in html_module.unescape(page)
    assert f'value="{typed}"' in page
    assert fake_api.ticket(ticket)["status"] == "issued"
    assert "transfer_ticket" not in fake_api.calls


def test_once_the_event_has_started_cancel_and_transfer_are_refused_in_words(
    client: FlaskClient, fake_api: FakeApi
) -> None:
    # Given Alice's ticket, and a form she opened before the event started
    event_id, kinds = _event(fake_api)
    (ticket,) = _order(fake_api, event_id, ALICE, (kinds["Balcony"], "Ben"))
    sign_in_as(client, ALICE)
    token = _confirm(client, f"/me/tickets/{ticket}/transfer")
    _start_event(fake_api, event_id)

    # When she opens the cancel page, and posts the old transfer and cancel forms
    page = client.get(f"/me/tickets/{ticket}/cancel")
    cancel = client.post(f"/me/tickets/{ticket}/cancel", data={"csrf_token": token})
    transfer = client.post(
        f"/me/tickets/{ticket}/transfer",
        data={"csrf_token": token, "to_email": "dora@example.com"},
    )

    # Then each is a page saying the event has started; her ticket stays hers and valid
    for refused in (page, cancel, transfer):
        assert refused.status_code == 409
        text = _text(refused.get_data(as_text=True))
        assert "The event has already started" in text
        assert "Nothing was changed." in text
    assert "can no longer change hands" in _text(transfer.get_data(as_text=True))
    assert fake_api.ticket(ticket)["status"] == "issued"
    # and My tickets no longer offers either
    assert "Cancel this ticket" not in client.get("/me/tickets").get_data(as_text=True)


def test_someone_elses_ticket_cannot_be_cancelled_or_given(
    client: FlaskClient, fake_api: FakeApi
) -> None:
    event_id, kinds = _event(fake_api)
    (ticket,) = _order(fake_api, event_id, ALICE, (kinds["Balcony"], "Ben"))
    order_id = fake_api.ticket(ticket)["order_id"]
    sign_in_as(client, "mallory@example.com")
    token = _confirm(client, "/me/tickets")  # her own page with a form (sign out)

    answers = [
        client.get(f"/me/tickets/{ticket}/cancel"),
        client.get(f"/me/tickets/{ticket}/transfer"),
        client.post(f"/me/tickets/{ticket}/cancel", data={"csrf_token": token}),
        client.post(f"/me/orders/{order_id}/cancel", data={"csrf_token": token}),
        client.post(
            f"/me/tickets/{ticket}/transfer",
            data={"csrf_token": token, "to_email": "eve@example.com"},
        ),
    ]

    for answer in answers:
        assert answer.status_code == 403
        text = _text(answer.get_data(as_text=True))
        assert "This ticket is not yours" in text
        assert "belongs to someone else" in text
    assert fake_api.ticket(ticket)["status"] == "issued"
    assert fake_api.ticket(ticket)["holder"] == ALICE


def test_a_cancelled_ticket_cannot_be_cancelled_again(
    client: FlaskClient, fake_api: FakeApi
) -> None:
    event_id, kinds = _event(fake_api)
    (ticket,) = _order(fake_api, event_id, ALICE, (kinds["Balcony"], "Ben"))
    sign_in_as(client, ALICE)
    token = _confirm(client, f"/me/tickets/{ticket}/cancel")
    client.post(f"/me/tickets/{ticket}/cancel", data={"csrf_token": token})

    again_page = client.get(f"/me/tickets/{ticket}/cancel")
    again_post = client.post(f"/me/tickets/{ticket}/cancel", data={"csrf_token": token})

    for answer in (again_page, again_post):
        assert answer.status_code == 409
        assert "This ticket can no longer change" in _text(answer.get_data(as_text=True))
    assert fake_api.calls.count("cancel_ticket") == 2


def test_cancelling_needs_the_forms_token(client: FlaskClient, fake_api: FakeApi) -> None:
    event_id, kinds = _event(fake_api)
    (ticket,) = _order(fake_api, event_id, ALICE, (kinds["Balcony"], "Ben"))
    sign_in_as(client, ALICE)

    # When a cross-site page posts the cancel form without the token
    answer = client.post(f"/me/tickets/{ticket}/cancel")

    # Then it is refused and the ticket stays
    assert answer.status_code == 403
    assert "csrf_failed" in answer.get_data(as_text=True)
    assert fake_api.ticket(ticket)["status"] == "issued"


def test_tickets_of_a_cancelled_event_show_as_cancelled(
    client: FlaskClient, fake_api: FakeApi
) -> None:
    event_id, kinds = _event(fake_api, organizer="organizer@example.com")
    (ticket,) = _order(fake_api, event_id, ALICE, (kinds["Balcony"], "Ben"))
    fake_api.cancel_event(session_token("organizer@example.com"), event_id)
    sign_in_as(client, ALICE)

    page = client.get("/me/tickets").get_data(as_text=True)

    text = _text(page)
    assert "This event has been cancelled: these tickets no longer work." in text
    assert "(the event was cancelled)" in text
    assert "Cancel this ticket" not in text
    assert 'class="qr"' not in page
    assert fake_api.ticket(ticket)["status"] == "cancelled"


def test_cancel_and_transfer_answer_json_to_scripts(client: FlaskClient, fake_api: FakeApi) -> None:
    event_id, kinds = _event(fake_api)
    first, second = _order(
        fake_api, event_id, ALICE, (kinds["Balcony"], "Ben"), (kinds["Balcony"], "Cy")
    )
    sign_in_as(client, ALICE)
    headers = {"Accept": "application/json", "X-CSRF-Token": _confirm(client, "/me/tickets")}

    cancelled = client.post(f"/me/tickets/{first}/cancel", headers=headers)
    given = client.post(
        f"/me/tickets/{second}/transfer", data={"to_email": "dora@example.com"}, headers=headers
    )
    again = client.post(f"/me/tickets/{first}/cancel", headers=headers)

    assert cancelled.status_code == 200
    assert cancelled.get_json()["cancelled"][0]["status"] == "cancelled"
    assert given.status_code == 200
    assert given.get_json()["ticket"]["holder"] == "dora@example.com"
    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "ticket_not_active"


def test_the_event_page_counts_only_the_tickets_still_held(
    client: FlaskClient, fake_api: FakeApi
) -> None:
    # Given Alice's order of three tickets, one cancelled and one given away
    event_id, kinds = _event(fake_api)
    first, second, third = _order(
        fake_api,
        event_id,
        ALICE,
        (kinds["Standing"], "Ann"),
        (kinds["Standing"], "Ben"),
        (kinds["Balcony"], "Cy"),
    )
    sign_in_as(client, ALICE)
    assert "You have 3 tickets." in client.get(f"/events/{event_id}").get_data(as_text=True)
    fake_api.cancel_ticket(session_token(ALICE), ticket_id=first)
    fake_api.transfer_ticket(session_token(ALICE), second, "dora@example.com")

    # When she opens the event page, then after cancelling the last one
    one_left = client.get(f"/events/{event_id}").get_data(as_text=True)
    fake_api.cancel_ticket(session_token(ALICE), ticket_id=third)
    none_left = client.get(f"/events/{event_id}").get_data(as_text=True)

    # Then it counts what she still holds
    assert "You have a ticket." in one_left
    assert "You have a ticket" not in none_left
    assert "You have 3 tickets" not in none_left
