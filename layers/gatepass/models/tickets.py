"""Tickets: taking one, showing its QR code, and checking it in at the door."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints

from gatepass.models.common import GatepassId

TicketStatus = Literal["issued", "checked_in"]

# Visible ASCII only, as the Idempotency-Key header draft recommends for opaque keys.
IDEMPOTENCY_KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,64}$")

TicketCodeText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=512)
]


class CreateTicketRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    event_id: GatepassId


class Ticket(BaseModel):
    ticket_id: str
    event_id: str
    holder: str
    status: TicketStatus
    code: str
    issued_at: str
    checked_in_at: str | None = None


class CreateTicketResponse(BaseModel):
    ticket: Ticket


class QrCodeLink(BaseModel):
    ticket_id: str
    url: str
    expires_at: str
    expires_in: int


class CheckInRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    event_id: GatepassId
    code: TicketCodeText


class CheckInResult(BaseModel):
    ticket_id: str
    event_id: str
    holder: str
    status: TicketStatus
    checked_in_at: str
