"""The waiting room (docs/decisions/0072): configuring an event's queue, joining it, a person's
status and admission, the public draw, the admission check on the sale path and the rate
controller.

Places. People who join before the opening form a pool; at the opening (plus a grace longer
than any request can take) a draw orders the pool by ``sha256(seed || entry_id)``, places 1..P.
Later arrivals take the next number of one of ``S`` counter shards picked at random; arrival
``n`` of shard ``k`` holds place ``P + (n - 1) * S + k + 1``: the shards are interleaved round by
round, so an arrival is never behind someone who arrived a whole round (``S`` arrivals) later.

Admission. The frontier (everybody at or below it is admitted) is ``admitted_base + rate *
(now - base_at) / 60``, computed on read: nothing is written per admission. The controller
(lazily, by the first request of each ``CONTROL_SECONDS`` that finds it due, with a conditional
write so only one runs) reads what the sale experienced, sets the next rate (AIMD, capped by the
organizer) and rebases the frontier, never past the last place taken.
"""

from __future__ import annotations

import hashlib
import math
import random
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

from gatepass import clock, ids
from gatepass.dal.events import EventStore
from gatepass.dal.queue import DrawChunk, QueueStore
from gatepass.dal.storage import StorageUnavailable
from gatepass.errors import (
    Conflict,
    EventCancelled,
    Forbidden,
    GatepassError,
    InvalidInput,
    NotFound,
    QueueAlreadyDrawn,
    QueueNotEnabled,
    QueueOpensAfterEvent,
    QueueOpensInPast,
    ServiceUnavailable,
)
from gatepass.models.queue import (
    ConfigureQueueRequest,
    ConfigureQueueResponse,
    JoinQueueRequest,
    JoinQueueResponse,
    PositionClaims,
    PublicQueue,
    QueueConfig,
    QueueEntry,
    QueueRecord,
    QueueState,
    QueueStatus,
    SaleHealth,
)
from gatepass.models.records import parse_starts_at
from gatepass.observability import MetricUnit, logger, metrics
from gatepass.queue_tokens import (
    QueueKeys,
    issue_admission,
    issue_position,
    verify_admission,
    verify_position,
)

T = TypeVar("T")

QUEUE_SHARDS = 16
"""Pool partitions and arrival counters per queue: 16 x 1,000 writes a second of headroom."""
HEALTH_SHARDS = 8
DRAW_GRACE_SECONDS = 15
"""After the opening, before the draw: longer than QueueFunction's 10 s timeout, so every join
that read a time before the opening has written its pool entry (or failed) by then."""
DRAW_LEASE_SECONDS = 60
CHUNK_SIZE = 1000
CONTROL_SECONDS = 10
HISTORY_POINTS = 13
"""Frontier points kept (two minutes at one a period): the achieved rate is measured on them."""
START_FRACTION = 0.25
"""The first rate, as a share of the cap, of a sale whose event gives no expected rate."""
INCREASE_FRACTION = 0.10
DECREASE_FACTOR = 0.5
MIN_RATE = 1.0
LATENCY_TARGET_MS = 1000
CONFLICT_SHARE = 0.05
SLOW_SHARE = 0.10
# Room to grow: the rate rises only while the sale is well inside these (no conflict give-up,
# at most 1 % of answers slow, a mean a quarter of the target); between them and trouble it
# holds, so probing for more stops before buyers get errors.
ROOM_SLOW_SHARE = 0.01
ROOM_LATENCY_MS = LATENCY_TARGET_MS / 4
SALE_CACHE_SECONDS = 5.0
"""How stale create-ticket's view of a queue may be (turning a queue on takes this long)."""
STATUS_CACHE_SECONDS = 1.0
POLL_SECONDS = 5
"""The longest a waiting page waits between two status reads; one whose turn is nearer asks again
when its estimate says (at least a second later)."""
MIN_POLL_SECONDS = 1
REVEAL_READS_PER_SECOND = 5_000
"""Everyone in line reads their place once after the draw. Their first reads are spread over
``people // REVEAL_READS_PER_SECOND`` seconds (at most MAX_REVEAL_SECONDS; none under 5,000
people), each page at a moment its entry id picks, and admission starts when that window ends:
in one second, 60,000 first reads would meet API Gateway's throttle (the account's 10,000 a
second), and the people at the front who were refused (429) would learn their turn late and
then buy all at once (the rush model's 60,000-person sale: 650 admissions a second used for
14 s, then 6,000 a second and the table's write throttle)."""
MAX_REVEAL_SECONDS = 30
PRE_DRAW_POLL_SECONDS = 30
"""Before the draw a page has nothing to learn but its place, known once the draw is made: it
asks again when the draw is due, or after this long at the most (to notice an opening moved
or the queue turned off). Asked every POLL_SECONDS, a pool of 30,000 would read 6,000 times a
second before the opening, beside the joins, against one API throttle (the rush model's
join refusals at 60,000 people)."""

