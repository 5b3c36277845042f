"""What an organizer reads about an event: attendees by ticket type with their names and status,
sales per type, and every attendee as a streamed CSV file."""

from __future__ import annotations

import csv
import html as html_module
import io
import re
from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, insert

from gatepass import clock
from gatepass.ids import new_id
from gatepass.readmodel.schema import tickets
from tests.web.conftest import sign_in_as
from tests.web.fake_api import FakeApi, session_token

pytestmark = pytest.mark.web

ORGANIZER = "organizer@example.com"
TYPES = [
    {"name": "Standing", "quota": 30, "max_per_order": 4},
    {"name": "Balcony", "quota": 10, "max_per_order": 4},
]


def _text(response_html: str) -> str:
    return html_module.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response_html)))


def _kinds(event: dict[str, object]) -> dict[str, str]:
    listed = event["ticket_types"]
    assert isinstance(listed, list)
    return {k["name"]: k["ticket_type_id"] for k in listed}


def _order(fake_api: FakeApi, event_id: str, buyer: str, *lines: tuple[str, str]) -> list[str]:
    placed = fake_api.create_ticket(
        session_token(buyer),
        event_id,
        new_id(),
        [{"ticket_type_id": kind, "attendee_name": name} for kind, name in lines],
    )
    return [t["ticket_id"] for t in placed["order"]["tickets"]]


@pytest.fixture
def busy_event(fake_api: FakeApi) -> dict[str, object]:
    """Standing: Ann (checked in), Ben (cancelled), Cy (transferred to dora@); Balcony: Eve."""
    event = fake_api.publish(
        title="Harbour jazz night", organizer=ORGANIZER, capacity=35, ticket_types=TYPES
    )
    kinds = _kinds(event)
    ann, ben, cy = _order(
        fake_api,
        event["event_id"],
        "alice@example.com",
        (kinds["Standing"], "Ann"),
        (kinds["Standing"], "Ben"),
        (kinds["Standing"], "Cy"),
    )
    _order(fake_api, event["event_id"], "eve@example.com", (kinds["Balcony"], "Eve"))
    fake_api.check_in(session_token(ORGANIZER), event["event_id"], fake_api.ticket(ann)["code"])
    fake_api.cancel_ticket(session_token("alice@example.com"), ticket_id=ben)
    fake_api.transfer_ticket(session_token("alice@example.com"), cy, "dora@example.com")
    return event


def test_attendees_are_listed_by_type_with_names_and_status(
    client: FlaskClient, fake_api: FakeApi, busy_event: dict[str, object]
) -> None:
    # Given an event whose tickets were checked in, cancelled and transferred
    sign_in_as(client, ORGANIZER)

    # When its organizer opens the attendee page
    page = client.get(f"/organizer/events/{busy_event['event_id']}/attendees")

    # Then each type has its own list, every ticket with its name, holder and status
    assert page.status_code == 200
    text = _text(page.get_data(as_text=True))
    standing = text[text.index("Standing (4 tickets)") : text.index("Balcony (1 ticket)")]
    assert re.search(r"Ann alice@example\.com .* Checked in", standing)
    assert re.search(r"Ben alice@example\.com .* Cancelled", standing)
    assert re.search(r"Cy alice@example\.com .* Transferred", standing)
    assert re.search(r"Cy dora@example\.com \(transferred to them\) .* Issued", standing)
    assert re.search(r"Eve eve@example\.com .* Issued", text[text.index("Balcony (1 ticket)") :])
    # And the sales per type: quota, sold, left, checked in, waiting
    assert "Standing 30 2 28 1 0" in text
    assert "Balcony 10 1 9 0 0" in text
    assert re.search(r"1 checked in of 3 tickets", text)


def test_sales_and_attendees_as_json(
    client: FlaskClient, fake_api: FakeApi, busy_event: dict[str, object]
) -> None:
    sign_in_as(client, ORGANIZER)

    # When the organizer's script reads the counts, and the attendee list
    sales = client.get(f"/api/events/{busy_event['event_id']}/sales").get_json()
    listed = client.get(f"/api/events/{busy_event['event_id']}/attendees").get_json()

    # Then both count per type, and the list names each ticket's type, attendee and status
    per_type = {k["name"]: k for k in sales["ticket_types"]}
    assert {k: per_type["Standing"][k] for k in ("sold", "left", "checked_in", "waiting")} == {
        "sold": 2,
        "left": 28,
        "checked_in": 1,
        "waiting": 0,
    }
    assert (sales["sold"], sales["left"], sales["checked_in"]) == (3, 32, 1)
    assert listed["ticket_types"] == sales["ticket_types"]
    seen = {
        (a["ticket_type"], a["attendee_name"], a["holder"], a["status"])
        for a in listed["attendees"]
    }
    assert seen == {
        ("Standing", "Ann", "alice@example.com", "checked_in"),
        ("Standing", "Ben", "alice@example.com", "cancelled"),
        ("Standing", "Cy", "alice@example.com", "transferred"),
        ("Standing", "Cy", "dora@example.com", "issued"),
        ("Balcony", "Eve", "eve@example.com", "issued"),
    }


NAMES = [
    'Zoë "Zee" O\'Brien',
    "Smith, John",
    "two\nlines",
    '=HYPERLINK("https://evil.example","x")',
    "+1 555 0100",
    "-2+3",
    "@SUM(A1:A2)",
    "\tindented",
    "Renée 李",
    "",
]


