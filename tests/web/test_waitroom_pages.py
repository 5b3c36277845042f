"""The waiting room on the site: an organizer puts an on-sale behind a queue; people join before
the opening, see their place drawn at random, are let in and buy; whoever tries to buy without
being let in is sent back to the line; the draw is public and checkable; queue pages are
private to their person."""

from __future__ import annotations

import hashlib
import html as html_module
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from gatepass import clock, tokens
from tests.web import fake_queue
from tests.web.conftest import csrf_from, sign_in_as
from tests.web.fake_api import SESSION_KEY, FakeApi, session_token
from tests.web.fake_queue import order_of, sign
from webapp.waitroom import ADMISSION

pytestmark = pytest.mark.web

ORGANIZER = "organizer@example.com"
ALICE, BOB, CAROL = "alice@example.com", "bob@example.com", "carol@example.com"


def _text(page: str) -> str:
    return html_module.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def browser(app: Flask, email: str | None = None) -> FlaskClient:
    client = app.test_client()
    client.environ_base["HTTP_X_FORWARDED_PROTO"] = "https"
    if email:
        sign_in_as(client, email)
    return client


@pytest.fixture
def event_id(fake_api: FakeApi) -> str:
    event = fake_api.publish(title="Harbour lights", capacity=50)
    return str(event["event_id"])


@pytest.fixture
def queued(fake_api: FakeApi, event_id: str) -> str:
    """The event's on-sale behind a queue opening tomorrow, at most 60 let in a minute."""
    opens = clock.iso(clock.now() + timedelta(days=1))
    body = {
        "event_id": event_id,
        "opens_at": opens,
        "max_admissions_per_minute": 60,
        "enabled": True,
    }
    fake_api.configure_queue(session_token(ORGANIZER), body)
    return event_id


def _join(client: FlaskClient, event_id: str) -> str:
    page = client.get(f"/events/{event_id}").get_data(as_text=True)
    answer = client.post(
        f"/events/{event_id}/queue", data={"csrf_token": csrf_from(page)}, follow_redirects=True
    )
    assert answer.request.path == f"/events/{event_id}/queue"
    return answer.get_data(as_text=True)


def _type_id(fake_api: FakeApi, event_id: str) -> str:
    kinds = [i for i in fake_api.items.values() if i.get("entity") == "ticket_type"]
    return str(next(k["ticket_type_id"] for k in kinds if k["event_id"] == event_id))


def _order(client: FlaskClient, fake_api: FakeApi, event_id: str, name: str) -> Any:
    page = client.get(f"/events/{event_id}/checkout?qty-{_type_id(fake_api, event_id)}=1")
    if page.status_code != 200:
        return client.get(page.headers["Location"])
    html = page.get_data(as_text=True)
    return client.post(
        f"/events/{event_id}/tickets",
        data={
            "csrf_token": csrf_from(html),
            "idempotency_key": re.findall(r'name="idempotency_key" value="([^"]+)"', html)[0],
            "ticket_type_id": _type_id(fake_api, event_id),
            "attendee_name": name,
        },
        follow_redirects=True,
    )


# ---------------------------------------------------------------------------- organizers


def test_an_organizer_puts_the_on_sale_behind_a_queue(
    app: Flask, fake_api: FakeApi, event_id: str
) -> None:
    # Given the organizer on their event's waiting-room page
    organizer = browser(app, ORGANIZER)
    page = organizer.get(f"/organizer/events/{event_id}/queue")
    assert page.status_code == 200
    assert "Set up a queue" in page.get_data(as_text=True)

    # When they set an opening tomorrow at 19:30:15 in their zone (UTC+2) and a cap of 120
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    local = tomorrow.strftime("%Y-%m-%dT19:30:15")
    answer = organizer.post(
        f"/organizer/events/{event_id}/queue",
        data={
            "csrf_token": csrf_from(page.get_data(as_text=True)),
            "opens_at": local,
            "opens_at_offset": "120",
            "max_admissions_per_minute": "120",
            "enabled": "1",
        },
        follow_redirects=True,
    )

    # Then the queue opens at that moment in UTC, and the page shows its state
    shown = _text(answer.get_data(as_text=True))
    assert "is behind a queue. At most 120 people a minute are let in" in shown
    queue = fake_api.event_queue(event_id)
    assert queue["opens_at"] == tomorrow.strftime("%Y-%m-%dT17:30:15Z")
    assert queue["enabled"] is True
    assert "Queue on · scheduled" in shown
    assert "Joined 0" in shown
    assert "Let in 0" in shown
    assert "(your cap: 120)" in shown


