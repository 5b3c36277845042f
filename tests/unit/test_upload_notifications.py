"""Reading an S3 notification for process-image (gatepass.logic.images.uploaded_objects):
every record's bucket and key, the key URL-decoded as S3 sends it."""

from __future__ import annotations

from typing import Any

import pytest

from gatepass.logic.images import uploaded_objects
from tests.conftest import load_event

pytestmark = pytest.mark.unit


def _record(bucket: str, key: str) -> dict[str, Any]:
    return {
        "eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": bucket}, "object": {"key": key}},
    }


def test_the_sample_notification_names_its_upload() -> None:
    sample = load_event("process-image.json")
    record = sample["Records"][0]["s3"]

    assert list(uploaded_objects(sample)) == [(record["bucket"]["name"], record["object"]["key"])]


def test_every_record_is_read_in_order_with_its_key_url_decoded() -> None:
    notification = {
        "Records": [
            _record("uploads", "uploads/e1/cover+photo%281%29.jpg"),
            _record("uploads", "uploads/e2/plain.png"),
        ]
    }

    assert list(uploaded_objects(notification)) == [
        ("uploads", "uploads/e1/cover photo(1).jpg"),
        ("uploads", "uploads/e2/plain.png"),
    ]


@pytest.mark.parametrize("notification", [{}, {"Records": []}])
def test_a_notification_without_records_names_nothing(notification: dict[str, Any]) -> None:
    assert list(uploaded_objects(notification)) == []


def test_a_record_that_is_not_from_s3_is_an_error_not_skipped() -> None:
    with pytest.raises(KeyError):
        list(uploaded_objects({"Records": [{"eventSource": "aws:sqs", "body": "{}"}]}))
