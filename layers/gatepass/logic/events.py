"""Creating events and reading them back in public.

Create-event never imports Pillow: an inline image is only decoded from base64 and put into the
uploads bucket, where the same S3-triggered pipeline as a browser upload processes it.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from gatepass import b64url, clock, ids
from gatepass.config import Settings
from gatepass.dal.events import KEY_ATTRIBUTES, EventStore
from gatepass.dal.media import MediaStore
from gatepass.errors import InvalidInput, NotFound, PayloadTooLarge
from gatepass.models.events import (
    CreateEventRequest,
    CreateEventResponse,
    EventList,
    PresignedUpload,
    PublicEvent,
    PublicImage,
    parse_starts_at,
)
from gatepass.observability import logger

DEFAULT_PAGE = 20
MAX_PAGE = 50


def upload_key(event_id: str, upload_id: str) -> str:
    return f"events/{event_id}/{upload_id}"


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):g} MB"


def decode_inline_image(data: str, max_bytes: int) -> bytes:
    """The image bytes, refusing oversized payloads before decoding them."""
    compact = "".join(data.split())
    if len(compact) > 4 * ((max_bytes + 2) // 3):
        raise PayloadTooLarge(f"The image is larger than {_megabytes(max_bytes)}.")
    try:
        raw = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidInput(
            "The image data is not valid base64.",
            details={"problems": [{"field": "image.data", "problem": "not valid base64"}]},
        ) from exc
    if not raw:
        raise InvalidInput("The image is empty.")
    if len(raw) > max_bytes:
        raise PayloadTooLarge(f"The image is larger than {_megabytes(max_bytes)}.")
    return raw


def event_item(
    event_id: str,
    organizer: str,
    *,
    title: str,
    description: str,
    venue: str,
    starts: datetime,
    capacity: int,
    image_status: str,
    verifying_key: str,
    now: datetime,
) -> dict[str, Any]:
    """A new event as TicketingTable stores it (``EVENT#<id>``/``META``; docs/architecture.md)."""
    created_at = clock.iso(now)
    starts_at = clock.iso(starts)
    return {
        "pk": f"EVENT#{event_id}",
        "sk": "META",
        "gsi1pk": "EVENTS",
        "gsi1sk": f"{starts_at}#{event_id}",
        "gsi2pk": f"ORGANIZER#{organizer}",
        "gsi2sk": f"{created_at}#{event_id}",
        "entity": "event",
        "event_id": event_id,
        "title": title,
        "description": description,
        "venue": venue,
        "starts_at": starts_at,
        "starts_at_local": starts.isoformat(timespec="seconds"),
        "capacity": capacity,
        "sold": 0,
        "checked_in": 0,
        "organizer": organizer,
        "image_status": image_status,
        "verifying_key": verifying_key,
        "created_at": created_at,
        "updated_at": created_at,
        "version": 1,
    }


def create_event(
    request: CreateEventRequest,
    organizer: str,
    *,
    events: EventStore,
    media: MediaStore,
    settings: Settings,
    verifying_key: Callable[[str], str],
) -> CreateEventResponse:
    """``verifying_key(event_id)`` gives the event's published ticket key (the handler binds it
    to the ticket seed, so that the public reads need not load the signing code)."""
    now = clock.now()
    event_id = ids.new_id()
    starts = parse_starts_at(request.starts_at)
    max_bytes = settings.upload_max_bytes

    inline: bytes | None = None
    key: str | None = None
    status = "none"
    if request.image is not None:
        inline = decode_inline_image(request.image.data, max_bytes)
        key, status = upload_key(event_id, ids.new_id()), "processing"
    elif request.image_upload is not None:
        if request.image_upload.size > max_bytes:
            raise PayloadTooLarge(f"The image is larger than {_megabytes(max_bytes)}.")
        key, status = upload_key(event_id, ids.new_id()), "awaiting_upload"

    public_key = verifying_key(event_id)

    item = event_item(
        event_id,
        organizer,
        title=request.title,
        description=request.description,
        venue=request.venue,
        starts=starts,
        capacity=request.capacity,
        image_status=status,
        verifying_key=public_key,
        now=now,
    )
    if key is not None:
        item["image_upload_key"] = key

    upload: PresignedUpload | None = None
    if inline is not None and key is not None and request.image is not None:
        # Image first: if it cannot be stored, no event is written. The pipeline waits (retries)
        # for the event if it sees the upload before the event exists.
        media.put_upload(key, inline, request.image.content_type)
        try:
            events.put_new(item)
        except Exception:
            _forget_upload(media, key)
            raise
    else:
        if key is not None and request.image_upload is not None:
            ttl = settings.presigned_url_ttl_seconds
            presigned = media.presigned_upload(
                key, request.image_upload.content_type, request.image_upload.size, ttl
            )
            upload = PresignedUpload(
                url=presigned["url"],
                fields={str(k): str(v) for k, v in presigned["fields"].items()},
                expires_at=clock.iso(now + timedelta(seconds=ttl)),
            )
        events.put_new(item)

    logger.info("event created", extra={"event_id": event_id, "image_status": status})
    return CreateEventResponse(
        event=to_public(item, media, settings.presigned_url_ttl_seconds), upload=upload
    )


def _forget_upload(media: MediaStore, key: str) -> None:
    try:
        media.delete_upload(key)
    except Exception:
        # The uploads bucket expires objects after a day, and the pipeline skips an upload
        # whose event never appears; this only leaves garbage, never a half-made event.
        logger.exception("could not delete the upload of an event that was not saved")


def to_public(item: dict[str, Any], media: MediaStore, url_ttl: int) -> PublicEvent:
    capacity, sold = int(item["capacity"]), int(item.get("sold", 0))
    image: PublicImage | None = None
    if (
        item.get("image_status") == "ready"
        and item.get("image_display_key")
        and item.get("image_thumbnail_key")
    ):
        image = PublicImage(
            display_url=media.rendition_url(str(item["image_display_key"]), url_ttl),
            thumbnail_url=media.rendition_url(str(item["image_thumbnail_key"]), url_ttl),
            width=int(item.get("image_width", 0)),
            height=int(item.get("image_height", 0)),
        )
    return PublicEvent(
        event_id=str(item["event_id"]),
        title=str(item["title"]),
        description=str(item.get("description", "")),
        venue=str(item.get("venue", "")),
        starts_at=str(item["starts_at"]),
        starts_at_local=str(item.get("starts_at_local", item["starts_at"])),
        capacity=capacity,
        sold=sold,
        seats_left=max(0, capacity - sold),
        checked_in=int(item.get("checked_in", 0)),
        image_status=item.get("image_status", "none"),
        image_reason=item.get("image_reason"),
        image=image,
        verifying_key=str(item["verifying_key"]),
        created_at=str(item["created_at"]),
    )


def get_event(event_id: str, *, events: EventStore, media: MediaStore, url_ttl: int) -> PublicEvent:
    normalized = event_id.strip().lower()
    item = events.get(normalized) if ids.is_id(normalized) else None
    if item is None:
        raise NotFound("No such event.")
    return to_public(item, media, url_ttl)


def encode_cursor(item: dict[str, Any]) -> str:
    key = {name: str(item[name]) for name in KEY_ATTRIBUTES}
    raw = json.dumps(key, separators=(",", ":"), sort_keys=True).encode("utf-8")
    return b64url.encode(raw)


def decode_cursor(cursor: str) -> dict[str, str]:
    invalid = InvalidInput(
        "The cursor is not valid.",
        details={"problems": [{"field": "cursor", "problem": "not a cursor from this API"}]},
    )
    try:
        raw = b64url.decode(cursor)
        key = json.loads(raw)
    except (binascii.Error, ValueError) as exc:
        raise invalid from exc
    if not isinstance(key, dict) or set(key) != set(KEY_ATTRIBUTES):
        raise invalid
    if not all(isinstance(value, str) for value in key.values()):
        raise invalid
    event_id = key["pk"].removeprefix("EVENT#")
    if (
        not ids.is_id(event_id)
        or key["sk"] != "META"
        or key["gsi1pk"] != "EVENTS"
        or not key["gsi1sk"].endswith(f"#{event_id}")
    ):
        raise invalid
    return key


def list_events(
    *,
    limit: int = DEFAULT_PAGE,
    cursor: str | None,
    events: EventStore,
    media: MediaStore,
    url_ttl: int,
) -> EventList:
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}.")
    since = clock.iso(clock.now())
    start_after = decode_cursor(cursor) if cursor else None
    if start_after is not None and start_after["gsi1sk"] < since:
        # Everything up to the cursor has started since; the page begins at now.
        start_after = None
    # One item more than asked tells whether another page exists without an empty last page.
    items = events.upcoming(since, limit + 1, start_after)
    page, more = items[:limit], len(items) > limit
    return EventList(
        events=[to_public(item, media, url_ttl) for item in page],
        next_cursor=encode_cursor(page[-1]) if more and page else None,
    )