def test_the_organizer_sees_who_joined_and_who_was_let_in(
    app: Flask, fake_api: FakeApi, queued: str
) -> None:
    # Given three people joined and two were let in after the opening
    for person in (ALICE, BOB, CAROL):
        fake_api.join_queue(session_token(person), queued)
    fake_api.waitroom.open_now(queued)
    fake_api.waitroom.admit(queued, through=2)

    # When the organizer opens the waiting-room page
    page = browser(app, ORGANIZER).get(f"/organizer/events/{queued}/queue")
    shown = _text(page.get_data(as_text=True))

    # Then it counts them, with the rate now and the rate achieved, and the cap: no "—" left
    assert "Joined 3 (3 before the opening, drawn at random)" in shown
    assert "Let in 2 (every place through 2)" in shown
    assert "Rate now 60 a minute, 60.0 a minute achieved (your cap: 60)" in shown
    state = shown.split("Now", 1)[1].split("The public page of the draw", 1)[0]
    assert "—" not in state


def test_changing_the_cap_during_the_sale_keeps_the_opening(
    app: Flask, fake_api: FakeApi, queued: str
) -> None:
    # Given a queue that has opened
    fake_api.waitroom.open_now(queued)
    opened = fake_api.event_queue(queued)["opens_at"]
    organizer = browser(app, ORGANIZER)
    page = organizer.get(f"/organizer/events/{queued}/queue").get_data(as_text=True)

    # When the organizer lowers the cap, the form still carrying the (past) opening
    answer = organizer.post(
        f"/organizer/events/{queued}/queue",
        data={
            "csrf_token": csrf_from(page),
            "opens_at": opened[:19],
            "opens_at_offset": "0",
            "max_admissions_per_minute": "20",
            "enabled": "1",
        },
        follow_redirects=True,
    )

    # Then the cap changes and the opening stays
    assert "At most 20 people a minute" in _text(answer.get_data(as_text=True))
    assert fake_api.event_queue(queued)["max_admissions_per_minute"] == 20
    assert fake_api.event_queue(queued)["opens_at"] == opened


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"opens_at": "", "max_admissions_per_minute": "60"}, "choose the date and time"),
        ({"opens_at": "2030-01-01T10:00", "max_admissions_per_minute": "0"}, "whole number from 1"),
        ({"opens_at": "2030-01-01T10:00", "max_admissions_per_minute": "lots"}, "whole number"),
        ({"opens_at": "2020-01-01T10:00", "max_admissions_per_minute": "60"}, "in the future"),
        ({"opens_at": "2099-01-01T10:00", "max_admissions_per_minute": "60"}, "before the event"),
    ],
)
def test_a_queue_form_with_a_mistake_comes_back_saying_why(
    app: Flask, fake_api: FakeApi, event_id: str, fields: dict[str, str], problem: str
) -> None:
    organizer = browser(app, ORGANIZER)
    page = organizer.get(f"/organizer/events/{event_id}/queue").get_data(as_text=True)

    answer = organizer.post(
        f"/organizer/events/{event_id}/queue",
        data={"csrf_token": csrf_from(page), "enabled": "1", "opens_at_offset": "0", **fields},
    )

    # Then the form comes back with what was typed and the reason, and no queue exists
    assert answer.status_code == 400
    html = answer.get_data(as_text=True)
    assert problem in _text(html)
    assert f'value="{fields["max_admissions_per_minute"]}"' in html
    assert fake_api.waitroom.queues == {}


