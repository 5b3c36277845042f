"""Organizer pages: my events, a new event with its image, attendees by type and their CSV
export, scanner, dashboard."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from werkzeug.exceptions import Forbidden

from gatepass.ids import is_id
from webapp import activity, reports
from webapp.api_client import ApiError
from webapp.auth import current_viewer, is_api_request, login_required
from webapp.services import services

bp = Blueprint("organizer", __name__, url_prefix="/organizer")

IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp")
_LOCAL_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$")


class NotOrganizer(Forbidden):
    code_name = "forbidden"
    description = "Only this event's organizer can see or change this."


def owned_event(event_id: str) -> dict[str, Any]:
    """The event, if the signed-in viewer organizes it."""
    viewer = current_viewer()
    if viewer is None or not is_id(event_id):
        abort(404)
    row = services().read_model.event(event_id)
    if row is None:
        abort(404)
    if row["organizer"] != viewer.email:
        raise NotOrganizer()
    return row


def starts_at_from_form(local: str, offset_minutes: str) -> str:
    """``datetime-local`` plus the browser's UTC offset for that date, as ISO-8601 with zone."""
    if not _LOCAL_TIME.match(local):
        raise ValueError("Choose a start date and time.")
    try:
        minutes = int(offset_minutes or "0")
    except ValueError as exc:
        raise ValueError("The time zone offset is not valid.") from exc
    if not -14 * 60 <= minutes <= 14 * 60:
        raise ValueError("The time zone offset is not valid.")
    moment = datetime.fromisoformat(local).replace(tzinfo=timezone(timedelta(minutes=minutes)))
    return moment.isoformat(timespec="seconds")


def event_from_form(form: Any) -> tuple[dict[str, Any], dict[str, Any] | None]:
    title = form.get("title", "").strip()
    if not title:
        raise ValueError("Give the event a title.")
    capacity = form.get("capacity", "").strip()
    if not capacity.isdigit() or int(capacity) < 1:
        raise ValueError("Capacity is a whole number of seats, at least 1.")
    event = {
        "title": title,
        "description": form.get("description", "").strip(),
        "venue": form.get("venue", "").strip(),
        "starts_at": starts_at_from_form(
            form.get("starts_at", "").strip(), form.get("tz_offset", "0")
        ),
        "capacity": int(capacity),
    }
    image_upload = None
    content_type = form.get("image_content_type", "").strip()
    if content_type:
        size = form.get("image_size", "").strip()
        if content_type not in IMAGE_TYPES or not size.isdigit():
            raise ValueError("The image must be a JPEG, PNG or WebP file.")
        image_upload = {"content_type": content_type, "size": int(size)}
    return event, image_upload


@bp.get("/")
@login_required
def home() -> str:
    viewer = current_viewer()
    assert viewer is not None
    return render_template("organizer.html", events=services().read_model.events_of(viewer.email))


@bp.get("/events/new")
@login_required
def new_event() -> str:
    return render_template("event_new.html", form={}, image_types=IMAGE_TYPES)


@bp.post("/events")
@login_required
def create_event() -> Any:
    viewer = current_viewer()
    assert viewer is not None
    try:
        event, image_upload = event_from_form(request.form)
    except ValueError as exc:
        if is_api_request():
            body = {"error": {"code": "validation_error", "message": str(exc)}}
            return jsonify(body), 400
        flash(str(exc), "error")
        page = render_template("event_new.html", form=request.form, image_types=IMAGE_TYPES)
        return page, 400
    created = services().api.create_event(viewer.token, event, image_upload)
    event_id = created.event["event_id"]
    if is_api_request():
        return jsonify(
            {
                "event_id": event_id,
                "event_url": url_for("catalog.event", event_id=event_id),
                "status_url": url_for("api.event", event_id=event_id),
                "upload": created.upload,
            }
        ), 201
    flash("Event created. It appears in the catalog within a few seconds.", "success")
    return redirect(url_for("organizer.home"))


def live_door(event_id: str) -> dict[str, Any]:
    """The door's live counts from the API (exact to the scan), or why they are missing: the
    page still shows what the read model has."""
    viewer = current_viewer()
    assert viewer is not None
    try:
        return {"door": services().api.event_door(viewer.token, event_id), "door_error": None}
    except ApiError as exc:
        return {"door": None, "door_error": exc.message}


@bp.get("/events/<event_id>/attendees")
@login_required
def attendees(event_id: str) -> str:
    row = owned_event(event_id)
    read_model = services().read_model
    sales = reports.type_sales(row, read_model.waiting_by_type(event_id))
    return render_template(
        "attendees.html",
        event=services().public_event(row),
        sales=sales,
        lines=read_model.waiting_lines(event_id),
        groups=reports.by_type(sales, services().read_model.attendees(event_id)),
        status_labels=reports.STATUS_LABELS,
        **live_door(event_id),
    )


@bp.get("/events/<event_id>/attendees.csv")
@login_required
def attendees_csv(event_id: str) -> Response:
    """Every ticket of the event as CSV, streamed from a server-side cursor."""
    owned_event(event_id)
    rows = services().read_model.stream_attendees(event_id)
    return Response(
        stream_with_context(reports.attendees_csv(rows)),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="attendees-{event_id}.csv"',
            # Behind a proxy that buffers, the first bytes should still leave at once.
            "X-Accel-Buffering": "no",
        },
    )


@bp.get("/events/<event_id>/scan")
@login_required
def scanner(event_id: str) -> str:
    row = owned_event(event_id)
    activity.record("check_in_view", event_id)
    return render_template("scan.html", event=services().public_event(row), result=None)


@bp.post("/events/<event_id>/check-in")
@login_required
def check_in(event_id: str) -> Any:
    row = owned_event(event_id)
    viewer = current_viewer()
    assert viewer is not None
    code = request.form.get("code", "").strip()
    if not code:
        if is_api_request():
            body = {"error": {"code": "validation_error", "message": "Scan or type a code."}}
            return jsonify(body), 400
        abort(400, "Scan or type a code.")
    try:
        answer = services().api.check_in(viewer.token, event_id, code)
    except ApiError as exc:
        if is_api_request() or exc.status >= 500:
            raise
        result = {"ok": False, "code": exc.code, "message": exc.message, **exc.details}
        page = render_template("scan.html", event=services().public_event(row), result=result)
        return page, exc.status
    if is_api_request():
        return jsonify(answer)
    result = {"ok": True, "message": f"Checked in {answer.get('holder', '')}.", **answer}
    return render_template("scan.html", event=services().public_event(row), result=result)


@bp.get("/events/<event_id>/dashboard")
@login_required
def dashboard(event_id: str) -> str:
    row = owned_event(event_id)
    return render_template(
        "dashboard.html",
        event=services().public_event(row),
        activity=services().read_model.activity(event_id, 14),
        **live_door(event_id),
    )
