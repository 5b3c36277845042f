"""Organizer pages that change an event: its ticket types (add one; change the name,
description, sale window, quota and per-order maximum; pause and resume) and cancelling the
event. Every change goes through the serverless API (``/add-ticket-type``,
``/update-ticket-type``, ``/cancel-event``); a refusal is a page that says why."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers.response import Response

from gatepass import clock
from webapp import reports
from webapp.api_client import ApiError
from webapp.auth import Viewer, current_viewer, is_api_request, login_required
from webapp.services import services
from webapp.views.organizer import owned_event

bp = Blueprint("manage", __name__, url_prefix="/organizer")

_LOCAL_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$")
REFUSALS = {
    "event_cancelled": "The event has been cancelled",
    "quota_below_sold": "The quota cannot go that low",
    "too_many_ticket_types": "The event has all the types it can have",
    "not_found": "There is no such ticket type",
    "forbidden": "This is not your event",
}
WINDOW = (("opens_at", "Sale opens"), ("closes_at", "Sale closes"))


class FormProblem(ValueError):
    """What is wrong with a form, in words for the person who filled it in."""


# ---------------------------------------------------------------------------- forms


def moment_from_form(form: MultiDict[str, str], name: str, label: str) -> str | None:
    """A ``datetime-local`` field and its ``<name>_offset`` (the browser's UTC offset in minutes
    for that date) as an ISO-8601 UTC time; None when left empty."""
    local = form.get(name, "").strip()
    if not local:
        return None
    if not _LOCAL_TIME.match(local):
        raise FormProblem(f"{label}: choose a date and a time.")
    try:
        minutes = int(form.get(f"{name}_offset", "0") or "0")
    except ValueError:
        raise FormProblem(f"{label}: the time zone offset is not valid.") from None
    if not -14 * 60 <= minutes <= 14 * 60:
        raise FormProblem(f"{label}: the time zone offset is not valid.")
    try:
        moment = datetime.fromisoformat(local)
    except ValueError:
        raise FormProblem(f"{label}: choose a date and a time.") from None
    return clock.iso(moment.replace(tzinfo=timezone(timedelta(minutes=minutes))))


def _whole(form: MultiDict[str, str], name: str, label: str, low: int, high: int) -> int:
    value = form.get(name, "").strip()
    if not value.isdigit() or not low <= int(value) <= high:
        raise FormProblem(f"{label} is a whole number from {low} to {high}.")
    return int(value)


def type_from_form(form: MultiDict[str, str]) -> dict[str, Any]:
    """Every field of the type form, checked; sale window ends as UTC times or None."""
    name = form.get("name", "").strip()
    if not name:
        raise FormProblem("Give the ticket type a name.")
    if len(name) > 80:
        raise FormProblem("A ticket type's name has at most 80 characters.")
    description = form.get("description", "").strip()
    if len(description) > 500:
        raise FormProblem("A description has at most 500 characters.")
    fields: dict[str, Any] = {
        "name": name,
        "description": description,
        "quota": _whole(form, "quota", "Quota", 1, 100_000),
        "max_per_order": _whole(form, "max_per_order", "At most per order", 1, 20),
    }
    for field, label in WINDOW:
        fields[field] = moment_from_form(form, field, label)
    if fields["opens_at"] and fields["closes_at"] and fields["closes_at"] <= fields["opens_at"]:
        raise FormProblem("The sale must close after it opens.")
    return fields


def changes(kind: dict[str, Any], wanted: dict[str, Any], paused: bool) -> dict[str, Any]:
    """Only what differs from the type as it is (a quota sent unchanged would still race with
    sales for nothing); an emptied window end is sent as "" to remove it."""
    found: dict[str, Any] = {}
    for name in ("name", "description", "quota", "max_per_order"):
        if wanted[name] != kind.get(name):
            found[name] = wanted[name]
    for name, _ in WINDOW:
        if wanted[name] != (kind.get(name) or None):
            found[name] = wanted[name] or ""
    if paused != bool(kind.get("paused")):
        found["paused"] = paused
    return found


# ---------------------------------------------------------------------------- ticket types


@bp.get("/events/<event_id>/types")
@login_required
def types(event_id: str) -> str:
    row = owned_event(event_id)
    return _types_page(row, form={}, problem=None)


@bp.post("/events/<event_id>/types")
@login_required
def add_type(event_id: str) -> Any:
    row = owned_event(event_id)
    try:
        fields = type_from_form(request.form)
    except FormProblem as exc:
        problem = str(exc)
        return _form_problem(problem, lambda: _types_page(row, request.form, problem))
    body = {"event_id": event_id, **{k: v for k, v in fields.items() if v is not None}}
    try:
        answer = services().api.add_ticket_type(_viewer().token, body)
    except ApiError as exc:
        if exc.code == "validation_error" and not is_api_request():
            message = _problems(exc)
            return _types_page(row, request.form, message), 400
        return _refused(exc, event_id)
    if is_api_request():
        return jsonify(answer), 201
    flash(f"Added {fields['name']}: it is on the event page within a few seconds.", "success")
    return redirect(url_for("manage.types", event_id=event_id))


@bp.get("/events/<event_id>/types/<ticket_type_id>")
@login_required
def edit_type(event_id: str, ticket_type_id: str) -> Any:
    row = owned_event(event_id)
    kind = _kind(row, ticket_type_id)
    return render_template(
        "type_edit.html", event=services().public_event(row), kind=kind, form=None, problem=None
    )


@bp.post("/events/<event_id>/types/<ticket_type_id>")
@login_required
def update_type(event_id: str, ticket_type_id: str) -> Any:
    row = owned_event(event_id)
    kind = _kind(row, ticket_type_id)

    def again(problem: str) -> str:
        return render_template(
            "type_edit.html",
            event=services().public_event(row),
            kind=kind,
            form=request.form,
            problem=problem,
        )

    try:
        wanted = changes(kind, type_from_form(request.form), "paused" in request.form)
    except FormProblem as exc:
        problem = str(exc)
        return _form_problem(problem, lambda: again(problem))
    if not wanted:
        flash(f"{kind['name']} is unchanged.", "success")
        return redirect(url_for("manage.types", event_id=event_id))
    return _update(row, kind, wanted, again)


@bp.post("/events/<event_id>/types/<ticket_type_id>/pause")
@login_required
def pause_type(event_id: str, ticket_type_id: str) -> Any:
    """Pause (``paused=1``) or resume (``paused=0``) a type's sale in one click."""
    row = owned_event(event_id)
    kind = _kind(row, ticket_type_id)
    paused = request.form.get("paused") == "1"
    return _update(row, kind, {"paused": paused}, None)


