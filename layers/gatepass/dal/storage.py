"""What every store shares: the storage error, and how DynamoDB and S3 say "no".

A store that cannot reach or persuade AWS raises ``StorageUnavailable``: an error with no HTTP
meaning, which ``gatepass.http`` (the one place that maps errors) answers with 503. Throttled
DynamoDB requests of any kind raise it from the client itself (``gatepass.clients``, where the
class lives so that the clients, which the web service uses too, need no data-layer import).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError

from gatepass.clients import StorageUnavailable as StorageUnavailable


class _StreamDeserializer(TypeDeserializer):
    """A stream record's JSON carries binary values base64-encoded: decoded here to bytes."""

    def _deserialize_b(self, value: str) -> bytes:
        return base64.b64decode(value)

    def _deserialize_bs(self, value: list[str]) -> set[bytes]:
        return {base64.b64decode(each) for each in value}


_deserializer = TypeDeserializer()
_stream_deserializer = _StreamDeserializer()
# A single write's refusal (ClientError code) and a transaction's per-item reason.
_CONDITION_FAILED = ("ConditionalCheckFailedException", "ConditionalCheckFailed")
_MISSING_OBJECT = ("404", "NoSuchKey", "NotFound")


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def condition_failed(failure: ClientError | Mapping[str, Any]) -> bool:
    """Whether a condition refused the write: a ``ClientError`` of one write, or one of a
    cancelled transaction's ``CancellationReasons``."""
    if isinstance(failure, ClientError):
        return error_code(failure) in _CONDITION_FAILED
    return failure.get("Code") in _CONDITION_FAILED


def object_missing(exc: ClientError) -> bool:
    """Whether S3 answered that the object does not exist."""
    return error_code(exc) in _MISSING_OBJECT


def plain_item(raw: Mapping[str, Any] | None) -> dict[str, Any]:
    """An item in DynamoDB's typed JSON (as errors and streams carry it) as plain values."""
    return {name: _deserializer.deserialize(value) for name, value in (raw or {}).items()}


def stream_item(raw: Mapping[str, Any]) -> dict[str, Any]:
    """An item's image in a DynamoDB stream record (JSON: binary values base64-encoded) as plain
    values: numbers as ``Decimal``, sets as sets, binary values as bytes."""
    return {name: _stream_deserializer.deserialize(value) for name, value in raw.items()}
