"""The waiting room on the site (issue 13): joining an event's queue and watching one's place,
being admitted and buying with the admission token the site keeps server-side, the public page
of the draw, and the organizer's page that puts an on-sale behind a queue.

Writes and per-person reads go through the API (``/join-queue``, ``/queue-status``,
``/configure-queue``); the public view of a queue is ``GET /events/{id}/queue``. Pages of a
person's place are never cached or shared (``Cache-Control: private, no-store``, ADR 0071).
"""

from __future__ import annotations

import logging
import math
import re
from datetime import datetime
from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from werkzeug.wrappers.response import Response

from gatepass import clock
from gatepass.ids import is_id
from webapp.api_client import ApiError
from webapp.auth import Viewer, current_viewer, is_api_request, login_required
from webapp.services import services
from webapp.views.manage import FormProblem, moment_from_form
from webapp.views.organizer import owned_event
from webapp.waitroom import ADMISSION, POSITION

bp = Blueprint("queue", __name__)
log = logging.getLogger(__name__)

# How often, at the longest, the queue page's script asks for the place again (it asks sooner
# when the API's poll_after_seconds says the turn is near), and the page without scripts reloads.
POLL_SECONDS = 5
LONGEST_POLL_SECONDS = 30  # before the draw, the API says to ask when it is due (at most this)
MAX_RATE = 240_000  # gatepass.models.queue.MAX_CAP
# API refusals of a purchase that mean "not let in (any more)": back to one's place in line.
ADMISSION_REFUSALS = {
    "admission_required": (
        "Tickets for this event are sold through a waiting room: you can buy once it is your "
        "turn in the queue."
    ),
    "admission_expired": (
        "Your time to buy had run out. If you are still let in, this page has a fresh turn "
        "for you; buy again from here."
    ),
    "admission_invalid": "Your turn to buy could not be checked. Here is your place in line.",
    "admission_not_yours": "That turn to buy was someone else's. Here is your own place in line.",
    "admission_wrong_event": "That turn to buy was for another event. Here is your place here.",
}
NOT_ADMITTED = ADMISSION_REFUSALS["admission_required"]
# The API no longer takes the position token this session kept: joining again answers the same
# place with a fresh one.
STALE_POSITION = frozenset(
    {
        "queue_token_required",
        "queue_token_invalid",
        "queue_token_not_yours",
        "queue_token_wrong_event",
    }
)
REFUSALS = {
    "queue_not_enabled": "This event's sale has no queue",
    "not_found": "There is no such event",
    "forbidden": "This is not your event",
    "event_cancelled": "The event has been cancelled",
    "event_started": "The event has already started",
}
# A queue's settings that come back on the form instead of a refusal page.
FORM_REFUSALS = frozenset(
    {
        "validation_error",
        "queue_opens_in_past",
        "queue_opens_after_event",
        "queue_already_drawn",
        "conflict",
    }
)
_CURSOR = re.compile(r"[0-9a-f]{64}")
PRIVATE = {"Cache-Control": "private, no-store", "Vary": "Cookie"}


# ---------------------------------------------------------------------------- what a place is


def estimate_words(seconds: Any) -> str | None:
    """An estimate said honestly: rounded up to whole minutes, never a false precision."""
    if not isinstance(seconds, int | float) or seconds < 0:
        return None
    if seconds < 60:
        return "less than a minute"
    minutes = math.ceil(seconds / 60)
    if minutes < 90:
        return f"about {minutes} minutes"
    return f"about {math.ceil(minutes / 60)} hours"


def seconds_left(until: Any) -> int | None:
    if isinstance(until, int | float):
        return max(0, int(until) - clock.epoch())
    return None


def place_of(status: dict[str, Any] | None) -> dict[str, Any]:
    """The viewer's place as the pages show it: ``state`` is ``not_in_line``, ``before_draw``
    (joined before the opening: places are drawn then; ``drawing`` while the draw is made),
    ``waiting``, ``admitted``, or ``off`` (the queue was turned off: anyone can buy)."""
    if status is None:
        return {"state": "not_in_line"}
    api_state = str(status.get("state") or "")
    if api_state == "off":
        state = "off"
    elif status.get("admitted"):
        state = "admitted"
    elif api_state in ("scheduled", "drawing") or status.get("position") is None:
        state = "before_draw"
    else:
        state = "waiting"
    return {
        "state": state,
        "drawing": api_state == "drawing",
        "phase": status.get("phase"),
        "opens_at": status.get("opens_at"),
        "position": status.get("position"),
        "ahead": status.get("people_ahead"),
        "estimate": estimate_words(status.get("estimated_wait_seconds")),
        "rate_per_minute": status.get("rate_per_minute"),
        "entry_id": status.get("entry_id"),
        "poll_seconds": _poll_seconds(status.get("poll_after_seconds")),
    }


