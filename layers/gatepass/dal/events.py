"""Event items in the TicketingTable: the only code that reads or writes them for this domain."""

from __future__ import annotations

from typing import Any, Protocol

from boto3.dynamodb.conditions import Key
from botocore.exceptions import BotoCoreError, ClientError

from gatepass import clients
from gatepass.errors import ServiceUnavailable

EVENTS_INDEX = "gsi1"
EVENTS_PARTITION = "EVENTS"
KEY_ATTRIBUTES = ("pk", "sk", "gsi1pk", "gsi1sk")
# An upload may only settle an event that is still waiting for that very upload.
_WAITING = (
    "attribute_exists(pk) AND image_upload_key = :key AND image_status IN (:awaiting, :processing)"
)


def event_key(event_id: str) -> dict[str, str]:
    return {"pk": f"EVENT#{event_id}", "sk": "META"}


class EventStore(Protocol):
    def put_new(self, item: dict[str, Any]) -> None: ...

    def get(self, event_id: str) -> dict[str, Any] | None: ...

    def upcoming(
        self, since: str, limit: int, start_after: dict[str, str] | None
    ) -> list[dict[str, Any]]: ...

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


def _is_condition_failure(exc: ClientError) -> bool:
    return bool(exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException")


class DynamoEventStore:
    def __init__(self, table_name: str) -> None:
        self._table_name = table_name

    @property
    def _table(self) -> Any:
        return clients.dynamodb_table(self._table_name)

    def put_new(self, item: dict[str, Any]) -> None:
        try:
            self._table.put_item(Item=item, ConditionExpression="attribute_not_exists(pk)")
        except (ClientError, BotoCoreError) as exc:
            raise ServiceUnavailable("The event could not be saved; please try again.") from exc

    def get(self, event_id: str) -> dict[str, Any] | None:
        item: dict[str, Any] | None = self._table.get_item(
            Key=event_key(event_id), ConsistentRead=True
        ).get("Item")
        return item

    def upcoming(
        self, since: str, limit: int, start_after: dict[str, str] | None
    ) -> list[dict[str, Any]]:
        args: dict[str, Any] = {
            "IndexName": EVENTS_INDEX,
            "KeyConditionExpression": Key("gsi1pk").eq(EVENTS_PARTITION) & Key("gsi1sk").gte(since),
            "Limit": limit,
        }
        if start_after is not None:
            args["ExclusiveStartKey"] = start_after
        items: list[dict[str, Any]] = self._table.query(**args).get("Items", [])
        return items

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
            if _is_condition_failure(exc):
                return False
            raise
        return True
