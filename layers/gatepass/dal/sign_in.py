"""Sign-in mail, codes, links, browser bindings and their limits in the IdentityTable.

Keys (docs/architecture.md): ``OTP#<email>``/``CODE`` holds the live code's keyed hash,
``OTP#<email>``/``SENDS`` when mail was last sent, ``OTP#<email>``/``TRIES`` the times of the
code tries of the last 30 days, ``OTP#<email>``/``BROWSER#<sha256>`` a browser that asked for
sign-in mail, ``LINK#<sha256>``/``META`` a sign-in link, ``SUB#<email>``/``META`` the
subscription.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from botocore.exceptions import ClientError

from gatepass import clients
from gatepass.dal.layout import (
    code_key,
    code_tries_key,
    sends_key,
    sign_in_browser_key,
    sign_in_link_key,
    subscription_key,
)
from gatepass.dal.storage import condition_failed, error_code

# Optimistic writes of the tries item; losing this many races in a row means a flood.
_COUNTER_RACES = 3
# Links and bindings stay readable a day after they stop working, so a late click is told
# "expired" rather than "unknown" (TTL then deletes them).
_KEEP_AFTER_EXPIRY = 86_400
# Asked about when an address has no subscription of its own, so every address costs the same
# SNS call (docs/security.md, "No enumeration").
_NO_SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"


@dataclass(frozen=True)
class StoredCode:
    code_hash: str
    attempts: int
    expires_at: int
    # The link of the same mail: signing in with either ends both.
    link_hash: str = ""


@dataclass(frozen=True)
class TryDecision:
    allowed: bool
    retry_after_seconds: int = 0


@dataclass(frozen=True)
class StoredLink:
    email: str
    expires_at: int
    used: bool


class SignInStore(Protocol):
    def bind_browser(self, email: str, *, browser_hash: str, until: int) -> None: ...

    def claim_mail_slot(self, email: str, *, now: int, interval: int) -> bool: ...

    def deliverable(self, email: str) -> bool: ...

    def put_mail(
        self, email: str, *, code_hash: str, link_hash: str, created_at: str, expires_at: int
    ) -> None: ...

    def count_code_try(self, email: str, *, now: int, window: int, limit: int) -> TryDecision: ...

    def reserve_attempt(self, email: str, *, now: int, max_attempts: int) -> StoredCode | None: ...

    def consume_code(self, email: str, *, code_hash: str) -> bool: ...

    def find_link(self, link_hash: str) -> StoredLink | None: ...

    def browser_bound(self, email: str, *, browser_hash: str, now: int) -> bool: ...

    def consume_link(self, link_hash: str, *, now: int, used_at: str) -> bool: ...

    def drop_code(self, email: str) -> None: ...


class DynamoSignInStore:
    def __init__(self, table_name: str, topic_arn: str | None = None) -> None:
        self.table_name = table_name
        self.topic_arn = topic_arn

    def _table(self) -> Any:
        return clients.dynamodb_table(self.table_name)

    def bind_browser(self, email: str, *, browser_hash: str, until: int) -> None:
        self._table().put_item(
            Item={
                **sign_in_browser_key(email, browser_hash),
                "bound_until": until,
                "expires_at": until + _KEEP_AFTER_EXPIRY,
            }
        )

    def claim_mail_slot(self, email: str, *, now: int, interval: int) -> bool:
        """Take the address's mail slot: one mail per ``interval`` seconds, whoever asks."""
        try:
            self._table().update_item(
                Key=sends_key(email),
                UpdateExpression="SET last_sent = :now, expires_at = :expires ADD mails :one",
                ConditionExpression="attribute_not_exists(last_sent) OR last_sent <= :floor",
                ExpressionAttributeValues={
                    ":now": now,
                    ":floor": now - interval,
                    ":expires": now + interval,
                    ":one": 1,
                },
            )
        except ClientError as exc:
            if condition_failed(exc):
                return False
            raise
        return True

    def deliverable(self, email: str) -> bool:
        """Whether mail to the address reaches it: an active subscription whose SNS subscription
        still exists (an unsubscribe link in any mail deletes it outside Gatepass).

        Every address costs one read and one SNS call, known or not."""
        item = (
            self._table()
            .get_item(
                Key=subscription_key(email),
                ProjectionExpression="#s, subscription_arn",
                ExpressionAttributeNames={"#s": "status"},
                ConsistentRead=True,
            )
            .get("Item")
            or {}
        )
        active = item.get("status") == "active"
        arn = str(item.get("subscription_arn", ""))
        recorded = arn if active and arn.startswith("arn:") else ""
        if self.topic_arn is None:
            return active
        attributes: dict[str, Any] = {}
        try:
            attributes = (
                clients.client("sns")
                .get_subscription_attributes(
                    SubscriptionArn=recorded or f"{self.topic_arn}:{_NO_SUBSCRIPTION}"
                )
                .get("Attributes", {})
            )
            found = True
        except ClientError as exc:
            if error_code(exc) not in ("NotFound", "InvalidParameter"):
                raise
            found = False
        if not active:
            return False
        if not recorded:
            # An active subscription recorded without its ARN: trust the record.
            return True
        return found and str(attributes.get("PendingConfirmation", "false")).lower() != "true"

    def put_mail(
        self, email: str, *, code_hash: str, link_hash: str, created_at: str, expires_at: int
    ) -> None:
        table = self._table()
        # A plain put: a new code replaces the previous one and its wrong-try count.
        table.put_item(
            Item={
                **code_key(email),
                "code_hash": code_hash,
                "link_hash": link_hash,
                "attempts": 0,
                "created_at": created_at,
                "expires_at": expires_at,
            }
        )
        # Links are separate items: an earlier mail's link keeps working for its own lifetime.
        table.put_item(
            Item={
                **sign_in_link_key(link_hash),
                "email": email,
                "created_at": created_at,
                "link_expires_at": expires_at,
                "expires_at": expires_at + _KEEP_AFTER_EXPIRY,
            },
            ConditionExpression="attribute_not_exists(pk)",
        )

    def count_code_try(self, email: str, *, now: int, window: int, limit: int) -> TryDecision:
        """Count one code try in a rolling ``window``, unless ``limit`` already happened in it.

        The item keeps the times of the tries still inside the window; a conditional write on
        its ``version`` makes concurrent tries for one address serialise instead of overcount.
        """
        table = self._table()
        for _ in range(_COUNTER_RACES):
            item = table.get_item(Key=code_tries_key(email), ConsistentRead=True).get("Item") or {}
            floor = now - window
            recent = sorted(int(t) for t in item.get("tries", []) if int(t) > floor)
            if len(recent) >= limit:
                return TryDecision(False, recent[-limit] + window - now)
            version = int(item.get("version", 0))
            tries = [*recent, now]
            condition = "attribute_not_exists(pk)" if not item else "version = :v"
            values: dict[str, Any] = {":v": version} if item else {}
            try:
                table.put_item(
                    Item={
                        **code_tries_key(email),
                        "tries": tries,
                        "count": len(tries),
                        "version": version + 1,
                        "expires_at": now + window,
                    },
                    ConditionExpression=condition,
                    **({"ExpressionAttributeValues": values} if values else {}),
                )
            except ClientError as exc:
                if condition_failed(exc):
                    continue
                raise
            return TryDecision(True)
        return TryDecision(False, 1)

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
        return StoredCode(
            str(item["code_hash"]),
            int(item["attempts"]),
            int(item["expires_at"]),
            str(item.get("link_hash", "")),
        )

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

    def find_link(self, link_hash: str) -> StoredLink | None:
        item = (
            self._table().get_item(Key=sign_in_link_key(link_hash), ConsistentRead=True).get("Item")
        )
        if not item or "email" not in item:
            return None
        return StoredLink(
            email=str(item["email"]),
            expires_at=int(item["link_expires_at"]),
            used="used_at" in item,
        )

    def browser_bound(self, email: str, *, browser_hash: str, now: int) -> bool:
        item = (
            self._table()
            .get_item(Key=sign_in_browser_key(email, browser_hash), ConsistentRead=True)
            .get("Item")
        )
        return bool(item) and int(item.get("bound_until", 0)) > now

    def consume_link(self, link_hash: str, *, now: int, used_at: str) -> bool:
        """Mark the link used if it is still live and unused; only one caller wins."""
        try:
            self._table().update_item(
                Key=sign_in_link_key(link_hash),
                UpdateExpression="SET used_at = :used",
                ConditionExpression=(
                    "attribute_exists(email) AND attribute_not_exists(used_at)"
                    " AND link_expires_at > :now"
                ),
                ExpressionAttributeValues={":used": used_at, ":now": now},
            )
        except ClientError as exc:
            if condition_failed(exc):
                return False
            raise
        return True

    def drop_code(self, email: str) -> None:
        """The mail's code ends with its link: signing in one way ends the other."""
        self._table().delete_item(Key=code_key(email))
