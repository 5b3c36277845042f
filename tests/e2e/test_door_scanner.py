"""The offline door scanner in real Chromium against make dev's whole stack (docs/decisions/0063):
it downloads the event's signed ticket list, keeps judging codes with the network cut
(``context.set_offline``), queues what it admits and syncs each scan exactly once when the
network is back; a keyboard-wedge scanner's code and Enter are admitted with no click; people
leave and come back through exit scans; two offline scanners admitting one ticket make one
check-in and one conflict the organizer sees; a tampered ticket list is refused."""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser, BrowserContext, Page, Route, expect

from tests.e2e.conftest import Camera, Stack

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(900)]


def eventually(what: str, probe: Callable[[], Any], limit: float = 60) -> Any:
    deadline = time.monotonic() + limit
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.5)


class Api:
    """The serverless API over HTTP, signing people in through the local mailbox's JSON."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.http = requests.Session()

    def call(self, method: str, path: str, token: str | None = None, **body: Any) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        answer = self.http.request(
            method, f"{self.stack.api_url}{path}", json=body or None, headers=headers, timeout=60
        )
        assert answer.status_code < 400, f"{method} {path}: {answer.status_code} {answer.text}"
        return answer.json()

    def mail(self, to: str) -> list[dict[str, Any]]:
        answer = self.http.get(f"{self.stack.mailbox_url}.json", params={"to": to}, timeout=30)
        messages: list[dict[str, Any]] = answer.json()["messages"]
        return messages

    def sign_in(self, email: str) -> str:
        """Subscribe, confirm through the mailbox, wait for the welcome (the subscription is
        active), then exchange an emailed code for a session token."""
        self.call("POST", "/subscribe", email=email)
        link = eventually(
            f"{email}'s confirmation link",
            lambda: next(
                (m["confirm_url"] for m in self.mail(email) if m.get("confirm_url")), None
            ),
        )
        self.http.get(link, timeout=30).raise_for_status()
        eventually(
            f"{email}'s welcome",
            lambda: any("Welcome" in m["subject"] + m["body"] for m in self.mail(email)),
        )
        seen = {m["message_id"] for m in self.mail(email)}
        self.call("POST", "/send-otp", email=email)

        def code() -> str | None:
            for message in self.mail(email):
                found = re.search(r"code: (\d{6})\b", message["body"])
                if message["message_id"] not in seen and found:
                    return found.group(1)
            return None

        answer = self.call("POST", "/verify-otp", email=email, code=eventually("a code", code))
        return str(answer["token"])


@dataclass
class Door:
    event_id: str
    other_event_code: str
    organizer_token: str
    staff_token: str
    codes: dict[str, str]
    gates: dict[str, str]


@pytest.fixture(scope="module")
def api(stack: Stack) -> Api:
    return Api(stack)


@pytest.fixture(scope="module")
def door(api: Api) -> Door:
    """An event with a general type and a multi-entry day pass, a main gate and a VIP entrance
    for day passes only, Sam as door staff, and named tickets; Bob's is cancelled."""
    stamp = f"{datetime.now():%H%M%S%f}"
    organizer = api.sign_in(f"door-host-{stamp}@example.com")
    staff_email = f"door-staff-{stamp}@example.com"
    staff = api.sign_in(staff_email)
    starts = (datetime.now(UTC) + timedelta(days=5)).replace(microsecond=0).isoformat()
    event = api.call(
        "POST",
        "/create-event",
        organizer,
        title=f"Harbour Nights {stamp}",
        venue="Pier 4",
        starts_at=starts,
        capacity=40,
        max_tickets_per_buyer=20,
        ticket_types=[
            {"name": "General", "quota": 30},
            {"name": "Day pass", "quota": 10, "multi_entry": True},
        ],
    )["event"]
    event_id = event["event_id"]
    general, day_pass = (t["ticket_type_id"] for t in event["ticket_types"])
    names = ["Alice", "Bob", "Carol", "Dave", "Erin", "Frank", "Grace", "Heidi"]
    order = api.call(
        "POST",
        "/create-ticket",
        organizer,
        event_id=event_id,
        tickets=[{"ticket_type_id": general, "attendee_name": n} for n in names]
        + [{"ticket_type_id": day_pass, "attendee_name": "Ivan"}],
    )["order"]
    codes = {t["attendee_name"]: t["code"] for t in order["tickets"]}
    bob = next(t for t in order["tickets"] if t["attendee_name"] == "Bob")
    api.call("POST", "/cancel-ticket", organizer, ticket_id=bob["ticket_id"])
    main = api.call("POST", "/add-gate", organizer, event_id=event_id, name="Main gate")
    vip = api.call(
        "POST",
        "/add-gate",
        organizer,
        event_id=event_id,
        name="VIP entrance",
        mode="entry",
        ticket_type_ids=[day_pass],
    )
    api.call("POST", "/add-door-staff", organizer, event_id=event_id, email=staff_email)
    other = api.call(
        "POST", "/create-event", organizer, title=f"Elsewhere {stamp}", starts_at=starts, capacity=5
    )["event"]
    other_code = api.call("POST", "/create-ticket", organizer, event_id=other["event_id"])[
        "ticket"
    ]["code"]
    return Door(
        event_id=event_id,
        other_event_code=other_code,
        organizer_token=organizer,
        staff_token=staff,
        codes=codes,
        gates={"main": main["gate"]["gate_id"], "vip": vip["gate"]["gate_id"]},
    )


