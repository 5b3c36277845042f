"""End to end, in a real browser, against make dev's whole stack: an organizer signs up on the
site (confirming through the local mailbox), signs in with the emailed link, publishes an event with
a real photo, takes a ticket, shows its QR code, checks it in at the door by typed entry, sees a
second check-in refused and the counts move, and sees the visits on the activity dashboard.
Then real events: an organizer adds a second ticket type; a buyer orders one ticket of each
type with names, cancels one and gives the other to a friend, who is emailed and finds it under
their tickets; the organizer sees every status by type and in the CSV export. And the waiting
list: a second person joins a sold-out event's line, the holder cancels, the freed seat is
offered by email and claimed from the emailed link."""

from __future__ import annotations

import csv
import io
import re
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import Browser, Locator, Page, expect

from devstack.seed import DEMO_EVENTS
from tests.e2e.conftest import Camera, Stack

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(600)]

ORGANIZER = "e2e-organizer@example.com"


def eventually(what: str, probe: Callable[[], Any], limit: float = 60, pause: float = 1) -> Any:
    """Poll ``probe`` until it returns something truthy (the stack is eventually consistent:
    workflow polls, image processing and the read-model projector run in the background)."""
    deadline = time.monotonic() + limit
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(pause)


def newest_mail(page: Page, stack: Stack, to: str, kind: str, text: str = "") -> Locator:
    """Open the mailbox for ``to`` until a message of ``kind`` (containing ``text``) is there."""

    def look() -> Locator | None:
        page.goto(f"{stack.mailbox_url}?to={to}")
        messages = page.locator(f"li.message.{kind}", has_text=text)
        return messages.first if messages.count() else None

    found: Locator = eventually(f"a {kind} mail to {to}", look)
    return found


def sign_up_on_the_site(page: Page, stack: Stack, email: str, camera: Camera | None = None) -> None:
    """Sign up from the site's form and confirm through the mailbox, until the welcome arrives."""
    page.goto(stack.web_url)
    page.get_by_role("link", name="Sign up").click()
    page.get_by_label("Email address").fill(email)
    if camera:
        camera.shoot(page, "signup")
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("heading", name="Confirm your address")).to_be_visible()
    if camera:
        camera.shoot(page, "signup-sent")
    confirmation = newest_mail(page, stack, email, "confirmation-request")
    if camera:
        camera.shoot(page, "mailbox-confirmation-request")
    confirmation.get_by_role("link").click()
    expect(page.get_by_role("heading", name="Subscription confirmed!")).to_be_visible()
    if camera:
        camera.shoot(page, "subscription-confirmed")
    newest_mail(page, stack, email, "notification", "Welcome")


def natural_size(image: Locator) -> tuple[int, int]:
    size = image.evaluate("img => [img.complete ? img.naturalWidth : 0, img.naturalHeight]")
    return int(size[0]), int(size[1])


def test_the_site_is_alive_on_first_open(page: Page, stack: Stack, camera: Camera) -> None:
    # When someone opens the web app for the first time
    page.goto(stack.web_url)
    camera.shoot(page, "catalog")

    # Then the demo events are there, with their processed images
    for demo in DEMO_EVENTS:
        expect(page.get_by_role("heading", name=demo.title)).to_be_visible()
    thumbnails = page.locator("li.card img")
    expect(thumbnails).to_have_count(len(DEMO_EVENTS))
    for index in range(len(DEMO_EVENTS)):
        thumbnail = thumbnails.nth(index)
        thumbnail.scroll_into_view_if_needed()
        eventually("a loaded thumbnail", lambda t=thumbnail: natural_size(t)[0] > 0, limit=15)
        assert natural_size(thumbnail)[0] <= 400

    # And the mailbox shows what the demo organizer was sent, saying how confirmation works
    page.goto(stack.mailbox_url)
    camera.shoot(page, "mailbox")
    expect(page.locator(".note")).to_contain_text("wait for confirmation")
    expect(page.locator("li.message", has_text="organizer@example.com").first).to_be_visible()


