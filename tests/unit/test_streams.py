"""DynamoDB stream batches (gatepass.streams): every record handled, each failure named by its
sequence number, a batch that wholly failed retried whole, images as plain values; without
Powertools' batch package."""

from __future__ import annotations

import base64
from decimal import Decimal
from typing import Any

import pytest

from gatepass.streams import BatchFailed, StreamRecord, report_failures
from tests.support.fresh import run_fresh

pytestmark = pytest.mark.unit


def _record(number: str, name: str = "INSERT", **images: dict[str, Any]) -> dict[str, Any]:
    change: dict[str, Any] = {"Keys": {"pk": {"S": f"ITEM#{number}"}}, "SequenceNumber": number}
    change.update(images)
    return {
        "eventID": f"e{number}",
        "eventName": name,
        "eventSource": "aws:dynamodb",
        "dynamodb": change,
    }


def test_every_record_is_handled_and_each_failure_is_named_by_its_sequence_number() -> None:
    # Given a batch of four records, the second and fourth of which cannot be handled
    batch = {"Records": [_record(n) for n in ("100", "200", "300", "400")]}
    handled: list[str | None] = []

    def handle(record: StreamRecord) -> None:
        handled.append(record.sequence_number)
        if record.sequence_number in ("200", "400"):
            raise ValueError("cannot handle this one")

    # When it is handled
    answer = report_failures(batch, handle)

    # Then every record was tried, in order, and only the failures are reported
    assert handled == ["100", "200", "300", "400"]
    assert answer == {"batchItemFailures": [{"itemIdentifier": "200"}, {"itemIdentifier": "400"}]}


def test_a_failure_is_logged_with_its_record_and_error(caplog: pytest.LogCaptureFixture) -> None:
    def handle(record: StreamRecord) -> None:
        if record.sequence_number == "2":
            raise RuntimeError("the mail service said no")

    report_failures({"Records": [_record("1"), _record("2", "MODIFY")]}, handle)

    (failure,) = [r for r in caplog.records if r.getMessage() == "stream record failed"]
    assert failure.levelname == "ERROR"
    assert failure.__dict__["sequence_number"] == "2"
    assert failure.__dict__["event_name"] == "MODIFY"
    assert failure.exc_info is not None
    assert str(failure.exc_info[1]) == "the mail service said no"


def test_a_batch_whose_every_record_failed_is_retried_whole() -> None:
    tried: list[str | None] = []

    def handle(record: StreamRecord) -> None:
        tried.append(record.sequence_number)
        raise ValueError("down")

    with pytest.raises(BatchFailed, match="all 2 records"):
        report_failures({"Records": [_record("1"), _record("2")]}, handle)
    assert tried == ["1", "2"]


@pytest.mark.parametrize("batch", [{"Records": []}, {}])
def test_an_empty_batch_reports_no_failures(batch: dict[str, Any]) -> None:
    assert report_failures(batch, lambda record: None) == {"batchItemFailures": []}


def test_a_record_without_a_sequence_number_fails_as_an_empty_identifier() -> None:
    # Lambda takes an empty identifier as the whole batch failed: nothing is skipped.
    batch = {"Records": [_record("1"), {"eventName": "INSERT"}]}

    def handle(record: StreamRecord) -> None:
        if not record.has_stream_data:
            raise ValueError("not a stream record")

    assert report_failures(batch, handle) == {"batchItemFailures": [{"itemIdentifier": ""}]}


def test_images_are_plain_values_and_absent_ones_none() -> None:
    secret = b"\x00\x01binary"
    record = StreamRecord(
        _record(
            "7",
            "MODIFY",
            NewImage={
                "entity": {"S": "ticket_type"},
                "unassigned": {"N": "3"},
                "tags": {"SS": ["a", "b"]},
                "sealed": {"B": base64.b64encode(secret).decode()},
                "shards": {"BS": [base64.b64encode(b"x").decode()]},
                "paused": {"BOOL": False},
                "note": {"NULL": True},
                "lines": {"L": [{"M": {"n": {"N": "1.5"}}}]},
            },
            OldImage={"entity": {"S": "ticket_type"}},
        )
    )

    assert record.event_name == "MODIFY"
    assert record.new_image == {
        "entity": "ticket_type",
        "unassigned": Decimal(3),
        "tags": {"a", "b"},
        "sealed": secret,
        "shards": {b"x"},
        "paused": False,
        "note": None,
        "lines": [{"n": Decimal("1.5")}],
    }
    assert record.old_image == {"entity": "ticket_type"}
    inserted = StreamRecord(_record("8", NewImage={"entity": {"S": "offer"}}))
    assert inserted.old_image is None
    assert StreamRecord({"eventName": "REMOVE"}).new_image is None


def test_the_stream_consumers_load_no_powertools_batch_or_event_classes() -> None:
    # When the batch handling is imported in a fresh interpreter
    printed = run_fresh(
        "import gatepass.streams\n"
        "names = ('aws_lambda_powertools.utilities.batch',"
        " 'aws_lambda_powertools.utilities.data_classes', 'asyncio')\n"
        "print(sorted(m for m in sys.modules if m.startswith(names)))"
    )

    # Then neither Powertools' batch package, its event classes nor asyncio were loaded
    assert printed.strip() == "[]"
