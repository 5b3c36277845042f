"""Reads from the PostgreSQL read model, with a pooled engine sized for gunicorn workers.

Rows come back as plain JSON-ready dicts (timestamps as ISO-8601 UTC strings) so they can be
cached in Redis as they are.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Iterator
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Engine,
    Integer,
    Select,
    and_,
    case,
    create_engine,
    event,
    func,
    select,
    text,
)
from sqlalchemy.engine import RowMapping

from gatepass import clock
from gatepass.readmodel import waitlist
from gatepass.readmodel.database import normalize_url
from gatepass.readmodel.iam_auth import token_maker
from gatepass.readmodel.schema import (
    activities,
    activity_daily,
    event_seats,
    events,
    stock_shards,
    ticket_types,
    tickets,
)
from webapp.config import Config


def _shards_sum(event_id: ColumnElement[str], value: ColumnElement[Any]) -> ColumnElement[int]:
    """``value`` summed over the event's stock shards (ADR 0070); 0 for an unsharded event."""
    return (
        select(func.coalesce(func.sum(value), 0))
        .where(stock_shards.c.event_id == event_id, stock_shards.c.deleted.is_(False))
        .scalar_subquery()
    )


def _shards_type_sum(column: str) -> ColumnElement[int]:
    """A type's slice of ``column`` (``types`` or ``types_sold``) summed over its shards."""
    slice_ = stock_shards.c[column][ticket_types.c.ticket_type_id].astext.cast(Integer)
    return _shards_sum(ticket_types.c.event_id, slice_)


# An event's seats and a type's counts as the API counts them: the row's own counter (with
# shards, the pool) plus what its stock shards hold and sold.
SEATS_SOLD = event_seats.c.sold + _shards_sum(event_seats.c.event_id, stock_shards.c.sold)
SEATS_AVAILABLE = event_seats.c.available + _shards_sum(
    event_seats.c.event_id, stock_shards.c.available
)
TYPE_SOLD = ticket_types.c.sold + _shards_type_sum("types_sold")
TYPE_AVAILABLE = ticket_types.c.available + _shards_type_sum("types")

# An event's row with its seats counter's numbers under the names the public view uses; an
# event projected before its seats shows every seat free until they arrive.
EVENT_COLUMNS = [
    *(c for c in events.c if c.name not in ("search", "deleted")),
    func.coalesce(SEATS_SOLD, 0).label("sold"),
    func.coalesce(event_seats.c.checked_in, 0).label("checked_in"),
    func.coalesce(event_seats.c.held, 0).label("held"),
    func.coalesce(SEATS_AVAILABLE, events.c.capacity).label("available"),
    func.coalesce(event_seats.c.status, "on_sale").label("status"),
]
EVENTS_WITH_SEATS = events.outerjoin(
    event_seats, and_(event_seats.c.event_id == events.c.event_id, event_seats.c.deleted.is_(False))
)
TYPE_COLUMNS = [
    TYPE_AVAILABLE.label("available")
    if c.name == "available"
    else TYPE_SOLD.label("sold")
    if c.name == "sold"
    else c
    for c in ticket_types.c
    if c.name not in ("deleted", "version")
]
# The numbers every sale moves (gatepass.readmodel.projection.COUNT_FIELDS), as the rows name them.
SEAT_COUNTS = ("available", "sold", "held", "checked_in")
TYPE_COUNTS = ("available", "sold", "held", "checked_in")


ATTENDEE_COLUMNS = [
    tickets.c.ticket_id,
    tickets.c.order_id,
    tickets.c.ticket_type_id,
    func.coalesce(ticket_types.c.name, "").label("ticket_type"),
    func.coalesce(tickets.c.attendee_name, "").label("attendee_name"),
    tickets.c.holder,
    tickets.c.buyer,
    tickets.c.status,
    tickets.c.issued_at,
    tickets.c.checked_in_at,
    tickets.c.revoked_at,
    tickets.c.revoked_reason,
    tickets.c.transferred_from,
    tickets.c.transferred_to,
]


def _attendees_query(event_id: str) -> Select[Any]:
    return (
        select(*ATTENDEE_COLUMNS)
        .select_from(
            tickets.outerjoin(
                ticket_types,
                and_(
                    ticket_types.c.ticket_type_id == tickets.c.ticket_type_id,
                    ticket_types.c.deleted.is_(False),
                ),
            )
        )
        .where(tickets.c.event_id == event_id, tickets.c.deleted.is_(False))
        .order_by(
            ticket_types.c.position.asc().nulls_last(),
            tickets.c.ticket_type_id,
            func.lower(func.coalesce(func.nullif(tickets.c.attendee_name, ""), tickets.c.holder)),
            tickets.c.holder,
            tickets.c.issued_at,
            tickets.c.ticket_id,
        )
    )