def _poll_seconds(asked: Any) -> int:
    """The API's poll_after_seconds within 1..LONGEST_POLL_SECONDS (POLL_SECONDS when it says
    nothing)."""
    if isinstance(asked, int) and not isinstance(asked, bool) and asked > 0:
        return min(asked, LONGEST_POLL_SECONDS)
    return POLL_SECONDS


def in_line(viewer: Viewer, event_id: str) -> bool:
    """Whether this session joined the event's queue (no call to the API)."""
    store = services().queue_tokens
    return store is not None and store.find(POSITION, viewer.session_id, event_id) is not None


def status_of(viewer: Viewer, event_id: str) -> dict[str, Any] | None:
    """The viewer's status in the event's queue, None if this session is not in line; an
    admission it carries is kept server-side for the purchase."""
    store = services().queue_tokens
    held = store.find(POSITION, viewer.session_id, event_id) if store is not None else None
    if held is None:
        return None
    try:
        status = services().api.queue_status(viewer.token, event_id, held[0])
    except ApiError as exc:
        if exc.code == "queue_not_enabled":
            return {"state": "off"}
        if exc.code not in STALE_POSITION:
            raise
        try:
            status = _join(viewer, event_id)["status"]
        except ApiError as again:
            if again.code == "queue_not_enabled":
                return {"state": "off"}
            raise
    _keep_admission(viewer, event_id, status)
    return status


def _join(viewer: Viewer, event_id: str) -> dict[str, Any]:
    answer = services().api.join_queue(viewer.token, event_id)
    store = services().queue_tokens
    if store is not None and answer.get("position_token"):
        store.keep(POSITION, viewer.session_id, event_id, str(answer["position_token"]))
    _keep_admission(viewer, event_id, answer.get("status") or {})
    return answer


def _keep_admission(viewer: Viewer, event_id: str, status: dict[str, Any]) -> None:
    store = services().queue_tokens
    if store is not None and status.get("admission_token"):
        store.keep(
            ADMISSION,
            viewer.session_id,
            event_id,
            str(status["admission_token"]),
            status.get("admission_expires_at"),
        )


def admission_for(viewer: Viewer, event_id: str) -> tuple[str, int] | None:
    """The viewer's admission to buy for the event (token, expiry): this session's, else a
    fresh one if the API says they are let in."""
    store = services().queue_tokens
    if store is None:
        return None
    found = store.find(ADMISSION, viewer.session_id, event_id)
    if found is not None:
        return found
    try:
        status_of(viewer, event_id)
    except ApiError as exc:
        log.warning("queue status unavailable: %s", exc.code)
        return None
    return store.find(ADMISSION, viewer.session_id, event_id)


def back_to_the_line(event_id: str, message: str) -> Response:
    flash(message, "error")
    return redirect(url_for("queue.place", event_id=event_id))


def refused_purchase(exc: ApiError, event_id: str) -> Response | None:
    """The answer to a purchase the API refused for want of an admission (None for any other
    refusal): back to the viewer's place in line, with the reason."""
    if exc.code not in ADMISSION_REFUSALS:
        return None
    viewer = current_viewer()
    store = services().queue_tokens
    if viewer is not None and store is not None:
        store.forget(ADMISSION, viewer.session_id, event_id)
    return back_to_the_line(event_id, ADMISSION_REFUSALS[exc.code])


# ---------------------------------------------------------------------------- a person's place


@bp.post("/events/<event_id>/queue")
@login_required
def join(event_id: str) -> Any:
    _check_id(event_id)
    try:
        answer = _join(_viewer(), event_id)
    except ApiError as exc:
        if is_api_request() or exc.status >= 500:
            raise
        return _refused(exc, event_id)
    if is_api_request():
        shown = place_of(answer.get("status"))
        return jsonify({"event_id": event_id, **shown}), 200, PRIVATE
    flash(
        "You are in the queue. Your place is tied to your account: you keep it if you leave "
        "this page.",
        "success",
    )
    return redirect(url_for("queue.place", event_id=event_id))


@bp.get("/events/<event_id>/queue")
@login_required
def place(event_id: str) -> Any:
    _check_id(event_id)
    viewer = _viewer()
    found = services().event_read(event_id)
    if found is None:
        abort(404)
    shown = place_of(status_of(viewer, event_id))
    left = None
    if shown["state"] == "admitted":
        admitted = admission_for(viewer, event_id)
        left = seconds_left(admitted[1]) if admitted else None
    if is_api_request():
        body = {"event_id": event_id, **shown, "admission_seconds_left": left}
        return jsonify({"poll_seconds": POLL_SECONDS, **body}), 200, PRIVATE
    page = render_template(
        "queue.html",
        event=found.event,
        queue=services().queue_of(event_id),
        place=shown,
        admission_left=left,
        poll_seconds=shown.get("poll_seconds", POLL_SECONDS),
    )
    return page, 200, PRIVATE


# ---------------------------------------------------------------------------- the draw