def test_an_organizer_runs_an_event_from_subscription_to_check_in(
    page: Page, stack: Stack, camera: Camera, photo: Path
) -> None:
    # --- sign up on the site, and confirm through the mailbox as the stand-in asks for it
    sign_up_on_the_site(page, stack, ORGANIZER, camera)
    camera.shoot(page, "mailbox-welcome")

    # --- sign in: the welcome's link leads to the sign-in page, whose mail's link signs in the
    # browser that asked for it
    welcome = newest_mail(page, stack, ORGANIZER, "notification", "Welcome")
    welcome.get_by_role("link").first.click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    camera.shoot(page, "signin")
    page.get_by_label("Email address").fill(ORGANIZER)
    page.get_by_role("button", name="Email me a sign-in link").click()
    page.wait_for_url(re.compile(r"/signin/code"))
    expect(page.locator("#signin-sent")).to_contain_text("in this browser")
    camera.shoot(page, "signin-check-email")
    mail = newest_mail(page, stack, ORGANIZER, "notification", "sign-in link")
    camera.shoot(page, "mailbox-sign-in-link")
    link = mail.get_by_role("link").first
    assert "/signin/link?token=" in str(link.get_attribute("href"))
    href = str(link.get_attribute("href"))
    link.click()
    expect(page.get_by_role("heading", name="Finish signing in")).to_be_visible()
    camera.shoot(page, "signin-link")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".flash.success")).to_contain_text(f"Signed in as {ORGANIZER}")
    camera.shoot(page, "signed-in")

    # --- the same link again signs nobody in, and says why
    page.goto(href)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#link-problem")).to_have_text("This sign-in link was already used")
    camera.shoot(page, "signin-link-used")

    # --- create an event with a real photo, and see the processed image
    title = f"Rooftop Quartet {datetime.now():%H%M%S}"
    page.goto(f"{stack.web_url}/organizer/events/new")
    page.get_by_label("Title").fill(title)
    page.get_by_label("Description").fill("Strings at sunset, on the roof of the old mill.")
    page.get_by_label("Venue").fill("Old Mill Rooftop, Porto")
    starts = datetime.now() + timedelta(days=10)
    page.get_by_label("Starts (your local time)").fill(starts.strftime("%Y-%m-%dT19:30"))
    page.get_by_label("Seats").fill("40")
    page.locator("#image").set_input_files(str(photo))
    camera.shoot(page, "new-event-form")
    page.get_by_role("button", name="Publish event").click()
    preview = page.locator("#upload-preview")
    expect(preview).to_be_visible(timeout=90_000)
    eventually("the processed image to load", lambda: natural_size(preview)[0] > 0, limit=15)
    camera.shoot(page, "new-event-image-ready")
    width, height = natural_size(preview)
    # A display rendition (at most 1600 px), turned upright from the EXIF orientation.
    assert max(width, height) <= 1600
    assert height > width

    page.locator("#upload-event-link").click()
    expect(page.get_by_role("heading", name=title)).to_be_visible()
    event_url = page.url
    camera.shoot(page, "event-page")

    # --- take a ticket and see its QR code
    page.get_by_role("button", name="Get ticket").click()
    page.wait_for_url(re.compile(r"/me/tickets"))
    ticket = page.locator("section.order", has_text=title).locator("li.ticket").first
    qr = ticket.locator("img.qr")

    def ticket_shown() -> bool:
        # My tickets reads the read model, which the projector fills from the stream.
        page.reload()
        return qr.count() == 1 and natural_size(qr)[0] > 0

    eventually("the ticket with its QR image", ticket_shown, limit=30)
    ticket.locator("summary").click()
    typed_code = ticket.locator(".ticket-code").inner_text().strip()
    camera.shoot(page, "my-tickets")
    scanned = zxingcpp.read_barcodes(
        Image.open(io.BytesIO(qr.screenshot())),
        formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode),
    )
    assert [barcode.text for barcode in scanned] == [typed_code]

    # --- check it in from the scanner page by typed entry
    page.goto(event_url)
    page.get_by_role("link", name="Scanner").click()
    camera.shoot(page, "scanner")
    page.get_by_label("Ticket code").fill(typed_code)
    page.get_by_role("button", name="Check in").click()
    expect(page.locator("#scan-result .flash.success")).to_contain_text(ORGANIZER)
    camera.shoot(page, "scanner-checked-in")

    # --- a second check-in of the same ticket is refused, with the time of the first
    page.get_by_label("Ticket code").fill(typed_code)
    page.get_by_role("button", name="Check in").click()
    refusal = page.locator("#scan-result .flash.error")
    expect(refusal).to_contain_text(re.compile(r"already checked in", re.IGNORECASE))
    expect(page.locator("#scan-result .flash.success")).to_have_count(0)
    camera.shoot(page, "scanner-second-check-in-refused")

    # --- the counts move on the attendee list
    page.get_by_role("link", name="Attendees").click()

    def counts_moved() -> bool:
        page.reload()
        return (
            page.locator("#count-checked-in").inner_text() == "1"
            and page.locator("#count-sold").inner_text() == "1"
        )

    eventually("the attendee counts to show the check-in", counts_moved, limit=30)
    expect(page.locator("#attendee-rows")).to_contain_text(ORGANIZER)
    camera.shoot(page, "attendees")

    # --- the activity dashboard shows the visits
    page.goto(event_url)
    page.get_by_role("link", name="Dashboard").click()

    def visits_shown() -> bool:
        page.reload()
        counts = page.locator("p.counts").first.inner_text()
        visitors = re.search(r"(\d+) distinct visitors", counts)
        return bool(visitors and int(visitors.group(1)) >= 1)

    eventually("the dashboard to count the visits", visits_shown, limit=45, pause=2)
    expect(page.locator("p.counts").first).to_contain_text("1 checked in")
    expect(page.locator("table.list tbody tr").first).not_to_have_class("empty")
    camera.shoot(page, "dashboard")


