"""Signed scanner bundles (docs/decisions/0061).

A bundle is JSON signed with Ed25519 by a key that belongs to the deployment, not to an event:
it is derived from ScannerBundleKeySecret, its public half is published at
``GET /scanner-bundle-key`` and pinned by the scanner app the site serves. The signature covers
the exact bytes sent (``payload`` is their base64url), so no JSON canonical form is needed: the
scanner verifies the bytes, then parses them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from gatepass import b64url, keys
from gatepass.models.scanner import BundleKey, SignedBundle


class BundleSigner(Protocol):
    def sign(self, content: dict[str, Any]) -> SignedBundle: ...

    def public_key(self) -> BundleKey: ...


@lru_cache(maxsize=8)
def _signing_key(seed: bytes) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(keys.derive(seed, "scanner-bundle"))


def public_key_of(seed: bytes) -> BundleKey:
    """The public half of the bundle key made from ``seed``: what scanners pin."""
    raw = _signing_key(seed).public_key().public_bytes_raw()
    return BundleKey(
        key_id=b64url.encode(hashlib.sha256(raw).digest()[:9]), public_key=b64url.encode(raw)
    )


def sign_with_seed(seed: bytes, content: dict[str, Any]) -> SignedBundle:
    payload = json.dumps(content, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return SignedBundle(
        key_id=public_key_of(seed).key_id,
        payload=b64url.encode(payload),
        signature=b64url.encode(_signing_key(seed).sign(payload)),
    )


@dataclass(frozen=True)
class SecretBundleSigner:
    """``BundleSigner`` from the bundle-signing secret (ScannerBundleKeySecret)."""

    secret_id: str

    def sign(self, content: dict[str, Any]) -> SignedBundle:
        return sign_with_seed(keys.secret_key(self.secret_id), content)

    def public_key(self) -> BundleKey:
        return public_key_of(keys.secret_key(self.secret_id))


class TamperedBundle(ValueError):
    """The bundle is not what the bundle key signed."""


def open_bundle(bundle: SignedBundle, public_key: str) -> dict[str, Any]:
    """The bundle's content, if ``public_key`` signed exactly these bytes (what the scanner
    does in the browser, for tests and tools)."""
    payload = b64url.decode(bundle.payload)
    try:
        Ed25519PublicKey.from_public_bytes(b64url.decode(public_key)).verify(
            b64url.decode(bundle.signature), payload
        )
    except (InvalidSignature, ValueError) as exc:
        raise TamperedBundle("the bundle's signature does not match its content") from exc
    content: dict[str, Any] = json.loads(payload)
    return content