def use_iam_tokens(engine: Engine, *, region: str, client: Any = None) -> None:
    """Make every new connection of ``engine`` sign in with a fresh IAM token for its user."""
    url = engine.url
    if not url.host or not url.username:
        raise ValueError("IAM database authentication needs a host and a user name")
    token = token_maker(
        host=url.host, port=url.port or 5432, user=url.username, region=region, client=client
    )

    @event.listens_for(engine, "do_connect")
    def _token(dialect: Any, record: Any, cargs: Any, cparams: dict[str, Any]) -> None:
        cparams["password"] = token()


def make_engine(config: Config) -> Engine:
    connect_args: dict[str, Any] = {
        "application_name": "gatepass-web",
        "connect_timeout": 5,
        "options": f"-c statement_timeout={config.DB_STATEMENT_TIMEOUT_MS}",
    }
    engine = create_engine(
        normalize_url(config.DATABASE_URL),
        pool_size=config.DB_POOL_SIZE,
        max_overflow=config.DB_MAX_OVERFLOW,
        pool_timeout=config.DB_POOL_TIMEOUT,
        pool_recycle=config.DB_POOL_RECYCLE,
        pool_pre_ping=True,
        connect_args=connect_args,
    )
    if config.DB_IAM_AUTH:
        use_iam_tokens(engine, region=config.AWS_REGION)
    # gunicorn may fork after the app is built (preload): children must not share sockets.
    os.register_at_fork(after_in_child=lambda: engine.dispose(close=False))
    return engine


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return clock.iso(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _plain(row: RowMapping) -> dict[str, Any]:
    return {key: _json_value(value) for key, value in row.items()}


class ReadModel:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def catalog(self, query: str | None, page: int, per_page: int) -> dict[str, Any]:
        """Upcoming events first (soonest first), then past ones (latest first)."""
        now = clock.now()
        live = events.c.deleted.is_(False)
        condition: ColumnElement[bool] = live
        rank = None
        if query:
            tsquery = func.websearch_to_tsquery(text("'english'::regconfig"), query)
            condition = and_(live, events.c.search.op("@@")(tsquery))
            rank = func.ts_rank(events.c.search, tsquery)
        past = events.c.starts_at < now
        order = [
            past.asc(),
            case((past.is_(False), events.c.starts_at)).asc(),
            events.c.starts_at.desc(),
        ]
        if rank is not None:
            order.insert(1, rank.desc())
        statement = (
            select(*EVENT_COLUMNS, func.count().over().label("total"))
            .select_from(EVENTS_WITH_SEATS)
            .where(condition)
            .order_by(*order, events.c.event_id)
            .limit(per_page)
            .offset((page - 1) * per_page)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(statement).mappings().all()
            if rows:
                total = int(rows[0]["total"])
            else:
                total = int(conn.execute(select(func.count()).where(condition)).scalar_one())
        found = [{k: v for k, v in _plain(row).items() if k != "total"} for row in rows]
        return {
            "events": found,
            "page": page,
            "per_page": per_page,
            "total": total,
            "pages": max(1, math.ceil(total / per_page)),
        }

    def availability(self, event_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """What changes with every sale, for these events: the seats' counts and each type's
        (with stock shards, the pool's plus the shards'), read apart from the cached pages
        (ADR 0071). An event without its seats row yet is
        left out (its page's own numbers stand)."""
        wanted = sorted(set(event_ids))
        if not wanted:
            return {}
        seat_counts: dict[str, ColumnElement[Any]] = {n: event_seats.c[n] for n in SEAT_COUNTS}
        seat_counts.update(available=SEATS_AVAILABLE, sold=SEATS_SOLD)
        seats = select(
            event_seats.c.event_id, *(seat_counts[name].label(name) for name in SEAT_COUNTS)
        ).where(event_seats.c.event_id.in_(wanted), event_seats.c.deleted.is_(False))
        type_counts: dict[str, ColumnElement[Any]] = {n: ticket_types.c[n] for n in TYPE_COUNTS}
        type_counts.update(available=TYPE_AVAILABLE, sold=TYPE_SOLD)
        kinds = select(
            ticket_types.c.event_id,
            ticket_types.c.ticket_type_id,
            *(type_counts[name].label(name) for name in TYPE_COUNTS),
        ).where(ticket_types.c.event_id.in_(wanted), ticket_types.c.deleted.is_(False))
        found: dict[str, dict[str, Any]] = {}
        with self.engine.connect() as conn:
            for row in conn.execute(seats).mappings():
                found[row["event_id"]] = {
                    **{name: row[name] for name in SEAT_COUNTS},
                    "types": {},
                }
            for row in conn.execute(kinds).mappings():
                if row["event_id"] in found:
                    found[row["event_id"]]["types"][row["ticket_type_id"]] = {
                        name: row[name] for name in TYPE_COUNTS
                    }
        return found

    def event(self, event_id: str) -> dict[str, Any] | None:
        """The event with its seats and its ticket types (in the organizer's order)."""
        statement = (
            select(*EVENT_COLUMNS)
            .select_from(EVENTS_WITH_SEATS)
            .where(events.c.event_id == event_id, events.c.deleted.is_(False))
        )
        kinds = (
            select(*TYPE_COLUMNS)
            .where(ticket_types.c.event_id == event_id, ticket_types.c.deleted.is_(False))
            .order_by(ticket_types.c.position, ticket_types.c.ticket_type_id)
        )
        with self.engine.connect() as conn:
            row = conn.execute(statement).mappings().first()
            if row is None:
                return None
            types = [_plain(kind) for kind in conn.execute(kinds).mappings()]
        return {**_plain(row), "ticket_types": types}

    def events_of(self, organizer: str) -> list[dict[str, Any]]:
        statement = (
            select(*EVENT_COLUMNS)
            .select_from(EVENTS_WITH_SEATS)
            .where(events.c.organizer == organizer, events.c.deleted.is_(False))
            .order_by(events.c.starts_at.desc())
        )
        with self.engine.connect() as conn:
            return [_plain(row) for row in conn.execute(statement).mappings()]

    def tickets_of(self, holder: str) -> list[dict[str, Any]]:
        """Every ticket the person holds or held (cancelled, and given away by transfer), with
        its event, its type and, for a transfer, the other side's address; soonest event first,
        then by order."""
        given_to = tickets.alias("given_to")
        given_by = tickets.alias("given_by")
        statement = (
            select(
                tickets.c.ticket_id,
                tickets.c.event_id,
                tickets.c.status,
                tickets.c.code,
                tickets.c.issued_at,
                tickets.c.checked_in_at,
                tickets.c.order_id,
                tickets.c.ticket_type_id,
                func.coalesce(tickets.c.attendee_name, "").label("attendee_name"),
                tickets.c.buyer,
                tickets.c.revoked_at,
                tickets.c.revoked_reason,
                tickets.c.transferred_from,
                tickets.c.transferred_to,
                given_to.c.holder.label("transferred_to_holder"),
                given_by.c.holder.label("transferred_from_holder"),
                ticket_types.c.name.label("ticket_type"),
                events.c.title,
                events.c.venue,
                events.c.starts_at,
                func.coalesce(event_seats.c.status, "on_sale").label("event_status"),
            )
            .select_from(
                tickets.outerjoin(
                    events,
                    and_(events.c.event_id == tickets.c.event_id, events.c.deleted.is_(False)),
                )
                .outerjoin(
                    event_seats,
                    and_(
                        event_seats.c.event_id == tickets.c.event_id,
                        event_seats.c.deleted.is_(False),
                    ),
                )
                .outerjoin(
                    ticket_types,
                    and_(
                        ticket_types.c.ticket_type_id == tickets.c.ticket_type_id,
                        ticket_types.c.deleted.is_(False),
                    ),
                )
                .outerjoin(given_to, given_to.c.ticket_id == tickets.c.transferred_to)
                .outerjoin(given_by, given_by.c.ticket_id == tickets.c.transferred_from)
            )
            .where(tickets.c.holder == holder, tickets.c.deleted.is_(False))
            .order_by(
                events.c.starts_at.asc().nulls_last(),
                tickets.c.event_id,
                tickets.c.order_id.asc().nulls_last(),
                ticket_types.c.position.asc().nulls_last(),
                tickets.c.issued_at.asc(),
                tickets.c.ticket_id,
            )
        )
        with self.engine.connect() as conn:
            return [_plain(row) for row in conn.execute(statement).mappings()]

    def ticket_of(self, holder: str, ticket_id: str) -> dict[str, Any] | None:
        """One of ``tickets_of``, or None if the person never held it."""
        found = [t for t in self.tickets_of(holder) if t["ticket_id"] == ticket_id]
        return found[0] if found else None

    def ticket_exists(self, ticket_id: str) -> bool:
        statement = select(tickets.c.ticket_id).where(
            tickets.c.ticket_id == ticket_id, tickets.c.deleted.is_(False)
        )
        with self.engine.connect() as conn:
            return conn.execute(statement).first() is not None

    def ticket_for(self, holder: str, event_id: str) -> dict[str, Any] | None:
        """How many live tickets (issued or checked in) the person holds for the event, and the
        first of them; None when they hold none (cancelled and given-away ones do not count)."""
        statement = (
            select(tickets.c.ticket_id, tickets.c.status, func.count().over().label("count"))
            .where(
                tickets.c.holder == holder,
                tickets.c.event_id == event_id,
                tickets.c.deleted.is_(False),
                tickets.c.status.in_(("issued", "checked_in")),
            )
            .order_by(tickets.c.issued_at, tickets.c.ticket_id)
            .limit(1)
        )
        with self.engine.connect() as conn:
            row = conn.execute(statement).mappings().first()
        return _plain(row) if row else None

    def waiting_by_type(self, event_id: str) -> dict[str, int]:
        """People waiting (not yet offered) in each of the event's lines."""
        with self.engine.connect() as conn:
            return waitlist.waiting_by_type(conn, event_id)

    def waiting_lines(self, event_id: str) -> dict[str, list[dict[str, Any]]]:
        """Each type's line as the organizer sees it: who waits or holds an offer, in order."""
        with self.engine.connect() as conn:
            lines: dict[str, list[dict[str, Any]]] = {}
            for row in waitlist.lines(conn, event_id):
                plain = {name: _json_value(value) for name, value in row.items()}
                lines.setdefault(str(row["ticket_type_id"]), []).append(plain)
            return lines

    def attendees(self, event_id: str) -> list[dict[str, Any]]:
        """Every ticket of the event (cancelled and transferred ones too), by type in the
        organizer's order, then by attendee name."""
        with self.engine.connect() as conn:
            return [_plain(row) for row in conn.execute(_attendees_query(event_id)).mappings()]

    def stream_attendees(self, event_id: str, batch: int = 500) -> Iterator[dict[str, Any]]:
        """The same rows as ``attendees``, read through a server-side cursor ``batch`` rows at a
        time, so an export of any size holds one batch in memory. The connection stays checked
        out until the iterator is exhausted or closed."""
        with self.engine.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=batch).execute(
                _attendees_query(event_id)
            )
            for row in result.mappings():
                yield _plain(row)

    def activity(self, event_id: str, days: int) -> dict[str, Any]:
        """Daily activity counts by type, and check-ins per hour, for an event's dashboard."""
        since = (clock.now() - timedelta(days=days - 1)).date()
        daily = (
            select(activity_daily.c.day, activity_daily.c.type, activity_daily.c.count)
            .where(activity_daily.c.event_id == event_id, activity_daily.c.day >= since)
            .order_by(activity_daily.c.day, activity_daily.c.type)
        )
        hour = func.date_trunc("hour", tickets.c.checked_in_at).label("hour")
        check_ins = (
            select(hour, func.count().label("count"))
            .where(
                tickets.c.event_id == event_id,
                tickets.c.deleted.is_(False),
                tickets.c.checked_in_at.is_not(None),
            )
            .group_by(hour)
            .order_by(hour)
        )
        visitors = select(func.count(func.distinct(activities.c.actor))).where(
            activities.c.event_id == event_id, activities.c.deleted.is_(False)
        )
        with self.engine.connect() as conn:
            daily_rows = conn.execute(daily).mappings().all()
            hourly_rows = conn.execute(check_ins).mappings().all()
            distinct = int(conn.execute(visitors).scalar_one())
        day_list = [(since + timedelta(days=i)).isoformat() for i in range(days)]
        series: dict[str, list[int]] = {}
        for row in daily_rows:
            counts = series.setdefault(str(row["type"]), [0] * days)
            counts[day_list.index(row["day"].isoformat())] = int(row["count"])
        return {
            "event_id": event_id,
            "days": day_list,
            "series": series,
            "totals": {name: sum(counts) for name, counts in series.items()},
            "distinct_visitors": distinct,
            "check_ins_by_hour": [
                {"hour": clock.iso(row["hour"]), "count": int(row["count"])} for row in hourly_rows
            ],
        }