@pytest.fixture
def contexts(browser: Browser) -> Iterator[Callable[[str], BrowserContext]]:
    made: list[BrowserContext] = []

    def make(_token: str) -> BrowserContext:
        context = browser.new_context(viewport={"width": 1100, "height": 900})
        context.set_default_timeout(30_000)
        made.append(context)
        return context

    yield make
    for context in made:
        context.close()


def open_scanner(context: BrowserContext, stack: Stack, door: Door, token: str) -> Page:
    context.add_cookies([{"name": "gp_session", "value": token, "url": stack.web_url}])
    page = context.new_page()
    page.goto(f"{stack.web_url}/door/events/{door.event_id}")
    expect(page.locator("#door-scanner")).to_have_attribute("data-ready", "true")
    expect(page.locator("#bundle-state")).to_have_attribute("data-state", "ready")
    return page


def wedge(page: Page, code: str) -> None:
    """What a USB or Bluetooth scanner does: types the code, then Enter. No click."""
    page.keyboard.type(code)
    page.keyboard.press("Enter")


def verdict(page: Page, outcome: str, reason: str = "", name: str = "") -> None:
    box = page.locator("#verdict")
    expect(box).to_have_attribute("data-outcome", outcome)
    if reason:
        expect(page.locator("#verdict-reason")).to_contain_text(reason)
    if name:
        expect(page.locator("#verdict-name")).to_have_text(name)


def counts(api: Api, door: Door) -> dict[str, Any]:
    answer: dict[str, Any] = api.call("GET", f"/events/{door.event_id}/door", door.organizer_token)
    return answer