def test_only_the_organizer_sets_up_a_queue(app: Flask, fake_api: FakeApi, event_id: str) -> None:
    answer = browser(app, ALICE).get(f"/organizer/events/{event_id}/queue")
    assert answer.status_code == 403
    assert "Only this event's organizer" in _text(answer.get_data(as_text=True))


# ---------------------------------------------------------------------------- people


def test_before_the_opening_the_event_page_says_when_and_offers_the_queue(
    app: Flask, fake_api: FakeApi, queued: str
) -> None:
    opens = fake_api.event_queue(queued)["opens_at"]
    # Given a visitor and a signed-in person on the event page
    anonymous = _text(browser(app).get(f"/events/{queued}").get_data(as_text=True))
    alice = browser(app, ALICE)
    page = alice.get(f"/events/{queued}").get_data(as_text=True)

    # Then both are told when the queue opens and that places are drawn, not first-come
    for shown in (anonymous, _text(page)):
        assert f"The queue opens at {opens[:10]} {opens[11:16]} UTC" in shown
        assert "drawn at random at the opening" in shown
        assert "Get ticket" not in shown
    assert "Sign in to join the queue" in anonymous
    assert "Join the queue" in _text(page)


def test_joining_before_the_opening_and_waiting_for_the_draw(
    app: Flask, fake_api: FakeApi, queued: str
) -> None:
    # Given Alice on the event page
    alice = browser(app, ALICE)

    # When she joins the queue
    page = _join(alice, queued)

    # Then her place page says she is in, and that places are drawn at the opening
    shown = _text(page)
    assert "You are in the queue" in shown
    assert "the places of everyone who joined before the opening are drawn at random" in shown
    assert f'href="/events/{queued}/draw"' in page
    # And it refreshes itself: a script, and without one a meta refresh and a link
    assert 'src="/static/js/queue.js"' in page
    assert '<noscript><meta http-equiv="refresh"' in page
    assert "Refresh now" in shown
    # And, nothing being new until the draw, the script asks again when the API says (later
    # than the five seconds it waits once places are drawn)
    assert 'data-poll="30"' in page
    polled = alice.get(f"/events/{queued}/queue", headers={"Accept": "application/json"})
    assert (polled.get_json()["state"], polled.get_json()["poll_seconds"]) == ("before_draw", 30)
    # And the event page now leads to her place instead of offering to join again
    event = _text(alice.get(f"/events/{queued}").get_data(as_text=True))
    assert "See your place in the queue" in event
    assert "Join the queue" not in event


def test_after_the_draw_each_sees_their_place_people_ahead_and_an_estimate(
    app: Flask, fake_api: FakeApi, queued: str
) -> None:
    # Given Alice, Bob and Carol joined before the opening
    people = {who: browser(app, who) for who in (ALICE, BOB, CAROL)}
    for client in people.values():
        _join(client, queued)

    # When the queue opens (the draw) and one person is let in
    fake_api.waitroom.open_now(queued)
    fake_api.waitroom.admit(queued, through=1)

    # Then each sees the place the seed gave them
    queue = fake_api.event_queue(queued)
    order = order_of(bytes.fromhex(queue["seed"]), queue["order"])
    entries = fake_api.waitroom.queues[queued].entries
    places = {who: order.index(entries[who]["entry_id"]) + 1 for who in people}
    for who, client in people.items():
        shown = _text(client.get(f"/events/{queued}/queue").get_data(as_text=True))
        if places[who] == 1:
            assert "It is your turn" in shown
            continue
        assert f"Your place {places[who]}" in shown
        assert f"People ahead of you {places[who] - 2}" in shown
        assert "Estimated wait less than a minute" in shown
        assert "your place was drawn at random" in shown


def test_the_queue_page_polls_a_json_place_without_any_token(
    app: Flask, fake_api: FakeApi, queued: str
) -> None:
    alice = browser(app, ALICE)
    _join(alice, queued)
    fake_api.waitroom.open_now(queued)

    # When the page's script asks for her place
    answer = alice.get(f"/events/{queued}/queue", headers={"Accept": "application/json"})

    # Then it has the numbers, never a token, and is private to her
    body = answer.get_json()
    assert body["state"] == "waiting"
    assert body["position"] == 1
    assert body["ahead"] == 0
    # And, her turn being next, it is told to ask again in a second rather than five
    assert body["poll_seconds"] == 1
    assert "token" not in answer.get_data(as_text=True)
    assert answer.headers["Cache-Control"] == "private, no-store"


