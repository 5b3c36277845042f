"""Reads of the waiting list in the read model, for the web: how many wait per type, and a
person's places with their positions (docs/web.md, "Read model"). Positions count the entries
still ``waiting`` ahead in the same line, in join order, as the API's ``GET /my-waitlist`` does."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text

# Entries with these statuses are in a line: waiting, or holding an offer.
LIVE = ("waiting", "offered")

_WAITING = text(
    "SELECT ticket_type_id, count(*) AS waiting FROM waitlist_entries"
    " WHERE event_id = :event_id AND status = 'waiting' AND NOT deleted"
    " GROUP BY ticket_type_id"
)

_PLACES = text(
    "SELECT e.entry_id, e.event_id, e.ticket_type_id, e.status, e.joined_at, e.offer_id,"
    " e.expires_at AS offer_expires_at,"
    " CASE WHEN e.status = 'waiting' THEN 1 + ("
    "   SELECT count(*) FROM waitlist_entries a"
    "   WHERE a.event_id = e.event_id AND a.ticket_type_id = e.ticket_type_id"
    "   AND a.status = 'waiting' AND NOT a.deleted"
    "   AND (a.joined_at, a.entry_id) < (e.joined_at, e.entry_id)"
    " ) END AS position"
    " FROM waitlist_entries e"
    " WHERE e.person = :person AND e.status IN ('waiting', 'offered') AND NOT e.deleted"
    " ORDER BY e.joined_at, e.entry_id"
)


_LINES = text(
    "SELECT ticket_type_id, person, status, joined_at, expires_at AS offer_expires_at"
    " FROM waitlist_entries"
    " WHERE event_id = :event_id AND status IN ('waiting', 'offered') AND NOT deleted"
    " ORDER BY ticket_type_id, joined_at, entry_id"
)


def waiting_by_type(conn: Connection, event_id: str) -> dict[str, int]:
    """People waiting (not yet offered a seat) in each of the event's lines."""
    rows = conn.execute(_WAITING, {"event_id": event_id}).all()
    return {str(row.ticket_type_id): int(row.waiting) for row in rows}


def places(conn: Connection, person: str) -> list[dict[str, Any]]:
    """The person's live places, oldest first: ``position`` while waiting (1 is next), the
    offer's id and expiry while offered."""
    return [dict(row._mapping) for row in conn.execute(_PLACES, {"person": person})]


def lines(conn: Connection, event_id: str) -> list[dict[str, Any]]:
    """Everyone in the event's lines (waiting or holding an offer), each line in join order."""
    return [dict(row._mapping) for row in conn.execute(_LINES, {"event_id": event_id})]
