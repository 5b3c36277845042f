"""Each event's own ticket-signing keys, sealed with KMS (docs/decisions/0064).

A key pair is generated at random (Ed25519) when an event is created or its key rotated. Its
private half is sealed by envelope encryption: KMS ``GenerateDataKey`` under the stack's
``TicketKeysKey`` gives a one-off AES-256 data key, which encrypts the 32 private bytes with
AES-GCM and is then dropped; the table keeps only the KMS-encrypted data key, the nonce and the
ciphertext (``gatepass.dal.ticket_keys``). The KMS encryption context and the AES-GCM associated
data both name the event and the key id, so a sealed key copied onto another event or key id
does not open.

Per container, two bounded caches keep KMS and DynamoDB off the hot paths:

- signing keys, opened once (one ``kms:Decrypt``) per event key and reused for every ticket;
- verifying keys (public only, no KMS at all), read with the event's descriptive item and kept
  for ``VERIFYING_KEYS_SECONDS``; a code naming a key the cache does not know reads them again
  (a rotation made by another container), at most once per ``REFRESH_SECONDS`` per event, so
  forged codes with made-up key ids cannot turn every scan into a read.

Events created before per-event keys sign with the ``v1`` key derived from the shared seed in
Secrets Manager (``legacy_secret_id``), read only when such an event signs.
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from typing import Any

from botocore.exceptions import ClientError
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from gatepass import clients, clock, keys, ticket_codes
from gatepass.dal.ticket_keys import SealedKey, TicketKeyStore
from gatepass.models.records import LEGACY_TICKET_KEY_ID
from gatepass.ticket_codes import SigningKey

SIGNING_KEYS_CACHED = 64
VERIFYING_KEYS_CACHED = 1024
VERIFYING_KEYS_SECONDS = 300.0
REFRESH_SECONDS = 2.0
NONCE_BYTES = 12


class TicketKeyUnavailable(RuntimeError):
    """The event has no such sealed key, or it would not open (wrong event, altered)."""


def _context(event_id: str, key_id: str) -> dict[str, str]:
    return {"gatepass:purpose": "ticket-signing", "event_id": event_id, "key_id": key_id}


def _associated_data(event_id: str, key_id: str) -> bytes:
    return f"gatepass:ticket-signing:{event_id}:{key_id}".encode("ascii")


def seal(key: SigningKey, *, event_id: str, kms_key_id: str, at: str) -> SealedKey:
    """Envelope-encrypt ``key`` under the KMS key; the data key never outlives this call."""
    answer = clients.client("kms").generate_data_key(
        KeyId=kms_key_id, KeySpec="AES_256", EncryptionContext=_context(event_id, key.key_id)
    )
    nonce = os.urandom(NONCE_BYTES)
    ciphertext = AESGCM(answer["Plaintext"]).encrypt(
        nonce, ticket_codes.private_bytes(key), _associated_data(event_id, key.key_id)
    )
    return SealedKey(
        event_id=event_id,
        key_id=key.key_id,
        public=key.public(),
        encrypted_data_key=bytes(answer["CiphertextBlob"]),
        nonce=nonce,
        ciphertext=ciphertext,
        created_at=at,
    )


def unseal(sealed: SealedKey, *, kms_key_id: str) -> SigningKey:
    """Open a sealed key (one ``kms:Decrypt``); checks it is the public key it was stored with."""
    try:
        answer = clients.client("kms").decrypt(
            KeyId=kms_key_id,
            CiphertextBlob=sealed.encrypted_data_key,
            EncryptionContext=_context(sealed.event_id, sealed.key_id),
        )
        raw = AESGCM(answer["Plaintext"]).decrypt(
            sealed.nonce, sealed.ciphertext, _associated_data(sealed.event_id, sealed.key_id)
        )
    except InvalidTag as exc:
        raise TicketKeyUnavailable(f"ticket key {sealed.key_id} does not open") from exc
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "InvalidCiphertextException":
            raise
        raise TicketKeyUnavailable(f"ticket key {sealed.key_id} does not open") from exc
    key = ticket_codes.signing_key_from_raw(sealed.key_id, raw)
    if key.public() != sealed.public:
        raise TicketKeyUnavailable(f"ticket key {sealed.key_id} is not its published key")
    return key


class _Lru:
    def __init__(self, size: int) -> None:
        self.size = size
        self.items: OrderedDict[Any, Any] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: Any) -> Any:
        with self.lock:
            value = self.items.get(key)
            if value is not None:
                self.items.move_to_end(key)
            return value

    def put(self, key: Any, value: Any) -> None:
        with self.lock:
            self.items[key] = value
            self.items.move_to_end(key)
            while len(self.items) > self.size:
                self.items.popitem(last=False)

    def clear(self) -> None:
        with self.lock:
            self.items.clear()


# Module level, so that every keys object of the container shares them and SnapStart's restore
# hook (gatepass.snapstart) can forget them.
_signing_keys = _Lru(SIGNING_KEYS_CACHED)
_verifying_keys = _Lru(VERIFYING_KEYS_CACHED)


def reset() -> None:
    """Forget every cached key (tests; a SnapStart restore)."""
    _signing_keys.clear()
    _verifying_keys.clear()
    ticket_codes.legacy_signing_key.cache_clear()


class EventTicketKeys:
    """``gatepass.keys.TicketKeys`` over the TicketingTable and KMS.

    ``kms_key_id`` (the ``TicketKeysKey`` ARN) is needed to make keys (GenerateDataKey) and to
    sign (Decrypt); ``legacy_secret_id`` only to sign for events created before per-event keys.
    Verifying needs neither.
    """

    def __init__(
        self,
        store: TicketKeyStore,
        *,
        kms_key_id: str | None = None,
        legacy_secret_id: str | None = None,
    ) -> None:
        self.store = store
        self.kms_key_id = kms_key_id
        self.legacy_secret_id = legacy_secret_id

    def verifying_keys(
        self, event_id: str, *, key_id: str | None = None, fresh: bool = False
    ) -> dict[str, str]:
        now = time.monotonic()
        cached = None if fresh else _verifying_keys.get(event_id)
        if cached is not None:
            read_at, found = cached
            fresh = now - read_at < VERIFYING_KEYS_SECONDS
            missing = key_id is not None and key_id not in found
            if fresh and not (missing and now - read_at >= REFRESH_SECONDS):
                return dict(found)
        ring = self.store.key_ring(event_id)
        found = dict(ring.verifying_keys) if ring else {}
        _verifying_keys.put(event_id, (now, found))
        return dict(found)

    def signing_key(self, event_id: str, key_id: str) -> SigningKey:
        if key_id == LEGACY_TICKET_KEY_ID:
            if not self.legacy_secret_id:
                raise TicketKeyUnavailable("no legacy ticket seed configured")
            return ticket_codes.legacy_signing_key(keys.secret_key(self.legacy_secret_id), event_id)
        cached: SigningKey | None = _signing_keys.get((event_id, key_id))
        if cached is not None:
            return cached
        sealed = self.store.sealed_key(event_id, key_id)
        if sealed is None:
            raise TicketKeyUnavailable(f"event {event_id} has no ticket key {key_id}")
        opened = unseal(sealed, kms_key_id=self._kms_key())
        _signing_keys.put((event_id, key_id), opened)
        return opened

    def current_signing_key(self, event_id: str) -> SigningKey:
        ring = self.store.key_ring(event_id)
        if ring is None:
            raise TicketKeyUnavailable(f"event {event_id} has no ticket keys")
        return self.signing_key(event_id, ring.signing_key_id)

    def new_key(self, event_id: str) -> tuple[SigningKey, SealedKey]:
        key = ticket_codes.generate_signing_key()
        sealed = seal(key, event_id=event_id, kms_key_id=self._kms_key(), at=clock.iso(clock.now()))
        return key, sealed

    def _kms_key(self) -> str:
        if not self.kms_key_id:
            raise TicketKeyUnavailable("no KMS key configured for ticket keys")
        return self.kms_key_id
