"""Activity inputs and records: ``/log-activity`` and the per-user / per-event queries."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, ConfigDict, Field

from gatepass import clock
from gatepass.models.common import GatepassId, Model

ActivityType = Literal["page_view", "event_view", "search", "ticket_view", "share", "check_in_view"]

MAX_EVENTS_PER_CALL = 25
# Clients' clocks drift; a little future is tolerated, more is a bug or a forgery.
FUTURE_SKEW = timedelta(minutes=5)
MAX_PROPERTIES = 16
MAX_PROPERTIES_BYTES = 2048
MAX_PROPERTY_TEXT = 256
_PROPERTY_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
CLIENT_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{8,64}$")

PropertyValue = str | int | float | bool


def _not_in_future(moment: datetime) -> datetime:
    if moment > clock.now() + FUTURE_SKEW:
        raise ValueError("is in the future")
    return moment


def _small_flat_map(values: dict[str, PropertyValue]) -> dict[str, PropertyValue]:
    if len(values) > MAX_PROPERTIES:
        raise ValueError(f"at most {MAX_PROPERTIES} properties")
    for name, value in values.items():
        if not _PROPERTY_NAME.match(name):
            raise ValueError(f"property name {name[:40]!r} is not lower_snake_case (max 40)")
        if isinstance(value, str) and len(value) > MAX_PROPERTY_TEXT:
            raise ValueError(f"property {name} is longer than {MAX_PROPERTY_TEXT} characters")
    if len(json.dumps(values, separators=(",", ":"))) > MAX_PROPERTIES_BYTES:
        raise ValueError(f"properties are larger than {MAX_PROPERTIES_BYTES} bytes")
    return values


class ActivityEventIn(Model):
    model_config = ConfigDict(extra="forbid")

    type: ActivityType
    event_id: GatepassId | None = None
    at: Annotated[AwareDatetime, AfterValidator(_not_in_future)] | None = None
    properties: Annotated[dict[str, PropertyValue], AfterValidator(_small_flat_map)] = Field(
        default_factory=dict
    )


class LogActivityRequest(Model):
    model_config = ConfigDict(extra="forbid")

    events: list[ActivityEventIn] = Field(min_length=1, max_length=MAX_EVENTS_PER_CALL)


class LogActivityResponse(Model):
    accepted: int
    # Set for anonymous callers so they can send the same id next time.
    client_id: str | None = None


class ActivityRecord(Model):
    activity_id: str
    type: ActivityType
    user: str | None = None
    client_id: str | None = None
    event_id: str | None = None
    at: str
    properties: dict[str, PropertyValue] = Field(default_factory=dict)
    expires_at: int


class ActivityPage(Model):
    items: list[ActivityRecord]
    next_cursor: dict[str, str] | None = None
