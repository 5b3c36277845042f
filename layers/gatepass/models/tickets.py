"""Tickets: taking them, showing one's QR code, cancelling, transferring and adding it to a
wallet. Checking one in is the scanner's (``gatepass.models.scanner``)."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import ConfigDict, Field

from gatepass.models.common import AttendeeName, GatepassId, Model
from gatepass.models.records import MAX_ORDER_TICKETS, OrderStatus, TicketStatus

# Visible ASCII only, as the Idempotency-Key header draft recommends for opaque keys.
IDEMPOTENCY_KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,64}$")


class OrderLine(Model):
    model_config = ConfigDict(extra="forbid")

    ticket_type_id: GatepassId
    attendee_name: AttendeeName = ""


class CreateTicketRequest(Model):
    """An order: without ``tickets``, one ticket of the event's first type (version 1)."""

    model_config = ConfigDict(extra="forbid")

    event_id: GatepassId
    tickets: (
        Annotated[list[OrderLine], Field(min_length=1, max_length=MAX_ORDER_TICKETS)] | None
    ) = None


class Ticket(Model):
    ticket_id: str
    event_id: str
    holder: str
    status: TicketStatus
    code: str
    issued_at: str
    checked_in_at: str | None = None
    order_id: str | None = None
    ticket_type_id: str | None = None
    attendee_name: str = ""
    revoked_at: str | None = None
    revoked_reason: str | None = None


class Order(Model):
    order_id: str
    event_id: str
    buyer: str
    status: OrderStatus
    created_at: str
    tickets: list[Ticket]


class CreateTicketResponse(Model):
    """The order, and its first ticket as ``ticket`` (what version 1 answered)."""

    order: Order
    ticket: Ticket


class QrCodeLink(Model):
    ticket_id: str
    url: str
    expires_at: str
    expires_in: int


class CancelTicketResponse(Model):
    """The tickets this request cancelled (their codes are revoked)."""

    cancelled: list[Ticket]


class CancelEventResponse(Model):
    event_id: str
    status: Literal["cancelled"]
    revoked: int
    notified: int
    waitlist_closed: int = 0


class RevokedTicket(Model):
    ticket_id: str
    revoked_at: str
    reason: str


class RevocationList(Model):
    """An event's revoked tickets in the order they were revoked; ``next_since`` continues."""

    event_id: str
    revocations: list[RevokedTicket]
    next_since: str | None


class TransferTicketResponse(Model):
    """The recipient's new ticket; the given one is revoked."""

    transferred: str
    ticket: Ticket


class ApplePassLink(Model):
    """Where the caller's ``.pkpass`` can be fetched for a short while."""

    ticket_id: str
    url: str
    expires_at: str
    expires_in: int
    voided: bool


class GoogleWalletLink(Model):
    """A Google Wallet save link for the caller's ticket, and the state it gives the ticket."""

    ticket_id: str
    save_url: str
    state: Literal["ACTIVE", "INACTIVE", "EXPIRED"]
