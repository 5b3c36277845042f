"""The image pipeline: one uploaded cover image becomes renditions and a settled event.

A bad image is recorded on the event as ``rejected`` with its reason and never raises; an
infrastructure failure (S3 or DynamoDB unavailable) raises so that Lambda retries the
notification and finally hands it to the dead-letter queue.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import unquote_plus

from gatepass import clock, imaging
from gatepass.dal.events import EventStore
from gatepass.dal.media import MediaStore, event_of_upload, rendition_key
from gatepass.errors import ImageRejected
from gatepass.observability import logger

WAITING = ("awaiting_upload", "processing")

Result = Literal["ready", "rejected", "superseded", "skipped"]


class EventNotRecordedYet(RuntimeError):
    """The upload arrived before its event was saved: retrying later finds it."""


@dataclass(frozen=True)
class Outcome:
    key: str
    result: Result
    event_id: str | None = None
    reason: str | None = None


def uploaded_objects(notification: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """The bucket and key of each object an S3 notification announces. Read as plain JSON:
    Powertools' ``S3Event`` would load every event class it has (decision 0082)."""
    for record in notification.get("Records") or []:
        s3 = record["s3"]
        # S3 sends keys URL-encoded (a space arrives as "+").
        yield str(s3["bucket"]["name"]), unquote_plus(str(s3["object"]["key"]))


def process_uploads(
    objects: Iterable[tuple[str, str]],
    *,
    uploads_bucket: str,
    events: EventStore,
    media: MediaStore,
    max_bytes: int,
) -> list[Outcome]:
    """Process every ``(bucket, key)`` an S3 notification names."""
    outcomes = []
    for bucket, key in objects:
        if bucket != uploads_bucket:
            logger.warning("notification from another bucket", extra={"bucket": bucket})
            outcomes.append(Outcome(key=key, result="skipped", reason="not the uploads bucket"))
            continue
        outcomes.append(process_upload(key, events=events, media=media, max_bytes=max_bytes))
    return outcomes


def process_upload(key: str, *, events: EventStore, media: MediaStore, max_bytes: int) -> Outcome:
    event_id = event_of_upload(key)
    if event_id is None:
        logger.warning("upload key is not an event image", extra={"key": key})
        return Outcome(key=key, result="skipped", reason="not an event image key")

    head = media.head_upload(key)
    if head is None:
        # Already processed and deleted (S3 may notify twice), or never saved with its event.
        logger.info("upload is gone", extra={"key": key})
        return Outcome(key=key, result="skipped", event_id=event_id, reason="upload is gone")

    event = events.get(event_id)
    if event is None:
        raise EventNotRecordedYet(f"no event {event_id} for upload {key}")
    if event.image_upload_key != key or event.image_status not in WAITING:
        return _superseded(key, event_id, media)

    try:
        renditions = _render(key, head.size, head.content_type, media, max_bytes)
    except ImageRejected as rejected:
        if events.mark_image_rejected(
            event_id, key, reason=rejected.message, at=clock.iso(clock.now())
        ):
            logger.info("image rejected", extra={"event_id": event_id, "reason": rejected.message})
            media.delete_upload(key)
            return Outcome(key=key, result="rejected", event_id=event_id, reason=rejected.message)
        return _superseded(key, event_id, media)
    if renditions is None:
        return Outcome(key=key, result="skipped", event_id=event_id, reason="upload is gone")

    display_key = rendition_key(event_id, "display", renditions.display.extension)
    thumbnail_key = rendition_key(event_id, "thumbnail", renditions.thumbnail.extension)
    media.put_rendition(display_key, renditions.display.data, renditions.display.content_type)
    media.put_rendition(thumbnail_key, renditions.thumbnail.data, renditions.thumbnail.content_type)
    settled = events.mark_image_ready(
        event_id,
        key,
        display_key=display_key,
        thumbnail_key=thumbnail_key,
        width=renditions.display.width,
        height=renditions.display.height,
        at=clock.iso(clock.now()),
    )
    if not settled:
        return _superseded(key, event_id, media)
    media.delete_upload(key)
    logger.info(
        "image ready",
        extra={
            "event_id": event_id,
            "source": f"{renditions.source_width}x{renditions.source_height}",
            "display": f"{renditions.display.width}x{renditions.display.height}",
        },
    )
    return Outcome(key=key, result="ready", event_id=event_id)


def _render(
    key: str, size: int, content_type: str | None, media: MediaStore, max_bytes: int
) -> imaging.Renditions | None:
    limit = f"{max_bytes / (1024 * 1024):g} MB"
    if size > max_bytes:
        raise ImageRejected(f"The image is larger than {limit}.")
    data = media.read_upload(key, max_bytes + 1)
    if data is None:
        return None
    if len(data) > max_bytes:
        raise ImageRejected(f"The image is larger than {limit}.")
    return imaging.render(data, content_type)


def _superseded(key: str, event_id: str, media: MediaStore) -> Outcome:
    logger.info("upload is not the event's current image", extra={"key": key})
    media.delete_upload(key)
    return Outcome(key=key, result="superseded", event_id=event_id)