def test_offline_the_scanner_admits_and_refuses_then_syncs_exactly_once(
    contexts: Callable[[str], BrowserContext], stack: Stack, door: Door, api: Api, camera: Camera
) -> None:
    # Given the organizer's scanner with the ticket list downloaded, then the network cut
    context = contexts(door.organizer_token)
    page = open_scanner(context, stack, door, door.organizer_token)
    camera.shoot(page, "scanner-online")
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.reload()  # now the service worker keeps the page too
    expect(page.locator("#door-scanner")).to_have_attribute("data-ready", "true")
    context.set_offline(True)
    # Chromium's offline emulation can reach a page its service worker has just served again a
    # moment late, and the scanner syncs as it starts: while offline, every sync is refused as
    # a network without a connection would, so none reaches the server through that gap.
    context.route("**/sync", lambda route: route.abort("internetdisconnected"))
    expect(page.locator("#network-state")).to_have_text("Offline")

    # When Alice's code is scanned
    wedge(page, door.codes["Alice"])

    # Then she is admitted by the scanner itself, with her name and type, and the scan waits
    verdict(page, "admitted", "Admitted", "Alice")
    expect(page.locator("#verdict-type")).to_contain_text("General")
    expect(page.locator("#verdict")).to_have_attribute("data-offline", "true")
    expect(page.locator("#queue-state")).to_have_attribute("data-count", "1")
    camera.shoot(page, "offline-admitted")

    # And every bad code is refused with its reason
    wedge(page, door.codes["Alice"])
    verdict(page, "refused", "Already inside", "Alice")
    camera.shoot(page, "offline-already-inside")
    wedge(page, door.codes["Bob"])
    verdict(page, "refused", "cancelled by its holder")
    wedge(page, door.other_event_code)
    verdict(page, "refused", "another event")
    forged = door.codes["Carol"][:-6] + (
        "AAAAAA" if not door.codes["Carol"].endswith("AAAAAA") else "BBBBBB"
    )
    wedge(page, forged)
    verdict(page, "refused", "signature is not valid")
    page.select_option("#gate", door.gates["vip"])
    wedge(page, door.codes["Carol"])
    verdict(page, "refused", "VIP entrance does not admit General", "Carol")
    camera.shoot(page, "offline-wrong-gate")
    expect(page.locator("#queue-state")).to_have_attribute("data-count", "1")

    # And the page still opens with no network, from what the service worker kept
    page.reload()
    expect(page.locator("#door-scanner")).to_have_attribute("data-ready", "true")
    expect(page.locator("#queue-state")).to_have_attribute("data-count", "1")
    wedge(page, door.codes["Alice"])
    verdict(page, "refused", "Already inside")
    assert counts(api, door)["totals"]["arrived"] == 0

    # When the network comes back
    context.unroute("**/sync")
    context.set_offline(False)

    # Then the queue is synced: Alice is checked in once, at the time she was scanned
    expect(page.locator("#queue-state")).to_have_attribute("data-count", "0", timeout=30_000)
    expect(page.locator("#sync-state")).to_contain_text("Synced 1 scan")
    camera.shoot(page, "synced")
    assert counts(api, door)["totals"]["arrived"] == 1

    # And syncing again, or reopening the scanner, records nothing more
    page.get_by_role("button", name="Sync now").click()
    page.reload()
    expect(page.locator("#door-scanner")).to_have_attribute("data-ready", "true")
    shown = counts(api, door)
    assert shown["totals"]["arrived"] == 1
    assert shown["issues"] == []


def test_a_keyboard_wedge_scanner_is_admitted_without_a_click(
    contexts: Callable[[str], BrowserContext], stack: Stack, door: Door, api: Api, camera: Camera
) -> None:
    # Given Sam's scanner (door staff), online, with nothing focused on the page
    page = open_scanner(contexts(door.staff_token), stack, door, door.staff_token)
    page.evaluate("document.activeElement && document.activeElement.blur()")

    # When a hardware scanner types Erin's code and presses Enter
    wedge(page, door.codes["Erin"])

    # Then the server admits her, and the check-in names Sam
    verdict(page, "admitted", "Admitted", "Erin")
    expect(page.locator("#verdict")).to_have_attribute("data-offline", "false")
    camera.shoot(page, "wedge-admitted")
    again = api.http.post(
        f"{stack.api_url}/check-in",
        json={"event_id": door.event_id, "code": door.codes["Erin"]},
        headers={"Authorization": f"Bearer {door.organizer_token}"},
        timeout=60,
    )
    assert again.status_code == 409
    assert again.json()["error"]["first_checked_in_by"].startswith("door-staff-")


def test_people_leave_through_an_exit_scan_and_come_back(
    contexts: Callable[[str], BrowserContext], stack: Stack, door: Door, api: Api, camera: Camera
) -> None:
    page = open_scanner(contexts(door.organizer_token), stack, door, door.organizer_token)
    page.select_option("#gate", door.gates["main"])
    before = counts(api, door)["totals"]

    wedge(page, door.codes["Frank"])
    verdict(page, "admitted", "Admitted", "Frank")

    page.locator('input[name="direction"][value="out"]').check()
    wedge(page, door.codes["Frank"])
    verdict(page, "exited", "Left", "Frank")
    camera.shoot(page, "exit-scan")
    wedge(page, door.codes["Frank"])
    verdict(page, "refused", "already left")

    page.locator('input[name="direction"][value="in"]').check()
    wedge(page, door.codes["Frank"])
    verdict(page, "admitted", "Admitted", "Frank")
    camera.shoot(page, "re-entry")

    after = counts(api, door)["totals"]
    assert after["arrived"] == before["arrived"] + 1
    assert after["inside"] == before["inside"] + 1
    assert after["inside"] + after["left"] == after["arrived"]


