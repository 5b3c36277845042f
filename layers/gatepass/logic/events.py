"""Creating events and reading them back in public.

Create-event never imports Pillow: an inline image is only decoded from base64 and put into the
uploads bucket, where the same S3-triggered pipeline as a browser upload processes it.
"""

from __future__ import annotations

import base64
import binascii
from datetime import timedelta

from gatepass import clock, ids
from gatepass.dal.events import EventStore, InvalidCursor
from gatepass.dal.media import MediaStore, upload_key
from gatepass.errors import InvalidInput, NotFound, PayloadTooLarge
from gatepass.keys import TicketKeys
from gatepass.models.events import (
    CreateEventRequest,
    CreateEventResponse,
    EventList,
    PresignedUpload,
    PublicEvent,
    public_event,
)
from gatepass.models.orders import DEFAULT_TYPE_NAME, TicketTypeSpec, shards_for
from gatepass.models.records import (
    EventRecord,
    ImageStatus,
    StockSummary,
    TicketTypeRecord,
    parse_moment,
    parse_starts_at,
)
from gatepass.observability import logger

DEFAULT_PAGE = 20
MAX_PAGE = 50


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


def create_event(
    request: CreateEventRequest,
    organizer: str,
    *,
    events: EventStore,
    media: MediaStore,
    ticket_keys: TicketKeys,
    max_upload_bytes: int,
    url_ttl: int,
) -> CreateEventResponse:
    """The event, with its own ticket key pair (the private half sealed, the public half
    published); an inline image is stored before
    the event, a browser upload gets a pre-signed POST that expires after ``url_ttl``."""
    now = clock.now()
    event_id = ids.new_id()
    starts = parse_starts_at(request.starts_at)

    inline: bytes | None = None
    key: str | None = None
    status: ImageStatus = "none"
    if request.image is not None:
        inline = decode_inline_image(request.image.data, max_upload_bytes)
        key, status = upload_key(event_id, ids.new_id()), "processing"
    elif request.image_upload is not None:
        if request.image_upload.size > max_upload_bytes:
            raise PayloadTooLarge(f"The image is larger than {_megabytes(max_upload_bytes)}.")
        key, status = upload_key(event_id, ids.new_id()), "awaiting_upload"

    # The event's own key pair, sealed by KMS before anything is written (docs/decisions/0064).
    signing_key, sealed_key = ticket_keys.new_key(event_id)
    created_at = clock.iso(now)
    event = EventRecord(
        event_id=event_id,
        organizer=organizer,
        title=request.title,
        description=request.description,
        venue=request.venue,
        starts_at=clock.iso(starts),
        starts_at_local=starts.isoformat(timespec="seconds"),
        capacity=request.capacity,
        image_status=status,
        image_upload_key=key,
        verifying_key=signing_key.public(),
        signing_key_id=signing_key.key_id,
        verifying_keys={signing_key.key_id: signing_key.public()},
        created_at=created_at,
        max_tickets_per_buyer=request.max_tickets_per_buyer,
        ticket_types=new_ticket_types(event_id, request.ticket_types, capacity=request.capacity),
        stock=StockSummary(
            shards=shards_for(request.expected_orders_per_second),
            expected_orders_per_second=request.expected_orders_per_second,
        ),
    )

    upload: PresignedUpload | None = None
    if inline is not None and key is not None and request.image is not None:
        # Image first: if it cannot be stored, no event is written. The pipeline waits (retries)
        # for the event if it sees the upload before the event exists.
        media.put_upload(key, inline, request.image.content_type)
        try:
            events.put_new(event, sealed_key)
        except Exception:
            _forget_upload(media, key)
            raise
    else:
        if key is not None and request.image_upload is not None:
            presigned = media.presigned_upload(
                key, request.image_upload.content_type, request.image_upload.size, url_ttl
            )
            upload = PresignedUpload(
                url=presigned.url,
                fields=presigned.fields,
                expires_at=clock.iso(now + timedelta(seconds=url_ttl)),
            )
        events.put_new(event, sealed_key)

    logger.info("event created", extra={"event_id": event_id, "image_status": status})
    return CreateEventResponse(event=to_public(event, media=media, url_ttl=url_ttl), upload=upload)


def new_ticket_types(
    event_id: str, specs: list[TicketTypeSpec] | None, *, capacity: int
) -> tuple[TicketTypeRecord, ...]:
    """The event's types as organizers gave them; none is one "General admission" type whose
    quota is the capacity (version 1's single kind of ticket)."""
    given = specs or [TicketTypeSpec(name=DEFAULT_TYPE_NAME, quota=capacity)]
    return tuple(
        new_ticket_type(event_id, spec, position=position) for position, spec in enumerate(given)
    )


def new_ticket_type(event_id: str, spec: TicketTypeSpec, *, position: int) -> TicketTypeRecord:
    return TicketTypeRecord(
        event_id=event_id,
        ticket_type_id=ids.new_id(),
        position=position,
        name=spec.name,
        description=spec.description,
        quota=spec.quota,
        available=spec.quota,
        opens_at=_utc(spec.opens_at),
        closes_at=_utc(spec.closes_at),
        max_per_order=spec.max_per_order,
        multi_entry=spec.multi_entry,
    )


def _utc(value: str | None) -> str | None:
    """Sale windows are compared as strings with ``now``: store them in UTC like every time."""
    return clock.iso(parse_moment(value, "time")) if value else None


def _forget_upload(media: MediaStore, key: str) -> None:
    try:
        media.delete_upload(key)
    except Exception:
        # The uploads bucket expires objects after a day, and the pipeline skips an upload
        # whose event never appears; this only leaves garbage, never a half-made event.
        logger.exception("could not delete the upload of an event that was not saved")


def to_public(event: EventRecord, *, media: MediaStore, url_ttl: int) -> PublicEvent:
    return public_event(event, lambda key: media.rendition_url(key, url_ttl))


def get_event(event_id: str, *, events: EventStore, media: MediaStore, url_ttl: int) -> PublicEvent:
    normalized = event_id.strip().lower()
    event = events.get_counted(normalized) if ids.is_id(normalized) else None
    if event is None:
        raise NotFound("No such event.")
    return to_public(event, media=media, url_ttl=url_ttl)


def list_events(
    limit: int = DEFAULT_PAGE,
    cursor: str | None = None,
    *,
    events: EventStore,
    media: MediaStore,
    url_ttl: int,
) -> EventList:
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}.")
    try:
        page = events.upcoming(since=clock.iso(clock.now()), limit=limit, cursor=cursor)
    except InvalidCursor as exc:
        raise InvalidInput(
            "The cursor is not valid.",
            details={"problems": [{"field": "cursor", "problem": "not a cursor from this API"}]},
        ) from exc
    return EventList(
        events=[to_public(event, media=media, url_ttl=url_ttl) for event in page.events],
        next_cursor=page.next_cursor,
    )