CACHED_PLACES = 200_000
"""Drawn places a container keeps (about 200 chunks): the draw never changes once made."""

timer: Callable[[], float] = time.monotonic
_places: dict[str, dict[str, int]] = {}
"""event id -> {entry id: place}, from every drawn chunk this container has read."""
_stepped: dict[tuple[str, str], tuple[int, float, int]] = {}
"""(step, event id) -> (version, controlled_at) of the record this process last tried the step
("control", "draw") from, and when it tried."""


def reset() -> None:
    _places.clear()
    _stepped.clear()


def _remember_chunk(event_id: str, chunk: DrawChunk) -> dict[str, int]:
    """The chunk's places, kept with the event's others (all forgotten past CACHED_PLACES)."""
    if sum(len(places) for places in _places.values()) >= CACHED_PLACES:
        _places.clear()
    places = _places.setdefault(event_id, {})
    places.update((entry, chunk.offset + n + 1) for n, entry in enumerate(chunk.entries))
    return places


# ---------------------------------------------------------------------------- published functions


def order_key(seed: str, entry_id: str) -> str:
    """The draw's published function: pool entries are placed ascending by this."""
    return hashlib.sha256(bytes.fromhex(seed) + entry_id.encode("ascii")).hexdigest()


def commitment(seed: str) -> str:
    return hashlib.sha256(bytes.fromhex(seed)).hexdigest()


def draw_order(seed: str, entry_ids: list[str]) -> list[str]:
    return sorted(entry_ids, key=lambda entry_id: order_key(seed, entry_id))


def arrival_place(pool_size: int, shards: int, shard: int, sequence: int) -> int:
    return pool_size + (sequence - 1) * shards + shard + 1


# ---------------------------------------------------------------------------- the controller


def next_rate(rate: float, cap: int, health: SaleHealth, *, waiting: bool) -> float:
    """AIMD with a hold band: halve on trouble (any throttle, conflicts above 5 % of answers,
    mean latency above the target or more than 10 % slow answers); add a tenth of the cap when
    people wait and the sale has room (no conflict give-up, at most 1 % slow, mean latency at
    most a quarter of the target); otherwise hold. Never above the organizer's cap, never below
    one a minute."""
    answers = health.answers
    trouble = health.throttles > 0 or (
        answers > 0
        and (
            health.conflicts / answers > CONFLICT_SHARE
            or health.latency_ms_total / answers > LATENCY_TARGET_MS
            or health.slow / answers > SLOW_SHARE
        )
    )
    room = health.conflicts == 0 and (
        answers == 0
        or (
            health.slow / answers <= ROOM_SLOW_SHARE
            and health.latency_ms_total / answers <= ROOM_LATENCY_MS
        )
    )
    if trouble:
        proposed = rate * DECREASE_FACTOR
    elif waiting and room:
        proposed = rate + max(1.0, cap * INCREASE_FRACTION)
    else:
        proposed = rate
    return max(MIN_RATE, min(float(cap), proposed))


def frontier(record: QueueRecord, now: float) -> float:
    if record.drawn_at is None:
        return 0.0
    rate = min(record.rate_per_minute, float(record.max_admissions_per_minute))
    return record.admitted_base + rate * max(0.0, now - record.base_at) / 60.0


def achieved_per_minute(record: QueueRecord, now: float) -> float:
    points = [*record.history, (now, frontier(record, now))]
    first, last = points[0], points[-1]
    if last[0] - first[0] < CONTROL_SECONDS:
        return min(record.rate_per_minute, float(record.max_admissions_per_minute))
    return max(0.0, (last[1] - first[1]) * 60.0 / (last[0] - first[0]))