@bp.get("/events/<event_id>/draw")
def draw(event_id: str) -> Any:
    _check_id(event_id)
    found = services().event_read(event_id)
    if found is None:
        abort(404)
    cursor = request.args.get("cursor") or None
    if cursor is not None and not _CURSOR.fullmatch(cursor):
        abort(400, "cursor is not a position in this draw")
    try:
        queue: dict[str, Any] | None = services().api.event_queue(event_id, cursor)
    except ApiError as exc:
        if exc.status != 404:
            raise
        queue = None
    if is_api_request():
        if queue is None:
            raise ApiError(404, "not_found", "This event's sale has no queue.")
        return jsonify(queue)
    viewer = current_viewer()
    mine = None
    if queue is not None and viewer is not None and in_line(viewer, event_id):
        try:
            mine = (status_of(viewer, event_id) or {}).get("entry_id")
        except ApiError as exc:
            log.warning("queue status unavailable: %s", exc.code)
    return render_template("queue_draw.html", event=found.event, queue=queue, mine=mine)


# ---------------------------------------------------------------------------- organizers


@bp.get("/organizer/events/<event_id>/queue")
@login_required
def manage(event_id: str) -> Any:
    row = owned_event(event_id)
    return _manage_page(row, form=None, problem=None)


@bp.post("/organizer/events/<event_id>/queue")
@login_required
def configure(event_id: str) -> Any:
    row = owned_event(event_id)
    try:
        body = _queue_from_form(event_id)
    except FormProblem as exc:
        if is_api_request():
            error = {"code": "validation_error", "message": str(exc)}
            return jsonify({"error": error}), 400
        return _manage_page(row, form=request.form, problem=str(exc)), 400
    current = _public_queue(event_id)
    if current is not None and _same_moment(current.get("opens_at"), body["opens_at"]):
        # Only a change of the opening is sent: the cap and the switch can change during the
        # sale, when the opening is in the past.
        del body["opens_at"]
    try:
        answer = services().api.configure_queue(_viewer().token, body)
    except ApiError as exc:
        if is_api_request() or exc.status >= 500:
            raise
        if exc.code in FORM_REFUSALS:
            return _manage_page(row, form=request.form, problem=_problems(exc)), exc.status
        return _refused(exc, event_id, organizer=True)
    queues = services().queues
    if queues is not None:
        queues.forget(event_id)
    if is_api_request():
        return jsonify(answer)
    if body["enabled"]:
        flash(
            f"The sale of {row['title']} is behind a queue. At most "
            f"{body['max_admissions_per_minute']} people a minute are let in once it opens.",
            "success",
        )
    else:
        flash(f"The queue of {row['title']} is off: anyone can buy.", "success")
    return redirect(url_for("queue.manage", event_id=event_id))


def _queue_from_form(event_id: str) -> dict[str, Any]:
    form = request.form
    enabled = form.get("enabled") in ("1", "on", "true")
    opens_at = moment_from_form(form, "opens_at", "Queue opens")
    if opens_at is None:
        raise FormProblem("Queue opens: choose the date and time the queue opens.")
    rate = form.get("max_admissions_per_minute", "").strip()
    if not rate.isdigit() or not 1 <= int(rate) <= MAX_RATE:
        raise FormProblem(f"At most let in per minute is a whole number from 1 to {MAX_RATE}.")
    return {
        "event_id": event_id,
        "opens_at": opens_at,
        "max_admissions_per_minute": int(rate),
        "enabled": enabled,
    }


def _problems(exc: ApiError) -> str:
    listed = exc.details.get("problems") or []
    said = "; ".join(f"{p.get('field')}: {p.get('problem')}" for p in listed if isinstance(p, dict))
    return f"{exc.message} {said}".strip()


def _public_queue(event_id: str) -> dict[str, Any] | None:
    try:
        return services().api.event_queue(event_id)
    except ApiError as exc:
        if exc.status != 404:
            raise
        return None


def _same_moment(one: Any, other: Any) -> bool:
    try:
        return datetime.fromisoformat(str(one)) == datetime.fromisoformat(str(other))
    except ValueError:
        return False


def _manage_page(row: dict[str, Any], form: Any, problem: str | None) -> str:
    queue = _public_queue(row["event_id"])
    return render_template(
        "queue_manage.html",
        event=services().public_event(row),
        queue=queue,
        form=form,
        problem=problem,
    )


# ---------------------------------------------------------------------------- helpers


def _check_id(event_id: str) -> None:
    if not is_id(event_id):
        abort(404)


def _viewer() -> Viewer:
    viewer = current_viewer()
    assert viewer is not None
    return viewer


def _refused(exc: ApiError, event_id: str, *, organizer: bool = False) -> Response:
    if organizer:
        back, label = url_for("queue.manage", event_id=event_id), "Back to the queue's settings"
    else:
        back, label = url_for("catalog.event", event_id=event_id), "Back to the event"
    page = render_template(
        "refused.html",
        heading=REFUSALS.get(exc.code, "That could not be done"),
        message=exc.message,
        code=exc.code,
        back=back,
        back_label=label,
    )
    return Response(page, status=exc.status, mimetype="text/html")
