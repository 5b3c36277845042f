"""What every store shares: the storage error, and how DynamoDB and S3 say "no".

A store that cannot reach or persuade AWS raises ``StorageUnavailable``: an error with no HTTP
meaning, which ``gatepass.http`` (the one place that maps errors) answers with 503. Throttled
DynamoDB requests of any kind raise it from the client itself (``gatepass.clients``, where the
class lives so that the clients, which the web service uses too, need no data-layer import).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError

from gatepass.clients import StorageUnavailable as StorageUnavailable

_deserializer = TypeDeserializer()
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
