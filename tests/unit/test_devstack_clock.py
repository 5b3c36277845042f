"""make dev's movable clock (``/_clock`` on the local API): moved forward, every rule that reads
``gatepass.clock`` reads the moved time; a bad request is a JSON error that moves nothing; a
DELETE goes back to the system clock."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from werkzeug.test import Client

from devstack.clock import MAX_ADVANCE_SECONDS, MovableClock
from gatepass import clock
from gatepass.logic import queue as rules
from gatepass.models.queue import QueueRecord

pytestmark = pytest.mark.unit

REAL = datetime(2026, 12, 2, 20, 0, tzinfo=UTC)


@pytest.fixture
def movable(monkeypatch: pytest.MonkeyPatch) -> Iterator[MovableClock]:
    """The dev stack's clock over a system clock held at ``REAL``."""
    monkeypatch.setattr(clock, "now", lambda: REAL)
    moved = MovableClock()
    moved.install()
    yield moved
    moved.uninstall()


def _call(movable: MovableClock, method: str, body: Any = None) -> tuple[int, Any]:
    data = body if isinstance(body, str) or body is None else json.dumps(body)
    answer = Client(movable).open("/_clock", method=method, data=data)
    return answer.status_code, json.loads(answer.get_data(as_text=True))


def test_moving_the_clock_moves_what_every_rule_reads(movable: MovableClock) -> None:
    # Given a waiting room opening in ten minutes, on the stack's clock
    opens = clock.iso(REAL + timedelta(minutes=10))
    record = QueueRecord(
        event_id="e", organizer="o", opens_at=opens, max_admissions_per_minute=60, enabled=True,
        seed="00", seed_commitment="c", shards=16, created_at=clock.iso(REAL),
    )  # fmt: skip
    assert rules.state_of(record, clock.epoch()) == "scheduled"

    # When the clock is moved past the opening and the draw's grace
    status, shown = _call(movable, "POST", {"advance_seconds": 600 + rules.DRAW_GRACE_SECONDS})

    # Then the stack reads the moved time, and the rules with it
    assert status == 200, shown
    assert shown == {"now": "2026-12-02T20:10:15.000Z", "offset_seconds": 615.0}
    assert clock.now() == REAL + timedelta(seconds=615)
    assert clock.epoch() == int(REAL.timestamp()) + 615
    assert rules.state_of(record, clock.epoch()) == "drawing"
    assert _call(movable, "GET") == (200, shown)


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        None,
        [],
        {},
        {"advance_seconds": 0},
        {"advance_seconds": -60},
        {"advance_seconds": "60"},
        {"advance_seconds": True},
        {"advance_seconds": MAX_ADVANCE_SECONDS + 1},
    ],
    ids=["not-json", "empty", "a-list", "no-seconds", "zero", "back", "text", "bool", "too-far"],
)
def test_a_bad_move_is_refused_and_moves_nothing(movable: MovableClock, body: Any) -> None:
    # When the clock is asked to move wrongly
    status, shown = _call(movable, "POST", body)

    # Then it answers a JSON error with its code, and the time is still the system's
    assert status == 400
    assert shown["error"]["code"] in ("invalid_json", "validation_error")
    assert shown["error"]["message"]
    assert clock.now() == REAL
    assert movable.offset_seconds == 0


def test_delete_goes_back_to_the_system_clock_and_uninstall_leaves_it(
    movable: MovableClock,
) -> None:
    # Given a clock moved twice
    movable.advance(60)
    _call(movable, "POST", {"advance_seconds": 30.5})
    assert clock.now() == REAL + timedelta(seconds=90.5)

    # When it is reset
    status, shown = _call(movable, "DELETE")

    # Then it reads the system clock again
    assert (status, shown["offset_seconds"]) == (200, 0.0)
    assert clock.now() == REAL
    # And other paths and methods are refused
    assert Client(movable).get("/_clock/elsewhere").status_code == 404
    assert Client(movable).put("/_clock").status_code == 405
    # And once uninstalled (the stack stopping), gatepass.clock is the system's again
    movable.advance(60)
    movable.uninstall()
    assert clock.now() == REAL
