"""Tickets by email: every issued ticket (an order's, a transfer's new one) is mailed to its
holder from the TicketingTable stream, once, with the event, type, name, code and a link to the
ticket's page; through SES as HTML with the QR image inline."""

from __future__ import annotations

import io
from typing import Any

import boto3
import pytest
import zxingcpp
from PIL import Image

from devstack.template import TemplateModel
from functions.deliver_tickets import app as deliver_app
from gatepass.dal.mail import SesMailer
from tests.conftest import load_event
from tests.support import factories
from tests.support.api import LambdaContext
from tests.support.mail import sent_to
from tests.support.streams import deliver_tickets, ses_raw_messages_to
from tests.support.ticketing import create_event, order, post

pytestmark = pytest.mark.integration

ALICE = "alice@example.com"
BOB = "bob@example.com"
SENDER = "tickets@gatepass.example"


def _ticket_mails(email: str) -> list[dict[str, Any]]:
    return [m for m in sent_to(email) if str(m["Subject"]).startswith("Your ticket")]


def test_the_sample_stream_record_mails_its_ticket_once(aws: TemplateModel) -> None:
    # Given the event and the ticket the sample record announces
    event = factories.put_event(
        event_id="m5qxizlqmfzxgmbr", title="Harbour Lights", ticket_type_ids=["k2fzq7hx3wma5ndr"]
    )
    ticket = factories.put_ticket(event, holder="ada@example.com", ticket_id="t7wq3mzka4xe2ubn")
    sample = load_event("deliver-tickets.json")

    # When the function receives the sample batch, and the same batch again (a retry)
    first = deliver_app.lambda_handler(sample, LambdaContext())
    second = deliver_app.lambda_handler(sample, LambdaContext())

    # Then Ada got one email with her ticket; the seats record mailed nothing
    assert first == second == {"batchItemFailures": []}
    [mail] = sent_to("ada@example.com")
    assert mail["Subject"] == "Your ticket: Harbour Lights"
    body = mail["Message"]
    assert "Harbour Lights" in body
    assert "General admission" in body
    assert ticket["code"] in body
    assert f"{deliver_app.settings.site_url}/me/tickets/t7wq3mzka4xe2ubn" in body


def test_each_ticket_of_an_order_is_mailed_to_its_holder_with_its_own_code(
    aws: TemplateModel,
) -> None:
    # Given Alice orders two named tickets
    event = create_event(capacity=5)
    kind = event["ticket_types"][0]["ticket_type_id"]
    placed = order(event["event_id"], [(kind, "Ada"), (kind, "Grace")], buyer=ALICE)
    assert placed.status == 201, placed
    tickets = placed.body["order"]["tickets"]

    # When the stream reaches the delivery function
    assert deliver_tickets(aws) == {"batchItemFailures": []}

    # Then she holds two emails, one per ticket, each with its name, code and page
    mails = _ticket_mails(ALICE)
    assert len(mails) == 2
    for ticket in tickets:
        [mail] = [m for m in mails if ticket["code"] in m["Message"]]
        assert f"Name: {ticket['attendee_name']}" in mail["Message"]
        assert f"/me/tickets/{ticket['ticket_id']}" in mail["Message"]
        assert "Ticket type: General admission" in mail["Message"]

    # and a replay of the whole stream mails nothing more
    deliver_tickets(aws)
    assert len(_ticket_mails(ALICE)) == 2


def test_through_ses_the_mail_is_html_with_the_qr_inline(
    aws: TemplateModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given mail goes through SES from a verified sender
    boto3.client("ses").verify_email_identity(EmailAddress=SENDER)
    monkeypatch.setattr(deliver_app, "mailer", SesMailer(SENDER))
    event = create_event(capacity=5)
    kind = event["ticket_types"][0]["ticket_type_id"]
    placed = order(event["event_id"], [(kind, "Ada Lovelace")], buyer=ALICE)
    ticket = placed.body["ticket"]

    # When the ticket is delivered
    deliver_tickets(aws)

    # Then Alice's message has a text part and an HTML part whose inline image is her QR code
    [message] = ses_raw_messages_to(ALICE)
    assert message["Subject"] == "Your ticket: Harbour Lights"
    parts = {part.get_content_type(): part for part in message.walk()}
    text = parts["text/plain"].get_payload(decode=True).decode()
    html = parts["text/html"].get_payload(decode=True).decode()
    assert ticket["code"] in text
    assert "Ada Lovelace" in html
    image = parts["image/png"]
    content_id = str(image["Content-ID"]).strip("<>")
    assert f"cid:{content_id}" in html
    png = image.get_payload(decode=True)
    decoded = zxingcpp.read_barcodes(
        Image.open(io.BytesIO(png)).convert("L"),
        formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode),
    )
    assert [d.text for d in decoded] == [ticket["code"]]