def _update(row: dict[str, Any], kind: dict[str, Any], wanted: dict[str, Any], again: Any) -> Any:
    event_id = row["event_id"]
    body = {"event_id": event_id, "ticket_type_id": kind["ticket_type_id"], **wanted}
    try:
        answer = services().api.update_ticket_type(_viewer().token, body)
    except ApiError as exc:
        if exc.code == "validation_error" and again is not None and not is_api_request():
            return again(_problems(exc)), 400
        return _refused(exc, event_id)
    if is_api_request():
        return jsonify(answer)
    if list(wanted) == ["paused"]:
        done = "paused: nobody can buy it" if wanted["paused"] else "on sale again"
        flash(f"{kind['name']} is {done}.", "success")
    else:
        flash(f"Saved {answer['ticket_type']['name']}.", "success")
    return redirect(url_for("manage.types", event_id=event_id))


# ---------------------------------------------------------------------------- cancelling


@bp.get("/events/<event_id>/cancel")
@login_required
def confirm_cancel(event_id: str) -> Any:
    row = owned_event(event_id)
    if row["status"] == "cancelled":
        return _refused(
            ApiError(409, "event_cancelled", "This event is already cancelled."), event_id
        )
    return render_template("event_cancel.html", event=services().public_event(row), problem=None)


@bp.post("/events/<event_id>/cancel")
@login_required
def cancel(event_id: str) -> Any:
    row = owned_event(event_id)
    if request.form.get("confirm") != "yes" and not is_api_request():
        page = render_template(
            "event_cancel.html",
            event=services().public_event(row),
            problem="Tick the box to confirm that the event is cancelled for everyone.",
        )
        return page, 400
    try:
        answer = services().api.cancel_event(_viewer().token, event_id)
    except ApiError as exc:
        return _refused(exc, event_id)
    if is_api_request():
        return jsonify(answer)
    revoked, notified = int(answer.get("revoked", 0)), int(answer.get("notified", 0))
    flash(
        f"{row['title']} is cancelled: {revoked} ticket{'' if revoked == 1 else 's'} revoked, "
        f"{notified} holder{'' if notified == 1 else 's'} emailed. Nothing more can be sold.",
        "success",
    )
    return redirect(url_for("organizer.home"))


# ---------------------------------------------------------------------------- helpers


def _viewer() -> Viewer:
    viewer = current_viewer()
    assert viewer is not None
    return viewer


def _kind(row: dict[str, Any], ticket_type_id: str) -> dict[str, Any]:
    for kind in row.get("ticket_types", []):
        if kind["ticket_type_id"] == ticket_type_id:
            found: dict[str, Any] = kind
            return found
    raise _Refusal(404, "not_found", "This event has no such ticket type.")


def _types_page(row: dict[str, Any], form: Any, problem: str | None) -> str:
    sales = reports.type_sales(row, services().read_model.waiting_by_type(row["event_id"]))
    kinds = [{**raw, **sale} for raw, sale in zip(row.get("ticket_types", []), sales, strict=True)]
    return render_template(
        "types.html",
        event=services().public_event(row),
        kinds=kinds,
        form=form,
        problem=problem,
        cancelled=row["status"] == "cancelled",
    )


def _form_problem(problem: str, page: Any) -> Any:
    if is_api_request():
        return jsonify({"error": {"code": "validation_error", "message": problem}}), 400
    return page(), 400


def _problems(exc: ApiError) -> str:
    listed = exc.details.get("problems") or []
    said = "; ".join(f"{p.get('field')}: {p.get('problem')}" for p in listed if isinstance(p, dict))
    return f"{exc.message} {said}".strip()


class _Refusal(ApiError):
    pass


@bp.errorhandler(_Refusal)
def _refusal_page(exc: _Refusal) -> Any:
    event_id = request.view_args.get("event_id", "") if request.view_args else ""
    return _refused(exc, str(event_id))


def _refused(exc: ApiError, event_id: str) -> Any:
    if exc.status >= 500:
        raise exc
    if is_api_request():
        body = {"error": {"code": exc.code, "message": exc.message, **exc.details}}
        return jsonify(body), exc.status
    page = render_template(
        "refused.html",
        heading=REFUSALS.get(exc.code, "That could not be done"),
        message=exc.message,
        code=exc.code,
        back=url_for("manage.types", event_id=event_id),
        back_label="Back to the ticket types",
    )
    return Response(page, status=exc.status, mimetype="text/html")
