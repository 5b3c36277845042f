"""The waiting room against moto (docs/decisions/0072): an organizer puts an on-sale behind a
queue; people who join before the opening are ordered by a draw anyone can recompute from the
revealed seed; later arrivals follow; a frontier admits them at the controller's rate; and
POST /create-ticket refuses everyone without a valid admission token of their own for that
event. The clock is moved, never waited for: every rule and every cache of the waiting room reads
``gatepass.clock``, and a sale's duration is read from the same moved clock, so nothing here
depends on how fast the machine runs."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from devstack.template import TemplateModel
from functions.create_ticket import app as create_ticket_app
from functions.queue import app as queue_app
from gatepass import b64url, clients, clock
from gatepass.dal.layout import queue_key
from gatepass.dal.storage import StorageUnavailable
from gatepass.logic import queue as rules
from tests.conftest import load_event
from tests.support import factories
from tests.support.api import LambdaContext, api_event, json_body
from tests.support.ticketing import ORGANIZER, Answer, create_event, post

pytestmark = pytest.mark.integration

ALICE = "alice@example.com"
BOB = "bob@example.com"
CAROL = "carol@example.com"
DAVE = "dave@example.com"
ERIN = "erin@example.com"
START = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)


class Clock:
    """The instant every rule reads (``gatepass.clock``), moved by the test."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def move(self, **delta: float) -> None:
        self.at += timedelta(**delta)

    def seconds(self) -> float:
        return self.at.timestamp()


@pytest.fixture
def now(aws: TemplateModel, monkeypatch: pytest.MonkeyPatch) -> Clock:
    moment = Clock(START)
    monkeypatch.setattr(clock, "now", lambda: moment.at)
    # A sale's latency, which the controller reads, on the same clock: a sale takes no time
    # unless a test says it does, however slow the machine.
    monkeypatch.setattr(rules, "timer", moment.seconds)
    return moment


def opens_in(moment: Clock, minutes: int = 10) -> str:
    return clock.iso(moment.at + timedelta(minutes=minutes))


def configure(
    event_id: str,
    opens_at: str,
    *,
    cap: Any = 60,
    enabled: Any = True,
    user: str = ORGANIZER,
) -> Answer:
    body = {
        "event_id": event_id,
        "opens_at": opens_at,
        "max_admissions_per_minute": cap,
        "enabled": enabled,
    }
    return post("/configure-queue", body, user=user)


def join(event_id: str, user: str) -> Answer:
    return post("/join-queue", {"event_id": event_id}, user=user)


def status(event_id: str, user: str, token: str | None) -> Answer:
    headers = {"X-Queue-Token": token} if token is not None else None
    request = api_event(
        "GET", "/queue-status", query={"event_id": event_id}, user=user, headers=headers
    )
    return Answer(queue_app.lambda_handler(request, LambdaContext()))


def public(event_id: str, cursor: str | None = None) -> Answer:
    request = api_event(
        "GET",
        f"/events/{event_id}/queue",
        resource="/events/{event_id}/queue",
        path_parameters={"event_id": event_id},
        query={"cursor": cursor} if cursor else None,
    )
    return Answer(queue_app.lambda_handler(request, LambdaContext()))


def buy(event_id: str, user: str, admission: str | None) -> Answer:
    headers = {"X-Admission-Token": admission} if admission is not None else None
    return post("/create-ticket", {"event_id": event_id}, user=user, headers=headers)


def sold(event_id: str) -> int:
    return int(factories.seats(event_id)["sold"])


def drawn_queue(now: Clock, people: list[str], *, cap: int = 60) -> tuple[str, dict[str, str]]:
    """An event whose queue opened with ``people`` in its pool, drawn; their position tokens."""
    event = create_event(capacity=50)
    assert configure(event["event_id"], opens_in(now), cap=cap).status == 200
    tokens = {}
    for person in people:
        joined = join(event["event_id"], person)
        assert joined.status == 200, joined
        tokens[person] = joined.body["position_token"]
    now.move(minutes=10, seconds=rules.DRAW_GRACE_SECONDS)
    assert public(event["event_id"]).body["state"] == "open"
    return event["event_id"], tokens


def admitted_token(event_id: str, now: Clock, person: str, token: str) -> str:
    """Move the clock until ``person`` is admitted; their admission token."""
    for _ in range(120):
        answer = status(event_id, person, token)
        assert answer.status == 200, answer
        if answer.body["admitted"]:
            admission: str = answer.body["admission_token"]
            return admission
        now.move(seconds=5)
    raise AssertionError(f"{person} was never admitted")


def calls_to(monkeypatch: pytest.MonkeyPatch, method: str) -> list[dict[str, Any]]:
    """Every later call of the queue store's ``method`` (its keyword arguments), each passed on
    to the real one."""
    calls: list[dict[str, Any]] = []
    store = type(queue_app.queue)
    real = getattr(store, method)

    def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(store, method, counted)
    return calls


# ---------------------------------------------------------------------------- configuring


