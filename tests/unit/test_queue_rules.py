"""The waiting room's pure rules: the rate controller (AIMD under the organizer's cap), the
draw's published order, arrival places, and the tokens' signatures (docs/decisions/0072, 0073)."""

from __future__ import annotations

import hashlib

import pytest

from gatepass.errors import (
    AdmissionExpired,
    AdmissionInvalid,
    AdmissionNotYours,
    AdmissionRequired,
    AdmissionWrongEvent,
)
from gatepass.logic.queue import (
    admitted_people,
    arrival_place,
    commitment,
    draw_order,
    next_rate,
    poll_after,
    reveal_offset,
    reveal_seconds,
    start_rate,
)
from gatepass.models.queue import QueueRecord, SaleHealth
from gatepass.queue_tokens import issue_admission, issue_position, verify_admission

pytestmark = pytest.mark.unit

HEALTHY = SaleHealth(sales=100, latency_ms_total=100 * 50)


class FixedKeys:
    def key(self, kind: str) -> bytes:
        return hashlib.sha256(kind.encode()).digest()


@pytest.mark.parametrize(
    "trouble",
    [
        SaleHealth(sales=100, throttles=1),
        SaleHealth(sales=90, conflicts=10),
        SaleHealth(sales=10, latency_ms_total=10 * 1500),
        SaleHealth(sales=10, slow=2, latency_ms_total=10 * 300),
    ],
    ids=["a-throttle", "conflicts", "latency", "slow-answers"],
)
def test_trouble_halves_the_rate(trouble: SaleHealth) -> None:
    assert next_rate(400, 1000, trouble, waiting=True) == 200


def test_health_with_people_waiting_adds_a_tenth_of_the_cap() -> None:
    assert next_rate(400, 1000, HEALTHY, waiting=True) == 500


@pytest.mark.parametrize(
    "warm",
    [
        SaleHealth(sales=99, conflicts=1, latency_ms_total=100 * 50),
        SaleHealth(sales=100, slow=5, latency_ms_total=100 * 300),
        SaleHealth(sales=100, latency_ms_total=100 * 400),
    ],
    ids=["a-conflict-give-up", "five-percent-slow", "mean-400-ms"],
)
def test_a_sale_near_its_limit_holds_the_rate_instead_of_probing_for_more(
    warm: SaleHealth,
) -> None:
    assert next_rate(400, 1000, warm, waiting=True) == 400


def test_health_with_nobody_waiting_keeps_the_rate() -> None:
    assert next_rate(400, 1000, HEALTHY, waiting=False) == 400


def test_the_rate_never_exceeds_the_cap_nor_falls_below_one_a_minute() -> None:
    rate = 10.0
    for _ in range(50):
        rate = next_rate(rate, 120, HEALTHY, waiting=True)
        assert rate <= 120
    assert rate == 120
    for _ in range(50):
        rate = next_rate(rate, 120, SaleHealth(throttles=3), waiting=True)
    assert rate == 1
    assert next_rate(500, 120, HEALTHY, waiting=False) == 120


def test_the_first_rate_is_the_sized_rate_within_the_cap_or_a_quarter_of_the_cap() -> None:
    assert start_rate(100_000, 1000) == 60_000
    assert start_rate(30_000, 1000) == 30_000
    assert start_rate(1000, None) == 250
    assert start_rate(2, None) == 1  # never below one a minute


@pytest.mark.parametrize(
    ("wait", "after"),
    [(None, 5), (0, 1), (1, 1), (3, 3), (5, 5), (8, 5), (24, 12), (61, 30), (600, 30), (-20, 1)],
    ids=[
        "unknown",
        "next-in-line",
        "one-second",
        "near",
        "at-the-turn-window",
        "just-beyond",
        "half-the-wait",
        "at-the-longest",
        "far",
        "overdue",
    ],
)
def test_a_page_is_told_to_ask_again_at_its_turn_when_near_and_halfway_when_far(
    wait: int | None, after: int
) -> None:
    assert poll_after(wait) == after


@pytest.mark.parametrize(
    ("people", "reveal"),
    [(0, 0), (4_999, 0), (5_000, 1), (60_000, 12), (10_000_000, 30)],
)
def test_places_are_revealed_over_a_second_per_5000_people_in_line(
    people: int, reveal: int
) -> None:
    assert reveal_seconds(people) == reveal