def sign_up_and_in(page: Page, stack: Stack, email: str) -> None:
    """Sign up on the site (confirming through the mailbox), then sign in with the emailed
    code, in ``page``'s browser context."""
    sign_up_on_the_site(page, stack, email)
    page.goto(f"{stack.web_url}/signin")
    page.get_by_label("Email address").fill(email)
    page.get_by_role("button", name="Email me a sign-in link").click()
    page.wait_for_url(re.compile(r"/signin/code"))
    code_page = page.context.new_page()
    code = newest_mail(code_page, stack, email, "notification", "sign-in link")
    typed = code.locator(".code").first.inner_text()
    code_page.close()
    page.locator("input[name=code]").fill(typed)
    page.locator("form button[type=submit]").click()
    expect(page.locator(".flash.success")).to_contain_text(f"Signed in as {email}")


def reload_until(page: Page, what: str, shown: Callable[[], bool], limit: float = 30) -> None:
    """Reload until ``shown`` (pages read the read model, which the projector fills)."""

    def probe() -> bool:
        page.reload()
        return shown()

    eventually(what, probe, limit=limit)


def test_tickets_of_two_types_one_cancelled_one_given_away(
    browser: Browser, page: Page, stack: Stack, camera: Camera
) -> None:
    stamp = f"{datetime.now():%H%M%S}"
    organizer, buyer, friend = (
        f"e2e-{who}-{stamp}@example.com" for who in ("host", "buyer", "friend")
    )
    people = {
        who: browser.new_context(viewport={"width": 1280, "height": 900})
        for who in ("buyer", "friend")
    }
    buyer_page, friend_page = people["buyer"].new_page(), people["friend"].new_page()
    try:
        # --- an organizer publishes an event and adds a second ticket type
        sign_up_and_in(page, stack, organizer)
        title = f"Harbour Choir {stamp}"
        page.goto(f"{stack.web_url}/organizer/events/new")
        page.get_by_label("Title").fill(title)
        page.get_by_label("Venue").fill("Old Customs House, Porto")
        starts = datetime.now() + timedelta(days=12)
        page.get_by_label("Starts (your local time)").fill(starts.strftime("%Y-%m-%dT20:00"))
        page.get_by_label("Seats").fill("30")
        page.get_by_role("button", name="Publish event").click()
        page.locator("#upload-event-link").click()
        reload_until(
            page, "the event page", lambda: page.get_by_role("heading", name=title).count() == 1
        )
        event_url = page.url
        page.get_by_role("link", name="Ticket types").click()
        page.get_by_label("Name", exact=True).fill("Balcony")
        page.get_by_label("Description").fill("Seated, first floor")
        page.get_by_label(re.compile(r"^Quota")).fill("5")
        page.get_by_label("At most per order").fill("2")
        page.get_by_role("button", name="Add the ticket type").click()
        expect(page.locator(".flash.success")).to_contain_text("Added Balcony")
        camera.shoot(page, "ticket-types")

        # --- the friend subscribes first, so the transfer's email reaches them
        sign_up_and_in(friend_page, stack, friend)

        # --- a buyer takes one ticket of each type, each with a name
        sign_up_and_in(buyer_page, stack, buyer)
        buyer_page.goto(event_url)
        reload_until(
            buyer_page,
            "both types on the event page",
            lambda: buyer_page.locator("table.ticket-types", has_text="Balcony").count() == 1,
        )
        camera.shoot(buyer_page, "event-two-types")
        buyer_page.get_by_role("link", name="Choose tickets and names").click()
        buyer_page.get_by_label("How many General admission").select_option("1")
        buyer_page.get_by_label("How many Balcony").select_option("1")
        buyer_page.get_by_role("button", name="Name the tickets").click()
        buyer_page.get_by_label("General admission: name on ticket 1").fill("Ana Sousa")
        buyer_page.get_by_label("Balcony: name on ticket 2").fill("Rui Costa")
        camera.shoot(buyer_page, "checkout-names")
        buyer_page.get_by_role("button", name="Confirm order").click()
        expect(buyer_page.get_by_role("heading", name="Order confirmed")).to_be_visible()
        expect(buyer_page.locator("table.order")).to_contain_text("Rui Costa")
        camera.shoot(buyer_page, "order-confirmed")

        # --- My tickets: one order of two; the Balcony ticket is cancelled
        buyer_page.get_by_role("link", name="My tickets").first.click()
        order = buyer_page.locator("section.order", has_text=title)
        reload_until(
            buyer_page, "the order of two tickets", lambda: order.locator("li.ticket").count() == 2
        )
        balcony = order.locator("li.ticket", has_text="Balcony")
        balcony.get_by_role("link", name="Cancel this ticket").click()
        expect(buyer_page.get_by_role("heading", name="Cancel 1 ticket?")).to_be_visible()
        buyer_page.get_by_role("button", name="Yes, cancel the ticket").click()
        expect(buyer_page.locator(".flash.success")).to_contain_text("Cancelled 1 ticket.")
        reload_until(
            buyer_page,
            "the cancelled ticket",
            lambda: balcony.locator(".badge.cancelled").count() == 1,
        )
        expect(balcony.locator("img.qr")).to_have_count(0)
        camera.shoot(buyer_page, "my-tickets-one-cancelled")

        # --- the other ticket is given to the friend
        general = order.locator("li.ticket", has_text="General admission")
        general.get_by_role("link", name="Give it to someone").click()
        buyer_page.get_by_label("Their email address").fill(friend)
        buyer_page.get_by_role("button", name="Give the ticket").click()
        expect(buyer_page.locator(".flash.success")).to_contain_text(f"The ticket is now {friend}")
        reload_until(
            buyer_page,
            "the given ticket",
            lambda: general.locator(".badge.transferred", has_text=friend).count() == 1,
        )
        camera.shoot(buyer_page, "my-tickets-one-given")

        # --- it arrives: emailed to the friend, and under their tickets with its QR code
        newest_mail(friend_page, stack, friend, "notification", "gave you a ticket")
        camera.shoot(friend_page, "mailbox-ticket-for-you")
        friend_page.goto(f"{stack.web_url}/me/tickets")
        received = friend_page.locator("section.order", has_text=title)
        reload_until(
            friend_page,
            "the received ticket with its QR image",
            lambda: (
                received.locator("img.qr").count() == 1
                and natural_size(received.locator("img.qr"))[0] > 0
            ),
        )
        expect(received).to_contain_text(f"Given to you by {buyer}")
        expect(received).to_contain_text("General admission · Ana Sousa")
        camera.shoot(friend_page, "friend-tickets")

        # --- the organizer sees each ticket's status by type, and the CSV says the same
        page.goto(event_url)
        page.get_by_role("link", name="Attendees").click()
        rows = page.locator("#attendee-rows")
        reload_until(
            page, "the three tickets", lambda: rows.locator("tbody tr.status-issued").count() == 1
        )
        expect(rows.locator("tr.status-cancelled")).to_contain_text("Rui Costa")
        expect(rows.locator("tr.status-transferred")).to_contain_text(buyer)
        expect(rows.locator("tr.status-issued")).to_contain_text(friend)
        camera.shoot(page, "attendees-by-type")
        download = page.get_by_role("link", name="Download all attendees (CSV)")
        export = page.request.get(f"{stack.web_url}{download.get_attribute('href')}")
        assert export.status == 200
        listed = list(csv.DictReader(io.StringIO(export.body().decode("utf-8-sig"), newline="")))
        assert sorted((r["Attendee name"], r["Status"]) for r in listed) == [
            ("Ana Sousa", "issued"),
            ("Ana Sousa", "transferred"),
            ("Rui Costa", "cancelled"),
        ]
    finally:
        for context in people.values():
            context.close()


