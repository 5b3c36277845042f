"""The waiting list on the site: joining a sold-out type's line from the event page and seeing
one's place, leaving it, and the offer page the emailed link opens (``/offers/<offer_id>``),
where the seat is claimed (or declined). Writes go through the API (``/join-waitlist``,
``/leave-waitlist``, ``/claim-offer``, ``/decline-offer``); places are read with
``/my-waitlist``, which numbers them consistently with the line."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from werkzeug.wrappers.response import Response

from gatepass.ids import is_id
from webapp.api_client import ApiError
from webapp.auth import Viewer, current_viewer, is_api_request, login_required
from webapp.services import services

bp = Blueprint("waitlist", __name__)
log = logging.getLogger(__name__)

MAX_NAME = 100
REFUSALS = {
    "offer_expired": "This offer has expired",
    "offer_already_claimed": "This offer has already been claimed",
    "offer_declined": "This offer was declined",
    "forbidden": "This offer is not yours",
    "not_found": "There is no such offer",
    "event_cancelled": "The event has been cancelled",
    "event_started": "The event has already started",
    "buyer_limit_reached": "You have all the tickets you may have",
    "no_open_offer": "There is no open offer here",
}


def my_places(viewer: Viewer) -> list[dict[str, Any]] | None:
    """The viewer's places in lines (None if the API cannot say right now)."""
    try:
        return list(services().api.my_waitlist(viewer.token).get("entries", []))
    except ApiError as exc:
        log.warning("waiting-list places unavailable: %s", exc.code)
        return None


def places_by_type(viewer: Viewer | None, event: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The viewer's place per ticket type of ``event``; asked only when a type is sold out (a
    place or an offer exists only then)."""
    if viewer is None or not any(kind["left"] == 0 for kind in event.get("ticket_types", [])):
        return {}
    return {
        place["ticket_type_id"]: place
        for place in my_places(viewer) or []
        if place.get("event_id") == event["event_id"]
    }


@bp.post("/events/<event_id>/waitlist")
@login_required
def join(event_id: str) -> Any:
    type_id = request.form.get("ticket_type_id", "")
    if not is_id(event_id) or not is_id(type_id):
        abort(404)
    viewer = _viewer()
    try:
        answer = services().api.join_waitlist(viewer.token, event_id, type_id)
    except ApiError as exc:
        if is_api_request() or exc.status >= 500:
            raise
        if exc.code == "already_waiting":
            place = exc.details.get("entry") or {}
            flash(_where(place, _type_name(event_id, type_id)), "success")
        else:
            flash(exc.message, "error")
        return redirect(url_for("catalog.event", event_id=event_id))
    if is_api_request():
        return jsonify(answer), 201
    flash(
        _where(answer["entry"], _type_name(event_id, type_id))
        + " We email you a link if a seat comes free.",
        "success",
    )
    return redirect(url_for("catalog.event", event_id=event_id))


@bp.post("/events/<event_id>/waitlist/leave")
@login_required
def leave(event_id: str) -> Any:
    type_id = request.form.get("ticket_type_id", "")
    if not is_id(event_id) or not is_id(type_id):
        abort(404)
    try:
        answer = services().api.leave_waitlist(_viewer().token, event_id, type_id)
    except ApiError as exc:
        if is_api_request() or exc.status >= 500:
            raise
        flash(exc.message, "error")
        return redirect(url_for("catalog.event", event_id=event_id))
    if is_api_request():
        return jsonify(answer)
    flash(f"You left the waiting list for {_type_name(event_id, type_id)}.", "success")
    return redirect(url_for("catalog.event", event_id=event_id))


# ---------------------------------------------------------------------------- offers


@bp.get("/offers/<offer_id>")
@login_required
def offer(offer_id: str) -> Any:
    if not is_id(offer_id):
        abort(404)
    viewer = _viewer()
    places = my_places(viewer)
    if places is None:
        raise ApiError(503, "api_unavailable", "Your offer cannot be shown right now; try again.")
    place = next((p for p in places if p.get("offer_id") == offer_id), None)
    if place is None:
        return _refused(
            ApiError(
                404,
                "no_open_offer",
                "This offer has ended, was claimed, or was made to someone else (signed in as "
                f"{viewer.email}). Your tickets and your places in line are under My tickets.",
            )
        )
    found = services().event_read(place["event_id"])
    event = found.event if found else {"event_id": place["event_id"], "ticket_types": []}
    kind = next(
        (k for k in event["ticket_types"] if k["ticket_type_id"] == place["ticket_type_id"]),
        {"name": "Ticket"},
    )
    return render_template("offer.html", place=place, event=event, kind=kind)


@bp.post("/offers/<offer_id>/claim")
@login_required
def claim(offer_id: str) -> Any:
    if not is_id(offer_id):
        abort(404)
    name = request.form.get("attendee_name", "").strip()[:MAX_NAME]
    try:
        answer = services().api.claim_offer(_viewer().token, offer_id, name)
    except ApiError as exc:
        if is_api_request() or exc.status >= 500:
            raise
        return _refused(exc)
    if is_api_request():
        return jsonify(answer)
    order = answer["order"]
    found = services().event_read(order["event_id"])
    event = found.event if found else {"event_id": order["event_id"], "title": "the event"}
    names = {t["ticket_type_id"]: t["name"] for t in event.get("ticket_types", [])}
    return render_template("order_confirmed.html", event=event, order=order, type_names=names)


@bp.post("/offers/<offer_id>/decline")
@login_required
def decline(offer_id: str) -> Any:
    if not is_id(offer_id):
        abort(404)
    try:
        answer = services().api.decline_offer(_viewer().token, offer_id)
    except ApiError as exc:
        if is_api_request() or exc.status >= 500:
            raise
        return _refused(exc)
    if is_api_request():
        return jsonify(answer)
    flash("You declined the seat; it goes to the next person in line.", "success")
    return redirect(url_for("tickets.mine"))


# ---------------------------------------------------------------------------- helpers


def _viewer() -> Viewer:
    viewer = current_viewer()
    assert viewer is not None
    return viewer


def _type_name(event_id: str, type_id: str) -> str:
    found = services().event_read(event_id)
    for kind in found.event.get("ticket_types", []) if found else []:
        if kind["ticket_type_id"] == type_id:
            return str(kind["name"])
    return "this ticket type"


def _where(place: dict[str, Any], name: str) -> str:
    if place.get("status") == "offered":
        return f"A seat of {name} is offered to you: claim it from your email or My tickets."
    if place.get("position"):
        return f"You are number {place['position']} in line for {name}."
    return f"You are on the waiting list for {name}."


def _refused(exc: ApiError) -> Response:
    page = render_template(
        "refused.html",
        heading=REFUSALS.get(exc.code, "That could not be done"),
        message=exc.message,
        code=exc.code,
        back=url_for("tickets.mine"),
        back_label="Back to my tickets",
    )
    return Response(page, status=exc.status, mimetype="text/html")