def test_each_page_reads_its_place_at_its_own_moment_of_the_reveal() -> None:
    # A published function of the entry id, within the window, spread over all of it
    entries = [f"entry{n:05d}" for n in range(12_000)]
    moments = [reveal_offset(entry, 11) for entry in entries]
    assert moments == [reveal_offset(entry, 11) for entry in entries]
    assert set(moments) == set(range(12))
    assert max(moments.count(s) for s in range(12)) < 1.2 * len(entries) / 12
    assert reveal_offset("entry00001", 0) == 0


@pytest.mark.parametrize(
    ("until_draw", "after"),
    [(None, 5), (600, 30), (30, 30), (12, 12), (0, 1), (-3, 1)],
    ids=["off", "far", "at-the-longest", "near", "due", "overdue"],
)
def test_before_the_draw_a_page_is_told_to_ask_again_when_it_is_due(
    until_draw: int | None, after: int
) -> None:
    assert poll_after(until_draw, before_draw=True) == after


def test_an_admitted_page_is_asked_back_at_the_longest() -> None:
    assert poll_after(0, admitted=True) == 5


def test_the_draw_sorts_by_the_published_hash_and_the_commitment_is_the_seeds_hash() -> None:
    seed = "00" * 31 + "2a"
    ids = ["aaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbb", "cccccccccccccccc", "dddddddddddddddd"]
    expected = sorted(ids, key=lambda e: hashlib.sha256(bytes.fromhex(seed) + e.encode()).digest())
    assert draw_order(seed, ids) == expected
    assert commitment(seed) == hashlib.sha256(bytes.fromhex(seed)).hexdigest()


def test_arrivals_are_interleaved_round_by_round_after_the_pool() -> None:
    places = sorted(arrival_place(5, 4, shard, n) for shard in range(4) for n in (1, 2))
    assert places == list(range(6, 14))


@pytest.mark.parametrize(
    ("through", "let_in"),
    [(0, 0), (2, 2), (3, 3), (4, 4), (8, 4), (9, 5), (24, 5), (25, 6), (99, 6)],
)
def test_people_let_in_count_the_places_taken_at_or_below_the_frontier(
    through: int, let_in: int
) -> None:
    # Given a drawn pool of 3 and arrivals: one on shard 0 (place 4), two on shard 5 (9, 25)
    record = QueueRecord(
        event_id="e", organizer="o", opens_at="t", max_admissions_per_minute=60, enabled=True,
        seed="00", seed_commitment="c", shards=16, created_at="t", pool_size=3,
    )  # fmt: skip
    counters = {0: 1, 5: 2, 9: 0}

    # When admission has reached place ``through``
    # Then the people let in are the places taken up to it, gaps between shards not counted
    assert admitted_people(record, counters, through) == let_in


def test_an_admission_token_is_checked_for_signature_person_event_and_time() -> None:
    keys = FixedKeys()
    token = issue_admission(keys, person="a@example.com", event_id="e" * 16, place=3, now=1000)
    ok = verify_admission(keys, token.token, person="a@example.com", event_id="e" * 16, now=1299)
    assert (ok.place, ok.expires_at) == (3, 1300)
    position = issue_position(
        keys,
        person="a@example.com",
        event_id="e" * 16,
        entry_id="x" * 16,
        phase="pool",
        shard=0,
        sequence=0,
        now=1000,
    )
    cases: list[tuple[str | None, str, str, int, type[Exception]]] = [
        (None, "a@example.com", "e" * 16, 1000, AdmissionRequired),
        (token.token[:-2] + "AA", "a@example.com", "e" * 16, 1000, AdmissionInvalid),
        (position.token, "a@example.com", "e" * 16, 1000, AdmissionInvalid),
        ("garbage", "a@example.com", "e" * 16, 1000, AdmissionInvalid),
        (token.token, "b@example.com", "e" * 16, 1000, AdmissionNotYours),
        (token.token, "a@example.com", "f" * 16, 1000, AdmissionWrongEvent),
        (token.token, "a@example.com", "e" * 16, 1300, AdmissionExpired),
    ]
    for sent, person, event_id, now, refused in cases:
        with pytest.raises(refused):
            verify_admission(keys, sent, person=person, event_id=event_id, now=now)
