"""The subscribe rules, against an in-memory store and workflow (no network)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from gatepass.dal.subscriptions import Claim
from gatepass.dal.workflow import WorkflowStartError
from gatepass.errors import ServiceUnavailable
from gatepass.logic.subscriptions import (
    STARTING_GRACE,
    SUBSCRIBE_MESSAGE,
    execution_name,
    subscribe,
)
from gatepass.models.subscriptions import SubscribeRequest

pytestmark = pytest.mark.unit

NOON = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


@dataclass
class MemoryStore:
    """Behaves like the conditional write in DynamoSubscriptionStore."""

    items: dict[str, dict[str, Any]] = field(default_factory=dict)

    def claim(self, email: str, *, now: str, stale_before: str) -> Claim:
        item = self.items.get(email)
        free = (
            item is None
            or item["status"] in ("expired", "failed")
            or (item["status"] == "starting" and item["updated_at"] < stale_before)
        )
        if not free:
            assert item is not None
            return Claim(won=False, status=item["status"], attempt=item["attempt"])
        attempt = (item["attempt"] if item else 0) + 1
        self.items[email] = {"status": "starting", "attempt": attempt, "updated_at": now}
        return Claim(won=True, status="starting", attempt=attempt)

    def release(self, email: str, *, attempt: int, now: str, error: str, cause: str) -> None:
        item = self.items[email]
        if item["attempt"] == attempt and item["status"] == "starting":
            item.update(status="failed", failure={"error": error, "cause": cause}, updated_at=now)

    def delivery_removed(self, email: str) -> int | None:
        item = self.items.get(email)
        if item and item["status"] == "active" and item.get("unsubscribed"):
            return int(item["attempt"])
        return None

    def mark_unsubscribed(self, email: str, *, attempt: int, now: str) -> None:
        self.items[email].update(status="expired", updated_at=now)


class StandInRecorder:
    """Counts what the equalising stand-in does instead of waiting."""

    def __init__(self) -> None:
        self.timed_calls = 0
        self.waits = 0

    def timed(self, call: Any) -> Any:
        self.timed_calls += 1
        return call()

    def wait(self) -> None:
        self.waits += 1


def go(email: str, store: MemoryStore, workflow: Any, now: datetime, stand_in: Any = None) -> Any:
    return subscribe(
        email, store=store, workflow=workflow, start_time=stand_in or StandInRecorder(), now=now
    )


@dataclass
class RecordingWorkflow:
    started: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    fail_with: Exception | None = None

    def start(self, name: str, payload: dict[str, Any]) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        self.started.append((name, payload))


def test_first_request_starts_the_workflow_with_address_and_attempt() -> None:
    store, workflow = MemoryStore(), RecordingWorkflow()

    result = go("ada@example.com", store, workflow, NOON)

    assert result.model_dump() == {"email": "ada@example.com", "message": SUBSCRIBE_MESSAGE}
    assert workflow.started == [
        (execution_name("ada@example.com", 1), {"email": "ada@example.com", "attempt": 1})
    ]


@pytest.mark.parametrize("state", ["starting", "pending", "active"])
def test_repeated_request_answers_like_a_new_one_and_stands_in_for_the_start(state: str) -> None:
    # Given an address whose subscription is under way or done
    store, workflow = MemoryStore(), RecordingWorkflow()
    first = go("ada@example.com", store, workflow, NOON)
    store.items["ada@example.com"]["status"] = state
    stand_in = StandInRecorder()

    # When it is subscribed again
    again = go("ada@example.com", store, workflow, NOON + timedelta(seconds=5), stand_in)

    # Then the answer is the first one's, no second workflow starts, and the stand-in waits
    # where the start would have been
    assert again == first
    assert len(workflow.started) == 1
    assert (stand_in.timed_calls, stand_in.waits) == (0, 1)


@pytest.mark.parametrize("ended", ["expired", "failed"])
def test_an_ended_subscription_starts_again_as_a_new_attempt(ended: str) -> None:
    store, workflow = MemoryStore(), RecordingWorkflow()
    go("ada@example.com", store, workflow, NOON)
    store.items["ada@example.com"]["status"] = ended

    go("ada@example.com", store, workflow, NOON + timedelta(days=3))

    names = [name for name, _ in workflow.started]
    assert names == [execution_name("ada@example.com", 1), execution_name("ada@example.com", 2)]
    assert workflow.started[1][1]["attempt"] == 2


def test_an_abandoned_start_is_taken_over_only_after_the_grace_period() -> None:
    store, workflow = MemoryStore(), RecordingWorkflow()
    store.items["ada@example.com"] = {
        "status": "starting",
        "attempt": 1,
        "updated_at": "2026-11-22T12:00:00Z",
    }

    early = go("ada@example.com", store, workflow, NOON + STARTING_GRACE / 2)
    late = go("ada@example.com", store, workflow, NOON + STARTING_GRACE * 2)

    assert early == late
    assert [name for name, _ in workflow.started] == [execution_name("ada@example.com", 2)]


def test_a_workflow_that_will_not_start_frees_the_address_and_answers_503() -> None:
    store = MemoryStore()
    broken = RecordingWorkflow(fail_with=WorkflowStartError("ThrottlingException"))

    with pytest.raises(ServiceUnavailable):
        go("ada@example.com", store, broken, NOON)

    assert store.items["ada@example.com"]["status"] == "failed"
    retried = RecordingWorkflow()
    go("ada@example.com", store, retried, NOON)
    assert len(retried.started) == 1


def test_an_address_unsubscribed_outside_gatepass_starts_a_new_attempt() -> None:
    store, workflow = MemoryStore(), RecordingWorkflow()
    go("ada@example.com", store, workflow, NOON)
    store.items["ada@example.com"].update(status="active", unsubscribed=True)

    go("ada@example.com", store, workflow, NOON + timedelta(days=1))

    assert [payload["attempt"] for _, payload in workflow.started] == [1, 2]


def test_execution_names_are_valid_distinct_and_do_not_reveal_the_address() -> None:
    first = execution_name("ada@example.com", 1)
    again = execution_name("ada@example.com", 1)
    second = execution_name("ada@example.com", 2)
    other = execution_name("grace@example.com", 1)

    assert first == again
    assert len({first, second, other}) == 3
    for name in (first, second, other):
        assert len(name) <= 80
        assert all(ch.isalnum() or ch in "-_" for ch in name)
        assert "example" not in name


def test_addresses_are_normalised_and_bad_ones_refused() -> None:
    assert SubscribeRequest(email="  Ada@Example.COM ").email == "ada@example.com"
    for bad in ("", "ada", "ada@", "@example.com", "ada@example", "a b@example.com"):
        with pytest.raises(ValidationError):
            SubscribeRequest(email=bad)
