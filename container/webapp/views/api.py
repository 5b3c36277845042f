"""The site's reads as JSON. Errors answer ``{"error": {"code", "message"}}``."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, jsonify, request
from flask.typing import ResponseReturnValue

from gatepass.ids import is_id
from webapp import reports
from webapp.auth import current_viewer, login_required
from webapp.extensions import limiter, not_a_search, search_limit
from webapp.services import services
from webapp.views.catalog import page_arguments
from webapp.views.organizer import owned_event

bp = Blueprint("api", __name__, url_prefix="/api")


@bp.get("/events")
@limiter.shared_limit(search_limit, scope="search", exempt_when=not_a_search)
def events() -> ResponseReturnValue:
    query, page, per_page = page_arguments()
    return jsonify(services().catalog(query, page, per_page))


@bp.get("/events/<event_id>")
def event(event_id: str) -> ResponseReturnValue:
    found = services().event_read(event_id) if is_id(event_id) else None
    if found is None:
        abort(404)
    if found.notice:
        return jsonify({**found.event, "notice": found.notice})
    return jsonify(found.event)


@bp.get("/me/tickets")
@login_required
def my_tickets() -> ResponseReturnValue:
    viewer = current_viewer()
    assert viewer is not None
    tickets = services().read_model.tickets_of(viewer.email)
    return jsonify({"tickets": [_ticket(t) for t in tickets]})


def _ticket(row: dict[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in row if k != "code"}


@bp.get("/events/<event_id>/attendees")
@login_required
def attendees(event_id: str) -> ResponseReturnValue:
    row = owned_event(event_id)
    listed = services().read_model.attendees(event_id)
    return jsonify({**_sales(row), "attendees": listed})


@bp.get("/events/<event_id>/sales")
@login_required
def sales(event_id: str) -> ResponseReturnValue:
    """The counts alone (what the attendee page polls): per type sold, left, checked in and
    waiting, and the event's totals."""
    return jsonify(_sales(owned_event(event_id)))


def _sales(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "event_id": row["event_id"],
        "status": row["status"],
        "capacity": row["capacity"],
        "sold": row["sold"],
        "left": max(0, int(row["available"])),
        "checked_in": row["checked_in"],
        "ticket_types": reports.type_sales(
            row, services().read_model.waiting_by_type(row["event_id"])
        ),
    }


@bp.get("/events/<event_id>/waitlist")
@login_required
def waiting_lines(event_id: str) -> ResponseReturnValue:
    """Each type's waiting list, in order (organizer only)."""
    owned_event(event_id)
    lines = services().read_model.waiting_lines(event_id)
    return jsonify({"event_id": event_id, "lines": lines})


@bp.get("/events/<event_id>/activity")
@login_required
def activity(event_id: str) -> ResponseReturnValue:
    owned_event(event_id)
    days = request.args.get("days", "14")
    if not days.isdigit() or not 1 <= int(days) <= 90:
        abort(400, "days is a whole number from 1 to 90")
    return jsonify(services().read_model.activity(event_id, int(days)))