def test_two_offline_scanners_admitting_one_ticket_make_one_check_in_and_one_conflict(
    contexts: Callable[[str], BrowserContext], stack: Stack, door: Door, api: Api, camera: Camera
) -> None:
    # Given Sam's and the organizer's scanners, both with the list, both offline
    sam_context = contexts(door.staff_token)
    olivia_context = contexts(door.organizer_token)
    sam = open_scanner(sam_context, stack, door, door.staff_token)
    olivia = open_scanner(olivia_context, stack, door, door.organizer_token)
    arrived = counts(api, door)["totals"]["arrived"]
    sam_context.set_offline(True)
    olivia_context.set_offline(True)

    # When both admit Grace's ticket (a copied code at two gates)
    wedge(sam, door.codes["Grace"])
    verdict(sam, "admitted", name="Grace")
    wedge(olivia, door.codes["Grace"])
    verdict(olivia, "admitted", name="Grace")

    # And both come back online, Sam's first
    sam_context.set_offline(False)
    expect(sam.locator("#queue-state")).to_have_attribute("data-count", "0", timeout=30_000)
    olivia_context.set_offline(False)
    expect(olivia.locator("#queue-state")).to_have_attribute("data-count", "0", timeout=30_000)

    # Then Grace is checked in once, and the second scanner reports the conflict
    expect(olivia.locator("#sync-state")).to_have_attribute("data-conflicts", "1")
    expect(olivia.locator("#sync-state")).to_contain_text("1 conflict")
    camera.shoot(olivia, "conflict-on-the-scanner")
    shown = counts(api, door)
    assert shown["totals"]["arrived"] == arrived + 1
    conflicts = [i for i in shown["issues"] if i["kind"] == "conflict"]
    assert [i["attendee_name"] for i in conflicts] == ["Grace"]

    # And the organizer sees both scans on the event's door page
    olivia.goto(f"{stack.web_url}/organizer/events/{door.event_id}/door")
    issue = olivia.locator('li[data-issue="conflict"]')
    expect(issue).to_contain_text("Admitted twice")
    expect(issue).to_contain_text("Grace")
    camera.shoot(olivia, "conflict-for-the-organizer")


def test_a_tampered_ticket_list_is_refused(
    contexts: Callable[[str], BrowserContext], stack: Stack, door: Door, camera: Camera
) -> None:
    # Given someone between the site and the scanner who drops a revocation from the list
    context = contexts(door.organizer_token)
    context.add_cookies(
        [{"name": "gp_session", "value": door.organizer_token, "url": stack.web_url}]
    )

    def tamper(route: Route) -> None:
        answer = route.fetch()
        signed = answer.json()
        raw = signed["payload"] + "=" * (-len(signed["payload"]) % 4)
        content = json.loads(base64.urlsafe_b64decode(raw))
        content["revoked"] = []
        forged = base64.urlsafe_b64encode(json.dumps(content).encode()).rstrip(b"=").decode()
        route.fulfill(response=answer, json={**signed, "payload": forged})

    context.route(re.compile(r".*/door/events/[a-z2-7]+/bundle$"), tamper)
    page = context.new_page()

    # When the scanner downloads it
    page.goto(f"{stack.web_url}/door/events/{door.event_id}")
    expect(page.locator("#door-scanner")).to_have_attribute("data-ready", "true")

    # Then it refuses the list, and has nothing to judge codes with offline
    expect(page.locator("#bundle-state")).to_have_attribute("data-state", "refused")
    expect(page.locator("#bundle-state")).to_contain_text("signature does not match")
    camera.shoot(page, "tampered-refused")
    context.set_offline(True)
    wedge(page, door.codes["Heidi"])
    verdict(page, "refused", "No ticket list")
