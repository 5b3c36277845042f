"""The waiting list: joining a sold-out type's line, offers of freed seats, claiming them.

docs/decisions/0051-waiting-list.md has the design: a seat freed for a type whose line is not
empty is set aside for the line in the same transaction that frees it, and a stream consumer
offers each set-aside seat to the head of the line, once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import ConfigDict

from gatepass.models.common import AttendeeName, GatepassId, Model
from gatepass.models.tickets import Order, Ticket

# waiting: in the line; offered: a seat is offered (see the offer); claimed: took it; expired,
# declined: the offer ended unused; left: left the line; closed: the event was cancelled.
EntryStatus = Literal["waiting", "offered", "claimed", "expired", "declined", "left", "closed"]
LIVE_ENTRY_STATUSES = ("waiting", "offered")
# open: can be claimed until expires_at; withdrawn: the event was cancelled.
OfferStatus = Literal["open", "claimed", "expired", "declined", "withdrawn"]


class JoinWaitlistRequest(Model):
    model_config = ConfigDict(extra="forbid")

    event_id: GatepassId
    ticket_type_id: GatepassId


class LeaveWaitlistRequest(Model):
    model_config = ConfigDict(extra="forbid")

    event_id: GatepassId
    ticket_type_id: GatepassId


class ClaimOfferRequest(Model):
    """The emailed link carries the offer; the ticket's attendee name is optional."""

    model_config = ConfigDict(extra="forbid")

    offer_id: GatepassId
    attendee_name: AttendeeName = ""


class DeclineOfferRequest(Model):
    model_config = ConfigDict(extra="forbid")

    offer_id: GatepassId


# ---------------------------------------------------------------------------- stored records


class EntryRecord(Model):
    """A person's place in a type's line (``WAITLIST#<event>#<type>`` / ``ENTRY#...``)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    event_id: str
    ticket_type_id: str
    entry_id: str
    entry_sk: str
    person: str
    status: EntryStatus
    joined_at: str
    offer_id: str | None = None
    expires_at: str | None = None
    updated_at: str = ""

    @classmethod
    def of(cls, fields: Mapping[str, Any]) -> EntryRecord:
        return cls.model_validate(dict(fields))


class OfferRecord(Model):
    """One freed seat offered to one person (``OFFER#<offer_id>``)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    offer_id: str
    event_id: str
    ticket_type_id: str
    person: str
    entry_id: str
    entry_sk: str
    status: OfferStatus
    offered_at: str
    expires_at: str
    seat_settled: bool = False
    order_id: str | None = None
    updated_at: str = ""

    @classmethod
    def of(cls, fields: Mapping[str, Any]) -> OfferRecord:
        return cls.model_validate(dict(fields))


# ---------------------------------------------------------------------------- public shapes


class WaitlistEntry(Model):
    """A place in a line. ``position`` (1 is next) while waiting; the offer while offered."""

    entry_id: str
    event_id: str
    ticket_type_id: str
    status: EntryStatus
    joined_at: str
    position: int | None = None
    offer_id: str | None = None
    offer_expires_at: str | None = None


class WaitlistEntryResponse(Model):
    entry: WaitlistEntry


class MyWaitlistResponse(Model):
    """The caller's live places (waiting or offered), oldest first."""

    entries: list[WaitlistEntry]


class Offer(Model):
    offer_id: str
    event_id: str
    ticket_type_id: str
    status: OfferStatus
    offered_at: str
    expires_at: str
    order_id: str | None = None


class OfferResponse(Model):
    offer: Offer


class ClaimOfferResponse(Model):
    """The claimed offer and the order it became (one ticket, like a normal order)."""

    offer: Offer
    order: Order
    ticket: Ticket
