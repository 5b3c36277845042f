"""What an organizer reads about an event: sales per ticket type, attendees by type, and the
attendee export as CSV.

The CSV is written a batch of rows at a time from a server-side cursor, so an event of any size
streams in constant memory. Cells that a spreadsheet would run as a formula (text starting with
``=``, ``+``, ``-``, ``@``, a tab or a carriage return: OWASP's "CSV injection") are prefixed
with an apostrophe, which spreadsheets show as text and do not evaluate.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Excel reads a UTF-8 file as the local code page unless it starts with a byte-order mark.
BOM = "\ufeff"

CSV_COLUMNS = (
    ("ticket_type", "Ticket type"),
    ("attendee_name", "Attendee name"),
    ("holder", "Holder email"),
    ("status", "Status"),
    ("ticket_id", "Ticket ID"),
    ("order_id", "Order ID"),
    ("buyer", "Buyer email"),
    ("issued_at", "Issued at (UTC)"),
    ("checked_in_at", "Checked in at (UTC)"),
    ("revoked_at", "Revoked at (UTC)"),
    ("revoked_reason", "Revoked because"),
    ("transferred_from", "Transferred from ticket"),
    ("transferred_to", "Transferred to ticket"),
)
STATUS_LABELS = {
    "issued": "Issued",
    "checked_in": "Checked in",
    "cancelled": "Cancelled",
    "transferred": "Transferred",
}
# Rows written to the buffer before it is handed to the server as one chunk.
CHUNK_ROWS = 200


def safe_cell(value: Any) -> str:
    """A cell as text that no spreadsheet evaluates."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def attendees_csv(rows: Iterable[Mapping[str, Any]]) -> Iterator[str]:
    """The header, then every row, in chunks of ``CHUNK_ROWS`` rows (RFC 4180 quoting, CRLF)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([title for _, title in CSV_COLUMNS])
    yield BOM + buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    pending = 0
    for row in rows:
        writer.writerow([safe_cell(row.get(key)) for key, _ in CSV_COLUMNS])
        pending += 1
        if pending == CHUNK_ROWS:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    if pending:
        yield buffer.getvalue()


def type_sales(
    row: Mapping[str, Any], waiting: Mapping[str, int] | None = None
) -> list[dict[str, Any]]:
    """Per ticket type of an event row (``ReadModel.event``): quota, sold, left, checked in and
    waiting (people in the type's line not yet offered a seat; None when not asked).
    ``left`` is what can still be bought: never more than the event's seats left."""
    event_left = max(0, int(row.get("available") or 0))
    return [
        {
            "ticket_type_id": kind["ticket_type_id"],
            "name": kind["name"],
            "quota": kind["quota"],
            "sold": kind["sold"],
            "left": max(0, min(int(kind["available"]), event_left)),
            "held": kind["held"],
            "checked_in": kind["checked_in"],
            "paused": kind["paused"],
            "waiting": None if waiting is None else int(waiting.get(kind["ticket_type_id"], 0)),
        }
        for kind in row.get("ticket_types", [])
    ]


def by_type(sales: list[dict[str, Any]], attendees: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each type's sales with its attendees, in the organizer's order (a ticket of a type that
    is unknown to the read model yet goes under "Other tickets")."""
    groups: dict[str, dict[str, Any]] = {
        kind["ticket_type_id"]: {**kind, "attendees": []} for kind in sales
    }
    other: list[dict[str, Any]] = []
    for attendee in attendees:
        group = groups.get(attendee.get("ticket_type_id") or "")
        (group["attendees"] if group else other).append(attendee)
    found = list(groups.values())
    if other:
        found.append({"ticket_type_id": None, "name": "Other tickets", "attendees": other})
    return found