def test_an_organizer_puts_a_sale_behind_a_queue_with_a_published_seed_commitment(
    now: Clock,
) -> None:
    # Given an event of Olivia's
    event = create_event()

    # When she puts its sale behind a queue opening in ten minutes
    answer = configure(event["event_id"], opens_in(now), cap=600)

    # Then the queue is scheduled, and its seed is committed to (not shown)
    assert answer.status == 200, answer
    queue = answer.body["queue"]
    assert (queue["state"], queue["enabled"], queue["max_admissions_per_minute"]) == (
        "scheduled",
        True,
        600,
    )
    assert len(queue["seed_commitment"]) == 64
    shown = public(event["event_id"]).body
    assert (shown["seed_commitment"], shown["seed"], shown["order"]) == (
        queue["seed_commitment"],
        None,
        [],
    )

    # And configuring again (a new cap, a new opening) keeps the same commitment
    again = configure(event["event_id"], opens_in(now, 20), cap=300)
    assert again.status == 200, again
    assert again.body["queue"]["seed_commitment"] == queue["seed_commitment"]
    assert again.body["queue"]["max_admissions_per_minute"] == 300

    # And the cap goes up to twice the largest rate an event can be sized for (2,000 orders a
    # second, 120,000 a minute)
    largest = configure(event["event_id"], opens_in(now, 20), cap=240_000)
    assert largest.status == 200, largest
    assert largest.body["queue"]["max_admissions_per_minute"] == 240_000


@pytest.mark.parametrize(
    ("situation", "status_code", "code"),
    [
        ("not-the-organizer", 403, "forbidden"),
        ("opens-in-the-past", 400, "queue_opens_in_past"),
        ("opens-after-the-event", 400, "queue_opens_after_event"),
        ("cap-zero", 400, "validation_error"),
        ("cap-negative", 400, "validation_error"),
        ("cap-above-twice-the-largest-sized-rate", 400, "validation_error"),
        ("not-a-time", 400, "validation_error"),
        ("unknown-event", 404, "not_found"),
        ("signed-out", 401, "unauthorized"),
    ],
)
def test_a_bad_configuration_is_refused_and_changes_nothing(
    now: Clock, situation: str, status_code: int, code: str
) -> None:
    # Given an event with no queue
    event = create_event()
    event_id, opens, cap, user = event["event_id"], opens_in(now), 60, ORGANIZER

    # When its queue is configured wrongly
    if situation == "not-the-organizer":
        user = BOB
    elif situation == "opens-in-the-past":
        opens = clock.iso(now.at - timedelta(minutes=1))
    elif situation == "opens-after-the-event":
        opens = clock.iso(now.at + timedelta(days=60))
    elif situation == "cap-zero":
        cap = 0
    elif situation == "cap-negative":
        cap = -5
    elif situation == "cap-above-twice-the-largest-sized-rate":
        cap = 240_001
    elif situation == "not-a-time":
        opens = "tomorrow at ten"
    elif situation == "unknown-event":
        event_id = "aaaaaaaaaaaaaaaa"
    answer = (
        Answer(
            queue_app.lambda_handler(
                api_event(
                    "POST",
                    "/configure-queue",
                    body={
                        "event_id": event_id,
                        "opens_at": opens,
                        "max_admissions_per_minute": cap,
                        "enabled": True,
                    },
                ),
                LambdaContext(),
            )
        )
        if situation == "signed-out"
        else configure(event_id, opens, cap=cap, user=user)
    )

    # Then it is refused with its own code, and there is still no queue
    assert (answer.status, answer.code) == (status_code, code), answer
    assert public(event["event_id"]).status == 404
    assert buy(event["event_id"], ALICE, None).status == 201


def test_the_opening_cannot_move_once_the_draw_is_made(now: Clock) -> None:
    # Given a queue that opened and was drawn
    event_id, _ = drawn_queue(now, [ALICE])
    before = public(event_id).body

    # When the organizer tries to move its opening
    answer = configure(event_id, opens_in(now, 30))

    # Then it is refused, and the draw stands
    assert (answer.status, answer.code) == (409, "queue_already_drawn")
    assert public(event_id).body["opens_at"] == before["opens_at"]
    # But the cap can still change
    assert configure(event_id, before["opens_at"], cap=30).status == 200


# ---------------------------------------------------------------------------- joining and the draw


def test_joining_twice_keeps_the_same_place(now: Clock) -> None:
    # Given a queue that has not opened
    event = create_event()
    configure(event["event_id"], opens_in(now))

    # When Alice joins twice
    first = join(event["event_id"], ALICE)
    second = join(event["event_id"], ALICE)

    # Then she holds one entry, unplaced until the draw
    assert first.status == 200, first
    assert second.body["status"]["entry_id"] == first.body["status"]["entry_id"]
    assert first.body["status"]["state"] == "scheduled"
    assert first.body["status"]["position"] is None
    assert first.body["status"]["phase"] == "pool"

    # And after the opening, joining again still gives her the same place
    now.move(minutes=10, seconds=rules.DRAW_GRACE_SECONDS)
    third = join(event["event_id"], ALICE)
    assert third.body["status"]["entry_id"] == first.body["status"]["entry_id"]
    assert third.body["status"]["position"] == 1
    assert status(event["event_id"], ALICE, first.body["position_token"]).body["position"] == 1


