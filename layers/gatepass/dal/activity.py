"""Activity records in the ActivityTable: batched writes and per-user / per-event queries.

Keys (docs/architecture.md): ``pk`` is ``USER#<email>`` or ``ANON#<client id>``, ``sk`` and
``gsi1sk`` are ``<at>#<activity_id>``, ``gsi1pk`` is ``EVENT#<event_id>`` or ``TYPE#<type>``.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Protocol

from boto3.dynamodb.conditions import Key

from gatepass import clients
from gatepass.dal.layout import (
    ACTIVITY_INDEX,
    client_activity_partition,
    event_activity_partition,
    type_activity_partition,
    user_activity_partition,
)
from gatepass.dal.storage import StorageUnavailable
from gatepass.models.activity import ActivityPage, ActivityRecord

BATCH_SIZE = 25
MAX_WRITE_ATTEMPTS = 6
BASE_BACKOFF_SECONDS = 0.05
MAX_BACKOFF_SECONDS = 1.0


class ActivityStore(Protocol):
    def add(self, records: Sequence[ActivityRecord]) -> None: ...


def activity_item(record: ActivityRecord) -> dict[str, Any]:
    """An activity as the ActivityTable stores it, under its user or its anonymous client."""
    owner = (
        user_activity_partition(record.user)
        if record.user
        else client_activity_partition(str(record.client_id))
    )
    sort_key = f"{record.at}#{record.activity_id}"
    return {
        "pk": owner,
        "sk": sort_key,
        "gsi1pk": event_activity_partition(record.event_id)
        if record.event_id
        else type_activity_partition(record.type),
        "gsi1sk": sort_key,
        "entity": "activity",
        **record.model_dump(exclude_none=True),
    }


def _to_dynamo(value: Any) -> Any:
    # The resource layer refuses floats; Decimal(str()) keeps the value as written.
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {k: _to_dynamo(v) for k, v in value.items() if v is not None}
    return value


def _from_dynamo(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _from_dynamo(v) for k, v in value.items()}
    return value


def _record(item: Mapping[str, Any]) -> ActivityRecord:
    return ActivityRecord.model_validate(_from_dynamo(dict(item)))


class DynamoActivityStore:
    def __init__(
        self,
        table_name: str,
        *,
        sleep: Callable[[float], None] = time.sleep,
        max_attempts: int = MAX_WRITE_ATTEMPTS,
    ) -> None:
        self.table_name = table_name
        self.sleep = sleep
        self.max_attempts = max_attempts

    def _table(self) -> Any:
        return clients.dynamodb_table(self.table_name)

    def add(self, records: Sequence[ActivityRecord]) -> None:
        self.put_many([activity_item(record) for record in records])

    def put_many(self, items: Sequence[Mapping[str, Any]]) -> None:
        """BatchWriteItem in batches of 25, retrying unprocessed items with capped, jittered
        exponential backoff; raises ``StorageUnavailable`` if some are still unprocessed."""
        client = self._table().meta.client
        for start in range(0, len(items), BATCH_SIZE):
            pending: list[dict[str, Any]] = [
                {"PutRequest": {"Item": _to_dynamo(dict(item))}}
                for item in items[start : start + BATCH_SIZE]
            ]
            for attempt in range(self.max_attempts):
                if attempt:
                    ceiling = min(MAX_BACKOFF_SECONDS, BASE_BACKOFF_SECONDS * 2**attempt)
                    self.sleep(random.uniform(ceiling / 2, ceiling))  # noqa: S311 (jitter)
                answer = client.batch_write_item(RequestItems={self.table_name: pending})
                pending = answer.get("UnprocessedItems", {}).get(self.table_name, [])
                if not pending:
                    break
            else:
                raise StorageUnavailable(
                    "Activity could not be stored right now; try again shortly.",
                    details={"unprocessed": len(pending)},
                )

    def for_user(
        self, email: str, *, limit: int = 100, cursor: dict[str, str] | None = None
    ) -> ActivityPage:
        return self._query(Key("pk").eq(user_activity_partition(email)), None, limit, cursor)

    def for_client(
        self, client_id: str, *, limit: int = 100, cursor: dict[str, str] | None = None
    ) -> ActivityPage:
        return self._query(Key("pk").eq(client_activity_partition(client_id)), None, limit, cursor)

    def for_event(
        self, event_id: str, *, limit: int = 100, cursor: dict[str, str] | None = None
    ) -> ActivityPage:
        return self._query(
            Key("gsi1pk").eq(event_activity_partition(event_id)), ACTIVITY_INDEX, limit, cursor
        )

    def _query(
        self, condition: Any, index: str | None, limit: int, cursor: dict[str, str] | None
    ) -> ActivityPage:
        """Newest first."""
        args: dict[str, Any] = {
            "KeyConditionExpression": condition,
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if index:
            args["IndexName"] = index
        if cursor:
            args["ExclusiveStartKey"] = cursor
        answer = self._table().query(**args)
        return ActivityPage(
            items=[_record(item) for item in answer.get("Items", [])],
            next_cursor=answer.get("LastEvaluatedKey"),
        )