def _tail(record: QueueRecord, counters: dict[int, int]) -> int:
    places = [
        arrival_place(record.pool_size, record.shards, shard, n)
        for shard, n in counters.items()
        if n > 0
    ]
    return max([record.pool_size, *places])


def admitted_people(record: QueueRecord, counters: dict[int, int], through: int) -> int:
    """How many places at or below ``through`` were taken: the drawn pool's, plus on each
    shard ``k`` the arrival numbers ``n`` whose place ``P + (n - 1) * S + k + 1`` is there."""
    pool = min(through, record.pool_size)
    arrivals = sum(
        min(n, max(0, (through - record.pool_size - shard - 1) // record.shards + 1))
        for shard, n in counters.items()
    )
    return pool + arrivals


def _first_try(step: str, record: QueueRecord, now: int) -> bool:
    """Whether this process has not tried ``step`` from this record within the last second
    (and notes that it does now)."""
    key = (step, record.event_id)
    last = _stepped.get(key)
    if (
        last is not None
        and last[:2] == (record.version, record.controlled_at)
        and now - last[2] < STATUS_CACHE_SECONDS
    ):
        return False
    _stepped[key] = (record.version, record.controlled_at, now)
    return True


def _control(record: QueueRecord, now: int, *, queue: QueueStore) -> QueueRecord:
    """The controller's step, when this process has not just tried it from the same record.

    A Lambda container serves one request at a time and, after a step (its own or one it lost
    to), reads the record afresh, so it tries each step once. A process that serves requests
    concurrently (the web's local stack, the rush model) holds the same cached record in many
    of them: without this, each would read the health and make a write that loses (the rush
    model counted 7,300 throttled writes on the queue's item in one sale). A failed try is made
    again a second later; a step that cannot be stored (AWS busy) is not the caller's error:
    the status answers from the record as it is."""
    if not _first_try("control", record, now):
        return record
    try:
        window = now // CONTROL_SECONDS - 1
        health = queue.health(record.event_id, window, HEALTH_SHARDS)
        tail = _tail(record, queue.counters(record.event_id, record.shards))
        admitted = min(frontier(record, now), float(tail))
        rate = next_rate(
            record.rate_per_minute,
            record.max_admissions_per_minute,
            health,
            waiting=tail > admitted,
        )
        history = [*record.history, (float(now), admitted)][-HISTORY_POINTS:]
        stepped = queue.control(
            record, controlled_at=now, rate=rate, admitted_base=admitted, history=history
        )
    except StorageUnavailable:
        logger.warning("queue control step not made", extra={"event_id": record.event_id})
        return record
    if stepped:
        if rate != record.rate_per_minute:
            logger.info(
                "queue rate changed",
                extra={"event_id": record.event_id, "rate": rate, "health": health.__dict__},
            )
        metrics.add_metric(name="QueueControlSteps", unit=MetricUnit.Count, value=1)
    return queue.get(record.event_id, max_age=0) or record


# ---------------------------------------------------------------------------- the draw


def _opens(record: QueueRecord) -> int:
    return int(datetime.fromisoformat(record.opens_at.replace("Z", "+00:00")).timestamp())


def state_of(record: QueueRecord, now: int) -> QueueState:
    if not record.enabled:
        return "off"
    if now < _opens(record):
        return "scheduled"
    if record.drawn_at is None:
        return "drawing"
    return "open"


def reveal_seconds(people: int) -> int:
    """How long after the draw admission starts, so that everyone in line has read their place
    once at REVEAL_READS_PER_SECOND (0 under that many people)."""
    return min(MAX_REVEAL_SECONDS, max(0, people) // REVEAL_READS_PER_SECOND)


def reveal_offset(entry_id: str, reveal: int) -> int:
    """The second of the reveal window at which this entry's page reads its place first: a
    published function of its id, spread evenly, so pages need no coordination."""
    if reveal <= 0:
        return 0
    return int(hashlib.sha256(entry_id.encode()).hexdigest()[:8], 16) % (reveal + 1)


def start_rate(cap: int, expected_orders_per_second: int | None) -> float:
    """The first admission rate, a minute's worth: what the event's stock was sized for (its
    organizer's expected orders a second, decision 0070), or a quarter of the cap when the event
    gives none; never above the cap. The controller takes it from there."""
    if expected_orders_per_second:
        return max(MIN_RATE, min(float(cap), expected_orders_per_second * 60.0))
    return max(MIN_RATE, cap * START_FRACTION)


def _draw(record: QueueRecord, now: int, *, events: EventStore, queue: QueueStore) -> QueueRecord:
    # The whole pool asks for its place in the second the draw is due: one lease try per
    # process and second (as for the controller's step), and a try AWS refuses is not the
    # caller's error (the status says "drawing" and is asked again a second later).
    if not _first_try("draw", record, now):
        return record
    try:
        leased = queue.take_draw_lease(record.event_id, now=now, until=now + DRAW_LEASE_SECONDS)
    except StorageUnavailable:
        logger.warning("queue draw lease not taken", extra={"event_id": record.event_id})
        return record
    if not leased:
        return queue.get(record.event_id, max_age=0) or record
    order = draw_order(record.seed, queue.pool_entries(record.event_id, record.shards))
    chunks = [
        DrawChunk(order_key(record.seed, order[start]), start, order[start : start + CHUNK_SIZE])
        for start in range(0, len(order), CHUNK_SIZE)
    ]
    queue.write_draw(record.event_id, chunks)
    event = events.get(record.event_id)
    expected = event.stock.expected_orders_per_second if event is not None else None
    rate = start_rate(record.max_admissions_per_minute, expected)
    arrived = sum(queue.counters(record.event_id, record.shards).values())
    queue.finish_draw(
        record.event_id,
        drawn_at=clock.iso(datetime.fromtimestamp(now, UTC)),
        pool_size=len(order),
        rate=rate,
        base_at=now + reveal_seconds(len(order) + arrived),
    )
    logger.info("queue drawn", extra={"event_id": record.event_id, "pool_size": len(order)})
    metrics.add_metric(name="QueueDraws", unit=MetricUnit.Count, value=1)
    return queue.get(record.event_id, max_age=0) or record


def _advance(
    record: QueueRecord, now: int, *, events: EventStore, queue: QueueStore
) -> QueueRecord:
    """Make the draw when it is due, and the controller's step when one is due."""
    if not record.enabled:
        return record
    if record.drawn_at is None:
        if now >= _opens(record) + DRAW_GRACE_SECONDS:
            return _draw(record, now, events=events, queue=queue)
        return record
    if now - record.controlled_at >= CONTROL_SECONDS:
        return _control(record, now, queue=queue)
    return record


# ---------------------------------------------------------------------------- configure


def _view(record: QueueRecord, now: int) -> QueueConfig:
    return QueueConfig(
        event_id=record.event_id,
        opens_at=record.opens_at,
        enabled=record.enabled,
        max_admissions_per_minute=record.max_admissions_per_minute,
        state=state_of(record, now),
        seed_commitment=record.seed_commitment,
    )


def configure_queue(
    request: ConfigureQueueRequest, organizer: str, *, events: EventStore, queue: QueueStore
) -> ConfigureQueueResponse:
    event = events.get(request.event_id)
    if event is None:
        raise NotFound("No such event.")
    if event.organizer != organizer:
        raise Forbidden("Only the event's organizer can put its sale behind a queue.")
    if event.status == "cancelled":
        raise EventCancelled("This event is cancelled.")
    try:
        opens_at = clock.iso(parse_starts_at(request.opens_at))
    except ValueError as exc:
        raise InvalidInput(
            "opens_at is not a date and time with a zone.",
            details={"problems": [{"field": "opens_at", "problem": str(exc)}]},
        ) from None
    now = clock.epoch()
    existing = queue.get(request.event_id, max_age=0)
    moves = existing is None or existing.opens_at != opens_at
    if moves and existing is not None and (existing.drawn_at or now >= _opens(existing)):
        raise QueueAlreadyDrawn(
            "The queue has opened and its draw is made: its opening can no longer change.",
            details={"opens_at": existing.opens_at},
        )
    if moves and opens_at <= clock.iso(clock.now()):
        raise QueueOpensInPast("opens_at must be in the future.")
    if moves and opens_at >= event.starts_at:
        raise QueueOpensAfterEvent(
            "The queue must open before the event starts.", details={"starts_at": event.starts_at}
        )
    if existing is None:
        seed = secrets.token_bytes(32).hex()
        record = QueueRecord(
            event_id=event.event_id,
            organizer=organizer,
            opens_at=opens_at,
            max_admissions_per_minute=request.max_admissions_per_minute,
            enabled=request.enabled,
            seed=seed,
            seed_commitment=commitment(seed),
            shards=QUEUE_SHARDS,
            created_at=clock.iso(clock.now()),
        )
        changed = queue.create(record)
    else:
        changed = queue.update_settings(
            existing,
            opens_at=opens_at,
            cap=request.max_admissions_per_minute,
            enabled=request.enabled,
        )
    if not changed:
        raise Conflict("The queue changed while it was being configured; try again.")
    stored = queue.get(request.event_id, max_age=0)
    if stored is None:
        raise ServiceUnavailable("The queue could not be read back; try again.")
    logger.info(
        "queue configured",
        extra={"event_id": event.event_id, "enabled": stored.enabled, "opens_at": opens_at},
    )
    return ConfigureQueueResponse(queue=_view(stored, now))


# ---------------------------------------------------------------------------- join and status


def _queue_of(event_id: str, *, events: EventStore, queue: QueueStore) -> QueueRecord:
    record = queue.get(event_id, max_age=STATUS_CACHE_SECONDS)
    if record is None:
        if events.get(event_id) is None:
            raise NotFound("No such event.")
        raise QueueNotEnabled("This event's sale has no waiting room: buy directly.")
    return record


def join_queue(
    request: JoinQueueRequest,
    person: str,
    *,
    events: EventStore,
    queue: QueueStore,
    queue_keys: QueueKeys,
) -> JoinQueueResponse:
    now = clock.epoch()
    record = _queue_of(request.event_id, events=events, queue=queue)
    if not record.enabled:
        raise QueueNotEnabled("This event's waiting room is off: buy directly.")
    record = _advance(record, now, events=events, queue=queue)
    entry = queue.find_entry(record.event_id, person)
    if entry is None:
        shard = random.randrange(record.shards)  # noqa: S311 (spreads load, decides no order)
        if now < _opens(record):
            wanted = QueueEntry(record.event_id, person, ids.new_id(), "pool", shard)
            entry = queue.add_to_pool(wanted)
            if entry.entry_id == wanted.entry_id:
                _count_pool(entry, queue=queue)
        else:
            sequence = queue.take_number(record.event_id, shard)
            wanted = QueueEntry(record.event_id, person, ids.new_id(), "arrival", shard, sequence)
            entry = queue.add_arrival(wanted)
        if entry.entry_id == wanted.entry_id:
            metrics.add_metric(name="QueueJoins", unit=MetricUnit.Count, value=1)
    issued = issue_position(
        queue_keys,
        person=person,
        event_id=record.event_id,
        entry_id=entry.entry_id,
        phase=entry.phase,
        shard=entry.shard,
        sequence=entry.sequence,
        now=now,
    )
    claims = PositionClaims(
        person, record.event_id, entry.entry_id, entry.phase, entry.shard, entry.sequence
    )
    status = _status(record, claims, now, queue=queue, queue_keys=queue_keys)
    return JoinQueueResponse(position_token=issued.token, status=status)


def _count_pool(entry: QueueEntry, *, queue: QueueStore) -> None:
    """Count a new pool entry for ``joined`` before the draw. Not part of the entry's
    transaction (16 hot counter items would make concurrent joins conflict); a count that fails
    is logged and the join still answers: the draw's pool size makes ``joined`` exact again."""
    try:
        queue.count_pool(entry.event_id, entry.shard)
    except StorageUnavailable:
        logger.warning("pool entry not counted", extra={"event_id": entry.event_id})


def queue_status(
    event_id: str,
    person: str,
    token: str | None,
    *,
    events: EventStore,
    queue: QueueStore,
    queue_keys: QueueKeys,
) -> QueueStatus:
    now = clock.epoch()
    normalized = event_id.strip().lower()
    if not ids.is_id(normalized):
        raise NotFound("No such event.")
    claims = verify_position(queue_keys, token, person=person, event_id=normalized, now=now)
    record = _advance(
        _queue_of(normalized, events=events, queue=queue), now, events=events, queue=queue
    )
    return _status(record, claims, now, queue=queue, queue_keys=queue_keys)


def _place(record: QueueRecord, claims: PositionClaims, *, queue: QueueStore) -> int | None:
    if record.drawn_at is None:
        return None
    if claims.phase == "arrival":
        return arrival_place(record.pool_size, record.shards, claims.shard, claims.sequence)
    # A drawn chunk holds a thousand places: read once per container, it answers every one of
    # them (at the draw, the whole pool asks within seconds; one read each would throttle the
    # draw's partition, as the rush model showed).
    cached = _places.get(record.event_id, {}).get(claims.entry_id)
    if cached is not None:
        return cached
    chunk = queue.chunk_holding(record.event_id, order_key(record.seed, claims.entry_id))
    if chunk is None or claims.entry_id not in chunk.entries:
        logger.warning("pool entry missing from the draw", extra={"event_id": record.event_id})
        return None
    return _remember_chunk(record.event_id, chunk)[claims.entry_id]


def _status(
    record: QueueRecord,
    claims: PositionClaims,
    now: int,
    *,
    queue: QueueStore,
    queue_keys: QueueKeys,
) -> QueueStatus:
    state = state_of(record, now)
    place = _place(record, claims, queue=queue)
    through = math.floor(frontier(record, now) + 1e-9)
    achieved = achieved_per_minute(record, now)
    admitted = state == "open" and place is not None and place <= through
    ahead = None if place is None else max(0, place - 1 - through)
    wait: int | None = None
    if state == "open" and ahead is not None:
        wait = 0 if admitted else (math.ceil(ahead * 60 / achieved) if achieved > 0 else None)
        if wait is not None and not admitted:
            wait += max(0, math.ceil(record.base_at - now))  # the reveal, before admission
    token = expires = None
    if admitted and place is not None:
        issued = issue_admission(
            queue_keys, person=claims.person, event_id=record.event_id, place=place, now=now
        )
        token, expires = issued.token, clock.iso(datetime.fromtimestamp(issued.expires_at, UTC))
    return QueueStatus(
        event_id=record.event_id,
        entry_id=claims.entry_id,
        phase=claims.phase,
        state=state,
        opens_at=record.opens_at,
        position=place,
        people_ahead=ahead,
        admitted_through=through,
        rate_per_minute=round(min(record.rate_per_minute, record.max_admissions_per_minute), 2),
        achieved_per_minute=round(achieved, 2),
        estimated_wait_seconds=wait,
        admitted=admitted,
        admission_token=token,
        admission_expires_at=expires,
        poll_after_seconds=poll_after(
            _first_read(record, claims, now, queue=queue) if record.drawn_at is None else wait,
            admitted=admitted,
            before_draw=record.drawn_at is None,
        ),
    )


def _until_draw(record: QueueRecord, now: int) -> int | None:
    """Seconds until the draw is due (places are known from then); None with the queue off."""
    if not record.enabled:
        return None
    return _opens(record) + DRAW_GRACE_SECONDS - now


def _first_read(
    record: QueueRecord, claims: PositionClaims, now: int, *, queue: QueueStore
) -> int | None:
    """Before the draw, when this page should read its place: at its moment of the reveal
    window after the draw, the window sized on the people in line so far (counted, cached for
    a second per container; the draw sizes it again on the final count, never smaller)."""
    until = _until_draw(record, now)
    if until is None or until > PRE_DRAW_POLL_SECONDS:
        return until
    try:
        tallies = queue.tallies(record.event_id, record.shards, max_age=STATUS_CACHE_SECONDS)
    except StorageUnavailable:
        return until
    people = tallies.pool + sum(tallies.arrivals.values())
    return until + reveal_offset(claims.entry_id, reveal_seconds(people))


def poll_after(wait: int | None, *, admitted: bool = False, before_draw: bool = False) -> int:
    """When to ask again, never sooner than a second: at the estimated turn when it is within
    POLL_SECONDS; further off, after half the wait (at least POLL_SECONDS, at most
    PRE_DRAW_POLL_SECONDS), so a long line reads its places a few times, not every 5 s (60,000
    people every 5 s are 12,000 reads a second); before the draw, at this page's first read
    (or every PRE_DRAW_POLL_SECONDS). An admitted person, whose token is theirs, every
    POLL_SECONDS."""
    if admitted or wait is None:
        return POLL_SECONDS
    if before_draw:
        return max(MIN_POLL_SECONDS, min(PRE_DRAW_POLL_SECONDS, wait))
    if wait <= POLL_SECONDS:
        return max(MIN_POLL_SECONDS, wait)
    return min(PRE_DRAW_POLL_SECONDS, max(POLL_SECONDS, wait // 2))


# ---------------------------------------------------------------------------- the public draw


def public_queue(
    event_id: str, cursor: str | None, *, events: EventStore, queue: QueueStore
) -> PublicQueue:
    normalized = event_id.strip().lower()
    if not ids.is_id(normalized):
        raise NotFound("No such event.")
    if cursor is not None and (
        len(cursor) != 64 or any(c not in "0123456789abcdef" for c in cursor)
    ):
        raise InvalidInput(
            "cursor is not a position in this draw.",
            details={"problems": [{"field": "cursor", "problem": "not a draw cursor"}]},
        )
    record = queue.get(normalized, max_age=STATUS_CACHE_SECONDS)
    if record is None:
        raise NotFound("This event has no waiting room.")
    now = clock.epoch()
    record = _advance(record, now, events=events, queue=queue)
    drawn = record.drawn_at is not None
    chunk, next_cursor = queue.draw_page(normalized, cursor) if drawn else (None, None)
    tallies = queue.tallies(normalized, record.shards, max_age=STATUS_CACHE_SECONDS)
    through = 0
    if drawn:
        tail = _tail(record, tallies.arrivals)
        through = min(math.floor(frontier(record, now) + 1e-9), tail)
    let_in = admitted_people(record, tallies.arrivals, through) if drawn else 0
    return PublicQueue(
        event_id=record.event_id,
        opens_at=record.opens_at,
        state=state_of(record, now),
        enabled=record.enabled,
        max_admissions_per_minute=record.max_admissions_per_minute,
        seed_commitment=record.seed_commitment,
        seed=record.seed if drawn else None,
        pool_size=record.pool_size if drawn else None,
        drawn_at=record.drawn_at,
        order=chunk.entries if chunk else [],
        offset=chunk.offset if chunk else 0,
        next_cursor=next_cursor,
        joined=(record.pool_size if drawn else tallies.pool) + sum(tallies.arrivals.values()),
        admitted_through=through,
        admitted_people=let_in,
        rate_per_minute=(
            round(min(record.rate_per_minute, record.max_admissions_per_minute), 2)
            if drawn
            else None
        ),
        achieved_per_minute=round(achieved_per_minute(record, now), 2) if drawn else None,
    )


# ---------------------------------------------------------------------------- the sale path


def admit(
    event_id: str, person: str, token: str | None, *, queue: QueueStore, queue_keys: QueueKeys
) -> QueueRecord | None:
    """The event's queue when it is on and the caller holds a valid admission token for it (or
    the refusal that says what is wrong); None when the event sells without a queue."""
    normalized = event_id.strip().lower()
    if not ids.is_id(normalized):
        return None
    record = queue.get(normalized, max_age=SALE_CACHE_SECONDS)
    if record is None or not record.enabled:
        return None
    verify_admission(queue_keys, token, person=person, event_id=normalized, now=clock.epoch())
    return record


def observe_sale(record: QueueRecord, sell: Callable[[], T], *, queue: QueueStore) -> T:
    """Run a queued event's sale and record what it experienced for the controller: one small
    update of one of ``HEALTH_SHARDS`` items of the current window, never failing the sale."""
    started = timer()
    outcome = "sales"
    try:
        return sell()
    except StorageUnavailable as exc:
        # AWS out of capacity (after the SDK's retries) is a throttle; the rest are conflicts.
        outcome = "throttles" if exc.throttled else "conflicts"
        raise
    except ServiceUnavailable:
        outcome = "throttles"
        raise
    except GatepassError as exc:
        # A refusal the sale explains (sold out, limits) is a healthy answer; the transaction's
        # own "changed meanwhile" is a conflict.
        if type(exc) is Conflict:
            outcome = "conflicts"
        raise
    except Exception:
        outcome = "throttles"
        raise
    finally:
        latency_ms = int((timer() - started) * 1000)
        try:
            queue.record_sale(
                record.event_id,
                window=clock.epoch() // CONTROL_SECONDS,
                shard=random.randrange(HEALTH_SHARDS),  # noqa: S311 (spreads writes)
                outcome=outcome,
                latency_ms=latency_ms,
                slow=latency_ms > LATENCY_TARGET_MS,
            )
        except Exception:
            logger.warning("sale health not recorded", extra={"event_id": record.event_id})
