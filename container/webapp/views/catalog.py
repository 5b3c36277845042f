"""The catalog with search, and an event's page with its "Get ticket" action."""

from __future__ import annotations

import secrets

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from werkzeug.wrappers.response import Response

from gatepass.ids import is_id
from webapp import activity
from webapp.api_client import ApiError
from webapp.auth import current_viewer, login_required
from webapp.extensions import limiter, not_a_search, search_limit
from webapp.services import services

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


@bp.get("/events/<event_id>")
def event(event_id: str) -> str:
    if not is_id(event_id):
        abort(404)
    found = services().event_read(event_id)
    if found is None:
        abort(404)
    viewer = current_viewer()
    held = services().ticket_for(viewer.email, event_id) if viewer else None
    activity.record("event_view", event_id)
    return render_template(
        "event.html",
        event=found.event,
        is_organizer=bool(viewer and viewer.email == found.organizer),
        held=held,
        notice=found.notice,
        idempotency_key=secrets.token_urlsafe(16),
    )


@bp.post("/events/<event_id>/tickets")
@login_required
def take_ticket(event_id: str) -> Response:
    if not is_id(event_id):
        abort(404)
    viewer = current_viewer()
    assert viewer is not None
    # One key per rendering of the form: a double click or a retried post gets the same ticket.
    key = request.form.get("idempotency_key", "").strip()[:64] or secrets.token_urlsafe(16)
    try:
        services().api.create_ticket(viewer.token, event_id, key)
    except ApiError as exc:
        if exc.status >= 500:
            raise
        flash(exc.message, "error")
        return redirect(url_for("catalog.event", event_id=event_id))
    flash("Your ticket is ready. Show its QR code at the door.", "success")
    return redirect(url_for("tickets.mine"))
