"""DynamoDB reads answered as throttled, the way AWS answers once botocore's retries are spent.

The error is injected where botocore's Stubber injects its answers (the ``before-call`` event),
so it travels the same path a real one does, through the stores' clients (``gatepass.clients``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from botocore.awsrequest import AWSResponse

from gatepass import clients

READS = ("GetItem", "Query", "BatchGetItem")


@contextmanager
def throttled_reads(
    code: str = "ProvisionedThroughputExceededException", operations: tuple[str, ...] = READS
) -> Iterator[list[str]]:
    """While open, every read of ``operations`` on the stores' DynamoDB clients answers ``code``;
    yields the operations refused, in order."""
    refused: list[str] = []

    def busy(model: Any, **_kwargs: Any) -> tuple[AWSResponse, dict[str, Any]]:
        refused.append(model.name)
        return (
            AWSResponse("https://dynamodb.invalid", 400, {}, None),
            {
                "Error": {"Code": code, "Message": "Throughput exceeds the current capacity."},
                "ResponseMetadata": {"HTTPStatusCode": 400},
            },
        )

    targets = [clients.dynamodb_documents(), clients.client("dynamodb")]
    hooks = [
        (client, f"before-call.dynamodb.{operation}", f"gp-throttled-{operation}")
        for client in targets
        for operation in operations
    ]
    for client, event, unique_id in hooks:
        client.meta.events.register_first(event, busy, unique_id=unique_id)
    try:
        yield refused
    finally:
        for client, event, unique_id in hooks:
            client.meta.events.unregister(event, unique_id=unique_id)
