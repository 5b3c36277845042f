"""DynamoDB stream batches, handled record by record, each failure reported on its own.

The stream consumers (the projector, the waiting list, ticket delivery) have
``FunctionResponseTypes: [ReportBatchItemFailures]``: a record that fails is named by its
sequence number in ``batchItemFailures``, and Lambda retries from it while the records before it
stay done; what keeps failing goes to the consumer's dead-letter destination.

This is what Powertools' ``BatchProcessor(EventType.DynamoDBStreams)`` and
``process_partial_response`` did for them, with the same answers: every record is handled even
after one fails; a batch whose every record failed raises ``BatchFailed`` (Lambda retries the
whole batch); an empty batch answers no failures. Without Powertools' batch package, whose
import loads every event data class it has and asyncio, about 0.4 of the cold-start floor
(decision 0082). Each failure is logged with its sequence number and the error.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from gatepass.dal.storage import stream_item
from gatepass.observability import logger

BatchAnswer = dict[str, list[dict[str, str]]]


class BatchFailed(Exception):
    """Every record of the batch failed: Lambda retries the batch as a whole."""


@dataclass(frozen=True)
class StreamRecord:
    """One DynamoDB stream record, its images as plain values."""

    raw: Mapping[str, Any]

    @property
    def event_name(self) -> str | None:
        """``INSERT``, ``MODIFY`` or ``REMOVE``."""
        name = self.raw.get("eventName")
        return str(name) if name is not None else None

    @property
    def _change(self) -> Mapping[str, Any]:
        change = self.raw.get("dynamodb")
        return change if isinstance(change, Mapping) else {}

    @property
    def sequence_number(self) -> str | None:
        number = self._change.get("SequenceNumber")
        return str(number) if number is not None else None

    @property
    def has_stream_data(self) -> bool:
        return "dynamodb" in self.raw

    @cached_property
    def new_image(self) -> dict[str, Any] | None:
        """The item after the change; None when the record carries none (a removal)."""
        image = self._change.get("NewImage")
        return stream_item(image) if image is not None else None

    @cached_property
    def old_image(self) -> dict[str, Any] | None:
        """The item before the change; None when the record carries none (an insertion)."""
        image = self._change.get("OldImage")
        return stream_item(image) if image is not None else None


def report_failures(
    event: Mapping[str, Any], handle: Callable[[StreamRecord], None]
) -> BatchAnswer:
    """``handle`` each record of the batch; the answer names the records that raised."""
    records = [StreamRecord(raw) for raw in event.get("Records") or []]
    failed: list[str] = []
    for record in records:
        try:
            handle(record)
        except Exception:
            logger.exception(
                "stream record failed",
                extra={"sequence_number": record.sequence_number, "event_name": record.event_name},
            )
            failed.append(record.sequence_number or "")
    if records and len(failed) == len(records):
        raise BatchFailed(f"all {len(records)} records of the batch failed")
    return {"batchItemFailures": [{"itemIdentifier": number} for number in failed]}