def test_through_sns_the_mail_is_text_and_no_qr_image_is_rendered(
    aws: TemplateModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the default channel, SNS email, which carries text only, and a ticket sold
    from gatepass import qr

    assert deliver_app.mailer.carries_html is False
    event = create_event(capacity=5)
    kind = event["ticket_types"][0]["ticket_type_id"]
    ticket = order(event["event_id"], [(kind, "Ada Lovelace")], buyer=ALICE).body["ticket"]
    rendered: list[str] = []
    real_render = qr.render_png

    def render_png(text: str, box_size: int = qr.BOX_SIZE) -> bytes:
        rendered.append(text)
        return real_render(text, box_size)

    monkeypatch.setattr(qr, "render_png", render_png)

    # When the ticket is delivered
    assert deliver_tickets(aws) == {"batchItemFailures": []}

    # Then Alice's mail has her code and the way to her QR code, and no image was drawn for it
    [mail] = _ticket_mails(ALICE)
    assert ticket["code"] in mail["Message"]
    assert "QR code" in mail["Message"]
    assert rendered == []

    # While through SES the next ticket's mail draws its QR image
    boto3.client("ses").verify_email_identity(EmailAddress=SENDER)
    monkeypatch.setattr(deliver_app, "mailer", SesMailer(SENDER))
    monkeypatch.setattr(qr, "render_png", real_render)
    again = order(event["event_id"], [(kind, "Grace Hopper")], buyer=BOB).body["ticket"]
    monkeypatch.setattr(qr, "render_png", render_png)
    assert deliver_tickets(aws) == {"batchItemFailures": []}
    assert rendered == [again["code"]]


def test_a_transferred_ticket_is_mailed_to_the_recipient_and_no_one_else(
    aws: TemplateModel,
) -> None:
    # Given Alice's ticket was mailed to her, and she then gives it to Bob
    event = create_event(capacity=5)
    kind = event["ticket_types"][0]["ticket_type_id"]
    ticket = order(event["event_id"], [(kind, "Bob Dylan")], buyer=ALICE).body["ticket"]
    deliver_tickets(aws)
    moved = post(
        "/transfer-ticket", {"ticket_id": ticket["ticket_id"], "to_email": BOB}, user=ALICE
    )
    new = moved.body["ticket"]

    # When the stream is delivered again
    deliver_tickets(aws)

    # Then Bob has one mail with the new code, saying who gave it; Alice still has only hers
    [mail] = _ticket_mails(BOB)
    assert new["code"] in mail["Message"]
    assert f"{ALICE} gave you a ticket" in mail["Message"]
    assert len(_ticket_mails(ALICE)) == 1


def test_a_ticket_cancelled_before_its_mail_went_out_is_not_mailed(aws: TemplateModel) -> None:
    # Given a ticket cancelled before the stream reached the delivery function
    event = create_event(capacity=5)
    kind = event["ticket_types"][0]["ticket_type_id"]
    ticket = order(event["event_id"], [(kind, "Ada")], buyer=ALICE).body["ticket"]
    assert post("/cancel-ticket", {"ticket_id": ticket["ticket_id"]}, user=ALICE).status == 200

    # When the stream is delivered
    assert deliver_tickets(aws) == {"batchItemFailures": []}

    # Then no ticket mail was sent for it
    assert _ticket_mails(ALICE) == []


def test_a_failed_send_is_retried_and_then_mails_once(
    aws: TemplateModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the mail channel fails once
    event = create_event(capacity=5)
    kind = event["ticket_types"][0]["ticket_type_id"]
    ticket = order(event["event_id"], [(kind, "Ada")], buyer=ALICE).body["ticket"]
    working = deliver_app.mailer

    class Down:
        carries_html = False

        def send_rich(self, recipient: str, mail: Any) -> str:
            raise ConnectionError("mail service unreachable")

    monkeypatch.setattr(deliver_app, "mailer", Down())

    # When the batch is delivered: only the ticket's record is reported failed
    failed = deliver_tickets(aws)["batchItemFailures"]
    assert len(failed) == 1
    assert _ticket_mails(ALICE) == []

    # and the retry, with the channel back, mails it once
    monkeypatch.setattr(deliver_app, "mailer", working)
    assert deliver_tickets(aws) == {"batchItemFailures": []}
    [mail] = _ticket_mails(ALICE)
    assert ticket["code"] in mail["Message"]
