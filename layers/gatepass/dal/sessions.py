"""The session store, in the IdentityTable (docs/decisions/0046).

Keys (``dal.layout``, docs/architecture.md): a person's sessions share the partition
``SESSIONS#<email>``; each session is ``SESSION#<sid>`` in it, and ``VALID_AFTER`` holds the
moment of the person's last "sign out everywhere" (sessions created at or before it are over).
Checking a session reads both items in one ``BatchGetItem``; ending one session is one
conditional update, ending all of them is one update of the mark, whatever their number.
``expires_at`` is the table's TTL attribute: a session's item expires with its idle deadline,
the mark with the longest session it can still concern.
"""

from __future__ import annotations

from typing import Any, Protocol

from botocore.exceptions import ClientError

from gatepass import clients
from gatepass.dal.layout import low_level, session_key, sessions_valid_after_key
from gatepass.dal.storage import StorageUnavailable, condition_failed, plain_item
from gatepass.models.sessions import SessionRecord, SessionState

_BATCH_TRIES = 3


class SessionStore(Protocol):
    def create(self, record: SessionRecord) -> None: ...

    def state(self, person: str, session_id: str) -> SessionState: ...

    def touch(
        self, person: str, session_id: str, *, now: int, stale_before: int, idle_expires_at: int
    ) -> bool: ...

    def end(self, person: str, session_id: str, *, now: int) -> bool: ...

    def end_all(self, person: str, *, now: int, keep_until: int) -> None: ...


def _record(item: dict[str, Any]) -> SessionRecord:
    ended = item.get("ended_at")
    return SessionRecord(
        person=str(item["person"]),
        session_id=str(item["session_id"]),
        created_at=int(item["created_at"]),
        last_seen_at=int(item["last_seen_at"]),
        expires_at=int(item["session_expires_at"]),
        idle_expires_at=int(item["idle_expires_at"]),
        idle_seconds=int(item["idle_seconds"]),
        methods=tuple(str(m) for m in item.get("methods", [])),
        ended_at=int(ended) if ended is not None else None,
    )


class DynamoSessionStore:
    def __init__(self, table_name: str) -> None:
        self.table_name = table_name

    def _table(self) -> Any:
        return clients.dynamodb_table(self.table_name)

    def create(self, record: SessionRecord) -> None:
        self._table().put_item(
            Item={
                **session_key(record.person, record.session_id),
                "entity": "session",
                "person": record.person,
                "session_id": record.session_id,
                "created_at": record.created_at,
                "last_seen_at": record.last_seen_at,
                "session_expires_at": record.expires_at,
                "idle_expires_at": record.idle_expires_at,
                "idle_seconds": record.idle_seconds,
                "methods": list(record.methods),
                "expires_at": record.idle_expires_at,
            },
            ConditionExpression="attribute_not_exists(pk)",
        )

    def state(self, person: str, session_id: str) -> SessionState:
        """The session and the person's mark, read consistently (a sign-out just written counts)."""
        wanted = [session_key(person, session_id), sessions_valid_after_key(person)]
        found: dict[str, dict[str, Any]] = {}
        keys = [low_level(k) for k in wanted]
        dynamodb = clients.client("dynamodb")
        for _ in range(_BATCH_TRIES):
            answer = dynamodb.batch_get_item(
                RequestItems={self.table_name: {"Keys": keys, "ConsistentRead": True}}
            )
            for raw in answer.get("Responses", {}).get(self.table_name, []):
                item = plain_item(raw)
                found[str(item["sk"])] = item
            keys = answer.get("UnprocessedKeys", {}).get(self.table_name, {}).get("Keys", [])
            if not keys:
                break
        else:
            raise StorageUnavailable("The session store is busy; try again.")
        session = found.get(wanted[0]["sk"])
        mark = found.get(wanted[1]["sk"])
        return SessionState(
            session=_record(session) if session else None,
            valid_after=int(mark["valid_after"]) if mark and "valid_after" in mark else None,
        )

    def touch(
        self, person: str, session_id: str, *, now: int, stale_before: int, idle_expires_at: int
    ) -> bool:
        """Record activity now, if the last record is older than ``stale_before`` and the session
        is neither ended nor idle: at most one write per interval, however many requests."""
        try:
            self._table().update_item(
                Key=session_key(person, session_id),
                UpdateExpression=(
                    "SET last_seen_at = :now, idle_expires_at = :idle, expires_at = :idle"
                ),
                ConditionExpression=(
                    "attribute_exists(pk) AND attribute_not_exists(ended_at) "
                    "AND last_seen_at < :stale AND idle_expires_at > :now"
                ),
                ExpressionAttributeValues={
                    ":now": now,
                    ":stale": stale_before,
                    ":idle": idle_expires_at,
                },
            )
        except ClientError as exc:
            if condition_failed(exc):
                return False
            raise
        return True

    def end(self, person: str, session_id: str, *, now: int) -> bool:
        """Mark the session ended (its item then expires soon); False if there is none or it
        had already ended. Either way it is over."""
        try:
            self._table().update_item(
                Key=session_key(person, session_id),
                UpdateExpression="SET ended_at = :now, expires_at = :now",
                ConditionExpression="attribute_exists(pk) AND attribute_not_exists(ended_at)",
                ExpressionAttributeValues={":now": now},
            )
        except ClientError as exc:
            if condition_failed(exc):
                return False
            raise
        return True

    def end_all(self, person: str, *, now: int, keep_until: int) -> None:
        """Move the person's mark to ``now`` (never back): every session created until now is
        over, one write whatever their number."""
        try:
            self._table().update_item(
                Key=sessions_valid_after_key(person),
                UpdateExpression="SET valid_after = :now, expires_at = :keep",
                ConditionExpression="attribute_not_exists(valid_after) OR valid_after < :now",
                ExpressionAttributeValues={":now": now, ":keep": keep_until},
            )
        except ClientError as exc:
            if not condition_failed(exc):
                raise
