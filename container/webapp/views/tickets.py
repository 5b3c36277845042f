"""My tickets, grouped by order, each live ticket with its QR code (a short-lived URL the API
pre-signs for the owner); cancelling a ticket or a whole order, and giving a ticket to someone
else. Every write goes through the serverless API; every refusal is a page that says why."""

from __future__ import annotations

import logging
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
from gatepass.models.common import normalize_email
from webapp import activity
from webapp.api_client import ApiError
from webapp.auth import Viewer, current_viewer, is_api_request, login_required
from webapp.services import services

bp = Blueprint("tickets", __name__)
log = logging.getLogger(__name__)

LIVE = ("issued", "checked_in")
MAX_EMAIL = 254

# What a refused change is called at the top of its page; the API's message says the rest.
REFUSALS = {
    "forbidden": "This ticket is not yours",
    "not_found": "There is no such ticket",
    "event_started": "The event has already started",
    "event_cancelled": "The event has been cancelled",
    "ticket_not_active": "This ticket can no longer change",
    "transfer_to_self": "That is your own address",
    "validation_error": "That is not an email address",
    "unauthorized": "Sign in again",
    "wallet_not_configured": "The wallet is not available here yet",
}


def with_qr_codes(token: str, tickets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    shown = []
    for ticket in tickets:
        url = None
        if ticket.get("status", "issued") in LIVE:
            try:
                qr = services().api.qr_code(token, ticket["ticket_id"])
                url = qr.get("url")
            except ApiError as exc:
                # One missing QR image should not hide the other tickets.
                log.warning("no QR code for %s: %s", ticket["ticket_id"], exc.code)
        shown.append({**ticket, "qr_url": url})
    return shown


def changeable(ticket: dict[str, Any], now: str) -> bool:
    """Whether the holder may still cancel or give it away (the API decides in the end)."""
    return (
        ticket.get("status") == "issued"
        and ticket.get("event_status", "on_sale") == "on_sale"
        and bool(ticket.get("starts_at"))
        and str(ticket["starts_at"]) > now
    )


def by_order(tickets: list[dict[str, Any]], viewer: str) -> list[dict[str, Any]]:
    """Tickets in groups: one per order the viewer placed, one per order whose tickets were
    given to them; each says which of its tickets can still be cancelled."""
    now = clock.iso(clock.now())
    groups: dict[tuple[str, str, bool], dict[str, Any]] = {}
    for ticket in tickets:
        received = bool(ticket.get("transferred_from"))
        key = (
            str(ticket.get("event_id")),
            str(ticket.get("order_id") or ticket["ticket_id"]),
            received,
        )
        group = groups.setdefault(
            key,
            {
                "order_id": ticket.get("order_id"),
                "event_id": ticket.get("event_id"),
                "title": ticket.get("title"),
                "venue": ticket.get("venue"),
                "starts_at": ticket.get("starts_at"),
                "event_status": ticket.get("event_status", "on_sale"),
                "received_from": ticket.get("transferred_from_holder") if received else None,
                "received": received,
                "tickets": [],
            },
        )
        group["tickets"].append({**ticket, "changeable": changeable(ticket, now)})
    for group in groups.values():
        open_tickets = [t for t in group["tickets"] if t["changeable"]]
        group["cancellable_count"] = len(open_tickets)
        group["started"] = bool(group["starts_at"]) and str(group["starts_at"]) <= now
    return list(groups.values())


@bp.get("/me/tickets")
@login_required
def mine() -> str:
    viewer = _viewer()
    tickets, notice = services().tickets_of(viewer.email)
    activity.record("ticket_view", count=len(tickets))
    shown = with_qr_codes(viewer.token, tickets)
    return render_template(
        "tickets.html",
        orders=by_order(shown, viewer.email),
        tickets=shown,
        places=_places(viewer),
        notice=notice,
    )


def _places(viewer: Viewer) -> list[dict[str, Any]]:
    """The viewer's places in waiting lines, each with its event's title and type's name."""
    from webapp.views.waitlist import my_places

    shown = []
    for place in my_places(viewer) or []:
        found = services().event_read(str(place.get("event_id")))
        event = found.event if found else {}
        kind: dict[str, Any] = next(
            (
                k
                for k in event.get("ticket_types", [])
                if k["ticket_type_id"] == place.get("ticket_type_id")
            ),
            {},
        )
        shown.append(
            {**place, "title": event.get("title", "Event"), "type_name": kind.get("name", "")}
        )
    return shown


# ---------------------------------------------------------------------------- cancelling


@bp.get("/me/tickets/<ticket_id>/cancel")
@login_required
def confirm_cancel_ticket(ticket_id: str) -> Any:
    ticket = _my_ticket(ticket_id)
    return render_template("ticket_cancel.html", tickets=[ticket], order_id=None)


@bp.post("/me/tickets/<ticket_id>/cancel")
@login_required
def cancel_ticket(ticket_id: str) -> Any:
    if not is_id(ticket_id):
        abort(404)
    return _cancel(ticket_id=ticket_id)


@bp.get("/me/orders/<order_id>/cancel")
@login_required
def confirm_cancel_order(order_id: str) -> Any:
    if not is_id(order_id):
        abort(404)
    viewer = _viewer()
    held = [
        t for t in services().read_model.tickets_of(viewer.email) if t.get("order_id") == order_id
    ]
    if not held:
        raise Refused(404, "not_found", "You hold no ticket of this order.")
    now = clock.iso(clock.now())
    cancellable = [t for t in held if changeable(t, now)]
    if not cancellable:
        raise _why_not(held[0], now)
    return render_template("ticket_cancel.html", tickets=cancellable, order_id=order_id)


@bp.post("/me/orders/<order_id>/cancel")
@login_required
def cancel_order(order_id: str) -> Any:
    if not is_id(order_id):
        abort(404)
    return _cancel(order_id=order_id)


def _cancel(*, ticket_id: str | None = None, order_id: str | None = None) -> Any:
    viewer = _viewer()
    try:
        answer = services().api.cancel_ticket(viewer.token, ticket_id=ticket_id, order_id=order_id)
    except ApiError as exc:
        if is_api_request() or exc.status >= 500:
            raise
        return _refused(exc)
    if is_api_request():
        return jsonify(answer)
    count = len(answer.get("cancelled", []))
    flash(
        f"Cancelled {count} ticket{'' if count == 1 else 's'}. The seat"
        f"{' is' if count == 1 else 's are'} free for someone else, and the code"
        f"{' no longer works' if count == 1 else 's no longer work'} at the door.",
        "success",
    )
    return redirect(url_for("tickets.mine"))


# ---------------------------------------------------------------------------- one ticket


@bp.get("/me/tickets/<ticket_id>")
@login_required
def one(ticket_id: str) -> Any:
    """One ticket with its QR code: the page the ticket's email links to."""
    if not is_id(ticket_id):
        abort(404)
    viewer = _viewer()
    read_model = services().read_model
    ticket = read_model.ticket_of(viewer.email, ticket_id)
    if ticket is None:
        if read_model.ticket_exists(ticket_id):
            return _refused(ApiError(403, "forbidden", "This ticket belongs to someone else."))
        return _refused(ApiError(404, "not_found", "There is no ticket with this number."))
    (shown,) = with_qr_codes(viewer.token, [ticket])
    now = clock.iso(clock.now())
    activity.record("ticket_view", count=1)
    return render_template("ticket.html", ticket={**shown, "changeable": changeable(shown, now)})


@bp.get("/me/tickets/<ticket_id>/apple-wallet")
@login_required
def apple_wallet(ticket_id: str) -> Any:
    """Add to Apple Wallet: the API signs the pass; the browser is sent to its short-lived link
    (Safari on an iPhone opens a .pkpass in Wallet)."""
    return _to_wallet(ticket_id, "apple")


@bp.get("/me/tickets/<ticket_id>/google-wallet")
@login_required
def google_wallet(ticket_id: str) -> Any:
    """Add to Google Wallet: the API signs a save link; the browser is sent to Google."""
    return _to_wallet(ticket_id, "google")


def _to_wallet(ticket_id: str, wallet: str) -> Any:
    if not is_id(ticket_id):
        abort(404)
    viewer = _viewer()
    api = services().api
    try:
        if wallet == "apple":
            target = str(api.apple_wallet_pass(viewer.token, ticket_id)["url"])
        else:
            target = str(api.google_wallet_link(viewer.token, ticket_id)["save_url"])
    except ApiError as exc:
        if is_api_request():
            raise
        return _refused(exc)
    return redirect(target)


# ---------------------------------------------------------------------------- transferring


@bp.get("/me/tickets/<ticket_id>/transfer")
@login_required
def transfer_form(ticket_id: str) -> Any:
    ticket = _my_ticket(ticket_id)
    return render_template("ticket_transfer.html", ticket=ticket, to_email="", problem=None)


@bp.post("/me/tickets/<ticket_id>/transfer")
@login_required
def transfer(ticket_id: str) -> Any:
    if not is_id(ticket_id):
        abort(404)
    viewer = _viewer()
    typed = request.form.get("to_email", "").strip()[:MAX_EMAIL]
    problem = None
    try:
        recipient = normalize_email(typed)
    except ValueError:
        recipient = ""
        problem = "Type the email address of the person who gets the ticket, e.g. sam@example.com."
    if recipient and recipient == viewer.email:
        problem = "That is your own address: this ticket is already yours."
    if problem is None:
        try:
            answer = services().api.transfer_ticket(viewer.token, ticket_id, recipient)
        except ApiError as exc:
            if is_api_request() or exc.status >= 500:
                raise
            if exc.code not in ("validation_error", "transfer_to_self"):
                return _refused(exc)
            problem = exc.message
        else:
            if is_api_request():
                return jsonify(answer)
            flash(
                f"The ticket is now {recipient}'s: we emailed them, and they find it under My "
                "tickets. Your old code no longer works at the door.",
                "success",
            )
            return redirect(url_for("tickets.mine"))
    if is_api_request():
        body = {"error": {"code": "validation_error", "message": problem}}
        return jsonify(body), 400
    ticket = services().read_model.ticket_of(viewer.email, ticket_id) or {"ticket_id": ticket_id}
    page = render_template("ticket_transfer.html", ticket=ticket, to_email=typed, problem=problem)
    return page, 400


# ---------------------------------------------------------------------------- helpers


def _viewer() -> Viewer:
    viewer = current_viewer()
    assert viewer is not None
    return viewer


class Refused(ApiError):
    """A change the page already knows the API would refuse, said the same way."""


@bp.errorhandler(Refused)
def _refused_here(exc: Refused) -> Any:
    if is_api_request():
        body = {"error": {"code": exc.code, "message": exc.message}}
        return jsonify(body), exc.status
    return _refused(exc)


def _my_ticket(ticket_id: str) -> dict[str, Any]:
    """The viewer's ticket if it can still change; otherwise ``Refused`` says why not."""
    if not is_id(ticket_id):
        abort(404)
    read_model = services().read_model
    ticket = read_model.ticket_of(_viewer().email, ticket_id)
    if ticket is None:
        if read_model.ticket_exists(ticket_id):
            raise Refused(403, "forbidden", "This ticket belongs to someone else.")
        raise Refused(404, "not_found", "There is no ticket with this number.")
    now = clock.iso(clock.now())
    if not changeable(ticket, now):
        raise _why_not(ticket, now)
    return ticket


def _why_not(ticket: dict[str, Any], now: str) -> Refused:
    if ticket.get("event_status") == "cancelled":
        return Refused(409, "event_cancelled", "This event has been cancelled.")
    if ticket.get("status") != "issued":
        status = str(ticket.get("status")).replace("_", " ")
        return Refused(
            409,
            "ticket_not_active",
            f"This ticket is {status}; only an issued ticket can be cancelled or given away.",
        )
    return Refused(
        409,
        "event_started",
        "This event has started; its tickets can no longer be cancelled or given away.",
    )


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
