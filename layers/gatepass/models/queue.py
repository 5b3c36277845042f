"""The waiting room: an on-sale behind a queue (docs/decisions/0072-waiting-room.md).

An organizer configures a queue opening at a set time; people who join before it form an
unordered pool that a draw orders by a published function of a committed seed; later arrivals
follow in arrival order; a frontier, advanced at a rate the controller sets, admits them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StringConstraints

from gatepass.models.common import GatepassId, Model

# scheduled: before the opening (joins go to the pool); drawing: opening passed, the draw is
# being made; open: the line moves; off: the queue is disabled (no token needed).
QueueState = Literal["scheduled", "drawing", "open", "off"]
# pool: joined before the opening, placed by the draw; arrival: joined after, in arrival order.
EntryPhase = Literal["pool", "arrival"]
MAX_CAP = 240_000
"""The most admissions a minute an organizer can allow: twice the largest rate an event's stock
can be sized for (2,000 orders a second, decision 0070), so the controller has room above it."""
ORDER_FUNCTION = (
    "sort pool entry ids ascending by hex(sha256(seed_bytes || entry_id_ascii)); "
    "arrivals after the opening follow in arrival order"
)


class ConfigureQueueRequest(Model):
    model_config = ConfigDict(extra="forbid")

    event_id: GatepassId
    opens_at: Annotated[str, StringConstraints(strip_whitespace=True, min_length=10, max_length=40)]
    max_admissions_per_minute: Annotated[int, Field(ge=1, le=MAX_CAP, strict=True)]
    enabled: Annotated[bool, Field(strict=True)]


class JoinQueueRequest(Model):
    model_config = ConfigDict(extra="forbid")

    event_id: GatepassId


# ---------------------------------------------------------------------------- stored records


@dataclass(frozen=True)
class QueueRecord:
    """An event's queue (``QUEUE#<event_id>`` / ``CONFIG``). ``seed`` never leaves the data and
    logic layers before the draw; the frontier is ``admitted_base`` at ``base_at`` plus
    ``rate_per_minute`` since then (computed on read, never written per admission)."""

    event_id: str
    organizer: str
    opens_at: str
    max_admissions_per_minute: int
    enabled: bool
    seed: str
    seed_commitment: str
    shards: int
    created_at: str
    drawn_at: str | None = None
    pool_size: int = 0
    rate_per_minute: float = 0.0
    admitted_base: float = 0.0
    base_at: float = 0.0
    controlled_at: float = 0.0
    draw_lease_until: float = 0.0
    history: list[tuple[float, float]] = field(default_factory=list)
    """Recent (epoch seconds, frontier) points the controller recorded: the achieved rate."""
    version: int = 0


@dataclass(frozen=True)
class QueueEntry:
    """A person's place (``QUEUEPERSON#<event_id>#<person>``): a pool entry has no sequence
    until the draw places it; an arrival has its counter shard and its number there."""

    event_id: str
    person: str
    entry_id: str
    phase: EntryPhase
    shard: int
    sequence: int = 0


@dataclass(frozen=True)
class SaleHealth:
    """What create-ticket experienced for an event over one control window."""

    sales: int = 0
    conflicts: int = 0
    throttles: int = 0
    slow: int = 0
    latency_ms_total: int = 0

    @property
    def answers(self) -> int:
        return self.sales + self.conflicts + self.throttles


@dataclass(frozen=True)
class Tallies:
    """What an event's counter shards hold: pool entries counted as they joined (exact once
    the draw stores the pool's size) and, per shard, the arrival numbers taken."""

    pool: int
    arrivals: dict[int, int]


@dataclass(frozen=True)
class AdmissionClaims:
    person: str
    event_id: str
    place: int
    expires_at: int


@dataclass(frozen=True)
class PositionClaims:
    person: str
    event_id: str
    entry_id: str
    phase: EntryPhase
    shard: int
    sequence: int


# ---------------------------------------------------------------------------- answers


class QueueConfig(Model):
    event_id: str
    opens_at: str
    enabled: bool
    max_admissions_per_minute: int
    state: QueueState
    seed_commitment: str


class ConfigureQueueResponse(Model):
    queue: QueueConfig


class QueueStatus(Model):
    event_id: str
    entry_id: str
    phase: EntryPhase
    state: QueueState
    opens_at: str
    position: int | None
    people_ahead: int | None
    admitted_through: int
    rate_per_minute: float
    achieved_per_minute: float
    estimated_wait_seconds: int | None
    admitted: bool
    admission_token: str | None = None
    admission_expires_at: str | None = None
    poll_after_seconds: int


class JoinQueueResponse(Model):
    position_token: str
    status: QueueStatus


class PublicQueue(Model):
    event_id: str
    opens_at: str
    state: QueueState
    enabled: bool
    max_admissions_per_minute: int
    seed_commitment: str
    seed: str | None
    order_function: str = ORDER_FUNCTION
    pool_size: int | None
    drawn_at: str | None
    order: list[str]
    offset: int
    next_cursor: str | None
    joined: int
    """Entries so far: the drawn pool's size (before the draw: pool entries counted as they
    joined) plus the arrival numbers taken."""
    admitted_through: int
    """Every place at or below it has been let in (never past the last place taken). Arrival
    places interleave 16 counter shards, so places can have gaps: see ``admitted_people``."""
    admitted_people: int
    """Entries holding a place at or below ``admitted_through``: how many people were let in."""
    rate_per_minute: float | None
    """Admissions a minute the controller runs now (null until the draw)."""
    achieved_per_minute: float | None
    """Admissions a minute actually achieved over the last two minutes (null until the draw)."""