def _seed_tickets(db_engine: Engine, event_id: str, type_ids: list[str], count: int) -> None:
    """``count`` tickets straight into the read model (as the projector leaves them)."""
    issued = clock.now() - timedelta(hours=1)
    rows = [
        {
            "ticket_id": f"t{n:07d}" + "x" * 15,
            "event_id": event_id,
            "holder": f"holder{n:05d}@example.com",
            "buyer": f"holder{n:05d}@example.com",
            "status": ("issued", "checked_in", "cancelled", "transferred")[n % 4],
            "order_id": f"o{n:07d}" + "y" * 15,
            "ticket_type_id": type_ids[n % len(type_ids)],
            "attendee_name": NAMES[n % len(NAMES)],
            "issued_at": issued + timedelta(seconds=n),
            "version": 1,
        }
        for n in range(count)
    ]
    with db_engine.begin() as conn:
        conn.execute(insert(tickets), rows)


def test_csv_export_streams_thousands_of_attendees_that_parse_back(
    client: FlaskClient, fake_api: FakeApi, db_engine: Engine
) -> None:
    # Given an event with 3,000 tickets, named with commas, quotes, new lines, accents and text
    # a spreadsheet would run as a formula
    event = fake_api.publish(
        title="Stadium", organizer=ORGANIZER, capacity=5000, ticket_types=TYPES
    )
    kinds = _kinds(event)
    _seed_tickets(db_engine, event["event_id"], [kinds["Standing"], kinds["Balcony"]], 3000)
    sign_in_as(client, ORGANIZER)

    # When the organizer downloads the CSV
    response = client.get(f"/organizer/events/{event['event_id']}/attendees.csv")

    # Then it is a streamed attachment, sent in many pieces rather than built whole
    assert response.status_code == 200
    assert response.is_streamed
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="attendees-{event["event_id"]}.csv"'
    )
    chunks = list(response.response)
    assert len(chunks) > 10
    body = b"".join(c if isinstance(c, bytes) else c.encode() for c in chunks).decode("utf-8-sig")

    # And it parses back, with the csv module, to one row per ticket, every field intact
    rows = list(csv.DictReader(io.StringIO(body, newline="")))
    assert len(rows) == 3000
    assert {r["Ticket type"] for r in rows} == {"Standing", "Balcony"}
    by_id = {r["Ticket ID"]: r for r in rows}
    sample = by_id["t0000001" + "x" * 15]
    assert sample["Attendee name"] == "Smith, John"
    assert sample["Holder email"] == "holder00001@example.com"
    assert sample["Status"] == "checked_in"
    assert sample["Ticket type"] == "Balcony"
    assert by_id["t0000000" + "x" * 15]["Attendee name"] == 'Zoë "Zee" O\'Brien'
    assert by_id["t0000002" + "x" * 15]["Attendee name"] == "two\nlines"
    assert by_id["t0000008" + "x" * 15]["Attendee name"] == "Renée 李"
    # And no cell starts as a formula: those names are kept, behind an apostrophe
    assert (
        by_id["t0000003" + "x" * 15]["Attendee name"] == '\'=HYPERLINK("https://evil.example","x")'
    )
    assert by_id["t0000004" + "x" * 15]["Attendee name"] == "'+1 555 0100"
    assert by_id["t0000005" + "x" * 15]["Attendee name"] == "'-2+3"
    assert by_id["t0000006" + "x" * 15]["Attendee name"] == "'@SUM(A1:A2)"
    assert by_id["t0000007" + "x" * 15]["Attendee name"] == "'\tindented"
    for row in rows:
        assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in row.values())
    # And the database connection went back to the pool once the download was read
    engine = client.application.extensions["gatepass"].read_model.engine
    assert engine.pool.checkedout() == 0


def test_an_event_without_tickets_exports_its_header(
    client: FlaskClient, fake_api: FakeApi
) -> None:
    event = fake_api.publish(title="Quiet night", organizer=ORGANIZER)
    sign_in_as(client, ORGANIZER)
    body = client.get(f"/organizer/events/{event['event_id']}/attendees.csv").get_data()
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))
    assert rows == [
        [
            "Ticket type",
            "Attendee name",
            "Holder email",
            "Status",
            "Ticket ID",
            "Order ID",
            "Buyer email",
            "Issued at (UTC)",
            "Checked in at (UTC)",
            "Revoked at (UTC)",
            "Revoked because",
            "Transferred from ticket",
            "Transferred to ticket",
        ]
    ]


def test_only_the_organizer_reads_attendees_sales_and_the_export(
    client: FlaskClient, fake_api: FakeApi, busy_event: dict[str, object]
) -> None:
    event_id = busy_event["event_id"]
    # Given someone signed in who does not organize the event
    sign_in_as(client, "mallory@example.com")

    # When they ask for the attendee page, the CSV, and the JSON reads
    page = client.get(f"/organizer/events/{event_id}/attendees")
    export = client.get(f"/organizer/events/{event_id}/attendees.csv")
    sales = client.get(f"/api/events/{event_id}/sales")

    # Then each refuses in words, and no attendee leaks
    for refused in (page, export):
        assert refused.status_code == 403
        text = refused.get_data(as_text=True)
        assert "Only this event&#39;s organizer can see or change this." in text
        assert "alice@example.com" not in text
    assert sales.status_code == 403
    assert sales.get_json()["error"] == {
        "code": "forbidden",
        "message": "Only this event's organizer can see or change this.",
    }


def test_the_export_asks_a_visitor_to_sign_in(client: FlaskClient, fake_api: FakeApi) -> None:
    event = fake_api.publish(title="Quiet night", organizer=ORGANIZER)
    answer = client.get(f"/organizer/events/{event['event_id']}/attendees.csv")
    assert answer.status_code == 302
    assert answer.headers["Location"].startswith("/signin?next=/organizer/events/")
