"""My tickets, each with its QR code (a short-lived URL the API pre-signs for the owner)."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, render_template

from webapp import activity
from webapp.api_client import ApiError
from webapp.auth import current_viewer, login_required
from webapp.services import services

bp = Blueprint("tickets", __name__)
log = logging.getLogger(__name__)


def with_qr_codes(token: str, tickets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    shown = []
    for ticket in tickets:
        try:
            qr = services().api.qr_code(token, ticket["ticket_id"])
            url = qr.get("url")
        except ApiError as exc:
            # One missing QR image should not hide the other tickets.
            log.warning("no QR code for %s: %s", ticket["ticket_id"], exc.code)
            url = None
        shown.append({**ticket, "qr_url": url})
    return shown


@bp.get("/me/tickets")
@login_required
def mine() -> str:
    viewer = current_viewer()
    assert viewer is not None
    tickets, notice = services().tickets_of(viewer.email)
    activity.record("ticket_view", count=len(tickets))
    return render_template(
        "tickets.html", tickets=with_qr_codes(viewer.token, tickets), notice=notice
    )
