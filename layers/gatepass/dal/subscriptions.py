"""The subscription item in the IdentityTable (``SUB#<email>`` / ``META``).

The API only ever claims an attempt and, if it could not start the workflow, gives the claim
back; every later state (pending, active, expired, failed) is written by the state machine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from botocore.exceptions import ClientError

from gatepass import clients
from gatepass.dal.layout import subscription_key
from gatepass.dal.storage import condition_failed, error_code, plain_item


@dataclass(frozen=True)
class Claim:
    """The outcome of trying to start an attempt: ``won`` tells whether this caller owns it."""

    won: bool
    status: str
    attempt: int


class SubscriptionStore(Protocol):
    def claim(self, email: str, *, now: str, stale_before: str) -> Claim:
        """Atomically mark a new attempt as ``starting`` unless one is already under way."""

    def release(self, email: str, *, attempt: int, now: str, error: str, cause: str) -> None:
        """Record that ``attempt`` could not start, so the next request may try again."""

    def delivery_removed(self, email: str) -> int | None:
        """The attempt of an ``active`` subscription whose mail subscription was deleted outside
        Gatepass (the unsubscribe link in any email), or None."""

    def mark_unsubscribed(self, email: str, *, attempt: int, now: str) -> None:
        """Record that ``attempt``'s mail subscription is gone, so the address may subscribe
        again (a new attempt)."""


# Asked about when an address has no subscription ARN, so every address costs one SNS call.
_NO_SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"


class DynamoSubscriptionStore:
    def __init__(self, table_name: str, topic_arn: str | None = None) -> None:
        self.table_name = table_name
        self.topic_arn = topic_arn

    def claim(self, email: str, *, now: str, stale_before: str) -> Claim:
        table = clients.dynamodb_table(self.table_name)
        try:
            updated = table.update_item(
                Key=subscription_key(email),
                UpdateExpression=(
                    "SET #status = :starting, email = :email, updated_at = :now,"
                    " created_at = if_not_exists(created_at, :now)"
                    " REMOVE execution_arn, subscription_arn, failure, confirmed_at"
                    " ADD attempt :one, version :one"
                ),
                ConditionExpression=(
                    "attribute_not_exists(pk) OR #status IN (:expired, :failed)"
                    " OR (#status = :starting AND updated_at < :stale_before)"
                ),
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":starting": "starting",
                    ":expired": "expired",
                    ":failed": "failed",
                    ":email": email,
                    ":now": now,
                    ":stale_before": stale_before,
                    ":one": 1,
                },
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if not condition_failed(exc):
                raise
            old: Any = exc.response.get("Item")
            current = plain_item(old) or self._read(email)
            return Claim(
                won=False,
                status=str(current.get("status", "starting")),
                attempt=int(current.get("attempt", 0)),
            )
        item = updated["Attributes"]
        return Claim(won=True, status=str(item["status"]), attempt=int(item["attempt"]))

    def release(self, email: str, *, attempt: int, now: str, error: str, cause: str) -> None:
        table = clients.dynamodb_table(self.table_name)
        try:
            table.update_item(
                Key=subscription_key(email),
                UpdateExpression=(
                    "SET #status = :failed, failure = :failure, updated_at = :now ADD version :one"
                ),
                ConditionExpression="attempt = :attempt AND #status = :starting",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":failed": "failed",
                    ":starting": "starting",
                    ":failure": {"error": error, "cause": cause},
                    ":now": now,
                    ":attempt": attempt,
                    ":one": 1,
                },
            )
        except ClientError as exc:
            # Someone else moved the attempt on (the workflow did start after all): keep theirs.
            if not condition_failed(exc):
                raise

    def delivery_removed(self, email: str) -> int | None:
        item = self._read(email)
        arn = str(item.get("subscription_arn", ""))
        watched = item.get("status") == "active" and arn.startswith("arn:")
        if not watched and self.topic_arn is None:
            return None
        try:
            clients.client("sns").get_subscription_attributes(
                SubscriptionArn=arn if watched else f"{self.topic_arn}:{_NO_SUBSCRIPTION}"
            )
        except ClientError as exc:
            if error_code(exc) not in ("NotFound", "InvalidParameter"):
                raise
            return int(item.get("attempt", 0)) if watched else None
        return None

    def mark_unsubscribed(self, email: str, *, attempt: int, now: str) -> None:
        table = clients.dynamodb_table(self.table_name)
        try:
            table.update_item(
                Key=subscription_key(email),
                UpdateExpression=(
                    "SET #status = :expired, failure = :failure, updated_at = :now"
                    " REMOVE subscription_arn ADD version :one"
                ),
                ConditionExpression="attempt = :attempt AND #status = :active",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":expired": "expired",
                    ":active": "active",
                    ":failure": {"error": "Unsubscribed", "cause": "unsubscribed outside Gatepass"},
                    ":now": now,
                    ":attempt": attempt,
                    ":one": 1,
                },
            )
        except ClientError as exc:
            # A concurrent request marked it first: the outcome is the same.
            if not condition_failed(exc):
                raise

    def _read(self, email: str) -> dict[str, Any]:
        table = clients.dynamodb_table(self.table_name)
        item: dict[str, Any] = table.get_item(Key=subscription_key(email), ConsistentRead=True).get(
            "Item", {}
        )
        return item
