"""One ticket's page, which the ticket's email links to: its QR code and code for the holder, a
page that says why for anyone else."""

from __future__ import annotations

import html as html_module
import re

import pytest
from flask.testing import FlaskClient

from gatepass.ids import new_id
from tests.web.conftest import sign_in_as
from tests.web.fake_api import FakeApi, session_token

pytestmark = pytest.mark.web

ALICE = "alice@example.com"
BOB = "bob@example.com"


def _text(page: str) -> str:
    return html_module.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def _alices_ticket(fake_api: FakeApi) -> dict[str, str]:
    event = fake_api.publish(
        title="Harbour jazz night", capacity=10, ticket_types=[{"name": "Standing", "quota": 10}]
    )
    kind = event["ticket_types"][0]["ticket_type_id"]
    placed = fake_api.create_ticket(
        session_token(ALICE),
        event["event_id"],
        new_id(),
        [{"ticket_type_id": kind, "attendee_name": "Ann"}],
    )
    # The stored ticket, with its code (the fake's answer leaves it out).
    ticket: dict[str, str] = fake_api.ticket(placed["ticket"]["ticket_id"])
    return ticket


def test_the_holder_sees_the_ticket_with_its_qr_code_and_code(
    client: FlaskClient, fake_api: FakeApi
) -> None:
    # Given Alice holds a ticket
    ticket = _alices_ticket(fake_api)
    sign_in_as(client, ALICE)

    # When she opens the link from its email
    answer = client.get(f"/me/tickets/{ticket['ticket_id']}")

    # Then she sees the event, type, name, the QR image and the code to type
    assert answer.status_code == 200
    page = answer.get_data(as_text=True)
    text = _text(page)
    assert "Harbour jazz night" in text
    assert "Standing · Ann" in text
    assert ticket["code"] in text
    assert f'alt="QR code for ticket {ticket["ticket_id"]}"' in page
    # and My tickets links to it
    mine = client.get("/me/tickets").get_data(as_text=True)
    assert f'href="/me/tickets/{ticket["ticket_id"]}"' in mine


def test_someone_elses_or_an_unknown_ticket_is_a_page_that_says_why(
    client: FlaskClient, fake_api: FakeApi
) -> None:
    # Given Alice's ticket, and Bob signed in
    ticket = _alices_ticket(fake_api)
    sign_in_as(client, BOB)

    # When Bob opens Alice's ticket, an unknown one and a malformed one
    theirs = client.get(f"/me/tickets/{ticket['ticket_id']}")
    unknown = client.get(f"/me/tickets/{new_id()}")
    malformed = client.get("/me/tickets/not-a-ticket")

    # Then he is refused, told there is no such ticket, and never sees the code
    assert theirs.status_code == 403
    assert "This ticket is not yours" in _text(theirs.get_data(as_text=True))
    assert ticket["code"] not in theirs.get_data(as_text=True)
    assert unknown.status_code == 404
    assert "There is no such ticket" in _text(unknown.get_data(as_text=True))
    assert malformed.status_code == 404


def test_signed_out_the_ticket_page_asks_to_sign_in(client: FlaskClient, fake_api: FakeApi) -> None:
    ticket = _alices_ticket(fake_api)

    answer = client.get(f"/me/tickets/{ticket['ticket_id']}")

    assert answer.status_code in (302, 303)
    assert "/signin" in answer.headers["Location"]


def test_a_cancelled_ticket_shows_no_code(client: FlaskClient, fake_api: FakeApi) -> None:
    # Given Alice cancelled her ticket
    ticket = _alices_ticket(fake_api)
    fake_api.cancel_ticket(session_token(ALICE), ticket_id=ticket["ticket_id"])
    sign_in_as(client, ALICE)

    # When she opens its page
    page = client.get(f"/me/tickets/{ticket['ticket_id']}").get_data(as_text=True)

    # Then it says the ticket no longer works, and shows neither QR nor code
    assert "no longer works" in _text(page)
    assert ticket["code"] not in page
    assert "QR code for ticket" not in page


@pytest.mark.parametrize(
    ("button", "path", "target"),
    [
        ("Add to Apple Wallet", "apple-wallet", "/passes/"),
        ("Add to Google Wallet", "google-wallet", "https://pay.google.com/gp/v/save/"),
    ],
)
def test_the_ticket_page_adds_the_ticket_to_a_phone_wallet(
    client: FlaskClient, fake_api: FakeApi, button: str, path: str, target: str
) -> None:
    # Given Alice on her ticket's page
    ticket = _alices_ticket(fake_api)
    sign_in_as(client, ALICE)
    page = client.get(f"/me/tickets/{ticket['ticket_id']}").get_data(as_text=True)
    assert button in page

    # When she follows the wallet's link
    answer = client.get(f"/me/tickets/{ticket['ticket_id']}/{path}")

    # Then she is sent to the signed pass or Google's save page
    assert answer.status_code in (302, 303)
    assert target in answer.headers["Location"]


def test_someone_elses_wallet_pass_or_an_unset_wallet_is_a_page_that_says_why(
    client: FlaskClient, fake_api: FakeApi
) -> None:
    # Given Alice's ticket
    ticket = _alices_ticket(fake_api)

    # When Bob asks for its Apple pass
    sign_in_as(client, BOB)
    theirs = client.get(f"/me/tickets/{ticket['ticket_id']}/apple-wallet")

    # Then he is refused with a page
    assert theirs.status_code == 403
    assert "This ticket is not yours" in _text(theirs.get_data(as_text=True))

    # And when the deployment has no Google credentials yet, Alice is told so
    fake_api.wallets_configured = False
    sign_in_as(client, ALICE)
    unset = client.get(f"/me/tickets/{ticket['ticket_id']}/google-wallet")
    assert unset.status_code == 503
    assert "The wallet is not available here yet" in _text(unset.get_data(as_text=True))


def test_a_cancelled_ticket_offers_no_wallet(client: FlaskClient, fake_api: FakeApi) -> None:
    ticket = _alices_ticket(fake_api)
    fake_api.cancel_ticket(session_token(ALICE), ticket_id=ticket["ticket_id"])
    sign_in_as(client, ALICE)

    page = client.get(f"/me/tickets/{ticket['ticket_id']}").get_data(as_text=True)

    assert "Add to Apple Wallet" not in page
    assert "Add to Google Wallet" not in page
