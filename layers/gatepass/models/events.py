"""Events: what organizers send to create one and what anyone may read back. The event as it
is stored is ``gatepass.models.records.EventRecord``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal

from pydantic import (
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from gatepass import clock
from gatepass.models.common import Model
from gatepass.models.orders import (
    MAX_TICKET_TYPES,
    ExpectedRate,
    PublicTicketType,
    TicketTypeSpec,
    public_ticket_type,
)
from gatepass.models.records import (
    DEFAULT_MAX_PER_BUYER,
    EventRecord,
    EventStatus,
    ImageStatus,
    parse_starts_at,
)

ImageContentType = Literal["image/jpeg", "image/png", "image/webp"]

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=140)]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=5000)]
Venue = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]

# Base64 of the largest image the API Gateway payload can carry (10 MB); the real 5 MB limit is
# checked after decoding so that it answers 413 rather than a validation error.
MAX_INLINE_DATA_CHARS = 10 * 1024 * 1024


class InlineImage(Model):
    model_config = ConfigDict(extra="forbid")

    content_type: ImageContentType
    data: Annotated[str, StringConstraints(min_length=1, max_length=MAX_INLINE_DATA_CHARS)]


class ImageUploadRequest(Model):
    model_config = ConfigDict(extra="forbid")

    content_type: ImageContentType
    size: Annotated[int, Field(ge=1, description="Bytes the browser will upload.")]


class CreateEventRequest(Model):
    model_config = ConfigDict(extra="forbid")

    title: Title
    description: Description = ""
    venue: Venue = ""
    starts_at: Annotated[str, StringConstraints(strip_whitespace=True, max_length=40)]
    capacity: Annotated[int, Field(ge=1, le=100_000, strict=True)]
    image: InlineImage | None = None
    image_upload: ImageUploadRequest | None = None
    ticket_types: (
        Annotated[list[TicketTypeSpec], Field(min_length=1, max_length=MAX_TICKET_TYPES)] | None
    ) = None
    max_tickets_per_buyer: Annotated[int, Field(ge=1, le=20, strict=True)] = DEFAULT_MAX_PER_BUYER
    expected_orders_per_second: ExpectedRate | None = Field(
        default=None,
        description=(
            "The peak orders a second the organizer expects (1 to 1000): the event is sold "
            "from ceil(rate / 20) stock shards (docs/decisions/0070); none: one."
        ),
    )

    @field_validator("starts_at")
    @classmethod
    def _aware_and_future(cls, value: str) -> str:
        moment = parse_starts_at(value)
        if moment <= clock.now():
            raise ValueError("starts_at must be in the future")
        return value

    @model_validator(mode="after")
    def _one_image_source(self) -> CreateEventRequest:
        if self.image is not None and self.image_upload is not None:
            raise ValueError("send either image or image_upload, not both")
        return self


class PublicImage(Model):
    display_url: str
    thumbnail_url: str
    width: int
    height: int


class PublicEvent(Model):
    """What anyone may see of an event: never the organizer's address."""

    event_id: str
    title: str
    description: str
    venue: str
    starts_at: str
    starts_at_local: str
    capacity: int
    sold: int
    seats_left: int
    checked_in: int
    image_status: ImageStatus
    image_reason: str | None
    image: PublicImage | None
    verifying_key: str
    created_at: str
    status: EventStatus
    max_tickets_per_buyer: int
    ticket_types: list[PublicTicketType]


class PresignedUpload(Model):
    url: str
    fields: dict[str, str]
    expires_at: str


class CreateEventResponse(Model):
    event: PublicEvent
    upload: PresignedUpload | None


class EventList(Model):
    events: list[PublicEvent]
    next_cursor: str | None


def public_event(event: EventRecord, image_url: Callable[[str], str]) -> PublicEvent:
    """The public view of an event, the one builder of it for the API and the web.

    ``image_url`` turns a media key into a URL a browser may fetch (a pre-signed GET).
    """
    now = clock.iso(clock.now())
    image: PublicImage | None = None
    if event.image_status == "ready" and event.image_display_key and event.image_thumbnail_key:
        image = PublicImage(
            display_url=image_url(event.image_display_key),
            thumbnail_url=image_url(event.image_thumbnail_key),
            width=event.image_width or 0,
            height=event.image_height or 0,
        )
    return PublicEvent(
        event_id=event.event_id,
        title=event.title,
        description=event.description,
        venue=event.venue,
        starts_at=event.starts_at,
        starts_at_local=event.starts_at_local or event.starts_at,
        capacity=event.capacity,
        sold=event.sold,
        seats_left=event.seats_left,
        checked_in=event.checked_in,
        image_status=event.image_status,
        image_reason=event.image_reason,
        image=image,
        verifying_key=event.verifying_key,
        created_at=event.created_at,
        status=event.status,
        max_tickets_per_buyer=event.max_tickets_per_buyer,
        ticket_types=[
            public_ticket_type(
                kind,
                event_available=event.seats_left,
                event_on_sale=event.status == "on_sale" and event.starts_at > now,
                now=now,
            )
            for kind in event.ticket_types
        ],
    )
