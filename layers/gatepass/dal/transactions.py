"""One ``TransactWriteItems`` with the retries every transaction of the data layer shares."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from gatepass.dal.storage import StorageUnavailable, condition_failed, error_code

TRANSACTION_ATTEMPTS = 4
TRANSACTION_ITEMS = 100
"""The most items one ``TransactWriteItems`` takes (DynamoDB's limit)."""
_CONFLICT_BACKOFF_SECONDS = 0.025
# A sale from stock shards retries conflicts until it has waited this long in all (well under
# the function's 10 s timeout and API Gateway's 29 s), each pause at most the cap below, and at
# most this many tries (docs/decisions/0070, "As built"). 5 s, not 3: in the rush model's
# 60,000-person sale one buyer in 41,726 orders met 12 conflicts over 3.1 s on the last shards
# with stock, near sell-out, and was answered 503 where waiting on would have sold or said
# "sold out"; a 503 sends a person back to try again a few seconds later anyway.
SALE_CONFLICT_WAIT_SECONDS = 5.0
SALE_CONFLICT_ATTEMPTS = 60
_SALE_BACKOFF_CAP_SECONDS = 0.4


def transact(
    client: Any,
    items: list[dict[str, Any]],
    refused: Callable[[list[dict[str, Any]]], Exception],
) -> None:
    """Run one ``TransactWriteItems``; a cancellation with a failed condition raises what
    ``refused`` makes of the reasons, one made only of conflicts is retried with backoff."""
    for attempt in range(TRANSACTION_ATTEMPTS):
        try:
            client.transact_write_items(TransactItems=items)
            return
        except ClientError as exc:
            if error_code(exc) != "TransactionCanceledException":
                raise
            response: dict[str, Any] = dict(exc.response)
            reasons: list[dict[str, Any]] = list(response.get("CancellationReasons", []))
            if any(condition_failed(reason) for reason in reasons):
                raise refused(reasons) from exc
            # Only conflicts with concurrent transactions on the same items: try again.
            back_off(attempt)
    raise StorageUnavailable("Too many people are doing this at once; try again.")


def back_off(attempt: int) -> None:
    """The jittered, doubling pause before another try after a conflict."""
    time.sleep(_CONFLICT_BACKOFF_SECONDS * (2**attempt) * random.random())  # noqa: S311


def decorrelated_back_off(previous: float) -> float:
    """Pause after a sale's conflict with decorrelated jitter: a random time between the base
    and three times the previous pause (the first: up to three bases), never above the cap.
    Answers the pause, which the caller adds to what it has waited."""
    low = _CONFLICT_BACKOFF_SECONDS
    pause = min(_SALE_BACKOFF_CAP_SECONDS, random.uniform(low, 3 * max(previous, low)))  # noqa: S311
    time.sleep(pause)
    return pause


def shuffled(values: list[Any]) -> list[Any]:
    """``values`` in a random order (the same source of randomness as the back-off)."""
    copy = list(values)
    random.shuffle(copy)
    return copy


def transact_once(client: Any, items: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
    """One ``TransactWriteItems``: None when it committed, else the cancellation's reasons."""
    try:
        client.transact_write_items(TransactItems=items)
    except ClientError as exc:
        if error_code(exc) != "TransactionCanceledException":
            raise
        response: dict[str, Any] = dict(exc.response)
        return list(response.get("CancellationReasons", []))
    return None