def test_let_in_the_buyer_buys_with_the_admission_the_site_keeps(
    app: Flask, fake_api: FakeApi, queued: str
) -> None:
    # Given Alice joined, the queue opened and she is let in
    alice = browser(app, ALICE)
    _join(alice, queued)
    fake_api.waitroom.open_now(queued)
    fake_api.waitroom.admit(queued, through=1)

    # When she opens her place
    page = alice.get(f"/events/{queued}/queue").get_data(as_text=True)

    # Then it is her turn, with the time left and a way to buy, and no token in the page
    shown = _text(page)
    assert "It is your turn" in shown
    assert re.search(r"You have [45] min \d+ s to buy your tickets", shown)
    assert f'href="/events/{queued}/checkout"' in page
    assert "adm|" not in page
    # And the checkout shows the time left too, and the order goes through
    checkout = _text(alice.get(f"/events/{queued}/checkout").get_data(as_text=True))
    assert "It is your turn in the queue: you have" in checkout
    confirmed = _order(alice, fake_api, queued, "Alice Lima")
    assert "Order confirmed" in confirmed.get_data(as_text=True)
    tickets = [i for i in fake_api.items.values() if i.get("entity") == "ticket"]
    assert [t["holder"] for t in tickets] == [ALICE]


def test_buying_without_a_place_sends_the_person_to_the_queue(
    app: Flask, fake_api: FakeApi, queued: str
) -> None:
    # Given the queue has opened and Alice is let in, but Carol never joined
    alice = browser(app, ALICE)
    _join(alice, queued)
    fake_api.waitroom.open_now(queued)
    fake_api.waitroom.admit(queued, through=1)
    carol = browser(app, CAROL)
    event = carol.get(f"/events/{queued}").get_data(as_text=True)

    # When Carol posts an order anyway (an old form, or by hand), or opens the checkout
    posted = carol.post(
        f"/events/{queued}/tickets",
        data={"csrf_token": csrf_from(event), "ticket_type_id": _type_id(fake_api, queued)},
        follow_redirects=True,
    )
    checkout = carol.get(f"/events/{queued}/checkout", follow_redirects=True)

    # Then each time she lands on the queue page, told why, and offered to join
    for answer in (posted, checkout):
        assert answer.request.path == f"/events/{queued}/queue"
        shown = _text(answer.get_data(as_text=True))
        assert "sold through a waiting room: you can buy once it is your turn" in shown
        assert "You are not in the queue for this event" in shown
        assert "Join the queue" in shown
    # And nothing was sold
    assert "create_ticket" not in fake_api.calls


def test_a_turn_the_api_no_longer_takes_sends_the_buyer_back_to_their_place(
    app: Flask, fake_api: FakeApi, queued: str
) -> None:
    # Given Bob was let in, but the turn the site kept has expired by the API's clock
    bob = browser(app, BOB)
    _join(bob, queued)
    fake_api.waitroom.open_now(queued)
    fake_api.waitroom.admit(queued, through=1)
    bob.get(f"/events/{queued}/queue")
    expired = sign("adm", BOB, queued, str(clock.epoch() - 10))
    store = app.extensions["gatepass"].queue_tokens
    store.keep(ADMISSION, _session_of(bob), queued, expired, clock.epoch() + 120)
    event = bob.get(f"/events/{queued}").get_data(as_text=True)

    # When he confirms an order
    answer = bob.post(
        f"/events/{queued}/tickets",
        data={"csrf_token": csrf_from(event), "ticket_type_id": _type_id(fake_api, queued)},
        follow_redirects=True,
    )

    # Then he is back on his place's page with the reason, still let in with a fresh turn
    assert answer.request.path == f"/events/{queued}/queue"
    shown = _text(answer.get_data(as_text=True))
    assert "Your time to buy had run out" in shown
    assert "It is your turn" in shown
    assert [i for i in fake_api.items.values() if i.get("entity") == "ticket"] == []
    # And buying again from there works
    assert "Order confirmed" in _order(bob, fake_api, queued, "Bob").get_data(as_text=True)


