"""The door on the site: the organizer's staff and gates page, live counts on the attendee page
and the dashboard, and the installable scanner app staff see for their event only."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from gatepass import b64url, bundles
from gatepass.models.scanner import SignedBundle
from tests.web.conftest import page_token, sign_in_as
from tests.web.fake_api import FakeApi, session_token

pytestmark = pytest.mark.web

ORGANIZER = "organizer@example.com"
STAFF = "sam@example.com"


def _event_with_ticket(fake_api: FakeApi) -> tuple[dict[str, str], dict[str, str]]:
    event = fake_api.publish(organizer=ORGANIZER, title="Harbour lights")
    answer = fake_api.create_ticket(session_token("alice@example.com"), event["event_id"], "k-1")
    return event, fake_api.ticket(answer["ticket"]["ticket_id"])


def test_the_organizer_invites_staff_adds_a_gate_and_sees_counts(
    client: FlaskClient, fake_api: FakeApi
) -> None:
    # Given an organizer on their event's door page
    event, ticket = _event_with_ticket(fake_api)
    event_id = event["event_id"]
    sign_in_as(client, ORGANIZER)
    token = page_token(client, f"/organizer/events/{event_id}/door")

    # When they invite Sam and add a gate through the forms
    invited = client.post(
        f"/organizer/events/{event_id}/door/staff",
        data={"csrf_token": token, "email": STAFF},
        follow_redirects=True,
    )
    gated = client.post(
        f"/organizer/events/{event_id}/door/gates",
        data={"csrf_token": token, "name": "River gate", "mode": "entry"},
        follow_redirects=True,
    )

    # Then the page lists Sam as able to scan and the gate as entries only
    assert invited.status_code == 200
    assert f"{STAFF} can now scan." in invited.get_data(as_text=True)
    page = gated.get_data(as_text=True)
    assert f'data-staff="{STAFF}"' in page
    assert 'data-gate="River gate"' in page
    assert "Entries only" in page

    # When Sam scans Alice in at that gate
    door = fake_api.event_door(session_token(ORGANIZER), event_id)
    gate_id = door["gates"][0]["gate_id"]
    fake_api.check_in(session_token(STAFF), event_id, ticket["code"], gate_id=gate_id)

    # Then the attendee page and the dashboard show one inside, per gate and in total
    for path in (
        f"/organizer/events/{event_id}/attendees",
        f"/organizer/events/{event_id}/dashboard",
    ):
        shown = client.get(path).get_data(as_text=True)
        assert '<strong data-count="inside">1</strong> inside now' in shown
        assert '<strong data-count="arrived">1</strong> arrived' in shown
        assert '<strong data-count="left">0</strong> left' in shown
        assert (
            '<tr data-gate="River gate"><td>River gate</td><td>1</td><td>1</td><td>0</td></tr>'
            in shown
        )


def test_revoking_staff_from_the_page(client: FlaskClient, fake_api: FakeApi) -> None:
    event, _ = _event_with_ticket(fake_api)
    event_id = event["event_id"]
    fake_api.add_door_staff(session_token(ORGANIZER), event_id, STAFF)
    sign_in_as(client, ORGANIZER)
    token = page_token(client, f"/organizer/events/{event_id}/door")

    revoked = client.post(
        f"/organizer/events/{event_id}/door/staff/remove",
        data={"csrf_token": token, "email": STAFF},
        follow_redirects=True,
    )

    assert f"{STAFF} can no longer scan." in revoked.get_data(as_text=True)
    assert fake_api.door_events(session_token(STAFF))["events"] == []


def test_a_bad_invitation_shows_why_and_changes_nothing(
    client: FlaskClient, fake_api: FakeApi
) -> None:
    event, _ = _event_with_ticket(fake_api)
    event_id = event["event_id"]
    sign_in_as(client, ORGANIZER)
    token = page_token(client, f"/organizer/events/{event_id}/door")

    refused = client.post(
        f"/organizer/events/{event_id}/door/staff",
        data={"csrf_token": token, "email": ORGANIZER},
    )

    assert refused.status_code == 400
    assert "The organizer can already scan" in refused.get_data(as_text=True)
    assert fake_api.event_door(session_token(ORGANIZER), event_id)["staff"] == []


def test_staff_see_only_their_events_scanner(client: FlaskClient, fake_api: FakeApi) -> None:
    # Given Sam is door staff of one event, and another event exists
    event, _ = _event_with_ticket(fake_api)
    other = fake_api.publish(organizer=ORGANIZER, title="Another night")
    fake_api.add_door_staff(session_token(ORGANIZER), event["event_id"], STAFF)
    sign_in_as(client, STAFF)

    # When Sam opens the door scanner app
    home = client.get("/door/").get_data(as_text=True)

    # Then it lists that event only, and its scanner opens with the pinned bundle key
    assert "Harbour lights" in home
    assert "Another night" not in home
    scanner = client.get(f"/door/events/{event['event_id']}")
    assert scanner.status_code == 200
    key = fake_api.scanner_bundle_key()
    assert f'data-bundle-key="{key["public_key"]}"' in scanner.get_data(as_text=True)
    # but not the other event's scanner, nor the organizer's pages
    assert client.get(f"/door/events/{other['event_id']}").status_code == 403
    assert client.get(f"/organizer/events/{event['event_id']}/door").status_code == 403
    assert client.get(f"/organizer/events/{event['event_id']}/attendees").status_code == 403


def test_the_bundle_and_sync_routes_answer_json(client: FlaskClient, fake_api: FakeApi) -> None:
    # Given Sam is staff of one event and not of another
    event, ticket = _event_with_ticket(fake_api)
    other = fake_api.publish(organizer=ORGANIZER, title="Another night")
    fake_api.add_door_staff(session_token(ORGANIZER), event["event_id"], STAFF)
    sign_in_as(client, STAFF)
    token = page_token(client, f"/door/events/{event['event_id']}")

    # When his scanner downloads its bundle
    bundle = client.get(
        f"/door/events/{event['event_id']}/bundle", headers={"Accept": "application/json"}
    )

    # Then it verifies with the pinned key and lists Alice's ticket
    assert bundle.status_code == 200
    assert bundle.headers["Cache-Control"] == "no-store"
    content = bundles.open_bundle(
        SignedBundle.model_validate(bundle.get_json()), fake_api.scanner_bundle_key()["public_key"]
    )
    assert [t["ticket_id"] for t in content["tickets"]] == [ticket["ticket_id"]]
    # and another event's bundle is refused
    refused = client.get(
        f"/door/events/{other['event_id']}/bundle", headers={"Accept": "application/json"}
    )
    assert refused.status_code == 403
    assert refused.get_json()["error"]["code"] == "not_door_staff"

    # When the scanner syncs a queue, twice
    scan = {"nonce": "web-scan-0001", "code": ticket["code"], "scanned_at": "2026-12-02T19:00:00Z"}
    for _ in range(2):
        synced = client.post(
            f"/door/events/{event['event_id']}/sync",
            json={"scans": [scan]},
            headers={"Accept": "application/json", "X-CSRF-Token": token},
        )
        assert synced.status_code == 200
    # Then the ticket is checked in once
    assert synced.get_json()["results"][0]["duplicate"] is True
    assert fake_api.ticket(ticket["ticket_id"])["status"] == "checked_in"
    assert (
        fake_api.event_door(session_token(ORGANIZER), event["event_id"])["totals"]["arrived"] == 1
    )

    # And a malformed queue is refused
    empty = client.post(
        f"/door/events/{event['event_id']}/sync",
        json={"scans": []},
        headers={"Accept": "application/json", "X-CSRF-Token": token},
    )
    assert empty.status_code == 400
    assert empty.get_json()["error"]["code"] == "validation_error"


def test_the_scanner_is_installable(client: FlaskClient, fake_api: FakeApi) -> None:
    manifest = client.get("/door/manifest.webmanifest")
    assert manifest.mimetype == "application/manifest+json"
    body = manifest.get_json()
    assert (body["start_url"], body["scope"], body["display"]) == ("/door/", "/door/", "standalone")
    worker = client.get("/door/sw.js")
    assert worker.mimetype == "text/javascript"
    assert "gatepass-door" in worker.get_data(as_text=True)
    assert client.get("/door/icon.svg").mimetype == "image/svg+xml"


def test_signature_bytes_are_what_the_bundle_carries(fake_api: FakeApi) -> None:
    # The payload is sent as it was signed: base64url of the JSON bytes, no re-encoding.
    event, _ = _event_with_ticket(fake_api)
    signed = fake_api.scanner_bundle(session_token(ORGANIZER), event["event_id"])
    raw = b64url.decode(signed["payload"])
    assert raw.startswith(b'{"format":1,"event_id":"' + event["event_id"].encode())


def test_closing_and_reopening_a_gate_from_the_page(client: FlaskClient, fake_api: FakeApi) -> None:
    # Given a gate on the organizer's door page
    event, _ = _event_with_ticket(fake_api)
    event_id = event["event_id"]
    gate = fake_api.add_gate(session_token(ORGANIZER), {"event_id": event_id, "name": "Side door"})
    gate_id = gate["gate"]["gate_id"]
    sign_in_as(client, ORGANIZER)
    token = page_token(client, f"/organizer/events/{event_id}/door")

    # When the organizer closes it
    closed = client.post(
        f"/organizer/events/{event_id}/door/gates/{gate_id}",
        data={"csrf_token": token, "closed": "true"},
        follow_redirects=True,
    )

    # Then the page says so and offers to open it, and scans there are refused
    page = closed.get_data(as_text=True)
    assert "Gate Side door is closed." in page
    assert "Side door (closed)" in page
    assert fake_api.event_door(session_token(ORGANIZER), event_id)["gates"][0]["closed"] is True

    # When it is opened again, it is open
    opened = client.post(
        f"/organizer/events/{event_id}/door/gates/{gate_id}",
        data={"csrf_token": token, "closed": "false"},
        follow_redirects=True,
    )
    assert "Gate Side door is open." in opened.get_data(as_text=True)
    # and a gate of no such id is a readable 404
    assert (
        client.post(
            f"/organizer/events/{event_id}/door/gates/not-an-id",
            data={"csrf_token": token, "closed": "true"},
        ).status_code
        == 404
    )