def test_before_the_draw_a_page_is_told_to_ask_again_when_the_draw_is_due(now: Clock) -> None:
    # Given Alice in the pool of a queue that opens in ten minutes
    event = create_event()
    configure(event["event_id"], opens_in(now))
    token = join(event["event_id"], ALICE).body["position_token"]

    # Then, the draw being far off, she is asked back at the longest interval before a draw
    # (not every POLL_SECONDS: there is nothing to learn until the draw)
    far = status(event["event_id"], ALICE, token).body
    assert far["poll_after_seconds"] == rules.PRE_DRAW_POLL_SECONDS > rules.POLL_SECONDS

    # And twenty seconds before it is due, when it is due
    now.move(minutes=10, seconds=rules.DRAW_GRACE_SECONDS - 20)
    assert status(event["event_id"], ALICE, token).body["poll_after_seconds"] == 20

    # And three seconds before the draw is due, in three seconds, when her place is known
    now.move(seconds=17)
    before = status(event["event_id"], ALICE, token).body
    assert before["position"] is None
    assert before["poll_after_seconds"] == 3
    now.move(seconds=3)
    assert status(event["event_id"], ALICE, token).body["position"] == 1


def test_a_long_line_reads_its_places_over_a_reveal_window_before_anyone_is_let_in(
    now: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a line long enough for a reveal window (one read a second here, so the three in
    # the pool make a window of 3 s), a cap of 600 a minute (the line starts at a quarter of
    # it, 2.5 a second)
    monkeypatch.setattr(rules, "REVEAL_READS_PER_SECOND", 1)
    event = create_event(capacity=50)
    event_id = event["event_id"]
    assert configure(event_id, opens_in(now), cap=600).status == 200
    joined = {p: join(event_id, p).body for p in (ALICE, BOB, CAROL)}
    tokens = {p: j["position_token"] for p, j in joined.items()}

    # When each page asks ten seconds before the draw is due
    now.move(minutes=10, seconds=rules.DRAW_GRACE_SECONDS - 10)
    asked = {p: status(event_id, p, t).body["poll_after_seconds"] for p, t in tokens.items()}

    # Then each is told to read its place at its own moment of the window after the draw
    for person, after in asked.items():
        entry = joined[person]["status"]["entry_id"]
        assert after == 10 + rules.reveal_offset(entry, 3)
        assert 10 <= after <= 13

    # When the draw is made, nobody is let in during the window, and the estimate counts it
    now.move(seconds=10)
    shown = {p: status(event_id, p, t).body for p, t in tokens.items()}
    assert {b["state"] for b in shown.values()} == {"open"}
    assert not any(b["admitted"] for b in shown.values())
    assert {b["admitted_through"] for b in shown.values()} == {0}
    first = min(shown.values(), key=lambda b: b["position"])
    assert first["estimated_wait_seconds"] == 3
    now.move(seconds=2)
    assert not status(event_id, ALICE, tokens[ALICE]).body["admitted"]

    # And once it has passed, the line moves at its rate: all three are in within 2 s
    now.move(seconds=3)
    assert all(status(event_id, p, t).body["admitted"] for p, t in tokens.items())


def test_a_container_reads_each_drawn_chunk_once_for_everyone_in_it(
    now: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given five people drawn into one chunk of the draw
    people = [f"person{n}@example.com" for n in range(5)]
    event_id, tokens = drawn_queue(now, people)
    reads = calls_to(monkeypatch, "chunk_holding")
    rules.reset()

    # When each asks for their place
    places = [status(event_id, p, tokens[p]).body["position"] for p in people]

    # Then each has their own place, from one read of the chunk
    assert sorted(places) == [1, 2, 3, 4, 5]
    assert len(reads) == 1


def test_the_draw_is_a_published_function_of_the_committed_seed(now: Clock) -> None:
    # Given five people who joined before the opening, and a committed seed
    people = [ALICE, BOB, CAROL, DAVE, ERIN]
    event = create_event(capacity=50)
    committed = configure(event["event_id"], opens_in(now)).body["queue"]["seed_commitment"]
    tokens = {p: join(event["event_id"], p).body["position_token"] for p in people}

    # While the opening is passing, the draw waits for its grace
    now.move(minutes=10)
    assert public(event["event_id"]).body["state"] == "drawing"
    assert status(event["event_id"], ALICE, tokens[ALICE]).body["position"] is None

    # When the draw is made
    now.move(seconds=rules.DRAW_GRACE_SECONDS)
    shown = public(event["event_id"]).body

    # Then the revealed seed matches the commitment published before anyone joined
    assert shown["state"] == "open"
    assert hashlib.sha256(bytes.fromhex(shown["seed"])).hexdigest() == committed
    # And anyone can recompute the order from the seed and the listed entries
    order_listed = shown["order"]
    assert shown["pool_size"] == len(order_listed) == 5
    recomputed = sorted(
        order_listed,
        key=lambda e: hashlib.sha256(bytes.fromhex(shown["seed"]) + e.encode()).hexdigest(),
    )
    assert order_listed == recomputed
    # And each person's place is their entry's place in that order
    for person in people:
        mine = status(event["event_id"], person, tokens[person]).body
        assert mine["position"] == order_listed.index(mine["entry_id"]) + 1
    assert shown["next_cursor"] is None


def test_a_large_draw_is_listed_page_by_page_in_order(
    now: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a pool bigger than one page of the draw (pages of 3 here, of 1,000 deployed)
    monkeypatch.setattr(rules, "CHUNK_SIZE", 3)
    event = create_event()
    configure(event["event_id"], opens_in(now))
    joined = {
        f"p{i}@example.com": join(event["event_id"], f"p{i}@example.com").body for i in range(7)
    }
    entries = [answer["status"]["entry_id"] for answer in joined.values()]

    # When it is drawn and read page by page
    now.move(minutes=10, seconds=rules.DRAW_GRACE_SECONDS)
    pages = [public(event["event_id"]).body]
    while pages[-1]["next_cursor"]:
        pages.append(public(event["event_id"], pages[-1]["next_cursor"]).body)

    # Then the pages follow each other and together are the whole order of the seed
    assert [(p["offset"], len(p["order"])) for p in pages] == [(0, 3), (3, 3), (6, 1)]
    seed = bytes.fromhex(pages[0]["seed"])
    listed = [entry for page in pages for entry in page["order"]]
    assert listed == sorted(entries, key=lambda e: hashlib.sha256(seed + e.encode()).hexdigest())
    # And each person's place is found in their page
    for person, answer in joined.items():
        mine = status(event["event_id"], person, answer["position_token"]).body
        assert mine["position"] == listed.index(mine["entry_id"]) + 1
    bad = public(event["event_id"], "not-a-cursor")
    assert (bad.status, bad.code) == (400, "validation_error")


def test_arrivals_after_the_opening_follow_the_drawn_pool(now: Clock) -> None:
    # Given a drawn pool of two
    event_id, _ = drawn_queue(now, [ALICE, BOB])

    # When Carol and then Dave arrive after the opening
    carol = join(event_id, CAROL).body["status"]
    dave = join(event_id, DAVE).body["status"]

    # Then they are placed after the pool
    assert carol["phase"] == dave["phase"] == "arrival"
    assert carol["position"] > 2
    assert dave["position"] > 2
    assert carol["position"] != dave["position"]


def test_the_organizer_reads_who_joined_how_far_admission_reached_and_the_rates(
    now: Clock,
) -> None:
    # Given a queue opening in ten minutes at a cap of 60 a minute, and three people who join
    # before the opening (Alice twice)
    event = create_event(capacity=50)
    event_id = event["event_id"]
    assert configure(event_id, opens_in(now), cap=60).status == 200
    for person in (ALICE, BOB, CAROL, ALICE):
        assert join(event_id, person).status == 200

    # When the organizer reads the queue before the opening
    before = public(event_id).body

    # Then the pool is counted (each person once) and nobody is let in, at no rate yet
    assert (before["joined"], before["admitted_through"], before["admitted_people"]) == (3, 0, 0)
    assert (before["rate_per_minute"], before["achieved_per_minute"]) == (None, None)

    # Given the draw made and two more people arriving after it
    now.move(minutes=10, seconds=rules.DRAW_GRACE_SECONDS)
    arrivals = [join(event_id, person).body["status"]["position"] for person in (DAVE, ERIN)]

    # When eight seconds pass (the controller starts at a quarter of the cap: 15 a minute)
    now.move(seconds=8)
    early = public(event_id).body

    # Then all five count as joined, two places are let in, at 15 a minute so far
    assert early["state"] == "open"
    assert early["pool_size"] == 3
    assert (early["joined"], early["admitted_through"], early["admitted_people"]) == (5, 2, 2)
    assert (early["rate_per_minute"], early["achieved_per_minute"]) == (15, 15)

    # When two minutes pass, read every five seconds (the controller raises the rate by a
    # tenth of the cap every ten seconds while people wait)
    for _ in range(24):
        now.move(seconds=5)
        late = public(event_id).body

    # Then everybody is let in, admission stops at the last place taken, and the rate rose
    assert late["joined"] == 5
    assert late["admitted_people"] == 5
    assert late["admitted_through"] == max(arrivals)
    assert late["rate_per_minute"] > 15
    assert 0 < late["achieved_per_minute"] <= late["rate_per_minute"]


def test_a_pool_entry_whose_count_failed_still_joins_and_the_draw_counts_it(
    now: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a queue opening in ten minutes whose pool counter cannot be written for a moment
    event = create_event(capacity=50)
    event_id = event["event_id"]
    assert configure(event_id, opens_in(now)).status == 200

    def busy(event_id: str, shard: int) -> None:
        raise StorageUnavailable("busy")

    monkeypatch.setattr(queue_app.queue, "count_pool", busy)

    # When Alice joins
    joined = join(event_id, ALICE)

    # Then she has her entry, the count shows the pool without her until the draw, and the
    # draw's pool size counts her
    assert joined.status == 200, joined
    assert public(event_id).body["joined"] == 0
    now.move(minutes=10, seconds=rules.DRAW_GRACE_SECONDS)
    assert public(event_id).body["joined"] == 1


# ---------------------------------------------------------------------------- admission


def test_people_are_admitted_only_within_the_frontier(now: Clock) -> None:
    # Given a drawn pool of three and a cap of 60 a minute (the controller starts at a quarter)
    event_id, tokens = drawn_queue(now, [ALICE, BOB, CAROL], cap=60)
    places = {p: status(event_id, p, t).body["position"] for p, t in tokens.items()}
    first, last = min(places, key=places.__getitem__), max(places, key=places.__getitem__)

    # At the opening nobody is admitted yet, and the estimate follows the rate
    at_open = status(event_id, last, tokens[last]).body
    assert at_open["admitted"] is False
    assert at_open["admission_token"] is None
    assert at_open["admitted_through"] == 0
    assert at_open["people_ahead"] == 2
    assert at_open["rate_per_minute"] == 15
    assert at_open["estimated_wait_seconds"] == 8  # 2 ahead at 15 a minute
    # And the page is told to ask again at the longest interval, the turn being further off
    assert at_open["poll_after_seconds"] == rules.POLL_SECONDS

    # When four seconds pass, one place is admitted
    now.move(seconds=4)
    head = status(event_id, first, tokens[first]).body
    tail = status(event_id, last, tokens[last]).body

    # Then the next in line (one ahead, four seconds away) is told to ask again when it is due
    assert tail["estimated_wait_seconds"] == 4
    assert tail["poll_after_seconds"] == 4
    # And the head of the line has an admission token that expires in five minutes
    assert head["admitted"] is True
    assert head["admitted_through"] == 1
    assert head["admission_token"]
    expires = datetime.fromisoformat(head["admission_expires_at"].replace("Z", "+00:00"))
    assert expires - now.at == timedelta(minutes=5)
    # And the last person is not admitted yet
    assert tail["admitted"] is False
    assert tail["admission_token"] is None
    assert buy(event_id, first, head["admission_token"]).status == 201
    assert buy(event_id, last, None).code == "admission_required"


@pytest.mark.parametrize(
    ("expected", "cap", "first_rate"),
    [(5, 6000, 300), (5, 120, 120), (None, 6000, 1500)],
    ids=["the-sized-rate", "never-above-the-cap", "a-quarter-of-the-cap-unsized"],
)
def test_admission_starts_at_the_rate_the_event_was_sized_for(
    now: Clock, expected: int | None, cap: int, first_rate: int
) -> None:
    # Given an event sized for `expected` orders a second (or not sized) behind a queue
    sizing = {} if expected is None else {"expected_orders_per_second": expected}
    event = create_event(capacity=500, **sizing)
    assert configure(event["event_id"], opens_in(now), cap=cap).status == 200
    token = join(event["event_id"], ALICE).body["position_token"]

    # When the queue opens and its pool is drawn
    now.move(minutes=10, seconds=rules.DRAW_GRACE_SECONDS)
    answer = status(event["event_id"], ALICE, token).body

    # Then admission starts at the sized rate a minute, within the organizer's cap
    assert answer["state"] == "open"
    assert answer["rate_per_minute"] == first_rate
    assert public(event["event_id"]).body["rate_per_minute"] == first_rate


def test_an_admitted_person_buys_and_the_sale_is_recorded_for_the_controller(now: Clock) -> None:
    # Given Alice, admitted
    event_id, tokens = drawn_queue(now, [ALICE])
    admission = admitted_token(event_id, now, ALICE, tokens[ALICE])

    # When she buys with her admission token
    answer = buy(event_id, ALICE, admission)

    # Then she has her ticket, and the sale is counted for the controller as a quick one
    assert answer.status == 201, answer
    assert sold(event_id) == 1
    window = clock.epoch() // rules.CONTROL_SECONDS
    health = queue_app.queue.health(event_id, window, rules.HEALTH_SHARDS)
    assert (health.sales, health.conflicts, health.throttles, health.slow) == (1, 0, 0, 0)
    assert health.latency_ms_total == 0


@pytest.mark.parametrize(
    ("token_of", "code"),
    [
        ("none", "admission_required"),
        ("forged", "admission_invalid"),
        ("tampered", "admission_invalid"),
        ("position-token", "admission_invalid"),
        ("expired", "admission_expired"),
        ("borrowed", "admission_not_yours"),
        ("other-event", "admission_wrong_event"),
    ],
)
def test_the_queue_cannot_be_skipped(now: Clock, token_of: str, code: str) -> None:
    # Given a sale behind a queue where Alice is admitted, and another queued event
    event_id, tokens = drawn_queue(now, [ALICE])
    admission = admitted_token(event_id, now, ALICE, tokens[ALICE])
    other_id, other_tokens = drawn_queue(now, [ALICE])
    other_admission = admitted_token(other_id, now, ALICE, other_tokens[ALICE])
    admission = admitted_token(event_id, now, ALICE, tokens[ALICE])

    # When someone tries to buy with no token or one that is not theirs to use here
    buyer, sent = ALICE, admission
    if token_of == "none":
        sent = None
    elif token_of == "forged":
        version, payload, _ = admission.split(".")
        sent = f"{version}.{payload}.{b64url.encode(b'0' * 32)}"
    elif token_of == "tampered":
        version, payload, mac = admission.split(".")
        claims = b64url.decode(payload).replace(b'"sub":"alice', b'"sub":"bobby')
        sent, buyer = f"{version}.{b64url.encode(claims)}.{mac}", "bobby@example.com"
    elif token_of == "position-token":
        sent = tokens[ALICE]
    elif token_of == "expired":
        now.move(minutes=5)
    elif token_of == "borrowed":
        buyer = BOB
    elif token_of == "other-event":
        sent = other_admission
    answer = buy(event_id, buyer, sent)

    # Then it is refused with its own code and nothing is sold
    assert (answer.status, answer.code) == (403, code), answer
    assert sold(event_id) == 0


def test_an_expired_admission_is_renewed_while_the_place_stays_admitted(now: Clock) -> None:
    # Given Alice's admission expired before she bought
    event_id, tokens = drawn_queue(now, [ALICE])
    old = admitted_token(event_id, now, ALICE, tokens[ALICE])
    now.move(minutes=6)
    assert buy(event_id, ALICE, old).code == "admission_expired"

    # When she asks for her status again
    fresh = status(event_id, ALICE, tokens[ALICE]).body

    # Then she is still admitted, with a new token that works
    assert fresh["admitted"] is True
    assert buy(event_id, ALICE, fresh["admission_token"]).status == 201


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("none", "queue_token_required"),
        ("forged", "queue_token_invalid"),
        ("someone-elses", "queue_token_not_yours"),
        ("other-event", "queue_token_wrong_event"),
    ],
)
def test_a_status_needs_the_persons_own_position_token(now: Clock, case: str, code: str) -> None:
    # Given Alice and Bob in one queue, and Alice in another
    event = create_event()
    other = create_event()
    configure(event["event_id"], opens_in(now))
    configure(other["event_id"], opens_in(now))
    alices = join(event["event_id"], ALICE).body["position_token"]
    elsewhere = join(other["event_id"], ALICE).body["position_token"]

    # When a status is asked with a wrong token
    token, user = {
        "none": (None, ALICE),
        "forged": ("q1.e30.AAAA", ALICE),
        "someone-elses": (alices, BOB),
        "other-event": (elsewhere, ALICE),
    }[case]
    answer = status(event["event_id"], user, token)

    # Then it is refused with its own code
    assert (answer.status, answer.code) == (403, code), answer


def test_joining_an_event_without_a_queue_is_refused(now: Clock) -> None:
    event = create_event()
    answer = join(event["event_id"], ALICE)
    assert (answer.status, answer.code) == (409, "queue_not_enabled")
    missing = join("aaaaaaaaaaaaaaaa", ALICE)
    assert (missing.status, missing.code) == (404, "not_found")


def test_events_without_a_queue_sell_exactly_as_before(now: Clock) -> None:
    # Given an event with no queue, and one whose queue was turned off
    plain = create_event()
    switched = create_event()
    configure(switched["event_id"], opens_in(now))
    configure(switched["event_id"], opens_in(now), enabled=False)

    # When Alice buys from both without any admission token
    first = buy(plain["event_id"], ALICE, None)
    second = buy(switched["event_id"], ALICE, None)

    # Then both sales go through as they always did
    assert first.status == second.status == 201
    assert public(switched["event_id"]).body["state"] == "off"


def test_a_queue_turned_on_refuses_a_sale_without_a_token_before_the_opening(now: Clock) -> None:
    # Given a sale put behind a queue that opens in ten minutes
    event = create_event()
    configure(event["event_id"], opens_in(now))

    # When Alice tries to buy before the opening
    answer = buy(event["event_id"], ALICE, None)

    # Then she is told to join the queue, and nothing is sold
    assert (answer.status, answer.code) == (403, "admission_required")
    assert sold(event["event_id"]) == 0


# ---------------------------------------------------------------------------- the controller


def _health(event_id: str, now: Clock, **counts: int) -> None:
    """What create-ticket would have recorded in the last complete window."""
    window = clock.epoch() // rules.CONTROL_SECONDS
    for outcome, times in counts.items():
        for _ in range(times):
            latency = 3000 if outcome == "slow" else 40
            queue_app.queue.record_sale(
                event_id,
                window=window,
                shard=0,
                outcome="sales" if outcome == "slow" else outcome,
                latency_ms=latency,
                slow=outcome == "slow",
            )


def _step(event_id: str, now: Clock, token: str) -> float:
    now.move(seconds=rules.CONTROL_SECONDS)
    status(event_id, ALICE, token)
    rate: float = status(event_id, ALICE, token).body["rate_per_minute"]
    return rate


@pytest.mark.parametrize("trouble", ["throttles", "conflicts", "slow"])
def test_the_controller_lowers_the_rate_on_trouble_and_raises_it_when_healthy(
    now: Clock, trouble: str
) -> None:
    # Given a drawn queue with people waiting (cap 600: it starts at 150 a minute)
    event_id, tokens = drawn_queue(now, [ALICE, BOB, CAROL, DAVE], cap=600)
    for i in range(40):
        join(event_id, f"late{i}@example.com")
    token = tokens[ALICE]
    assert status(event_id, ALICE, token).body["rate_per_minute"] == 150

    # When the sale meets trouble in a window
    _health(event_id, now, sales=10, **{trouble: 5})
    lowered = _step(event_id, now, token)

    # Then the rate is halved
    assert lowered == 75

    # And when the next window is healthy, it rises by a tenth of the cap
    _health(event_id, now, sales=20)
    assert _step(event_id, now, token) == 135


def test_requests_holding_the_same_record_try_the_controller_step_once(
    now: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a drawn queue with a line, whose control step is due, and the record as concurrent
    # requests of one process would each hold it from the cache
    event_id, tokens = drawn_queue(now, [ALICE, BOB, CAROL], cap=600)
    for i in range(40):
        join(event_id, f"late{i}@example.com")
    _health(event_id, now, sales=20)
    now.move(seconds=rules.CONTROL_SECONDS)
    held = queue_app.queue.get(event_id, max_age=0)
    assert held is not None
    steps = calls_to(monkeypatch, "control")

    # When one request steps the controller and others, holding the same record, ask too
    assert status(event_id, ALICE, tokens[ALICE]).status == 200
    epoch = clock.epoch()
    for _ in range(5):
        rules._advance(held, epoch, events=queue_app.events, queue=queue_app.queue)

    # Then the step was tried once, and everybody sees the new rate
    assert [step["rate"] for step in steps] == [210], steps
    assert {status(event_id, p, t).body["rate_per_minute"] for p, t in tokens.items()} == {210}


def test_requests_holding_the_undrawn_record_try_the_draw_lease_once_a_second(
    now: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a queue whose draw is due, and the undrawn record as concurrent requests hold it
    event = create_event()
    configure(event["event_id"], opens_in(now))
    token = join(event["event_id"], ALICE).body["position_token"]
    held = queue_app.queue.get(event["event_id"], max_age=0)
    assert held is not None
    now.move(minutes=10, seconds=rules.DRAW_GRACE_SECONDS)
    tries = calls_to(monkeypatch, "take_draw_lease")
    rules.reset()

    # When one request makes the draw and others, holding the undrawn record, ask too
    assert status(event["event_id"], ALICE, token).body["position"] == 1
    for _ in range(5):
        rules._advance(held, clock.epoch(), events=queue_app.events, queue=queue_app.queue)

    # Then the lease was tried once that second
    assert len(tries) == 1


def test_a_draw_lease_aws_refuses_answers_drawing_and_the_draw_follows(
    now: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a queue whose draw is due, and AWS refusing the lease's write once
    event = create_event()
    configure(event["event_id"], opens_in(now))
    token = join(event["event_id"], ALICE).body["position_token"]
    now.move(minutes=10, seconds=rules.DRAW_GRACE_SECONDS)
    real = type(queue_app.queue).take_draw_lease
    refusals = [StorageUnavailable("throttled", throttled=True)]

    def busy_once(self: Any, event_id: str, **when: float) -> bool:
        if refusals:
            raise refusals.pop()
        return bool(real(self, event_id, **when))

    monkeypatch.setattr(type(queue_app.queue), "take_draw_lease", busy_once)

    # When Alice asks for her place, and again a second later
    first = status(event["event_id"], ALICE, token)
    now.move(seconds=1)
    second = status(event["event_id"], ALICE, token)

    # Then she is told the draw is being made, then her place
    assert (first.status, first.body["state"], first.body["poll_after_seconds"]) == (
        200,
        "drawing",
        1,
    )
    assert (second.body["state"], second.body["position"]) == ("open", 1)


def test_a_controller_step_aws_cannot_store_does_not_fail_the_status(
    now: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a drawn queue whose control step is due, and AWS refusing the step's write
    event_id, tokens = drawn_queue(now, [ALICE, BOB], cap=600)
    now.move(seconds=rules.CONTROL_SECONDS)

    def busy(self: Any, record: Any, **changes: Any) -> bool:
        raise StorageUnavailable("throttled", throttled=True)

    monkeypatch.setattr(type(queue_app.queue), "control", busy)

    # When Alice asks for her status
    answer = status(event_id, ALICE, tokens[ALICE])

    # Then she gets it, at the rate as it was, and the step is tried again later
    assert answer.status == 200, answer
    assert answer.body["rate_per_minute"] == 150


def test_the_rate_never_exceeds_the_organizers_cap(now: Clock) -> None:
    # Given a queue capped at 20 a minute, healthy throughout, with a line admission cannot
    # reach while the rate climbs: starting at a quarter of the cap and adding a tenth each
    # period, the rate meets the cap in 8 periods, by when 16 places are let in; two drawn and
    # twenty arrivals hold places up to at least 22 whichever counter shards they drew
    event_id, tokens = drawn_queue(now, [ALICE, BOB], cap=20)
    for i in range(20):
        join(event_id, f"late{i}@example.com")
    token = tokens[ALICE]

    # When many healthy periods pass
    rates = []
    for _ in range(12):
        _health(event_id, now, sales=5)
        rates.append(_step(event_id, now, token))

    # Then the rate climbs by a tenth of the cap a period up to the cap (19 + 2 stops at 20),
    # and stays there
    assert rates == [7, 9, 11, 13, 15, 17, 19, 20, 20, 20, 20, 20]

    # And lowering the cap takes effect at once
    configure(event_id, public(event_id).body["opens_at"], cap=8)
    now.move(seconds=1)
    assert status(event_id, ALICE, token).body["rate_per_minute"] == 8


def test_a_change_made_by_another_container_shows_once_a_second_has_passed(now: Clock) -> None:
    # Given a drawn queue capped at 60 a minute, whose status this container has just read
    event_id, tokens = drawn_queue(now, [ALICE], cap=60)
    assert status(event_id, ALICE, tokens[ALICE]).body["rate_per_minute"] == 15

    # When another container's organizer call lowers the cap to 8 a minute
    clients.dynamodb_table(queue_app.settings.ticketing_table).update_item(
        Key=queue_key(event_id),
        UpdateExpression="SET max_admissions_per_minute = :cap",
        ExpressionAttributeValues={":cap": 8},
    )

    # Then within the same second this container still answers from its copy of the queue
    now.move(seconds=0.5)
    assert status(event_id, ALICE, tokens[ALICE]).body["rate_per_minute"] == 15
    # And once a second has passed on the clock the rules read, it answers the new cap
    now.move(seconds=0.5)
    assert status(event_id, ALICE, tokens[ALICE]).body["rate_per_minute"] == 8


def test_the_frontier_stops_at_the_last_place_taken(now: Clock) -> None:
    # Given a queue of two, both admitted long ago, and a quiet hour
    event_id, tokens = drawn_queue(now, [ALICE, BOB], cap=600)
    for _ in range(6):
        now.move(minutes=10)
        status(event_id, ALICE, tokens[ALICE])

    # When Carol arrives
    carol = join(event_id, CAROL).body["status"]

    # Then the credit of the quiet hour does not let a crowd in at once: the frontier was held
    # at the last place taken, and Carol waits at most one control period's worth
    assert carol["admitted_through"] <= 2 + 600 * rules.CONTROL_SECONDS // 60


def test_a_slow_sale_is_recorded_as_slow(now: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given Alice, admitted, and a sale that takes two seconds (a moved timer, not a wait)
    event_id, tokens = drawn_queue(now, [ALICE])
    admission = admitted_token(event_id, now, ALICE, tokens[ALICE])
    ticks = iter([100.0, 102.0])
    monkeypatch.setattr(rules, "timer", lambda: next(ticks))

    # When she buys
    assert buy(event_id, ALICE, admission).status == 201

    # Then the window records a slow answer, which the controller counts as trouble
    window = clock.epoch() // rules.CONTROL_SECONDS
    health = queue_app.queue.health(event_id, window, rules.HEALTH_SHARDS)
    assert (health.sales, health.slow, health.latency_ms_total) == (1, 1, 2000)


# ---------------------------------------------------------------------------- samples


def test_the_samples_run(now: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the event the samples name, Olivia's
    event_id = "mjqxgzlsn5xwwzlu"
    factories.put_event(event_id=event_id, starts_in=timedelta(days=200))

    def run(name: str, **headers: str) -> tuple[int, Any]:
        event = load_event(name)
        event["headers"].update(headers)
        answer = queue_app.lambda_handler(event, LambdaContext())
        return answer["statusCode"], json_body(answer)

    # When the organizer's sample configures it and Bob's sample joins, looks and reads
    now.at = datetime(2027, 2, 28, 10, 0, tzinfo=UTC)
    configured = run("queue-configure.json")
    joined = run("queue-join.json")
    looked = run("queue-status.json")
    with_token = run("queue-status.json", **{"X-Queue-Token": joined[1]["position_token"]})
    shown = run("queue-public.json")

    # Then each did what it says (the status sample's token is a placeholder, refused)
    assert configured[0] == 200, configured
    assert joined[0] == 200, joined
    assert (looked[0], looked[1]["error"]["code"]) == (403, "queue_token_invalid")
    assert with_token[0] == 200
    assert with_token[1]["entry_id"] == joined[1]["status"]["entry_id"]
    assert shown[0] == 200
    assert shown[1]["seed_commitment"] == configured[1]["queue"]["seed_commitment"]
    assert (shown[1]["joined"], shown[1]["admitted_through"], shown[1]["rate_per_minute"]) == (
        1,
        0,
        None,
    )
    # And the create-ticket sample, sent for this event without an admission token, is refused
    sample = load_event("create-ticket.json") | {"body": f'{{"event_id": "{event_id}"}}'}
    refused = Answer(create_ticket_app.lambda_handler(sample, LambdaContext()))
    assert (refused.status, refused.code) == (403, "admission_required")