def _session_of(client: FlaskClient) -> str:
    cookie = client.get_cookie("__Host-gp_session")
    assert cookie is not None
    return tokens.verify_session_token(SESSION_KEY, cookie.value).session_id


def test_someone_elses_turn_cannot_be_used(app: Flask, fake_api: FakeApi, queued: str) -> None:
    # Given Alice is let in in her browser; Bob, in line behind her, is not
    alice, bob = browser(app, ALICE), browser(app, BOB)
    _join(alice, queued)
    fake_api.waitroom.open_now(queued)
    _join(bob, queued)
    fake_api.waitroom.admit(queued, through=1)
    assert "It is your turn" in alice.get(f"/events/{queued}/queue").get_data(as_text=True)

    # When Bob tries to buy
    event = bob.get(f"/events/{queued}").get_data(as_text=True)
    answer = bob.post(
        f"/events/{queued}/tickets",
        data={"csrf_token": csrf_from(event), "ticket_type_id": _type_id(fake_api, queued)},
        follow_redirects=True,
    )

    # Then he is sent to his own place (behind her), and nothing was sold
    shown = _text(answer.get_data(as_text=True))
    assert "Your place 2" in shown
    assert "People ahead of you 0" in shown
    assert "create_ticket" not in fake_api.calls


def test_with_the_queue_off_anyone_buys_as_before(
    app: Flask, fake_api: FakeApi, queued: str
) -> None:
    # Given the organizer turned the queue off
    opens = fake_api.event_queue(queued)["opens_at"]
    fake_api.configure_queue(
        session_token(ORGANIZER),
        {"event_id": queued, "opens_at": opens, "max_admissions_per_minute": 60, "enabled": False},
    )
    carol = browser(app, CAROL)

    # Then the event page offers the ticket, and it can be taken without a place in line
    page = carol.get(f"/events/{queued}").get_data(as_text=True)
    assert "Get ticket" in page
    assert "Join the queue" not in page
    answer = carol.post(
        f"/events/{queued}/tickets",
        data={"csrf_token": csrf_from(page), "ticket_type_id": _type_id(fake_api, queued)},
        follow_redirects=True,
    )
    assert answer.request.path == "/me/tickets"


def test_the_queue_of_an_event_without_one_is_a_page_that_says_so(
    app: Flask, fake_api: FakeApi, event_id: str
) -> None:
    alice = browser(app, ALICE)
    page = alice.get(f"/events/{event_id}").get_data(as_text=True)
    assert "Join the queue" not in page

    # When she posts to join anyway
    answer = alice.post(f"/events/{event_id}/queue", data={"csrf_token": csrf_from(page)})

    # Then a page names the refusal
    assert answer.status_code == 409
    assert "This event's sale has no queue" in _text(answer.get_data(as_text=True))
    assert fake_api.waitroom.queues == {}


# ---------------------------------------------------------------------------- the draw


def test_the_draw_is_public_and_checkable(app: Flask, fake_api: FakeApi, queued: str) -> None:
    # Given the draw page before the opening: the commitment only
    before = _text(browser(app).get(f"/events/{queued}/draw").get_data(as_text=True))
    commitment = fake_api.event_queue(queued)["seed_commitment"]
    assert commitment in before
    assert "Seed (published at the draw)" not in before

    # When Alice and Bob join and the queue opens
    alice = browser(app, ALICE)
    _join(alice, queued)
    _join(browser(app, BOB), queued)
    fake_api.waitroom.open_now(queued)
    page = alice.get(f"/events/{queued}/draw").get_data(as_text=True)

    # Then the page shows the seed, which hashes to the commitment, and the order it gives
    seed = re.search(r'id="draw-seed">([0-9a-f]{64})<', page)
    assert seed
    assert hashlib.sha256(bytes.fromhex(seed.group(1))).hexdigest() == commitment
    listed = re.findall(r"<li>(?:<strong>)?<code>([a-z0-9]{16})</code>", page)
    assert listed == order_of(bytes.fromhex(seed.group(1)), listed)
    assert len(listed) == 2
    # And Alice finds her own entry in it
    mine = fake_api.waitroom.queues[queued].entries[ALICE]["entry_id"]
    assert f"<code>{mine}</code> (you)" in page
    assert "sorting the entries by their keys gives the places" in _text(page)


