"""Sign-in codes, send counters and subscription lookups in the IdentityTable.

Keys (docs/architecture.md): ``OTP#<email>``/``CODE`` holds the code's keyed hash,
``OTP#<email>``/``SENDS`` the recent send times, ``SUB#<email>``/``META`` the subscription.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from botocore.exceptions import ClientError

from gatepass import clients
from gatepass.dal.layout import code_key, sends_key, subscription_key
from gatepass.dal.storage import condition_failed

SEND_WINDOW_SECONDS = 3600
# Optimistic writes of the send counter; losing this many races in a row means a flood.
_COUNTER_RACES = 3


@dataclass(frozen=True)
class StoredCode:
    code_hash: str
    attempts: int
    expires_at: int


@dataclass(frozen=True)
class SendDecision:
    allowed: bool
    retry_after_seconds: int = 0


class SignInStore(Protocol):
    def subscription_status(self, email: str) -> str | None: ...

    def register_send(self, email: str, *, now: int, limit: int) -> SendDecision: ...

    def put_code(self, email: str, *, code_hash: str, created_at: str, expires_at: int) -> None: ...

    def reserve_attempt(self, email: str, *, now: int, max_attempts: int) -> StoredCode | None: ...

    def consume_code(self, email: str, *, code_hash: str) -> bool: ...


class DynamoSignInStore:
    def __init__(self, table_name: str) -> None:
        self.table_name = table_name

    def _table(self) -> Any:
        return clients.dynamodb_table(self.table_name)

    def subscription_status(self, email: str) -> str | None:
        item = (
            self._table()
            .get_item(
                Key=subscription_key(email),
                ProjectionExpression="#s",
                ExpressionAttributeNames={"#s": "status"},
                ConsistentRead=True,
            )
            .get("Item")
        )
        return str(item["status"]) if item and "status" in item else None

    def register_send(self, email: str, *, now: int, limit: int) -> SendDecision:
        """Count one send in a rolling hour, unless ``limit`` sends already happened in it.

        The item keeps the times of the sends still inside the window; a conditional write on
        its ``version`` makes concurrent sends for one address serialise instead of overcount.
        """
        table = self._table()
        for _ in range(_COUNTER_RACES):
            item = table.get_item(Key=sends_key(email), ConsistentRead=True).get("Item") or {}
            floor = now - SEND_WINDOW_SECONDS
            recent = sorted(int(t) for t in item.get("sends", []) if int(t) > floor)
            if len(recent) >= limit:
                return SendDecision(False, recent[-limit] + SEND_WINDOW_SECONDS - now)
            version = int(item.get("version", 0))
            sends = [*recent, now]
            condition = "attribute_not_exists(pk)" if not item else "version = :v"
            values: dict[str, Any] = {":v": version} if item else {}
            try:
                table.put_item(
                    Item={
                        **sends_key(email),
                        "sends": sends,
                        "count": len(sends),
                        "window_started": sends[0],
                        "version": version + 1,
                        "expires_at": now + SEND_WINDOW_SECONDS,
                    },
                    ConditionExpression=condition,
                    **({"ExpressionAttributeValues": values} if values else {}),
                )
            except ClientError as exc:
                if condition_failed(exc):
                    continue
                raise
            return SendDecision(True)
        return SendDecision(False, 1)

    def put_code(self, email: str, *, code_hash: str, created_at: str, expires_at: int) -> None:
        # A plain put: a new code replaces the previous one and its wrong-try count.
        self._table().put_item(
            Item={
                **code_key(email),
                "code_hash": code_hash,
                "attempts": 0,
                "created_at": created_at,
                "expires_at": expires_at,
            }
        )

    def reserve_attempt(self, email: str, *, now: int, max_attempts: int) -> StoredCode | None:
        """Count one try before comparing, so parallel guesses cannot exceed ``max_attempts``.

        None when there is no live code: unknown, expired, or out of tries.
        """
        try:
            item = self._table().update_item(
                Key=code_key(email),
                UpdateExpression="ADD attempts :one",
                ConditionExpression=(
                    "attribute_exists(code_hash) AND attempts < :max AND expires_at > :now"
                ),
                ExpressionAttributeValues={":one": 1, ":max": max_attempts, ":now": now},
                ReturnValues="ALL_NEW",
            )["Attributes"]
        except ClientError as exc:
            if condition_failed(exc):
                return None
            raise
        return StoredCode(str(item["code_hash"]), int(item["attempts"]), int(item["expires_at"]))

    def consume_code(self, email: str, *, code_hash: str) -> bool:
        """Delete the code if it is still the one that was checked; only one caller wins."""
        try:
            self._table().delete_item(
                Key=code_key(email),
                ConditionExpression="code_hash = :h",
                ExpressionAttributeValues={":h": code_hash},
            )
        except ClientError as exc:
            if condition_failed(exc):
                return False
            raise
        return True
