"""End to end, in a real browser, against make dev's whole stack: an organizer puts an event's
on-sale behind a queue opening in ten minutes; two people join before the opening; the stack's
clock (devstack's movable clock, which every rule reads) is moved past the opening and the
product's own grace before the draw, instead of waiting for them; the draw is made on the first
read after it; each page notices by itself that its person was let in, shows their place, and
each buys with the admission the site keeps for them; a third person who never joined is sent
to the queue when they try to buy."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser, Page, expect

from gatepass.logic.queue import CONTROL_SECONDS, DRAW_GRACE_SECONDS
from tests.e2e.conftest import Camera, Stack
from tests.e2e.test_browser_journey import eventually, reload_until, sign_up_and_in

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(900)]

# Far enough ahead that both people join before the opening however slow the machine: the
# stack's clock is moved to it, not waited for.
OPENS_IN = timedelta(minutes=10)
# The pages' own polling (every few seconds, the browser's timer) noticing the admission: a
# bound, not a measured time.
LET_IN_LIMIT_MS = 60_000


def test_two_people_queue_before_the_opening_and_buy_a_third_is_sent_to_the_queue(
    browser: Browser, page: Page, stack: Stack, camera: Camera
) -> None:
    stamp = f"{datetime.now():%H%M%S}"
    organizer, first, second, late = (
        f"e2e-{who}-{stamp}@example.com" for who in ("queue-host", "ana", "rui", "eva")
    )
    contexts = [browser.new_context(viewport={"width": 1280, "height": 900}) for _ in range(3)]
    people = [context.new_page() for context in contexts]
    try:
        # --- everyone has an account, and the organizer publishes an event
        sign_up_and_in(page, stack, organizer)
        for person, email in zip(people, (first, second, late), strict=True):
            sign_up_and_in(person, stack, email)
        title = f"Dockside Sessions {stamp}"
        page.goto(f"{stack.web_url}/organizer/events/new")
        page.get_by_label("Title").fill(title)
        page.get_by_label("Venue").fill("Warehouse 4, Lisbon")
        starts = datetime.now() + timedelta(days=20)
        page.get_by_label("Starts (your local time)").fill(starts.strftime("%Y-%m-%dT21:00"))
        page.get_by_label("Seats").fill("40")
        page.get_by_role("button", name="Publish event").click()
        page.locator("#upload-event-link").click()
        reload_until(
            page, "the event page", lambda: page.get_by_role("heading", name=title).count() == 1
        )
        event_url = page.url

        # --- the organizer puts the on-sale behind a queue opening shortly
        page.get_by_role("link", name="Waiting room").click()
        opens = (stack.now() + OPENS_IN).replace(microsecond=0)
        local = opens.astimezone().strftime("%Y-%m-%dT%H:%M:%S")
        page.get_by_label("Queue opens (your local time)").fill(local)
        page.get_by_label("At most let in per minute").fill("120")
        page.get_by_role("button", name="Save the queue").click()
        expect(page.locator(".flash.success")).to_contain_text("is behind a queue")
        expect(page.locator("#queue-state")).to_contain_text("scheduled")
        camera.shoot(page, "organizer-queue")

        # --- two people join before the opening; the event page says how places are given
        for person in people[:2]:
            person.goto(event_url)
            join = person.get_by_role("button", name="Join the queue")
            reload_until(person, "the queue on the event page", lambda p=join: p.count() == 1)
            expect(person.locator("section.waitroom")).to_contain_text("drawn at random")
            expect(person.get_by_role("button", name="Get ticket")).to_have_count(0)
            join.click()
            expect(person.get_by_role("heading", name="You are in the queue")).to_be_visible()
        camera.shoot(people[0], "in-the-queue-before-the-opening")

        # --- the opening and the draw's grace pass (the clock moves past them); the first read
        # after them makes the draw of both, who joined before the opening
        stack.advance_clock((opens - stack.now()).total_seconds() + DRAW_GRACE_SECONDS + 1)
        event_id = event_url.rstrip("/").rsplit("/", 1)[1]

        def public_draw() -> dict[str, Any] | None:
            # "drawing" while another reader (a page's poll) holds the draw's lease
            shown: dict[str, Any] = requests.get(
                f"{stack.api_url}/events/{event_id}/queue", timeout=30
            ).json()
            return shown if shown["state"] != "drawing" else None

        drawn = eventually("the draw", public_draw, limit=30, pause=0.2)
        assert (drawn["state"], drawn["pool_size"]) == ("open", 2), drawn

        # --- a control period later both places are let in: each page notices by itself
        stack.advance_clock(CONTROL_SECONDS)
        places = []
        for index, person in enumerate(people[:2]):
            turn = person.get_by_role("heading", name="It is your turn")
            expect(turn).to_be_visible(timeout=LET_IN_LIMIT_MS)
            places.append(int(person.locator("#queue-position").inner_text()))
            expect(person.locator("#admission-left")).to_contain_text("min")
            camera.shoot(person, f"let-in-{index + 1}")
        assert sorted(places) == [1, 2]

        # --- each buys with the admission the site holds for them
        for person, name in zip(people[:2], ("Ana Reis", "Rui Lopes"), strict=True):
            person.get_by_role("link", name="Buy your tickets").click()
            expect(person.locator(".flash.notice")).to_contain_text("It is your turn in the queue")
            person.get_by_label("How many General admission").select_option("1")
            person.get_by_role("button", name="Name the tickets").click()
            person.get_by_label("General admission: name on ticket 1").fill(name)
            person.get_by_role("button", name="Confirm order").click()
            expect(person.get_by_role("heading", name="Order confirmed")).to_be_visible()
            expect(person.locator("table.order")).to_contain_text(name)
        camera.shoot(people[1], "bought")

        # --- the draw is public and names the seed
        people[0].goto(f"{event_url}/draw")
        expect(people[0].locator("#draw-seed")).to_have_text(re.compile(r"^[0-9a-f]{64}$"))
        expect(people[0].locator("ol.draw-order li")).to_have_count(2)
        expect(people[0].locator("ol.draw-order")).to_contain_text("(you)")
        camera.shoot(people[0], "draw")

        # --- a third person, who never joined, tries to buy: sent to the queue instead
        eva = people[2]
        eva.goto(f"{event_url}/checkout")
        eva.wait_for_url(re.compile(r"/queue$"))
        expect(eva.locator(".flash.error")).to_contain_text("sold through a waiting room")
        expect(eva.get_by_role("button", name="Join the queue")).to_be_visible()
        camera.shoot(eva, "sent-to-the-queue")

        # --- and the organizer sees who joined and who was let in
        page.reload()
        expect(page.locator("#queue-state")).to_contain_text("open")
        camera.shoot(page, "organizer-queue-open")
    finally:
        stack.reset_clock()
        for context in contexts:
            context.close()
