"""Event rules without AWS: request validation, inline image decoding, cursors, and the write
order of create-event with in-memory stores that can be told to fail."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from gatepass import clock, ticket_codes
from gatepass.dal.events import EventPage, decode_cursor, encode_cursor, event_item
from gatepass.dal.media import PresignedPost, UploadInfo
from gatepass.dal.storage import StorageUnavailable
from gatepass.errors import InvalidInput, PayloadTooLarge
from gatepass.logic import events as logic
from gatepass.models.events import CreateEventRequest
from gatepass.models.records import EventRecord, parse_starts_at

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clock, "now", lambda: NOW)


class MemoryEvents:
    def __init__(self, fail: bool = False) -> None:
        self.items: dict[str, dict[str, Any]] = {}
        self.fail = fail

    def put_new(self, event: EventRecord, sealed_key: Any = None) -> None:
        if self.fail:
            raise StorageUnavailable("The event could not be saved; please try again.")
        self.items[event.event_id] = event_item(event)

    def get(self, event_id: str) -> EventRecord | None:
        item = self.items.get(event_id)
        return EventRecord.of(item) if item else None

    def upcoming(self, *, since: str, limit: int, cursor: str | None) -> EventPage:
        ordered = sorted(
            (i for i in self.items.values() if i["gsi1sk"] >= since), key=lambda i: i["gsi1sk"]
        )
        if cursor:
            start_after = decode_cursor(cursor)
            ordered = [i for i in ordered if i["gsi1sk"] > start_after["gsi1sk"]]
        page = ordered[:limit]
        return EventPage(
            events=[EventRecord.of(item) for item in page],
            next_cursor=encode_cursor(page[-1]) if len(ordered) > limit else None,
        )


class MemoryMedia:
    def __init__(self, fail: bool = False) -> None:
        self.uploads: dict[str, tuple[bytes, str]] = {}
        self.fail = fail

    def put_upload(self, key: str, data: bytes, content_type: str) -> None:
        if self.fail:
            raise StorageUnavailable("The image could not be stored; please try again.")
        self.uploads[key] = (data, content_type)

    def delete_upload(self, key: str) -> None:
        self.uploads.pop(key, None)

    def presigned_upload(
        self, key: str, content_type: str, max_bytes: int, expires_in: int
    ) -> PresignedPost:
        return PresignedPost(url="https://uploads.example", fields={"key": key})

    def head_upload(self, key: str) -> UploadInfo | None:
        return None

    def read_upload(self, key: str, max_bytes: int) -> bytes | None:
        return None

    def put_rendition(self, key: str, data: bytes, content_type: str) -> None:
        return None

    def rendition_url(self, key: str, expires_in: int) -> str:
        return f"https://media.example/{key}?expires={expires_in}"


class FixedTicketKeys:
    """Makes a real key pair and hands back a stand-in for its sealed half (no KMS here)."""

    def verifying_keys(
        self, event_id: str, *, key_id: str | None = None, fresh: bool = False
    ) -> dict[str, str]:
        return {}

    def signing_key(self, event_id: str, key_id: str) -> ticket_codes.SigningKey:
        raise AssertionError("creating an event signs nothing")

    def current_signing_key(self, event_id: str) -> ticket_codes.SigningKey:
        raise AssertionError("creating an event signs nothing")

    def new_key(self, event_id: str) -> tuple[ticket_codes.SigningKey, Any]:
        return ticket_codes.generate_signing_key(), None


def request(**overrides: Any) -> CreateEventRequest:
    body: dict[str, Any] = {
        "title": "Harbour Lights",
        "starts_at": "2026-12-01T19:30:00+01:00",
        "capacity": 50,
    }
    body.update(overrides)
    return CreateEventRequest.model_validate(body)


def create(req: CreateEventRequest, events: MemoryEvents, media: MemoryMedia) -> Any:
    return logic.create_event(
        req,
        "olivia@example.com",
        events=events,
        media=media,
        ticket_keys=FixedTicketKeys(),
        max_upload_bytes=5 * 1024 * 1024,
        url_ttl=120,
    )


@pytest.mark.parametrize(
    ("value", "utc"),
    [
        ("2026-12-01T19:30:00+01:00", "2026-12-01T18:30:00Z"),
        ("2026-12-01T19:30:00Z", "2026-12-01T19:30:00Z"),
        ("2026-12-01T19:30+05:30", "2026-12-01T14:00:00Z"),
        ("2026-12-01 19:30:00-08:00", "2026-12-02T03:30:00Z"),
    ],
)
def test_a_start_with_a_zone_is_accepted(value: str, utc: str) -> None:
    assert clock.iso(parse_starts_at(value)) == utc
    assert request(starts_at=value).starts_at == value


@pytest.mark.parametrize(
    "value",
    [
        "2026-12-01T19:30:00",  # naive
        "2026-12-01",  # a day, no time
        "tomorrow at eight",
        "2026-11-22T08:59:59Z",  # a second ago
        "2026-11-22T09:00:00Z",  # now is not the future
        "",
    ],
)
def test_a_start_without_a_zone_or_not_in_the_future_is_refused(value: str) -> None:
    with pytest.raises(ValidationError) as refused:
        request(starts_at=value)
    assert refused.value.errors()[0]["loc"] == ("starts_at",)


def test_an_inline_image_tolerates_line_breaks_in_its_base64() -> None:
    data = bytes(range(256)) * 10
    wrapped = base64.encodebytes(data).decode("ascii")
    assert "\n" in wrapped
    assert logic.decode_inline_image(wrapped, 5 * 1024 * 1024) == data


@pytest.mark.parametrize(
    "data", ["not*base64", "QUJ", "====", " ", "data:image/png;base64,iVBORw0KGgo="]
)
def test_bad_base64_is_invalid_input(data: str) -> None:
    with pytest.raises(InvalidInput):
        logic.decode_inline_image(data, 1024)


def test_too_much_base64_is_refused_before_decoding() -> None:
    # Not even valid base64: the length alone is enough to answer 413.
    with pytest.raises(PayloadTooLarge):
        logic.decode_inline_image("*" * 2000, 1024)
    exact = base64.b64encode(b"x" * 1024).decode()
    assert len(logic.decode_inline_image(exact, 1024)) == 1024
    with pytest.raises(PayloadTooLarge):
        logic.decode_inline_image(base64.b64encode(b"x" * 1025).decode(), 1024)


def test_an_inline_image_is_stored_before_the_event() -> None:
    events, media = MemoryEvents(), MemoryMedia()
    created = create(
        request(image={"content_type": "image/png", "data": "iVBORw0KGgo="}), events, media
    )

    item = events.items[created.event.event_id]
    assert item["image_status"] == "processing"
    assert media.uploads[item["image_upload_key"]] == (b"\x89PNG\r\n\x1a\n", "image/png")


def test_no_event_when_the_image_cannot_be_stored() -> None:
    events, media = MemoryEvents(), MemoryMedia(fail=True)
    with pytest.raises(StorageUnavailable):
        create(request(image={"content_type": "image/png", "data": "iVBORw0KGgo="}), events, media)
    assert events.items == {}


def test_no_upload_left_when_the_event_cannot_be_saved() -> None:
    events, media = MemoryEvents(fail=True), MemoryMedia()
    with pytest.raises(StorageUnavailable):
        create(request(image={"content_type": "image/png", "data": "iVBORw0KGgo="}), events, media)
    assert media.uploads == {}


def test_a_presigned_upload_expires_with_the_configured_lifetime() -> None:
    events, media = MemoryEvents(), MemoryMedia()
    created = create(
        request(image_upload={"content_type": "image/webp", "size": 1000}), events, media
    )
    assert created.upload is not None
    assert created.upload.expires_at == clock.iso(NOW + timedelta(seconds=120))
    assert created.event.image_status == "awaiting_upload"
    assert media.uploads == {}


def test_cursors_round_trip_and_stay_opaque() -> None:
    item = {
        "pk": "EVENT#mfrggzdfmztwq2lk",
        "sk": "META",
        "gsi1pk": "EVENTS",
        "gsi1sk": "2026-12-01T18:30:00Z#mfrggzdfmztwq2lk",
        "title": "not part of the cursor",
    }
    cursor = encode_cursor(item)
    assert "EVENT" not in cursor
    assert "=" not in cursor
    assert decode_cursor(cursor) == {k: item[k] for k in ("pk", "sk", "gsi1pk", "gsi1sk")}


def test_listing_pages_without_an_empty_last_page() -> None:
    events, media = MemoryEvents(), MemoryMedia()
    for day in range(1, 5):
        create(request(title=f"Day {day}", starts_at=f"2026-12-0{day}T19:00:00Z"), events, media)

    first = logic.list_events(limit=2, cursor=None, events=events, media=media, url_ttl=60)
    assert first.next_cursor is not None
    second = logic.list_events(
        limit=2, cursor=first.next_cursor, events=events, media=media, url_ttl=60
    )

    assert [e.title for e in first.events + second.events] == ["Day 1", "Day 2", "Day 3", "Day 4"]
    assert second.next_cursor is None
