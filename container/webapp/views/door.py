"""The door: the organizer's staff and gates page, and the installable offline scanner (a PWA
under /door/) that organizers and door staff use. Everything here reads and writes through the
API (docs/decisions/0060 to 0063): door counts must be exact to the scan, so they are never read
from the read model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)

from gatepass.ids import is_id
from webapp.api_client import ApiError
from webapp.auth import current_viewer, is_api_request, login_required
from webapp.services import services
from webapp.views.organizer import owned_event

bp = Blueprint("door", __name__)

STATIC = Path(__file__).resolve().parent.parent / "static"
GATE_MODES = {"both": "Entries and exits", "entry": "Entries only", "exit": "Exits only"}


def _token() -> str:
    viewer = current_viewer()
    assert viewer is not None
    return viewer.token


def door_of(event_id: str) -> dict[str, Any]:
    """The event's door as the API shows it to the signed-in viewer (403 for anyone who is
    neither its organizer nor its door staff)."""
    if not is_id(event_id):
        abort(404)
    return services().api.event_door(_token(), event_id)


# ---------------------------------------------------------------------------- organizer


@bp.get("/organizer/events/<event_id>/door")
@login_required
def manage(event_id: str) -> str:
    row = owned_event(event_id)
    return render_template(
        "door_manage.html",
        event=services().public_event(row),
        door=door_of(event_id),
        modes=GATE_MODES,
    )


def _after_change(event_id: str, message: str, answer: dict[str, Any]) -> Any:
    if is_api_request():
        return jsonify(answer)
    flash(message, "success")
    return redirect(url_for("door.manage", event_id=event_id))


def _refused(event_id: str, exc: ApiError) -> Any:
    if is_api_request() or exc.status >= 500:
        raise exc
    flash(exc.message, "error")
    row = owned_event(event_id)
    page = render_template(
        "door_manage.html",
        event=services().public_event(row),
        door=door_of(event_id),
        modes=GATE_MODES,
    )
    return page, exc.status


@bp.post("/organizer/events/<event_id>/door/staff")
@login_required
def add_staff(event_id: str) -> Any:
    owned_event(event_id)
    email = request.form.get("email", "").strip()
    try:
        answer = services().api.add_door_staff(_token(), event_id, email)
    except ApiError as exc:
        return _refused(event_id, exc)
    return _after_change(event_id, f"{answer['member']['email']} can now scan.", answer)


@bp.post("/organizer/events/<event_id>/door/staff/remove")
@login_required
def remove_staff(event_id: str) -> Any:
    owned_event(event_id)
    email = request.form.get("email", "").strip()
    try:
        answer = services().api.remove_door_staff(_token(), event_id, email)
    except ApiError as exc:
        return _refused(event_id, exc)
    return _after_change(event_id, f"{answer['member']['email']} can no longer scan.", answer)


@bp.post("/organizer/events/<event_id>/door/gates")
@login_required
def add_gate(event_id: str) -> Any:
    owned_event(event_id)
    gate = {
        "event_id": event_id,
        "name": request.form.get("name", "").strip(),
        "mode": request.form.get("mode", "both"),
        "ticket_type_ids": request.form.getlist("ticket_type_ids"),
    }
    try:
        answer = services().api.add_gate(_token(), gate)
    except ApiError as exc:
        return _refused(event_id, exc)
    return _after_change(event_id, f"Gate {answer['gate']['name']} added.", answer)


@bp.post("/organizer/events/<event_id>/door/gates/<gate_id>")
@login_required
def change_gate(event_id: str, gate_id: str) -> Any:
    owned_event(event_id)
    if not is_id(gate_id):
        abort(404)
    change: dict[str, Any] = {"event_id": event_id, "gate_id": gate_id}
    if "closed" in request.form:
        change["closed"] = request.form["closed"] == "true"
    try:
        answer = services().api.update_gate(_token(), change)
    except ApiError as exc:
        return _refused(event_id, exc)
    state = "closed" if answer["gate"]["closed"] else "open"
    return _after_change(event_id, f"Gate {answer['gate']['name']} is {state}.", answer)


# ---------------------------------------------------------------------------- the scanner app


@bp.get("/door/")
@login_required
def home() -> str:
    viewer = current_viewer()
    assert viewer is not None
    own = [
        {**row, "role": "organizer"}
        for row in services().read_model.events_of(viewer.email)
        if row.get("status") != "cancelled"
    ]
    staffed = services().api.door_events(viewer.token)["events"]
    return render_template("door_home.html", events=own + staffed)


@bp.get("/door/events/<event_id>")
@login_required
def scanner(event_id: str) -> str:
    door = door_of(event_id)
    return render_template(
        "door_scanner.html",
        door=door,
        bundle_key=_bundle_key(),
    )


@bp.get("/door/events/<event_id>/bundle")
@login_required
def bundle(event_id: str) -> Response:
    if not is_id(event_id):
        abort(404)
    answer = services().api.scanner_bundle(_token(), event_id)
    response = jsonify(answer)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/door/events/<event_id>/sync")
@login_required
def sync(event_id: str) -> Response:
    if not is_id(event_id):
        abort(404)
    body = request.get_json(silent=True)
    scans = body.get("scans") if isinstance(body, dict) else None
    if not isinstance(scans, list) or not scans:
        return _json_error(400, "validation_error", 'Send the queued scans as {"scans": [...]}.')
    answer = services().api.sync_scans(_token(), event_id, scans)
    return jsonify(answer)


@bp.get("/door/events/<event_id>/door")
@login_required
def state(event_id: str) -> Response:
    """The door's counts (and, for the organizer, its issues) for the scanner's status line."""
    return jsonify(door_of(event_id))


@bp.get("/door/manifest.webmanifest")
def manifest() -> Response:
    body = {
        "name": "Gatepass door scanner",
        "short_name": "Gatepass door",
        "description": "Scans Gatepass tickets at the door, with or without a network.",
        "start_url": url_for("door.home"),
        "scope": url_for("door.home"),
        "display": "standalone",
        "background_color": "#111827",
        "theme_color": "#111827",
        "icons": [
            {
                "src": url_for("door.icon"),
                "sizes": "any",
                "type": "image/svg+xml",
                "purpose": "any",
            }
        ],
    }
    response = jsonify(body)
    response.mimetype = "application/manifest+json"
    return response


@bp.get("/door/icon.svg")
def icon() -> Response:
    return send_file(STATIC / "door" / "icon.svg", mimetype="image/svg+xml", max_age=86400)


@bp.get("/door/sw.js")
def service_worker() -> Response:
    """Served from /door/ so that its scope is the scanner app; never cached by HTTP, so an
    update reaches scanners the next time they are online."""
    response = send_file(STATIC / "door" / "sw.js", mimetype="text/javascript", max_age=0)
    response.headers["Cache-Control"] = "no-cache"
    return response


def _json_error(status: int, code: str, message: str) -> Response:
    response = jsonify({"error": {"code": code, "message": message}})
    response.status_code = status
    return response


def _bundle_key() -> dict[str, Any]:
    """The key bundles must verify with, read from the API once per worker."""
    cached: dict[str, Any] | None = current_app.extensions.get("gatepass-bundle-key")
    if cached is None:
        cached = services().api.scanner_bundle_key()
        current_app.extensions["gatepass-bundle-key"] = cached
    return cached
