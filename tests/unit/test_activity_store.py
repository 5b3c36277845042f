"""The activity store's batched writes: batches of 25, unprocessed items retried with bounded
backoff, and a clear failure when DynamoDB keeps refusing."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from gatepass.dal import activity as activity_dal
from gatepass.dal.storage import StorageUnavailable
from gatepass.http import storage_error

pytestmark = pytest.mark.unit

TABLE = "activity"


class ThrottlingClient:
    """Plays DynamoDB's BatchWriteItem: returns the first ``refuse`` items of the next
    ``throttled_calls`` calls as unprocessed."""

    def __init__(self, throttled_calls: int, refuse: int = 3) -> None:
        self.throttled_calls = throttled_calls
        self.refuse = refuse
        self.calls: list[list[dict[str, Any]]] = []
        self.written: list[dict[str, Any]] = []

    def batch_write_item(self, **request: Any) -> dict[str, Any]:
        requests: list[dict[str, Any]] = request["RequestItems"][TABLE]
        assert len(requests) <= 25
        self.calls.append(requests)
        if self.throttled_calls > 0:
            self.throttled_calls -= 1
            unprocessed, done = requests[: self.refuse], requests[self.refuse :]
        else:
            unprocessed, done = [], requests
        self.written += [r["PutRequest"]["Item"] for r in done]
        return {"UnprocessedItems": {TABLE: unprocessed} if unprocessed else {}}


class FakeTable:
    def __init__(self, client: ThrottlingClient) -> None:
        self.meta = type("Meta", (), {"client": client})()


def make_store(
    monkeypatch: pytest.MonkeyPatch, client: ThrottlingClient
) -> tuple[activity_dal.DynamoActivityStore, list[float]]:
    sleeps: list[float] = []
    monkeypatch.setattr(activity_dal.clients, "dynamodb_table", lambda name: FakeTable(client))
    return activity_dal.DynamoActivityStore(TABLE, sleep=sleeps.append), sleeps


def items(count: int) -> list[dict[str, Any]]:
    return [{"pk": "ANON#x", "sk": f"{i:03d}", "properties": {"v": 0.5}} for i in range(count)]


def test_sixty_items_go_in_three_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    client = ThrottlingClient(throttled_calls=0)
    store, sleeps = make_store(monkeypatch, client)

    store.put_many(items(60))

    assert [len(c) for c in client.calls] == [25, 25, 10]
    assert sorted(i["sk"] for i in client.written) == [f"{i:03d}" for i in range(60)]
    assert client.written[0]["properties"] == {"v": Decimal("0.5")}
    assert sleeps == []


def test_unprocessed_items_are_retried_after_a_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given DynamoDB leaves three items unprocessed once
    client = ThrottlingClient(throttled_calls=1)
    store, sleeps = make_store(monkeypatch, client)

    # When ten items are written
    store.put_many(items(10))

    # Then the three are sent again, alone, after one pause, and all ten are written
    assert [len(c) for c in client.calls] == [10, 3]
    assert len(client.written) == 10
    assert len(sleeps) == 1
    assert 0 < sleeps[0] <= activity_dal.MAX_BACKOFF_SECONDS


def test_backoff_grows_and_stays_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    client = ThrottlingClient(throttled_calls=activity_dal.MAX_WRITE_ATTEMPTS - 1)
    store, sleeps = make_store(monkeypatch, client)

    store.put_many(items(5))

    assert len(client.written) == 5
    assert len(sleeps) == activity_dal.MAX_WRITE_ATTEMPTS - 1
    assert all(s <= activity_dal.MAX_BACKOFF_SECONDS for s in sleeps)
    assert sleeps[-1] > sleeps[0]


def test_persistent_throttling_fails_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    client = ThrottlingClient(throttled_calls=100)
    store, _ = make_store(monkeypatch, client)

    with pytest.raises(StorageUnavailable) as failed:
        store.put_many(items(5))

    assert len(client.calls) == activity_dal.MAX_WRITE_ATTEMPTS
    assert storage_error(failed.value).status == 503
    assert failed.value.details == {"unprocessed": 3}