# ---------------------------------------------------------------------------- caching


def test_queue_pages_are_private_to_each_person(app: Flask, fake_api: FakeApi, queued: str) -> None:
    # Given Alice and Bob in line after the draw
    alice, bob = browser(app, ALICE), browser(app, BOB)
    _join(alice, queued)
    _join(bob, queued)
    fake_api.waitroom.open_now(queued)

    # When each opens the same address
    pages = {who: c.get(f"/events/{queued}/queue") for who, c in (("a", alice), ("b", bob))}

    # Then each sees their own place, and no cache may keep or share the answers
    places = sorted(
        re.search(r'id="queue-position">(\d+)<', p.get_data(as_text=True)).group(1)  # type: ignore[union-attr]
        for p in pages.values()
    )
    assert places == ["1", "2"]
    for answer in pages.values():
        assert answer.headers["Cache-Control"] == "private, no-store"
        assert "Cookie" in answer.headers["Vary"]
    # And a visitor who is not signed in is asked to sign in, not shown anyone's place
    anonymous = browser(app).get(f"/events/{queued}/queue")
    assert anonymous.status_code == 302
    assert "/signin" in anonymous.headers["Location"]


def test_a_long_draw_is_read_a_page_at_a_time(
    app: Flask, fake_api: FakeApi, queued: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given three people drawn, and the API answering two entries a page
    monkeypatch.setattr(fake_queue, "PAGE", 2)
    for person in (ALICE, BOB, CAROL):
        fake_api.join_queue(session_token(person), queued)
    fake_api.waitroom.open_now(queued)
    visitor = browser(app)

    # When a visitor reads the draw and follows "Next places"
    first = visitor.get(f"/events/{queued}/draw").get_data(as_text=True)
    following = re.search(r'href="([^"]+cursor=[0-9a-f]{64})">Next places', first)
    assert following
    second = visitor.get(html_module.unescape(following.group(1))).get_data(as_text=True)

    # Then the two pages together are the whole order, numbered on from the first
    entries = [e["entry_id"] for e in fake_api.waitroom.queues[queued].entries.values()]
    seed = bytes.fromhex(fake_api.event_queue(queued)["seed"])
    listed = [
        *re.findall(r"<li><code>([a-z0-9]{16})</code>", first),
        *re.findall(r"<li><code>([a-z0-9]{16})</code>", second),
    ]
    assert listed == order_of(seed, entries)
    assert '<ol class="draw-order" start="3">' in second
    assert "Next places" not in second
    # And a cursor that is not one is a 400 page, not an error
    assert visitor.get(f"/events/{queued}/draw?cursor=nonsense").status_code == 400


def test_a_person_in_line_when_the_queue_is_turned_off_is_told_to_buy_directly(
    app: Flask, fake_api: FakeApi, queued: str
) -> None:
    # Given Alice in line
    alice = browser(app, ALICE)
    _join(alice, queued)

    # When the organizer turns the queue off
    opens = fake_api.event_queue(queued)["opens_at"]
    fake_api.configure_queue(
        session_token(ORGANIZER),
        {"event_id": queued, "opens_at": opens, "max_admissions_per_minute": 60, "enabled": False},
    )

    # Then her place page says so and leads to the event page, where she can buy
    shown = _text(alice.get(f"/events/{queued}/queue").get_data(as_text=True))
    assert "The queue is off" in shown
    assert "anyone can buy now" in shown
    assert "Get ticket" in alice.get(f"/events/{queued}").get_data(as_text=True)
