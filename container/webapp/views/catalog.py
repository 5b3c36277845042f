"""The catalog with search, an event's page with its ticket types, and ordering: one ticket in a
click ("Get ticket"), or a checkout that chooses quantities per type and names each ticket."""

from __future__ import annotations

import secrets
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from werkzeug.wrappers.response import Response

from gatepass import clock
from gatepass.ids import is_id
from webapp import activity
from webapp.api_client import ApiError
from webapp.auth import current_viewer, login_required
from webapp.extensions import limiter, not_a_search, search_limit
from webapp.services import EventRead, services
from webapp.views import queue as waitroom
from webapp.views import waitlist
from webapp.waitroom import ADMISSION

bp = Blueprint("catalog", __name__)

MAX_QUERY = 200


def page_arguments() -> tuple[str | None, int, int]:
    query = request.args.get("q", "").strip()[:MAX_QUERY] or None
    page = request.args.get("page", "1")
    per_page = request.args.get("per_page", str(current_app.config["PAGE_SIZE"]))
    if not page.isdigit() or not per_page.isdigit():
        abort(400, "page and per_page are positive whole numbers")
    return query, max(1, min(int(page), 10_000)), max(1, min(int(per_page), 50))


@bp.get("/")
@limiter.shared_limit(search_limit, scope="search", exempt_when=not_a_search)
def index() -> str:
    query, page, per_page = page_arguments()
    found = services().catalog(query, page, per_page)
    if query:
        activity.record("search", query=query[:200], results=found["total"])
    return render_template("catalog.html", query=query or "", **found)


MAX_ORDER = 20
MAX_NAME = 100


@bp.get("/events/<event_id>")
def event(event_id: str) -> str:
    found = _event_read(event_id)
    viewer = current_viewer()
    held = services().ticket_for(viewer.email, event_id) if viewer else None
    activity.record("event_view", event_id)
    queue = services().queue_of(event_id)
    admitted = in_line = None
    if queue is not None and viewer is not None:
        # What this session holds, without asking the API: the queue page asks.
        store = services().queue_tokens
        admitted = store.find(ADMISSION, viewer.session_id, event_id) if store else None
        in_line = waitroom.in_line(viewer, event_id)
    return render_template(
        "event.html",
        event=found.event,
        queue=queue,
        in_line=in_line,
        admitted_left=waitroom.seconds_left(admitted[1]) if admitted else None,
        places=waitlist.places_by_type(viewer, found.event),
        event_upcoming=str(found.event["starts_at"]) > clock.iso(clock.now()),
        quick_type=next((t for t in found.event["ticket_types"] if t["on_sale"]), None),
        is_organizer=bool(viewer and viewer.email == found.organizer),
        held=held,
        notice=found.notice,
        idempotency_key=secrets.token_urlsafe(16),
    )


@bp.get("/events/<event_id>/checkout")
@login_required
def checkout(event_id: str) -> Response | str:
    """Step 1 chooses how many of each type; step 2 (with quantities) names every ticket."""
    public = _event_read(event_id).event
    admitted = None
    if services().queue_of(event_id) is not None:
        viewer = current_viewer()
        assert viewer is not None
        admitted = waitroom.admission_for(viewer, event_id)
        if admitted is None:
            return waitroom.back_to_the_line(event_id, waitroom.NOT_ADMITTED)
    on_sale = [t for t in public["ticket_types"] if t["on_sale"]]
    chosen: list[dict[str, Any]] = []
    problem = None
    if any(key.startswith("qty-") for key in request.args):
        for kind in on_sale:
            wanted = request.args.get(f"qty-{kind['ticket_type_id']}", "0")
            count = int(wanted) if wanted.isdigit() else 0
            most = min(kind["max_per_order"], kind["left"])
            if count > most:
                problem = f"At most {most} {kind['name']}."
            chosen += [kind] * count
        if not chosen:
            problem = problem or "Choose at least one ticket."
        elif len(chosen) > public["max_tickets_per_buyer"]:
            problem = f"At most {public['max_tickets_per_buyer']} tickets per person."
    if problem:
        flash(problem, "error")
        chosen = []
    return render_template(
        "checkout.html",
        event=public,
        on_sale=on_sale,
        chosen=chosen,
        idempotency_key=secrets.token_urlsafe(16),
        admitted_left=waitroom.seconds_left(admitted[1]) if admitted else None,
    )


@bp.post("/events/<event_id>/tickets")
@login_required
def take_ticket(event_id: str) -> Response | str:
    if not is_id(event_id):
        abort(404)
    viewer = current_viewer()
    assert viewer is not None
    # One key per rendering of the form: a double click or a retried post gets the same order.
    key = request.form.get("idempotency_key", "").strip()[:64] or secrets.token_urlsafe(16)
    type_ids = request.form.getlist("ticket_type_id")[:MAX_ORDER]
    names = request.form.getlist("attendee_name")[:MAX_ORDER]
    if not all(is_id(type_id) for type_id in type_ids):
        abort(400, "not a ticket type of this event")
    lines = [
        {
            "ticket_type_id": type_id,
            "attendee_name": (names[i] if i < len(names) else "")[:MAX_NAME],
        }
        for i, type_id in enumerate(type_ids)
    ]
    admission = None
    if services().queue_of(event_id) is not None:
        # The sale is behind a queue: only with this session's admission, which the site adds
        # itself (the token is never in the page or a URL).
        admitted = waitroom.admission_for(viewer, event_id)
        if admitted is None:
            return waitroom.back_to_the_line(event_id, waitroom.NOT_ADMITTED)
        admission = admitted[0]
    try:
        placed = services().api.create_ticket(
            viewer.token, event_id, key, lines or None, admission=admission
        )
    except ApiError as exc:
        if exc.status >= 500:
            raise
        back = waitroom.refused_purchase(exc, event_id)
        if back is not None:
            return back
        flash(exc.message, "error")
        return redirect(url_for("catalog.event", event_id=event_id))
    if "attendee_name" not in request.form:
        # "Get ticket": one ticket, straight to where it is shown.
        flash("Your ticket is ready. Show its QR code at the door.", "success")
        return redirect(url_for("tickets.mine"))
    public = _event_read(event_id).event
    names_of = {t["ticket_type_id"]: t["name"] for t in public["ticket_types"]}
    return render_template(
        "order_confirmed.html", event=public, order=placed["order"], type_names=names_of
    )


def _event_read(event_id: str) -> EventRead:
    if not is_id(event_id):
        abort(404)
    found = services().event_read(event_id)
    if found is None:
        abort(404)
    return found
