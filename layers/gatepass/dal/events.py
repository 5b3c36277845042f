"""Event items in the TicketingTable: the only code that reads or writes them for this domain.

Logic hands in and gets back ``EventRecord``s; the keys, the upcoming-events index and the page
cursors (opaque base64url of the index position) stay here.
"""

from __future__ import annotations

import binascii
import json
from dataclasses import dataclass
from typing import Any, Protocol

from boto3.dynamodb.conditions import Key as KeyCondition
from botocore.exceptions import BotoCoreError, ClientError

from gatepass import b64url, clients, ids
from gatepass.dal.layout import (
    EVENTS_INDEX,
    EVENTS_PARTITION,
    KEY_ATTRIBUTES,
    META,
    Key,
    event_id_of,
    event_index_keys,
    event_key,
)
from gatepass.dal.storage import StorageUnavailable, condition_failed
from gatepass.models.events import EventRecord

# An upload may only settle an event that is still waiting for that very upload.
_WAITING = (
    "attribute_exists(pk) AND image_upload_key = :key AND image_status IN (:awaiting, :processing)"
)


class InvalidCursor(ValueError):
    """The page cursor was not made by ``encode_cursor``."""


@dataclass(frozen=True)
class EventPage:
    events: list[EventRecord]
    next_cursor: str | None


class EventStore(Protocol):
    def put_new(self, event: EventRecord) -> None: ...

    def get(self, event_id: str) -> EventRecord | None: ...

    def upcoming(self, *, since: str, limit: int, cursor: str | None) -> EventPage:
        """Events starting at ``since`` or later, soonest first, ``limit`` at a time; raises
        ``InvalidCursor`` for a cursor this store did not make."""

    def mark_image_ready(
        self,
        event_id: str,
        upload_key: str,
        *,
        display_key: str,
        thumbnail_key: str,
        width: int,
        height: int,
        at: str,
    ) -> bool: ...

    def mark_image_rejected(
        self, event_id: str, upload_key: str, *, reason: str, at: str
    ) -> bool: ...


def event_item(event: EventRecord) -> dict[str, Any]:
    """A new event as the TicketingTable stores it (docs/architecture.md)."""
    return {
        **event_key(event.event_id),
        **event_index_keys(
            event.event_id,
            starts_at=event.starts_at,
            organizer=event.organizer,
            created_at=event.created_at,
        ),
        "entity": "event",
        **event.model_dump(exclude_none=True),
        "updated_at": event.created_at,
        "version": 1,
    }


def encode_cursor(item: dict[str, Any]) -> str:
    """The position after ``item`` in the upcoming-events index, opaque to callers."""
    key = {name: str(item[name]) for name in KEY_ATTRIBUTES}
    raw = json.dumps(key, separators=(",", ":"), sort_keys=True).encode("utf-8")
    return b64url.encode(raw)


def decode_cursor(cursor: str) -> Key:
    try:
        key = json.loads(b64url.decode(cursor))
    except (binascii.Error, ValueError) as exc:
        raise InvalidCursor(cursor) from exc
    if not isinstance(key, dict) or set(key) != set(KEY_ATTRIBUTES):
        raise InvalidCursor(cursor)
    if not all(isinstance(value, str) for value in key.values()):
        raise InvalidCursor(cursor)
    event_id = event_id_of(key["pk"]) or ""
    if (
        not ids.is_id(event_id)
        or key["sk"] != META
        or key["gsi1pk"] != EVENTS_PARTITION
        or not key["gsi1sk"].endswith(f"#{event_id}")
    ):
        raise InvalidCursor(cursor)
    return key


class DynamoEventStore:
    def __init__(self, table_name: str) -> None:
        self._table_name = table_name

    @property
    def _table(self) -> Any:
        return clients.dynamodb_table(self._table_name)

    def put_new(self, event: EventRecord) -> None:
        try:
            self._table.put_item(
                Item=event_item(event), ConditionExpression="attribute_not_exists(pk)"
            )
        except (ClientError, BotoCoreError) as exc:
            raise StorageUnavailable("The event could not be saved; please try again.") from exc

    def get(self, event_id: str) -> EventRecord | None:
        item = self._table.get_item(Key=event_key(event_id), ConsistentRead=True).get("Item")
        return EventRecord.of(item) if item else None

    def upcoming(self, *, since: str, limit: int, cursor: str | None) -> EventPage:
        start_after = decode_cursor(cursor) if cursor else None
        if start_after is not None and start_after["gsi1sk"] < since:
            # Everything up to the cursor has started since; the page begins at now.
            start_after = None
        # One item more than asked tells whether another page exists without an empty last page.
        args: dict[str, Any] = {
            "IndexName": EVENTS_INDEX,
            "KeyConditionExpression": KeyCondition("gsi1pk").eq(EVENTS_PARTITION)
            & KeyCondition("gsi1sk").gte(since),
            "Limit": limit + 1,
        }
        if start_after is not None:
            args["ExclusiveStartKey"] = start_after
        items: list[dict[str, Any]] = self._table.query(**args).get("Items", [])
        page, more = items[:limit], len(items) > limit
        return EventPage(
            events=[EventRecord.of(item) for item in page],
            next_cursor=encode_cursor(page[-1]) if more and page else None,
        )

    def mark_image_ready(
        self,
        event_id: str,
        upload_key: str,
        *,
        display_key: str,
        thumbnail_key: str,
        width: int,
        height: int,
        at: str,
    ) -> bool:
        return self._settle(
            event_id,
            upload_key,
            "SET image_status = :ready, image_display_key = :display, "
            "image_thumbnail_key = :thumbnail, image_width = :width, image_height = :height, "
            "updated_at = :at REMOVE image_reason ADD version :one",
            {
                ":ready": "ready",
                ":display": display_key,
                ":thumbnail": thumbnail_key,
                ":width": width,
                ":height": height,
            },
            at,
        )

    def mark_image_rejected(self, event_id: str, upload_key: str, *, reason: str, at: str) -> bool:
        return self._settle(
            event_id,
            upload_key,
            "SET image_status = :rejected, image_reason = :reason, updated_at = :at "
            "REMOVE image_display_key, image_thumbnail_key, image_width, image_height "
            "ADD version :one",
            {":rejected": "rejected", ":reason": reason},
            at,
        )

    def _settle(
        self, event_id: str, upload_key: str, update: str, values: dict[str, Any], at: str
    ) -> bool:
        try:
            self._table.update_item(
                Key=event_key(event_id),
                UpdateExpression=update,
                ConditionExpression=_WAITING,
                ExpressionAttributeValues={
                    **values,
                    ":key": upload_key,
                    ":awaiting": "awaiting_upload",
                    ":processing": "processing",
                    ":at": at,
                    ":one": 1,
                },
            )
        except ClientError as exc:
            if condition_failed(exc):
                return False
            raise
        return True
