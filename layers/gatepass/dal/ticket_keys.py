"""Events' ticket-signing keys in the TicketingTable (docs/decisions/0064).

Two places hold them:

- the event's descriptive item (``META``) holds what is public: ``signing_key_id`` (the key new
  tickets are signed with), ``verifying_key`` (its public half) and ``verifying_keys`` (every
  valid public key by key id), so reading an event reads its published keys;
- one item per key, ``SIGNINGKEY#<event_id>`` / ``KEY#<key_id>``, holds the private half sealed
  by envelope encryption (``gatepass.ticket_keys``): the KMS-encrypted data key, the AES-GCM
  nonce and ciphertext. Nothing in the table is a private key in clear.

Events created before per-event keys have no ``signing_key_id`` and one ``verifying_key``: the
data layer reads them as key ``v1`` (``EventRecord``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from boto3.dynamodb.types import Binary
from botocore.exceptions import BotoCoreError, ClientError

from gatepass import clients
from gatepass.dal.layout import event_key, signing_key_key
from gatepass.dal.storage import StorageUnavailable, condition_failed, plain_item
from gatepass.dal.transactions import transact
from gatepass.models.records import LEGACY_TICKET_KEY_ID, EventRecord, SealedKey

__all__ = ["DynamoTicketKeyStore", "KeyRing", "KeyRingChanged", "SealedKey", "TicketKeyStore"]


@dataclass(frozen=True)
class KeyRing:
    """An event's public key state, as its descriptive item holds it."""

    event_id: str
    organizer: str
    signing_key_id: str
    verifying_keys: dict[str, str]
    title: str = ""


class KeyRingChanged(Exception):
    """The event's keys changed (or the event vanished) between the read and the write."""

    def __init__(self, ring: KeyRing | None) -> None:
        super().__init__("key ring changed")
        self.ring = ring


class TicketKeyStore(Protocol):
    def key_ring(self, event_id: str) -> KeyRing | None: ...

    def sealed_key(self, event_id: str, key_id: str) -> SealedKey | None: ...

    def add_key(self, current: KeyRing, sealed: SealedKey, *, at: str) -> KeyRing:
        """Make ``sealed`` the event's signing key, keeping every key it had valid; raises
        ``KeyRingChanged`` when ``current`` is no longer what is stored."""


def sealed_key_item(sealed: SealedKey) -> dict[str, Any]:
    return {
        **signing_key_key(sealed.event_id, sealed.key_id),
        "entity": "ticket_signing_key",
        "event_id": sealed.event_id,
        "key_id": sealed.key_id,
        "public_key": sealed.public,
        "algorithm": "Ed25519",
        "encrypted_data_key": Binary(sealed.encrypted_data_key),
        "nonce": Binary(sealed.nonce),
        "ciphertext": Binary(sealed.ciphertext),
        "created_at": sealed.created_at,
    }


def _sealed_of(item: dict[str, Any]) -> SealedKey:
    def raw(name: str) -> bytes:
        return bytes(item[name])  # boto3's Binary converts itself

    return SealedKey(
        event_id=str(item["event_id"]),
        key_id=str(item["key_id"]),
        public=str(item["public_key"]),
        encrypted_data_key=raw("encrypted_data_key"),
        nonce=raw("nonce"),
        ciphertext=raw("ciphertext"),
        created_at=str(item.get("created_at", "")),
    )


def _ring_of(item: dict[str, Any]) -> KeyRing:
    event = EventRecord.of(item)
    return KeyRing(
        event_id=event.event_id,
        organizer=event.organizer,
        signing_key_id=event.signing_key_id,
        verifying_keys=dict(event.verifying_keys),
        title=event.title,
    )


class DynamoTicketKeyStore:
    def __init__(self, table_name: str) -> None:
        self.table_name = table_name

    def _table(self) -> Any:
        return clients.dynamodb_table(self.table_name)

    def key_ring(self, event_id: str) -> KeyRing | None:
        try:
            item = self._table().get_item(Key=event_key(event_id), ConsistentRead=True).get("Item")
        except (ClientError, BotoCoreError) as exc:
            raise StorageUnavailable("The event's keys could not be read; try again.") from exc
        return _ring_of(item) if item else None

    def sealed_key(self, event_id: str, key_id: str) -> SealedKey | None:
        item = (
            self._table()
            .get_item(Key=signing_key_key(event_id, key_id), ConsistentRead=True)
            .get("Item")
        )
        return _sealed_of(item) if item else None

    def events_without_own_key(self) -> list[str]:
        """Events created before per-event keys (no ``signing_key_id``): a whole-table scan, for
        the one-off backfill (ops/backfill_ticket_keys.py), never on a request's path."""
        args: dict[str, Any] = {
            "FilterExpression": (
                "sk = :meta AND entity = :event AND attribute_not_exists(signing_key_id)"
            ),
            "ExpressionAttributeValues": {":meta": "META", ":event": "event"},
            "ProjectionExpression": "event_id",
        }
        found: list[str] = []
        while True:
            page = self._table().scan(**args)
            found.extend(str(item["event_id"]) for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return sorted(found)
            args["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def add_key(self, current: KeyRing, sealed: SealedKey, *, at: str) -> KeyRing:
        keys = {**current.verifying_keys, sealed.key_id: sealed.public}
        if current.signing_key_id == LEGACY_TICKET_KEY_ID:
            unchanged = "(attribute_not_exists(signing_key_id) OR signing_key_id = :current)"
        else:
            unchanged = "signing_key_id = :current"
        items: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self.table_name,
                    "Item": sealed_key_item(sealed),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {
                "Update": {
                    "TableName": self.table_name,
                    "Key": event_key(current.event_id),
                    "ConditionExpression": f"attribute_exists(pk) AND {unchanged}",
                    "UpdateExpression": (
                        "SET signing_key_id = :new, verifying_key = :public, "
                        "verifying_keys = :keys, updated_at = :at ADD version :one"
                    ),
                    "ExpressionAttributeValues": {
                        ":current": current.signing_key_id,
                        ":new": sealed.key_id,
                        ":public": sealed.public,
                        ":keys": keys,
                        ":at": at,
                        ":one": 1,
                    },
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            },
        ]

        def refused(reasons: list[dict[str, Any]]) -> Exception:
            if condition_failed(reasons[0]):
                return RuntimeError("ticket key id collision")
            old = plain_item(reasons[1].get("Item"))
            return KeyRingChanged(_ring_of(old) if old else None)

        transact(self._table().meta.client, items, refused)
        return KeyRing(current.event_id, current.organizer, sealed.key_id, keys, current.title)