def test_a_freed_seat_goes_to_the_next_in_line_who_claims_it_from_the_email(
    browser: Browser, page: Page, stack: Stack, camera: Camera
) -> None:
    stamp = f"{datetime.now():%H%M%S}"
    organizer, holder, waiter = (
        f"e2e-{who}-{stamp}@example.com" for who in ("line-host", "holder", "waiter")
    )
    contexts = [browser.new_context(viewport={"width": 1280, "height": 900}) for _ in range(2)]
    holder_page, waiter_page = (context.new_page() for context in contexts)
    try:
        # --- an event of one seat, taken
        sign_up_and_in(page, stack, organizer)
        title = f"Attic Recital {stamp}"
        page.goto(f"{stack.web_url}/organizer/events/new")
        page.get_by_label("Title").fill(title)
        page.get_by_label("Venue").fill("The Attic, Braga")
        starts = datetime.now() + timedelta(days=9)
        page.get_by_label("Starts (your local time)").fill(starts.strftime("%Y-%m-%dT19:00"))
        page.get_by_label("Seats").fill("1")
        page.get_by_role("button", name="Publish event").click()
        page.locator("#upload-event-link").click()
        reload_until(
            page, "the event page", lambda: page.get_by_role("heading", name=title).count() == 1
        )
        event_url = page.url
        sign_up_and_in(holder_page, stack, holder)
        holder_page.goto(event_url)
        holder_page.get_by_role("button", name="Get ticket").click()
        holder_page.wait_for_url(re.compile(r"/me/tickets"))

        # --- a second person joins the waiting list and sees their place
        sign_up_and_in(waiter_page, stack, waiter)
        waiter_page.goto(event_url)
        join = waiter_page.get_by_role("button", name="Join the waiting list for General admission")
        reload_until(waiter_page, "the sold-out type", lambda: join.count() == 1)
        join.click()
        expect(waiter_page.locator(".flash.success")).to_contain_text(
            "You are number 1 in line for General admission."
        )
        camera.shoot(waiter_page, "waiting-list-joined")

        # --- the holder cancels; the seat is offered to the waiter by email
        holder_page.goto(f"{stack.web_url}/me/tickets")
        ticket = holder_page.locator("section.order", has_text=title).locator("li.ticket").first
        reload_until(
            holder_page,
            "the ticket",
            lambda: ticket.get_by_role("link", name="Cancel this ticket").count() == 1,
        )
        ticket.get_by_role("link", name="Cancel this ticket").click()
        holder_page.get_by_role("button", name="Yes, cancel the ticket").click()
        expect(holder_page.locator(".flash.success")).to_contain_text("Cancelled 1 ticket.")
        mail = newest_mail(waiter_page, stack, waiter, "notification", "/offers/")
        camera.shoot(waiter_page, "mailbox-offer")
        link = mail.locator("a[href*='/offers/']").first
        offer_url = str(link.get_attribute("href"))

        # --- the waiter opens the link and claims the ticket
        waiter_page.goto(offer_url)
        expect(
            waiter_page.get_by_role("heading", name="A seat for you: General admission")
        ).to_be_visible()
        camera.shoot(waiter_page, "offer")
        waiter_page.get_by_label("Name on the ticket (optional)").fill("Wanda Silva")
        waiter_page.get_by_role("button", name="Claim the ticket").click()
        expect(waiter_page.get_by_role("heading", name="Order confirmed")).to_be_visible()
        expect(waiter_page.locator("table.order")).to_contain_text("Wanda Silva")
        waiter_page.goto(f"{stack.web_url}/me/tickets")
        claimed = waiter_page.locator("section.order", has_text=title)
        reload_until(
            waiter_page,
            "the claimed ticket with its QR image",
            lambda: claimed.locator("img.qr").count() == 1,
        )
        expect(claimed).to_contain_text("General admission · Wanda Silva")
        camera.shoot(waiter_page, "claimed-ticket")
    finally:
        for context in contexts:
            context.close()
